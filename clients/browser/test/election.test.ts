import { test } from "node:test";
import assert from "node:assert/strict";
import { electionHash, ownerRank, ranking } from "../src/election.js";

const peers = Array.from({ length: 12 }, (_, i) => `peer-${i}-${(i * 7919).toString(36)}`);

test("every viewer computes the same single owner for every chunk", () => {
  for (let chunk = 0; chunk < 200; chunk++) {
    const owners = peers.filter((p) => ownerRank(p, peers, chunk) === 0);
    assert.equal(owners.length, 1, `chunk ${chunk}`);
    assert.equal(owners[0], ranking(peers[0]!, peers, chunk)[0]);
  }
});

test("ranks are a permutation 0..n-1 consistent with the ranking order", () => {
  for (let chunk = 0; chunk < 50; chunk++) {
    const order = ranking(peers[3]!, peers, chunk);
    const ranks = peers.map((p) => ownerRank(p, peers, chunk));
    assert.deepEqual([...ranks].sort((a, b) => a - b), peers.map((_, i) => i));
    for (const p of peers) assert.equal(order.indexOf(p), ownerRank(p, peers, chunk));
  }
});

test("ownership spreads evenly over the viewers (each owns about 1/n of the chunks)", () => {
  const owned = new Map<string, number>();
  const chunks = 12000;
  for (let c = 0; c < chunks; c++) {
    const o = ranking(peers[0]!, peers, c)[0]!;
    owned.set(o, (owned.get(o) ?? 0) + 1);
  }
  for (const p of peers) {
    const share = (owned.get(p) ?? 0) / chunks;
    assert.ok(share > 0.06 && share < 0.11, `${p} owns ${share}`);
  }
});

test("a viewer alone owns everything; self in the candidate list is ignored", () => {
  assert.equal(ownerRank("me", [], 5), 0);
  assert.equal(ownerRank("me", ["me"], 5), 0);
  assert.equal(typeof electionHash("x", 0), "number");
  assert.notEqual(electionHash("x", 0), electionHash("x", 1));
});
