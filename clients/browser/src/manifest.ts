import { fromHex, sha256Hex } from "./hash.js";

/**
 * A content manifest (docs/PROTOCOL.md, "Content manifests and content ids"): what the origin serves at
 * `GET /content/{id}/manifest`. The content id is SHA-256 of the canonical form (sorted keys, no spaces,
 * without `id` and `signature`), so a manifest names exactly one set of bytes and the SDK checks that the
 * manifest it got is the one it asked for.
 */
export interface Manifest {
  readonly version: 1;
  readonly id: string;
  readonly name: string;
  readonly mediaType: string;
  readonly size: number;
  readonly chunkSize: number;
  /** Lower-case hex SHA-256 of every chunk. */
  readonly chunks: readonly string[];
  /** The same hashes as bytes, for comparison with WebCrypto's digest. */
  readonly chunkDigests: readonly Uint8Array[];
  readonly signature?: string;
}

const KEYS = new Set(["version", "id", "name", "mediaType", "size", "chunkSize", "chunks", "signature"]);
const MIN_CHUNK = 16 * 1024;
const MAX_CHUNK = 64 * 1024 * 1024;
const HEX64 = /^[0-9a-f]{64}$/;

export class ManifestError extends Error {
  override name = "ManifestError";
}

/** The canonical form whose SHA-256 is the content id. */
export function canonicalForm(m: Pick<Manifest, "chunkSize" | "chunks" | "mediaType" | "name" | "size" | "version">): string {
  return JSON.stringify({ chunkSize: m.chunkSize, chunks: m.chunks, mediaType: m.mediaType, name: m.name, size: m.size, version: m.version });
}

/** Parses and checks a manifest document; with `expectedId`, also that its canonical form hashes to that id. */
export async function parseManifest(json: string, expectedId?: string): Promise<Manifest> {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    throw new ManifestError(`manifest is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new ManifestError("manifest must be a JSON object");
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw new ManifestError(`manifest has unknown key '${k}'`);
  for (const k of ["version", "name", "mediaType", "size", "chunkSize", "chunks"]) if (!(k in o)) throw new ManifestError(`manifest is missing field '${k}'`);
  if (o.version !== 1) throw new ManifestError(`unsupported manifest version ${String(o.version)}`);
  if (typeof o.name !== "string" || o.name.length === 0) throw new ManifestError("manifest name is empty or not a string");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(o.name)) throw new ManifestError("manifest name contains a control character");
  if (typeof o.mediaType !== "string" || !/^[\w.+-]+\/[\w.+-]+$/.test(o.mediaType)) throw new ManifestError("manifest media type is invalid");
  if (typeof o.size !== "number" || !Number.isSafeInteger(o.size) || o.size < 0) throw new ManifestError("manifest size is invalid");
  if (typeof o.chunkSize !== "number" || !Number.isInteger(o.chunkSize) || o.chunkSize < MIN_CHUNK || o.chunkSize > MAX_CHUNK)
    throw new ManifestError("manifest chunk size is outside 16 KiB..64 MiB");
  if (!Array.isArray(o.chunks)) throw new ManifestError("manifest chunks must be an array");
  const expected = Math.ceil(o.size / o.chunkSize);
  if (o.chunks.length !== expected) throw new ManifestError(`manifest lists ${o.chunks.length} chunk hashes; size needs ${expected}`);
  for (const h of o.chunks) if (typeof h !== "string" || !HEX64.test(h)) throw new ManifestError("manifest chunk hash is not 64 lower-case hex digits");
  const chunks = o.chunks as string[];
  const m = { version: 1 as const, name: o.name, mediaType: o.mediaType, size: o.size, chunkSize: o.chunkSize, chunks };
  const id = await sha256Hex(new TextEncoder().encode(canonicalForm(m)));
  if (typeof o.id === "string" && o.id !== id) throw new ManifestError(`manifest id ${o.id} does not match its content (${id})`);
  if (expectedId !== undefined && expectedId !== id) throw new ManifestError(`asked for content ${expectedId}, got a manifest for ${id}`);
  return {
    ...m,
    id,
    chunkDigests: chunks.map(fromHex),
    ...(typeof o.signature === "string" ? { signature: o.signature } : {}),
  };
}

/** Byte length of chunk `index`. */
export function chunkLength(m: Pick<Manifest, "size" | "chunkSize">, index: number): number {
  return Math.min(m.chunkSize, m.size - index * m.chunkSize);
}

export const CONTENT_ID = /^[0-9a-f]{64}$/;
