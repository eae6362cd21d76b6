import { test } from "node:test";
import assert from "node:assert/strict";
import { outgoingLimit } from "../src/swarm.js";

test("a viewer dials at most three quarters of maxPeers, keeping slots for newcomers' offers", () => {
  assert.equal(outgoingLimit(8), 6);
  assert.equal(outgoingLimit(4), 3);
  assert.equal(outgoingLimit(2), 1);
  assert.equal(outgoingLimit(1), 1, "a viewer allowed one peer still dials one");
  // 12 viewers, maxPeers 8, staggered: with everyone dialling earlier viewers up to 6, the later viewers keep
  // room, so a 10th joiner finds candidates below their limit (signaling skips peers at the limit).
  const links = Array.from({ length: 12 }, () => 0);
  for (let v = 0; v < 12; v++) {
    let dialled = 0;
    for (let u = v - 1; u >= 0 && dialled < outgoingLimit(8); u--) {
      if (links[u]! >= 8) continue;
      links[u]!++;
      links[v]!++;
      dialled++;
    }
    assert.ok(dialled > 0 || v === 0, `viewer ${v} found no candidate`);
  }
});
