#!/usr/bin/env python3
"""Generates wire.json and manifests.json: an implementation independent of the C# and TypeScript ones.

Run from this directory: python3 generate.py. The C# tests (tests/WebRtcCdn.Core.Tests) and the TypeScript
SDK's tests load these files; regenerate only when the protocol changes, and commit both outputs.
"""
import base64, hashlib, json, struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

V = 1
T = {"HELLO": 1, "HAVE": 2, "REQUEST": 3, "PIECE": 4, "CANCEL": 5, "REJECT": 6, "PING": 7, "PONG": 8}
REASONS = {"not_found": 1, "busy": 2, "choked": 3, "invalid": 4}
CID = hashlib.sha256(b"webrtc-cdn test content").hexdigest()


def frame(t, body):
    return bytes([V, T[t]]) + body


def bitfield(count, held):
    bits = bytearray((count + 7) // 8)
    for i in held:
        bits[i >> 3] |= 0x80 >> (i & 7)
    return bytes(bits)


valid = []


def add(name, t, body, fields):
    valid.append({"name": name, "hex": frame(t, body).hex(), "frame": {"type": t, **fields}})


for name, count, held in [("hello-empty-content", 0, []), ("hello-10-chunks", 10, [0, 2, 9]),
                          ("hello-8-chunks-all", 8, range(8)), ("hello-none-held", 3, [])]:
    bf = bitfield(count, held)
    add(name, "HELLO", bytes.fromhex(CID) + struct.pack(">I", count) + bf,
        {"contentId": CID, "chunkCount": count, "bitfield": bf.hex()})
max_count = 1 << 18
bf = bitfield(max_count, [0, max_count - 1])
add("hello-max-chunks", "HELLO", bytes.fromhex(CID) + struct.pack(">I", max_count) + bf,
    {"contentId": CID, "chunkCount": max_count, "bitfield": bf.hex()})
add("have-0", "HAVE", struct.pack(">I", 0), {"chunkIndex": 0})
add("have-last", "HAVE", struct.pack(">I", max_count - 1), {"chunkIndex": max_count - 1})
add("request-first-piece", "REQUEST", struct.pack(">IIII", 1, 0, 0, 65521), {"requestId": 1, "chunkIndex": 0, "offset": 0, "length": 65521})
add("request-whole-1mib-chunk", "REQUEST", struct.pack(">IIII", 0xFFFFFFFF, 7, 0, 1 << 20), {"requestId": 4294967295, "chunkIndex": 7, "offset": 0, "length": 1048576})
add("request-end-of-64mib-chunk", "REQUEST", struct.pack(">IIII", 9, 3, (64 << 20) - 1, 1), {"requestId": 9, "chunkIndex": 3, "offset": 67108863, "length": 1})
add("piece-small", "PIECE", struct.pack(">III", 1, 0, 16) + b"hello", {"requestId": 1, "chunkIndex": 0, "offset": 16, "data": b"hello".hex()})
big = bytes(i % 251 for i in range(65521))
add("piece-max-size", "PIECE", struct.pack(">III", 2, 5, 65521) + big, {"requestId": 2, "chunkIndex": 5, "offset": 65521, "data": big.hex()})
add("cancel", "CANCEL", struct.pack(">I", 12345), {"requestId": 12345})
for reason, code in REASONS.items():
    add("reject-" + reason, "REJECT", struct.pack(">IB", 77, code), {"requestId": 77, "reason": reason})
add("ping", "PING", struct.pack(">I", 0xDEADBEEF), {"nonce": 3735928559})
add("pong", "PONG", struct.pack(">I", 0), {"nonce": 0})

invalid = []


def bad(name, data, error):
    invalid.append({"name": name, "hex": data.hex(), "error": error})


bad("empty", b"", "truncated")
bad("header-only-one-byte", bytes([1]), "truncated")
bad("version-0", bytes([0, 2]) + struct.pack(">I", 0), "unsupported_version")
bad("version-2", bytes([2, 2]) + struct.pack(">I", 0), "unsupported_version")
bad("type-0", bytes([1, 0]), "unknown_type")
bad("type-9", bytes([1, 9, 0, 0, 0, 0]), "unknown_type")
bad("type-255", bytes([1, 255]), "unknown_type")
bad("too-large-65536", frame("PIECE", struct.pack(">III", 1, 0, 0) + bytes(65536 - 14)), "too_large")
bad("hello-truncated-content-id", frame("HELLO", bytes.fromhex(CID)[:20]), "truncated")
bad("hello-missing-count", frame("HELLO", bytes.fromhex(CID)), "truncated")
bad("hello-bitfield-short", frame("HELLO", bytes.fromhex(CID) + struct.pack(">I", 10) + b"\xff"), "bad_length")
bad("hello-bitfield-long", frame("HELLO", bytes.fromhex(CID) + struct.pack(">I", 8) + b"\xff\x00"), "bad_length")
bad("hello-padding-bit-set", frame("HELLO", bytes.fromhex(CID) + struct.pack(">I", 10) + b"\xff\xe0"), "invalid_field")
bad("hello-count-too-large", frame("HELLO", bytes.fromhex(CID) + struct.pack(">I", (1 << 18) + 1)), "invalid_field")
bad("hello-count-huge", frame("HELLO", bytes.fromhex(CID) + b"\xff\xff\xff\xff"), "invalid_field")
bad("have-truncated", frame("HAVE", b"\x00\x00\x01"), "truncated")
bad("have-trailing-byte", frame("HAVE", b"\x00\x00\x00\x01\x00"), "bad_length")
bad("have-index-too-large", frame("HAVE", struct.pack(">I", 1 << 18)), "invalid_field")
bad("have-index-negative", frame("HAVE", b"\x80\x00\x00\x00"), "invalid_field")
bad("request-truncated", frame("REQUEST", struct.pack(">III", 1, 0, 0)), "truncated")
bad("request-trailing-byte", frame("REQUEST", struct.pack(">IIII", 1, 0, 0, 10) + b"\x00"), "bad_length")
bad("request-zero-length", frame("REQUEST", struct.pack(">IIII", 1, 0, 0, 0)), "invalid_field")
bad("request-beyond-64mib", frame("REQUEST", struct.pack(">IIII", 1, 0, 64 << 20, 1)), "invalid_field")
bad("request-length-overflow", frame("REQUEST", struct.pack(">IIII", 1, 0, 1, 0x7FFFFFFF)), "invalid_field")
bad("request-negative-offset", frame("REQUEST", struct.pack(">IIII", 1, 0, 0x80000000, 1)), "invalid_field")
bad("piece-truncated-header", frame("PIECE", struct.pack(">II", 1, 0)), "truncated")
bad("piece-no-data", frame("PIECE", struct.pack(">III", 1, 0, 0)), "invalid_field")
bad("piece-beyond-64mib", frame("PIECE", struct.pack(">III", 1, 0, (64 << 20) - 1) + b"ab"), "invalid_field")
bad("cancel-truncated", frame("CANCEL", b"\x00"), "truncated")
bad("cancel-trailing-byte", frame("CANCEL", b"\x00\x00\x00\x01\x02"), "bad_length")
bad("reject-missing-reason", frame("REJECT", struct.pack(">I", 1)), "truncated")
bad("reject-reason-0", frame("REJECT", struct.pack(">IB", 1, 0)), "invalid_field")
bad("reject-reason-5", frame("REJECT", struct.pack(">IB", 1, 5)), "invalid_field")
bad("ping-trailing-byte", frame("PING", b"\x00\x00\x00\x00\x00"), "bad_length")
bad("pong-truncated", frame("PONG", b"\x00\x00"), "truncated")

with open("wire.json", "w") as f:
    json.dump({"description": "Peer wire protocol test vectors (docs/PROTOCOL.md, 'Peer wire protocol'). "
               "'valid': hex frames and their decoded fields (byte fields as hex); decoding must give the fields "
               "and encoding the fields must give the hex. 'invalid': hex frames that must fail with 'error'.",
               "version": 1, "valid": valid, "invalid": invalid}, f, indent=1)
    f.write("\n")


# ---- manifests ---------------------------------------------------------------------------------------
def canonical(m):
    # Keys sorted, no white space: JSON.stringify / RFC 8785 for these fields (ensure_ascii off, like JS).
    return json.dumps({k: m[k] for k in sorted(m)}, separators=(",", ":"), ensure_ascii=False).encode()


def manifest(name, media_type, data, chunk_size):
    chunks = [hashlib.sha256(data[i:i + chunk_size]).hexdigest() for i in range(0, len(data), chunk_size)]
    return {"chunkSize": chunk_size, "chunks": chunks, "mediaType": media_type, "name": name, "size": len(data), "version": 1}


# A fixed P-256 key for the signed vector: a TEST key, published here on purpose, never for real use.
key = ec.derive_private_key(0x5EED_CAFE_F00D_0000_1111_2222_3333_4444_5555_6666_7777_8888_9999_AAAA_BBBB, ec.SECP256R1())
public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()

cases = []
pattern = bytes(i % 251 for i in range(40000))
for case_name, name, media, content, chunk_size, sign in [
        ("tiny-text", "hello.txt", "text/plain", {"text": "hello, world\n"}, 1048576, False),
        ("empty-file", "empty.bin", "application/octet-stream", {"text": ""}, 1048576, False),
        ("three-chunks-pattern", "videos/clip \"one\" \\ \u00e9\u6f22.mp4", "video/mp4", {"pattern": "byte i = i mod 251", "length": 40000}, 16384, False),
        ("tiny-text-signed", "hello.txt", "text/plain", {"text": "hello, world\n"}, 1048576, True)]:
    data = content["text"].encode() if "text" in content else pattern[:content["length"]]
    m = manifest(name, media, data, chunk_size)
    canon = canonical(m)
    cid = hashlib.sha256(canon).hexdigest()
    served = dict(m, id=cid)
    case = {"name": case_name, "content": content, "contentSha256": hashlib.sha256(data).hexdigest(),
            "canonical": canon.decode(), "canonicalHex": canon.hex(), "contentId": cid}
    if sign:
        r, s = decode_dss_signature(key.sign(canon, ec.ECDSA(hashes.SHA256())))
        sig = base64.urlsafe_b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).rstrip(b"=").decode()
        served["signature"] = sig
        case["publicKeyPem"] = public_pem
    case["manifest"] = {k: served[k] for k in sorted(served)}
    cases.append(case)

invalid_manifests = [
    {"name": "id-mismatch", "json": json.dumps(dict(manifest("a.txt", "text/plain", b"a", 1048576), id="0" * 64)), "error": "id"},
    {"name": "chunk-count-wrong", "json": json.dumps(dict(manifest("a.txt", "text/plain", b"a", 1048576), size=2000000)), "error": "chunk"},
    {"name": "unknown-key", "json": json.dumps(dict(manifest("a.txt", "text/plain", b"a", 1048576), extra=1)), "error": "unknown key"},
    {"name": "version-2", "json": json.dumps(dict(manifest("a.txt", "text/plain", b"a", 1048576), version=2)), "error": "version"},
    {"name": "uppercase-hex", "json": json.dumps(dict(manifest("a.txt", "text/plain", b"a", 1048576), chunks=[hashlib.sha256(b"a").hexdigest().upper()])), "error": "hex"},
    {"name": "chunk-size-too-small", "json": json.dumps(manifest("a.txt", "text/plain", b"a", 1024)), "error": "chunk size"},
    {"name": "media-type-with-parameters", "json": json.dumps(manifest("a.txt", "text/plain; charset=utf-8", b"a", 1048576)), "error": "media type"},
    {"name": "name-with-newline", "json": json.dumps(manifest("a\nb", "text/plain", b"a", 1048576)), "error": "control character"},
    {"name": "empty-name", "json": json.dumps(manifest("", "text/plain", b"a", 1048576)), "error": "name is empty"},
    {"name": "missing-chunks", "json": json.dumps({"chunkSize": 1048576, "mediaType": "text/plain", "name": "a", "size": 0, "version": 1}), "error": "missing field"},
    {"name": "not-an-object", "json": "[1,2,3]", "error": "object"},
    {"name": "truncated-json", "json": "{\"chunkSize\":1048576,\"chunks\":[", "error": "JSON"},
    {"name": "size-beyond-2^53", "json": json.dumps(manifest("a.txt", "text/plain", b"", 1048576) | {"size": 2 ** 53}), "error": "size"},
]

with open("manifests.json", "w") as f:
    json.dump({"description": "Content manifest test vectors (docs/PROTOCOL.md, 'Content manifests and content ids'). "
               "For each case: build the content, chunk it, check 'canonical' (UTF-8; also as hex), 'contentId' = "
               "SHA-256(canonical) and the served 'manifest' document. The signed case verifies with publicKeyPem "
               "(a test key). 'testSigningKeyPem' is the matching TEST private key, published here on purpose. "
               "'invalid': documents a reader must refuse; 'error' is a substring of the reason in the C# reader.",
               "testSigningKeyPem": private_pem, "cases": cases, "invalid": invalid_manifests}, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(f"wire.json: {len(valid)} valid, {len(invalid)} invalid; manifests.json: {len(cases)} cases, {len(invalid_manifests)} invalid")
