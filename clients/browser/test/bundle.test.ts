import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { runInNewContext } from "node:vm";

// The published artefacts work as shipped: the ES module exports the API and the classic script defines
// the WebRtcCdn global.
test("the ESM bundle exports the API", async () => {
  const sdk = await import(new URL("../../dist/webrtc-cdn.mjs", import.meta.url).href);
  assert.equal(typeof sdk.VERSION, "string");
  assert.equal(await sdk.sha256Hex(new Uint8Array()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});

test("the global bundle defines window.WebRtcCdn", async () => {
  const code = await readFile(new URL("../../dist/webrtc-cdn.global.js", import.meta.url), "utf8");
  const sandbox: { WebRtcCdn?: { VERSION: string; toHex(b: Uint8Array): string; connect?: unknown }; EventTarget: typeof EventTarget } = { EventTarget };
  runInNewContext(code, sandbox);
  assert.equal(sandbox.WebRtcCdn?.toHex(new Uint8Array([171])), "ab");
  assert.equal(typeof sandbox.WebRtcCdn?.connect, "function");
});

test("type declarations are emitted", async () => {
  const dts = await readFile(new URL("../../dist/types/index.d.ts", import.meta.url), "utf8");
  assert.match(dts, /sha256Hex/);
});
