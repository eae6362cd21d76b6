/**
 * The binary peer wire protocol (docs/PROTOCOL.md, "Peer wire protocol"): one frame per data-channel
 * message, 1 byte version, 1 byte type, then the type's fields big-endian. Decoding never throws: a bad
 * frame comes back as an error name (the shared test vectors' names), and no allocation is sized by an
 * untrusted length (payloads are views into the received buffer).
 */
export const WIRE_VERSION = 1;

/** 65535: every frame fits the smallest data-channel message limit we meet (pion, old Firefox: 64 KiB). */
export const MAX_FRAME_SIZE = 65535;
const HEADER = 2;
const HELLO_FIXED = HEADER + 32 + 4;
const PIECE_HEADER = HEADER + 12;
/** 65521: the most data one PIECE carries. */
export const MAX_PIECE_DATA = MAX_FRAME_SIZE - PIECE_HEADER;
/** A request stays inside one chunk; chunks are at most 64 MiB. */
export const MAX_REQUEST_END = 64 * 1024 * 1024;
/** At most 262,144 chunks per manifest (a 32 KiB bitfield). */
export const MAX_CHUNKS = 262144;

export const FrameType = { Hello: 1, Have: 2, Request: 3, Piece: 4, Cancel: 5, Reject: 6, Ping: 7, Pong: 8 } as const;

export type RejectReason = "not_found" | "busy" | "choked" | "invalid";
const REASONS: readonly RejectReason[] = ["not_found", "busy", "choked", "invalid"];

export type WireFrame =
  | { type: "HELLO"; contentId: Uint8Array; chunkCount: number; bitfield: Uint8Array }
  | { type: "HAVE"; chunkIndex: number }
  | { type: "REQUEST"; requestId: number; chunkIndex: number; offset: number; length: number }
  | { type: "PIECE"; requestId: number; chunkIndex: number; offset: number; data: Uint8Array }
  | { type: "CANCEL"; requestId: number }
  | { type: "REJECT"; requestId: number; reason: RejectReason }
  | { type: "PING"; nonce: number }
  | { type: "PONG"; nonce: number };

export type WireError = "truncated" | "too_large" | "unsupported_version" | "unknown_type" | "bad_length" | "invalid_field";

export type DecodeResult = { ok: true; frame: WireFrame } | { ok: false; error: WireError };

const validIndex = (i: number) => Number.isInteger(i) && i >= 0 && i < MAX_CHUNKS;
const validRange = (offset: number, length: number) =>
  Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && length > 0 && offset + length <= MAX_REQUEST_END;

function paddingClear(bitfield: Uint8Array, count: number): boolean {
  const used = count & 7;
  return used === 0 || bitfield.length === 0 || (bitfield[bitfield.length - 1]! & (0xff >> used)) === 0;
}

function fail(error: WireError): DecodeResult {
  return { ok: false, error };
}

/** Decodes one message. The returned byte fields are views into `message` (copy them before reusing it). */
export function decode(message: Uint8Array): DecodeResult {
  if (message.length > MAX_FRAME_SIZE) return fail("too_large");
  if (message.length < HEADER) return fail("truncated");
  if (message[0] !== WIRE_VERSION) return fail("unsupported_version");
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const bodyLength = message.length - HEADER;
  const fixed = (size: number): WireError | null => (bodyLength < size ? "truncated" : bodyLength > size ? "bad_length" : null);
  switch (message[1]) {
    case FrameType.Hello: {
      if (message.length < HELLO_FIXED) return fail("truncated");
      const count = view.getInt32(HEADER + 32);
      if (count < 0 || count > MAX_CHUNKS) return fail("invalid_field");
      const bitfield = message.subarray(HELLO_FIXED);
      if (bitfield.length !== (count + 7) >> 3) return fail("bad_length");
      if (!paddingClear(bitfield, count)) return fail("invalid_field");
      return { ok: true, frame: { type: "HELLO", contentId: message.subarray(HEADER, HEADER + 32), chunkCount: count, bitfield } };
    }
    case FrameType.Have: {
      const e = fixed(4);
      if (e) return fail(e);
      const index = view.getInt32(HEADER);
      if (!validIndex(index)) return fail("invalid_field");
      return { ok: true, frame: { type: "HAVE", chunkIndex: index } };
    }
    case FrameType.Request: {
      const e = fixed(16);
      if (e) return fail(e);
      const index = view.getInt32(HEADER + 4);
      const offset = view.getInt32(HEADER + 8);
      const length = view.getInt32(HEADER + 12);
      if (!validIndex(index) || !validRange(offset, length)) return fail("invalid_field");
      return { ok: true, frame: { type: "REQUEST", requestId: view.getUint32(HEADER), chunkIndex: index, offset, length } };
    }
    case FrameType.Piece: {
      if (bodyLength < 12) return fail("truncated");
      const index = view.getInt32(HEADER + 4);
      const offset = view.getInt32(HEADER + 8);
      const dataLength = bodyLength - 12;
      if (!validIndex(index) || dataLength === 0 || !validRange(offset, dataLength)) return fail("invalid_field");
      return {
        ok: true,
        frame: { type: "PIECE", requestId: view.getUint32(HEADER), chunkIndex: index, offset, data: message.subarray(PIECE_HEADER) },
      };
    }
    case FrameType.Cancel:
    case FrameType.Ping:
    case FrameType.Pong: {
      const e = fixed(4);
      if (e) return fail(e);
      const value = view.getUint32(HEADER);
      const t = message[1];
      return {
        ok: true,
        frame: t === FrameType.Cancel ? { type: "CANCEL", requestId: value } : t === FrameType.Ping ? { type: "PING", nonce: value } : { type: "PONG", nonce: value },
      };
    }
    case FrameType.Reject: {
      const e = fixed(5);
      if (e) return fail(e);
      const reason = REASONS[message[HEADER + 4]! - 1];
      if (reason === undefined) return fail("invalid_field");
      return { ok: true, frame: { type: "REJECT", requestId: view.getUint32(HEADER), reason } };
    }
    default:
      return fail("unknown_type");
  }
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new RangeError(message);
}

/** Encodes a frame. Throws a RangeError for a frame that would not decode (our own bug, never peer input). */
export function encode(frame: WireFrame): Uint8Array {
  let out: Uint8Array;
  const header = (type: number, bodyLength: number) => {
    check(HEADER + bodyLength <= MAX_FRAME_SIZE, `a ${frame.type} frame of ${HEADER + bodyLength} bytes exceeds ${MAX_FRAME_SIZE}`);
    out = new Uint8Array(HEADER + bodyLength);
    out[0] = WIRE_VERSION;
    out[1] = type;
    return new DataView(out.buffer);
  };
  switch (frame.type) {
    case "HELLO": {
      check(frame.contentId.length === 32, "HELLO content id must be 32 bytes");
      check(frame.chunkCount >= 0 && frame.chunkCount <= MAX_CHUNKS && frame.bitfield.length === (frame.chunkCount + 7) >> 3, "HELLO bitfield length must be ceil(chunkCount / 8)");
      check(paddingClear(frame.bitfield, frame.chunkCount), "HELLO bitfield padding bits must be zero");
      const v = header(FrameType.Hello, 36 + frame.bitfield.length);
      out!.set(frame.contentId, HEADER);
      v.setInt32(HEADER + 32, frame.chunkCount);
      out!.set(frame.bitfield, HELLO_FIXED);
      break;
    }
    case "HAVE": {
      check(validIndex(frame.chunkIndex), `chunk index ${frame.chunkIndex} out of range`);
      header(FrameType.Have, 4).setInt32(HEADER, frame.chunkIndex);
      break;
    }
    case "REQUEST": {
      check(validIndex(frame.chunkIndex), `chunk index ${frame.chunkIndex} out of range`);
      check(validRange(frame.offset, frame.length), "REQUEST range must be non-empty and inside a 64 MiB chunk");
      const v = header(FrameType.Request, 16);
      v.setUint32(HEADER, frame.requestId >>> 0);
      v.setInt32(HEADER + 4, frame.chunkIndex);
      v.setInt32(HEADER + 8, frame.offset);
      v.setInt32(HEADER + 12, frame.length);
      break;
    }
    case "PIECE": {
      check(validIndex(frame.chunkIndex), `chunk index ${frame.chunkIndex} out of range`);
      check(frame.data.length > 0 && validRange(frame.offset, frame.data.length), "PIECE data must be non-empty and inside a 64 MiB chunk");
      const v = header(FrameType.Piece, 12 + frame.data.length);
      v.setUint32(HEADER, frame.requestId >>> 0);
      v.setInt32(HEADER + 4, frame.chunkIndex);
      v.setInt32(HEADER + 8, frame.offset);
      out!.set(frame.data, PIECE_HEADER);
      break;
    }
    case "CANCEL":
      header(FrameType.Cancel, 4).setUint32(HEADER, frame.requestId >>> 0);
      break;
    case "REJECT": {
      const code = REASONS.indexOf(frame.reason) + 1;
      check(code > 0, "unknown REJECT reason");
      const v = header(FrameType.Reject, 5);
      v.setUint32(HEADER, frame.requestId >>> 0);
      out!.set([code], HEADER + 4);
      break;
    }
    case "PING":
      header(FrameType.Ping, 4).setUint32(HEADER, frame.nonce >>> 0);
      break;
    case "PONG":
      header(FrameType.Pong, 4).setUint32(HEADER, frame.nonce >>> 0);
      break;
  }
  return out!;
}

/** Writes a PIECE frame for `data` without an intermediate copy of the payload (the hot path of uploads). */
export function encodePiece(requestId: number, chunkIndex: number, offset: number, data: Uint8Array): Uint8Array {
  return encode({ type: "PIECE", requestId, chunkIndex, offset, data });
}
