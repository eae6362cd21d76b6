import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { decode, encode, type WireFrame } from "../src/wire.js";
import { canonicalForm, parseManifest } from "../src/manifest.js";
import { fromHex, sha256Hex, toHex } from "../src/hash.js";

// The shared test vectors (tests/vectors/, docs/PROTOCOL.md) that the C# implementation is tested against too.
const root = new URL("../../../../tests/vectors/", import.meta.url);

interface WireVectors {
  valid: { name: string; hex: string; frame: Record<string, unknown> }[];
  invalid: { name: string; hex: string; error: string }[];
}

function toJson(f: WireFrame): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) out[k] = v instanceof Uint8Array ? toHex(v) : v;
  return out;
}

function fromJson(j: Record<string, unknown>): WireFrame {
  const f: Record<string, unknown> = { ...j };
  for (const k of ["contentId", "bitfield", "data"]) if (typeof f[k] === "string") f[k] = fromHex(f[k] as string);
  return f as unknown as WireFrame;
}

test("wire: every valid vector decodes to its fields and encodes back to its bytes", async () => {
  const v = JSON.parse(await readFile(new URL("wire.json", root), "utf8")) as WireVectors;
  assert.ok(v.valid.length >= 10);
  for (const c of v.valid) {
    const r = decode(fromHex(c.hex));
    assert.ok(r.ok, `${c.name}: ${r.ok ? "" : r.error}`);
    assert.deepEqual(toJson(r.frame), c.frame, c.name);
    assert.equal(toHex(encode(fromJson(c.frame))), c.hex, c.name);
  }
});

test("wire: every invalid vector fails with its error and never throws", async () => {
  const v = JSON.parse(await readFile(new URL("wire.json", root), "utf8")) as WireVectors;
  assert.ok(v.invalid.length >= 10);
  for (const c of v.invalid) {
    const r = decode(fromHex(c.hex));
    assert.equal(r.ok, false, c.name);
    assert.equal(r.ok ? "" : r.error, c.error, c.name);
  }
});

test("wire: encoding refuses frames that would not decode", () => {
  assert.throws(() => encode({ type: "HAVE", chunkIndex: -1 }), RangeError);
  assert.throws(() => encode({ type: "PIECE", requestId: 1, chunkIndex: 0, offset: 0, data: new Uint8Array(65522) }), RangeError);
  assert.throws(() => encode({ type: "HELLO", contentId: new Uint8Array(32), chunkCount: 10, bitfield: new Uint8Array(1) }), RangeError);
});

test("wire: random bytes never throw", () => {
  for (let i = 0; i < 5000; i++) {
    const b = new Uint8Array(Math.floor(Math.random() * 64));
    for (let k = 0; k < b.length; k++) b[k] = Math.floor(Math.random() * 256);
    if (b.length > 0 && Math.random() < 0.8) b[0] = 1;
    decode(b);
  }
});

interface ManifestVectors {
  cases: { name: string; canonical: string; contentId: string; manifest: Record<string, unknown> }[];
  invalid: { name: string; json: string; error: string }[];
}

test("manifest: canonical form and content id match every vector", async () => {
  const v = JSON.parse(await readFile(new URL("manifests.json", root), "utf8")) as ManifestVectors;
  for (const c of v.cases) {
    const m = await parseManifest(JSON.stringify(c.manifest), c.contentId);
    assert.equal(canonicalForm(m), c.canonical, c.name);
    assert.equal(await sha256Hex(new TextEncoder().encode(c.canonical)), c.contentId, c.name);
    assert.equal(m.id, c.contentId);
  }
});

test("manifest: every invalid document is refused with a clear error", async () => {
  const v = JSON.parse(await readFile(new URL("manifests.json", root), "utf8")) as ManifestVectors;
  for (const c of v.invalid) {
    await assert.rejects(parseManifest(c.json), (e: Error) => e.name === "ManifestError", c.name);
  }
});

test("manifest: a manifest for other content than asked is refused", async () => {
  const v = JSON.parse(await readFile(new URL("manifests.json", root), "utf8")) as ManifestVectors;
  const c = v.cases[0]!;
  await assert.rejects(parseManifest(JSON.stringify(c.manifest), "00".repeat(32)), /asked for content/);
});
