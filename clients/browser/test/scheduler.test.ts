import { test } from "node:test";
import assert from "node:assert/strict";
import { Bitfield } from "../src/bitfield.js";
import { DEFAULTS, HTTP, Scheduler, type Action, type SchedulerOptions } from "../src/scheduler.js";
import { ownerRank } from "../src/election.js";

const MiB = 1 << 20;

function make(over: Partial<SchedulerOptions> = {}, grace = 0, now = 0): Scheduler {
  return new Scheduler(
    { ...DEFAULTS, selfId: "me", chunkCount: 8, chunkLength: () => MiB, strategy: "rarest", mode: "normal", ...over },
    now,
    grace,
  );
}

function bits(n: number, held: number[]): Bitfield {
  const b = new Bitfield(n);
  for (const i of held) b.set(i);
  return b;
}

const http = (a: Action[]) => a.filter((x) => x.kind === "http").map((x) => x.chunk);
const reqs = (a: Action[]) => a.filter((x): x is Action & { kind: "request" } => x.kind === "request");

test("alone after the grace: origin requests in index order, at most httpConcurrency", () => {
  const s = make({}, 0);
  assert.deepEqual(http(s.tick(0)), [0, 1, 2]);
  assert.deepEqual(s.tick(1), []);
});

test("during the start-up grace nothing goes to the origin; peers are used at once", () => {
  const s = make({}, 2000);
  assert.deepEqual(s.tick(0), []);
  s.addPeer("a", bits(8, [0, 1, 2, 3, 4, 5, 6, 7]), 10);
  const a = s.tick(10);
  assert.equal(http(a).length, 0);
  assert.equal(reqs(a).length, DEFAULTS.maxConcurrentTransfers);
  assert.ok(s.nextWake(10)! <= 2000);
});

test("per-peer concurrency is respected and the faster peer gets the next request", () => {
  const s = make({ maxConcurrentTransfers: 2 }, 10_000);
  const all = bits(8, [0, 1, 2, 3, 4, 5, 6, 7]);
  s.addPeer("fast", new Bitfield(8, all.bytes), 0);
  s.addPeer("slow", new Bitfield(8, all.bytes), 0);
  const first = reqs(s.tick(0));
  assert.equal(first.length, 4);
  assert.equal(first.filter((r) => r.peer === "fast").length, 2);
  // fast delivers in 50 ms, slow in 500 ms.
  const f = first.find((r) => r.peer === "fast")!;
  s.completed(f.requestId, 50);
  const sl = first.find((r) => r.peer === "slow")!;
  s.completed(sl.requestId, 500);
  const f2 = first.filter((r) => r.peer === "fast")[1]!;
  s.completed(f2.requestId, 520);
  const next = reqs(s.tick(520));
  assert.ok(next.length >= 1);
  assert.equal(next[0]!.peer, "fast");
  assert.ok(s.peerRate("fast")! > s.peerRate("slow")!);
});

test("rarest first: the chunk fewest peers hold is requested first", () => {
  const s = make({ maxConcurrentTransfers: 1 }, 10_000);
  s.addPeer("a", bits(8, [1, 5]), 0);
  s.addPeer("b", bits(8, [1]), 0);
  const r = reqs(s.tick(0));
  assert.equal(r.length, 2);
  assert.deepEqual(r.map((x) => [x.peer, x.chunk]), [["a", 5], ["b", 1]]);
});

test("streamed reads go in order from the read position", () => {
  const s = make({ strategy: "stream", maxConcurrentTransfers: 3 }, 10_000);
  s.setReadPosition(4, true, 0);
  s.addPeer("a", bits(8, [0, 1, 2, 3, 4, 5, 6, 7]), 0);
  assert.deepEqual(reqs(s.tick(0)).map((r) => r.chunk), [4, 5, 6]);
});

test("streamed read: the chunk the reader waits for races over HTTP after the stall deadline", () => {
  const s = make({ strategy: "stream", maxConcurrentTransfers: 1 }, 10_000);
  s.addPeer("a", bits(8, [0, 1, 2, 3, 4, 5, 6, 7]), 0);
  s.setReadPosition(0, true, 0);
  assert.deepEqual(reqs(s.tick(0)).map((r) => r.chunk), [0]);
  s.activity(1, 1000);
  assert.deepEqual(http(s.tick(1000)), []);
  assert.equal(s.nextWake(1000), DEFAULTS.stallDeadlineMs);
  assert.deepEqual(http(s.tick(DEFAULTS.stallDeadlineMs)), [0]);
});

test("election: with a neighbour and no holder, only owned chunks go to the origin", () => {
  const s = make({ httpConcurrency: 8 }, 0);
  s.addPeer("x", new Bitfield(8), 0);
  const mine = http(s.tick(0));
  const expected = [0, 1, 2, 3, 4, 5, 6, 7].filter((c) => c === 0 || ownerRank("me", ["x"], c) === 0);
  assert.deepEqual(mine, expected);
  assert.ok(mine.length < 8, "some chunks belong to the neighbour");
});

test("election: a back-up steps in after rank x back-off without progress, and not while the owner progresses", () => {
  const s = make({ httpConcurrency: 8, ownerBackoffMs: 1000 }, 0);
  s.addPeer("x", new Bitfield(8), 0);
  const firstBatch = http(s.tick(0));
  const theirs = [0, 1, 2, 3, 4, 5, 6, 7].filter((c) => !firstBatch.includes(c));
  assert.ok(theirs.length > 0);
  // The owner announces a chunk at 900 ms: it is making progress, keep waiting.
  s.peerHave("x", theirs[0]!, 900);
  assert.deepEqual(http(s.tick(1500)), []);
  // Silent from 900 ms on: at 1900 ms the back-up (rank 1) takes the chunks x holds no copy of.
  const stepped = http(s.tick(1900));
  assert.deepEqual(stepped, theirs.slice(1));
  assert.ok(s.stepIns > 0);
  // The chunk x now holds comes from x.
  assert.equal(reqs(s.tick(1900)).length + reqs(s.tick(1901)).length >= 0, true);
});

test("elections wait while a candidate holding chunks is still connecting; the first chunk does not", () => {
  const s = make({ httpConcurrency: 8 }, 0);
  s.holdElections(6000);
  assert.deepEqual(http(s.tick(0)), [0]);
  assert.deepEqual(http(s.tick(3000)), []);
  assert.equal(s.nextWake(3000), 6000);
  assert.deepEqual(http(s.tick(6000)), [1, 2, 3, 4, 5, 6, 7]);
  const t = make({ httpConcurrency: 8 }, 0);
  t.holdElections(6000);
  t.endGrace(10);
  assert.equal(http(t.tick(10)).length, 8);
});

test("the first chunk comes from the origin after the grace only when no peer holds it", () => {
  const s = make({ httpConcurrency: 8 }, 0);
  // Make "x" own chunk 0.
  const other = ["x", "y", "z", "w"].find((p) => ownerRank("me", [p], 0) === 1)!;
  s.addPeer(other, new Bitfield(8), 0);
  assert.ok(http(s.tick(0)).includes(0));
  const t = make({ httpConcurrency: 8 }, 0);
  t.addPeer(other, bits(8, [0]), 0);
  const a = t.tick(0);
  assert.ok(!http(a).includes(0));
  assert.ok(reqs(a).some((r) => r.chunk === 0 && r.peer === other));
});

test("a rejected request moves to another holder, then to the origin when none is left", () => {
  const s = make({ maxConcurrentTransfers: 1, httpConcurrency: 1 }, 10_000);
  s.addPeer("a", bits(8, [3]), 0);
  const r1 = reqs(s.tick(0))[0]!;
  assert.equal(r1.peer, "a");
  s.addPeer("b", bits(8, [3]), 0);
  s.failedRequest(r1.requestId, "not_found", 10);
  const r2 = reqs(s.tick(10)).find((r) => r.chunk === 3)!;
  assert.equal(r2.peer, "b");
  s.failedRequest(r2.requestId, "invalid", 20);
  assert.ok(http(s.tick(20)).includes(3));
});

test("busy: the same peer is retried after the busy back-off", () => {
  const s = make({ maxConcurrentTransfers: 1 }, 10_000);
  s.addPeer("a", bits(8, [2]), 0);
  const r1 = reqs(s.tick(0))[0]!;
  s.failedRequest(r1.requestId, "busy", 10);
  assert.deepEqual(reqs(s.tick(11)), []);
  assert.equal(reqs(s.tick(10 + DEFAULTS.busyBackoffMs))[0]?.peer, "a");
});

test("a silent peer's requests time out, are cancelled and move elsewhere", () => {
  const s = make({ maxConcurrentTransfers: 1, peerIdleTimeoutMs: 1000 }, 10_000);
  s.addPeer("a", bits(8, [0]), 0);
  const r = reqs(s.tick(0))[0]!;
  s.addPeer("b", bits(8, [0]), 500);
  const a = s.tick(1000);
  assert.ok(a.some((x) => x.kind === "cancel" && x.requestId === r.requestId));
  assert.ok(reqs(a).some((x) => x.peer === "b" && x.chunk === 0));
});

test("a first time-out keeps the chunk waiting for its holders; a second one sends it to the origin", () => {
  const s = make({ chunkCount: 1, maxConcurrentTransfers: 1, peerIdleTimeoutMs: 1000, timeoutBackoffMs: 3000 }, 0);
  s.addPeer("a", bits(1, [0]), 0);
  const r1 = reqs(s.tick(0))[0]!;
  const t1 = s.tick(1000);
  assert.ok(t1.some((x) => x.kind === "cancel" && x.requestId === r1.requestId));
  assert.deepEqual(http(t1), [], "one stall is no reason for an origin copy");
  assert.deepEqual(s.tick(2000), []);
  const r2 = reqs(s.tick(4000))[0]!;
  assert.equal(r2.peer, "a");
  const t2 = s.tick(5000);
  assert.ok(t2.some((x) => x.kind === "cancel" && x.requestId === r2.requestId));
  assert.deepEqual(http(t2), [0]);
});

test("a peer idle for long is not timed out the moment it is asked again", () => {
  const s = make({ chunkCount: 2, maxConcurrentTransfers: 1, peerIdleTimeoutMs: 1000 }, 10_000_000);
  s.addPeer("a", bits(2, [0]), 0);
  const r1 = reqs(s.tick(0))[0]!;
  s.completed(r1.requestId, 10);
  s.peerHave("a", 1, 60_000);
  const r2 = reqs(s.tick(60_000))[0]!;
  assert.equal(r2.chunk, 1);
  assert.deepEqual(s.tick(60_001).filter((x) => x.kind === "cancel"), []);
});

test("a banned peer is never asked again and its requests are re-issued", () => {
  const s = make({ maxConcurrentTransfers: 2 }, 10_000);
  s.addPeer("bad", bits(8, [0, 1]), 0);
  s.addPeer("good", bits(8, [0, 1]), 0);
  s.tick(0);
  s.ban("bad");
  s.addPeer("bad", bits(8, [0, 1]), 1);
  assert.ok(s.isBanned("bad"));
  assert.ok(!s.connectedPeers.includes("bad"));
  for (const r of reqs(s.tick(2))) assert.equal(r.peer, "good");
});

test("end-game: an idle peer duplicates an in-flight request; the first copy wins, the other is cancelled", () => {
  const s = make({ chunkCount: 1, maxConcurrentTransfers: 1 }, 10_000);
  s.addPeer("slow", bits(1, [0]), 0);
  const r = reqs(s.tick(0))[0]!;
  s.addPeer("fast", bits(1, [0]), 100);
  const dup = reqs(s.tick(100));
  assert.equal(dup.length, 1);
  assert.equal(dup[0]!.peer, "fast");
  const cancels = s.completed(dup[0]!.requestId, 150);
  assert.deepEqual(cancels.map((c) => c.kind === "cancel" && c.requestId), [r.requestId]);
  assert.ok(s.done);
  assert.equal(s.nextWake(150), undefined);
});

test("origin-only mode (kill switch) uses HTTP for everything at once", () => {
  const s = make({ mode: "origin-only", httpConcurrency: 8 }, 5000);
  s.addPeer("a", bits(8, [0, 1, 2, 3, 4, 5, 6, 7]), 0);
  assert.deepEqual(http(s.tick(0)), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test("origin errors are retried with back-off and fail the download after the limit", () => {
  const s = make({ chunkCount: 1 }, 0);
  let fatal: string | undefined;
  let t = 0;
  for (let i = 0; i < 10 && !fatal; i++) {
    const a = s.tick(t);
    const h = a.find((x) => x.kind === "http");
    if (h) fatal = s.failedRequest(h.requestId, "http-error", t);
    t = s.nextWake(t) ?? t + 1;
  }
  assert.match(fatal ?? "", /origin failed 5 times/);
  assert.equal(HTTP, "(origin)");
});

test("removing a peer frees its requests without penalty", () => {
  const s = make({ maxConcurrentTransfers: 4 }, 10_000);
  s.addPeer("a", bits(8, [0, 1]), 0);
  assert.equal(reqs(s.tick(0)).length, 2);
  s.removePeer("a");
  assert.equal(s.inflightCount, 0);
  s.addPeer("a", bits(8, [0, 1]), 10);
  assert.equal(reqs(s.tick(10)).length, 2);
});

test("a chunk no viewer holds is asked of a connected edge before the origin", () => {
  const s = make({}, 0);
  s.addPeer("edge", bits(8, []), 0, true);
  const a = s.tick(0);
  const r = reqs(a);
  assert.equal(r.length, DEFAULTS.maxConcurrentTransfers);
  assert.ok(r.every((x) => x.peer === "edge"));
  assert.deepEqual(r.map((x) => x.chunk), [0, 1, 2, 3]);
  // The edge is at its limit: the rest follow the usual origin rules (alone, we own them).
  assert.ok(!http(a).some((c) => c < 4));
});

test("chunks a viewer holds come from the viewer; the edge gets only the ones nobody holds", () => {
  const s = make({ maxConcurrentTransfers: 8 }, 0);
  s.addPeer("viewer", bits(8, [0, 1, 2, 3]), 0);
  s.addPeer("edge", bits(8, []), 0, true);
  const r = reqs(s.tick(0));
  assert.deepEqual(r.filter((x) => x.peer === "viewer").map((x) => x.chunk).sort(), [0, 1, 2, 3]);
  assert.deepEqual(r.filter((x) => x.peer === "edge").map((x) => x.chunk).sort(), [4, 5, 6, 7]);
});

test("when the edge refuses a chunk (not_found) it goes to the origin election; the edge is never elected", () => {
  const s = make({ chunkCount: 1 }, 0);
  s.addPeer("edge", bits(1, []), 0, true);
  const first = reqs(s.tick(0));
  assert.equal(first.length, 1);
  assert.equal(s.failedRequest(first[0]!.requestId, "not_found", 5), undefined);
  // Alone with an edge, this viewer is the owner whatever the edge's hash (edges are not election candidates).
  assert.deepEqual(http(s.tick(5)), [0]);
});

test("an edge that is busy for a chunk is asked again after the back-off, before the origin", () => {
  const s = make({ chunkCount: 1 }, 60_000);
  s.addPeer("edge", bits(1, []), 0, true);
  const first = reqs(s.tick(0));
  s.failedRequest(first[0]!.requestId, "busy", 1);
  assert.deepEqual(s.tick(2), []);
  const again = reqs(s.tick(2 + DEFAULTS.busyBackoffMs));
  assert.equal(again[0]?.peer, "edge");
});
