import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { sha256Hex, toHex, fromHex } from "../src/hash.js";

test("sha256Hex matches the FIPS 180-2 'abc' vector", async () => {
  assert.equal(
    await sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

test("sha256Hex agrees with node:crypto on random data of many sizes", async () => {
  for (const size of [0, 1, 63, 64, 65, 1 << 16, (1 << 20) + 7]) {
    const data = randomBytes(size);
    assert.equal(await sha256Hex(data), createHash("sha256").update(data).digest("hex"), `size ${size}`);
  }
});

test("hex round-trips and accepts upper case", () => {
  const bytes = new Uint8Array([0, 1, 0x7f, 0x80, 0xfe, 0xff]);
  assert.equal(toHex(bytes), "00017f80feff");
  assert.deepEqual(fromHex("00017F80FEFF"), bytes);
});

test("fromHex rejects malformed input with a clear error", () => {
  assert.throws(() => fromHex("abc"), /odd length 3/);
  assert.throws(() => fromHex("zz"), /invalid hex digit at offset 0/);
  assert.throws(() => fromHex("0g"), /invalid hex digit at offset 1/);
});
