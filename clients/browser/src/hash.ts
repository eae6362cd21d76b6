/**
 * SHA-256 with WebCrypto: every chunk, from a peer or the origin, is checked against the manifest's hash
 * before it is used or re-shared. WebCrypto runs natively (off the JS heap) and exists in every browser's
 * secure context and in Node 20+.
 */
export async function sha256(data: BufferSource): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

export async function sha256Hex(data: BufferSource): Promise<string> {
  return toHex(await sha256(data));
}

const HEX = "0123456789abcdef";

/** Lower-case hexadecimal, the form manifests use for hashes. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX[b >> 4]! + HEX[b & 15]!;
  return out;
}

/** Parses hexadecimal (either case); throws a RangeError naming the problem on malformed input. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new RangeError(`hex string has odd length ${hex.length}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = HEX.indexOf(hex[2 * i]!.toLowerCase());
    const lo = HEX.indexOf(hex[2 * i + 1]!.toLowerCase());
    if (hi < 0 || lo < 0) throw new RangeError(`invalid hex digit at offset ${hi < 0 ? 2 * i : 2 * i + 1}`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}
