import { test } from "node:test";
import assert from "node:assert/strict";
import { ChunkStore } from "../src/chunk-store.js";
import { Bitfield } from "../src/bitfield.js";

test("chunk store: evicts least recently used beyond the byte bound", () => {
  const s = new ChunkStore(300);
  const evicted: string[] = [];
  s.onEvict = (id, i) => evicted.push(`${id}/${i}`);
  s.put("a", 0, new Uint8Array(100));
  s.put("a", 1, new Uint8Array(100));
  s.put("a", 2, new Uint8Array(100));
  s.get("a", 0); // 0 is now most recent
  s.put("a", 3, new Uint8Array(100));
  assert.deepEqual(evicted, ["a/1"]);
  assert.ok(s.has("a", 0) && !s.has("a", 1) && s.has("a", 3));
  assert.equal(s.size, 300);
});

test("chunk store: pinned chunks survive eviction until unpinned", () => {
  const s = new ChunkStore(100);
  s.put("a", 0, new Uint8Array(100));
  s.pin("a", 0);
  s.put("a", 1, new Uint8Array(100));
  assert.ok(s.has("a", 0));
  assert.ok(!s.has("a", 1));
  s.unpin("a", 0);
  assert.equal(s.size, 0 + (s.has("a", 0) ? 100 : 0));
});

test("chunk store: replacing a chunk keeps the byte count right", () => {
  const s = new ChunkStore(1000);
  s.put("a", 0, new Uint8Array(100));
  s.put("a", 0, new Uint8Array(50));
  assert.equal(s.size, 50);
  s.delete("a", 0);
  assert.equal(s.size, 0);
});

test("bitfield: set/clear/count and the wire's MSB-first order", () => {
  const b = new Bitfield(10);
  b.set(0);
  b.set(2);
  b.set(9);
  assert.deepEqual([...b.bytes], [0xa0, 0x40]);
  assert.equal(b.count, 3);
  assert.equal(b.set(2), false);
  b.clear(2);
  assert.equal(b.count, 2);
  const c = new Bitfield(10, new Uint8Array([0xff, 0xc0]));
  assert.ok(c.complete);
});
