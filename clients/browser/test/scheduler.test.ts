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
  assert.equal(reqs(a).length, 1, "slow start: one request until the peer delivers");
  assert.ok(s.nextWake(10)! <= 2000);
});

test("per-peer concurrency is respected and the faster peer gets the next request", () => {
  const s = make({ chunkCount: 16, maxConcurrentTransfers: 2 }, 10_000);
  const all = bits(16, [...Array(16).keys()]);
  s.addPeer("fast", new Bitfield(16, all.bytes), 0);
  s.addPeer("slow", new Bitfield(16, all.bytes), 0);
  // Past slow start: each peer delivers its first chunk, fast in 50 ms, slow in 500 ms.
  const warm = reqs(s.tick(0));
  assert.equal(warm.length, 2);
  s.completed(warm.find((r) => r.peer === "fast")!.requestId, 50);
  const afterFast = reqs(s.tick(50));
  assert.deepEqual(afterFast.map((r) => r.peer), ["fast", "fast"], "a peer that delivered gets the full cap");
  s.completed(warm.find((r) => r.peer === "slow")!.requestId, 500);
  s.completed(afterFast[0]!.requestId, 520);
  const next = reqs(s.tick(520));
  assert.ok(next.length >= 1);
  assert.equal(next[0]!.peer, "fast");
  assert.ok(s.peerRate("fast")! > s.peerRate("slow")!);
  assert.ok(s.inflightCount <= 4);
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
  const first = reqs(s.tick(0));
  assert.deepEqual(first.map((r) => r.chunk), [4]);
  s.completed(first[0]!.requestId, 50);
  s.setReadPosition(5, true, 50);
  assert.deepEqual(reqs(s.tick(50)).map((r) => r.chunk), [5, 6, 7]);
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

test("streamed read: a reader stalled on a chunk nobody holds goes to HTTP even while the edge is busy", () => {
  const s = make({ strategy: "stream", maxConcurrentTransfers: 1 }, 0);
  s.addPeer("edge", bits(4, [0, 1, 2, 3]), 0, true);
  s.markHeld(0);
  s.setReadPosition(1, false, 0);
  // The edge's only slot goes to chunk 1.
  assert.deepEqual(reqs(s.tick(0)).map((r) => [r.peer, r.chunk]), [["edge", 1]]);
  // The reader jumps to chunk 2 and stalls there: it must not wait for the edge's slot.
  s.setReadPosition(2, true, 0);
  assert.deepEqual(http(s.tick(0)), []);
  assert.deepEqual(http(s.tick(DEFAULTS.stallDeadlineMs)), [2]);
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

test("a newcomer waits electionSettleMs after the grace before fetching its elected chunks; HAVEs meanwhile count", () => {
  const s = make({ chunkCount: 8, httpConcurrency: 8, electionSettleMs: 750 }, 2000);
  s.addPeer("a", new Bitfield(8), 100);
  s.endGrace(100);
  // The first chunk (no holder) goes to the origin at once; elected chunks wait for the neighbour's in-flight fetches.
  assert.deepEqual(http(s.tick(100)), [0]);
  assert.equal(s.nextWake(100), 850);
  s.peerHave("a", 3, 400); // a's fetch that was in flight when we arrived
  const later = http(s.tick(850));
  const mine = [1, 2, 4, 5, 6, 7].filter((i) => ownerRank("me", ["a"], i) === 0);
  assert.deepEqual(later, mine);
  assert.ok(!later.includes(3));
});

test("only the first end of the grace settles elections; later ones do not hold them again", () => {
  const s = make({ chunkCount: 4, httpConcurrency: 4, electionSettleMs: 750 }, 2000);
  s.addPeer("a", new Bitfield(4), 0);
  s.endGrace(0);
  s.tick(0);
  s.endGrace(800);
  const mine = [1, 2, 3].filter((i) => ownerRank("me", ["a"], i) === 0);
  assert.deepEqual(http(s.tick(800)), mine);
});

test("an under-connected newcomer keeps the election hold past the HELLOs; a well-connected one does not", () => {
  for (const keep of [true, false]) {
    const s = make({ chunkCount: 4, httpConcurrency: 4, electionSettleMs: 0 }, 2000);
    s.addPeer("a", new Bitfield(4), 0);
    s.holdElections(6000);
    s.endGrace(100, keep);
    const mine = [1, 2, 3].filter((i) => ownerRank("me", ["a"], i) === 0);
    // The first chunk never waits; the elected ones wait for the hold only when it is kept.
    assert.deepEqual(http(s.tick(100)), keep ? [0] : [0, ...mine]);
    if (keep) {
      assert.deepEqual(http(s.tick(5999)), []);
      assert.deepEqual(http(s.tick(6000)), mine);
    }
  }
});

test("alone, a viewer does not wait to settle: nobody else can be fetching", () => {
  const s = make({ chunkCount: 4, httpConcurrency: 4, electionSettleMs: 750 }, 2000);
  s.endGrace(0);
  assert.deepEqual(http(s.tick(0)), [0, 1, 2, 3]);
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

test("end-game: a silent peer's request is duplicated at an idle holder after stragglerMs; the first copy wins", () => {
  const s = make({ chunkCount: 1, maxConcurrentTransfers: 1, stragglerMs: 1500 }, 10_000);
  s.addPeer("slow", bits(1, [0]), 0);
  const r = reqs(s.tick(0))[0]!;
  s.addPeer("fast", bits(1, [0]), 100);
  assert.deepEqual(reqs(s.tick(100)), [], "a request just sent is not a straggler");
  assert.equal(s.nextWake(100), 1500);
  const dup = reqs(s.tick(1500));
  assert.equal(dup.length, 1);
  assert.equal(dup[0]!.peer, "fast");
  const cancels = s.completed(dup[0]!.requestId, 1550);
  assert.deepEqual(cancels.map((c) => c.kind === "cancel" && c.requestId), [r.requestId]);
  assert.ok(s.done);
  assert.equal(s.nextWake(1550), undefined);
});

test("stragglers: a faster idle holder duplicates the requests expected to finish last, not those about to finish", () => {
  const s = make({ chunkCount: 6, maxConcurrentTransfers: 4 }, 10_000);
  s.addPeer("slow", bits(6, [0, 1, 2, 3, 4, 5]), 0);
  const first = reqs(s.tick(0));
  assert.deepEqual(first.map((r) => [r.peer, r.chunk]), [["slow", 0]]);
  s.completed(first[0]!.requestId, 400); // slow: 1 MiB per 400 ms
  s.addPeer("fast", bits(6, [5]), 400);
  const second = reqs(s.tick(400));
  assert.deepEqual(second.map((r) => [r.peer, r.chunk]), [["slow", 1], ["slow", 2], ["slow", 3], ["slow", 4], ["fast", 5]]);
  s.completed(second[4]!.requestId, 560); // fast: 1 MiB per 160 ms
  for (const i of [1, 2, 3, 4]) s.peerHave("fast", i, 560);
  // Queued at slow, chunks 1..4 finish 400, 800, 1200, 1600 ms from now; fast takes 160 ms, and only idle
  // peers duplicate: chunk 4 (last to finish) goes to fast, then nothing more until fast is idle again.
  const dups = reqs(s.tick(560));
  assert.deepEqual(dups.map((r) => [r.peer, r.chunk]), [["fast", 4]]);
  // The duplicate that wins cancels the original at slow.
  const cancels = s.completed(dups[0]!.requestId, 720);
  assert.deepEqual(cancels.map((c) => c.kind === "cancel" && c.source), ["slow"]);
  // 720 ms: slow's queue now holds 1, 2, 3: chunk 3 is expected in 1200 ms, fast takes ~160: duplicated.
  assert.deepEqual(reqs(s.tick(720)).map((r) => [r.peer, r.chunk]), [["fast", 3]]);
});

test("stragglers: no duplicate when the idle holder is not clearly faster", () => {
  const s = make({ chunkCount: 3, maxConcurrentTransfers: 4 }, 10_000);
  s.addPeer("a", bits(3, [0, 1, 2]), 0);
  const r0 = reqs(s.tick(0))[0]!;
  s.completed(r0.requestId, 100); // a: 1 MiB per 100 ms
  assert.deepEqual(reqs(s.tick(100)).map((r) => [r.peer, r.chunk]), [["a", 1], ["a", 2]]);
  s.addPeer("b", bits(3, [2]), 101);
  // b is unknown (optimistic 10 MB/s = 105 ms) and a's last chunk is due in 200 ms: less than twice as fast.
  assert.deepEqual(reqs(s.tick(101)), []);
});

test("sources: requests go to at most maxSources viewers at once; another holder is taken when a source is done", () => {
  const s = make({ chunkCount: 16, maxSources: 3, maxConcurrentTransfers: 1 }, 10_000);
  const all = Array.from({ length: 16 }, (_, i) => i);
  for (const id of ["a", "b", "c", "d", "e"]) s.addPeer(id, bits(16, all), 0);
  const first = reqs(s.tick(0));
  assert.equal(first.length, 3);
  assert.equal(new Set(first.map((r) => r.peer)).size, 3);
  assert.deepEqual(reqs(s.tick(1)), [], "two idle holders wait: three sources are busy");
  // One source delivers: its slot is free again, and one request (to it or to another holder) follows.
  s.completed(first[0]!.requestId, 100);
  const next = reqs(s.tick(100));
  assert.equal(next.length, 1);
  const busy = new Set([...first.slice(1), ...next].map((r) => r.peer));
  assert.equal(busy.size, 3);
});

test("sources: a holder known to be twice as fast as the slowest source is taken past the limit; an unknown one is not", () => {
  const s = make({ chunkCount: 12, maxSources: 1, maxConcurrentTransfers: 2, stragglerMs: 2500 }, 10_000);
  const all = Array.from({ length: 12 }, (_, i) => i);
  s.addPeer("slow", bits(12, all), 0);
  const r0 = reqs(s.tick(0))[0]!;
  s.completed(r0.requestId, 1000); // slow: 1 MiB per second
  assert.deepEqual(reqs(s.tick(1000)).map((r) => r.peer), ["slow", "slow"]);
  // A holder of unknown speed waits for a free place.
  s.addPeer("fast", bits(12, all), 1001);
  assert.deepEqual(reqs(s.tick(1001)), []);
  // slow goes quiet: fast copies one of its requests (the straggler rule) and delivers it in 100 ms.
  const dup = reqs(s.tick(3500));
  assert.deepEqual(dup.map((r) => r.peer), ["fast"]);
  s.completed(dup[0]!.requestId, 3600);
  // fast is now known to be ten times faster than the source in place: it takes the next requests (and slow, still a
  // source, fills its free place).
  assert.deepEqual(reqs(s.tick(3600)).map((r) => r.peer), ["fast", "fast", "slow"]);
});

test("sources: edges do not count, and an idle holder still duplicates a straggler past the limit", () => {
  const s = make({ chunkCount: 2, maxSources: 1, maxConcurrentTransfers: 1, stragglerMs: 1000 }, 10_000);
  s.addPeer("edge", bits(2, [0, 1]), 0, true);
  s.addPeer("slow", bits(2, [0, 1]), 0);
  s.addPeer("other", bits(2, [0, 1]), 0);
  const first = reqs(s.tick(0));
  // One viewer source, and nothing for the edge (chunks a viewer holds never go to an edge; it is not a source).
  assert.equal(first.length, 1);
  assert.notEqual(first[0]!.peer, "edge");
  const silent = first[0]!;
  // The source goes silent for stragglerMs: an idle holder copies its request although the limit is reached.
  const dup = reqs(s.tick(1000));
  assert.equal(dup.length, 1);
  assert.equal(dup[0]!.chunk, silent.chunk);
  assert.notEqual(dup[0]!.peer, silent.peer);
});

test("sources: the chunk a stream reader needs goes to a free holder past the limit", () => {
  const s = make({ strategy: "stream", chunkCount: 8, maxSources: 1, maxConcurrentTransfers: 4 }, 10_000);
  const all = [0, 1, 2, 3, 4, 5, 6, 7];
  s.addPeer("a", bits(8, all), 0);
  s.addPeer("b", bits(8, all), 0);
  const first = reqs(s.tick(0));
  assert.equal(first.length, 1, "slow start: one request, at one source");
  const src = first[0]!.peer;
  const other = src === "a" ? "b" : "a";
  s.completed(first[0]!.requestId, 100);
  s.setReadPosition(1, false, 100);
  // The source takes four; the other holder is not a second source.
  assert.deepEqual(reqs(s.tick(100)).map((r) => [r.peer, r.chunk]), [[src, 1], [src, 2], [src, 3], [src, 4]]);
  // The reader seeks to chunk 6: it goes to the free holder now, not after the source's queue.
  s.setReadPosition(6, true, 150);
  assert.deepEqual(reqs(s.tick(150)).map((r) => [r.peer, r.chunk]), [[other, 6]]);
});

test("stragglers: a peer that has not delivered yet duplicates only a silent peer's request", () => {
  const s = make({ chunkCount: 2, maxConcurrentTransfers: 4, stragglerMs: 2500 }, 10_000);
  s.addPeer("a", bits(2, [0, 1]), 0);
  const r0 = reqs(s.tick(0))[0]!;
  s.completed(r0.requestId, 1000); // a: 1 MiB per second
  const r1 = reqs(s.tick(1000))[0]!;
  assert.equal(r1.chunk, 1);
  s.addPeer("b", bits(2, [1]), 1001);
  // b's optimistic first estimate (10 MB/s) would beat a's second by far, but a is delivering: no bet on b.
  s.activity(r1.requestId, 1500, 64 << 10);
  assert.deepEqual(reqs(s.tick(1500)), []);
  // a goes silent: after stragglerMs b duplicates it.
  assert.deepEqual(reqs(s.tick(4000)).map((r) => [r.peer, r.chunk]), [["b", 1]]);
});

test("stragglers: a peer that still trickles but went slow is duplicated once its current request takes twice its time", () => {
  const s = make({ chunkCount: 4, maxConcurrentTransfers: 4, stragglerMs: 2500 }, 10_000);
  s.addPeer("a", bits(4, [0, 1, 2]), 0);
  s.addPeer("b", bits(4, [3]), 0);
  const start = reqs(s.tick(0));
  assert.deepEqual(start.map((r) => [r.peer, r.chunk]).sort(), [["a", 0], ["b", 3]]);
  for (const r of start) s.completed(r.requestId, 100); // both: 1 MiB per 100 ms
  const atA = reqs(s.tick(100));
  assert.deepEqual(atA.map((r) => [r.peer, r.chunk]), [["a", 1], ["a", 2]]);
  s.peerHave("b", 1, 100);
  s.peerHave("b", 2, 100);
  // 150 ms: a is on time (chunk 2 due in ~200 ms; b would take 100): not clearly faster, no duplicate.
  s.activity(atA[0]!.requestId, 150, 64 << 10);
  assert.deepEqual(reqs(s.tick(150)), []);
  // The scheduler wakes when a's current request turns slow (twice its 100 ms).
  assert.ok(s.nextWake(150)! <= 300, `woke at ${s.nextWake(150)}`);
  // 400 ms: a still sends pieces (not silent: stragglerMs is 2.5 s) but only 128 KiB in 300 ms: its queue is ~4.6 s
  // away at that pace, so idle b duplicates the request expected to finish last.
  s.activity(atA[0]!.requestId, 400, 64 << 10);
  const dups = reqs(s.tick(400));
  assert.deepEqual(dups.map((r) => [r.peer, r.chunk])[0], ["b", 2]);
});

test("stragglers: what is left of a request, not the whole chunk, decides", () => {
  const s = make({ chunkCount: 4, maxConcurrentTransfers: 4 }, 10_000);
  s.addPeer("a", bits(4, [0, 1, 2]), 0);
  const r0 = reqs(s.tick(0))[0]!;
  s.completed(r0.requestId, 1000); // a: 1 MiB per second
  const atA = reqs(s.tick(1000));
  assert.deepEqual(atA.map((r) => [r.peer, r.chunk, r.requestId]), [["a", 1, 2], ["a", 2, 3]]);
  s.addPeer("b", bits(4, [1, 2, 3]), 1000);
  const r3 = reqs(s.tick(1000))[0]!;
  assert.deepEqual([r3.peer, r3.chunk], ["b", 3]);
  // a has nearly all of chunks 1 and 2 sent (30 KiB left of each: ~60 ms), so idle b (100 ms a chunk) does not
  // duplicate chunk 2, which whole-chunk arithmetic would have put 2 s away.
  for (const id of [2, 3]) s.activity(id, 1090, MiB - (30 << 10)); // request ids 2 and 3: chunks 1 and 2 at a
  assert.deepEqual(s.completed(r3.requestId, 1100), []);
  assert.deepEqual(reqs(s.tick(1100)), []);
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
  assert.equal(reqs(s.tick(0)).length, 1);
  s.removePeer("a");
  assert.equal(s.inflightCount, 0);
  s.addPeer("a", bits(8, [0, 1]), 10);
  assert.deepEqual(reqs(s.tick(10)).map((r) => r.chunk), [0]);
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

test("chunks a viewer holds come from the viewer; the edge stands in for the origin: only elected chunks, never held ones", () => {
  const s = make({ maxConcurrentTransfers: 8 }, 0);
  s.addPeer("viewer", bits(8, [0, 1, 2, 3]), 0);
  // A real edge advertises everything it holds: it must not become every viewer's regular source.
  s.addPeer("edge", bits(8, [0, 1, 2, 3, 4, 5, 6, 7]), 0, true);
  // Slow start hands each peer one request until it delivers, so run a few rounds, completing every request.
  const fromViewer: number[] = [];
  const fromEdge: number[] = [];
  let now = 0;
  for (let round = 0; round < 6; round++) {
    const a = s.tick(now);
    assert.deepEqual(http(a), [], "the edge replaces the origin");
    const r = reqs(a);
    for (const x of r) (x.peer === "viewer" ? fromViewer : fromEdge).push(x.chunk);
    now += 10;
    for (const x of r) s.completed(x.requestId, now);
  }
  assert.deepEqual(fromViewer.sort(), [0, 1, 2, 3]);
  // Of the chunks nobody holds, this viewer fetches only those it is elected for; the other viewer owns the rest.
  const mine = [4, 5, 6, 7].filter((c) => ownerRank("me", ["viewer"], c) === 0);
  assert.deepEqual(fromEdge.sort(), mine);
});

test("two viewers with one edge: each chunk nobody holds is fetched over the edge by exactly one of them", () => {
  const a = make({ selfId: "a" }, 0);
  const b = make({ selfId: "b" }, 0);
  a.addPeer("b", bits(8, []), 0);
  b.addPeer("a", bits(8, []), 0);
  a.addPeer("edge", bits(8, [0, 1, 2, 3, 4, 5, 6, 7]), 0, true);
  b.addPeer("edge", bits(8, [0, 1, 2, 3, 4, 5, 6, 7]), 0, true);
  const got: number[] = [];
  let now = 0;
  for (let round = 0; round < 8; round++) {
    for (const s of [a, b]) {
      const act = s.tick(now);
      assert.deepEqual(http(act), []);
      for (const x of reqs(act)) {
        if (x.peer === "edge") got.push(x.chunk); // the rest come from the other viewer once it announced them
        s.completed(x.requestId, now + 5);
        for (const other of [a, b]) if (other !== s) other.peerHave(s === a ? "a" : "b", x.chunk, now + 5);
      }
    }
    now += 10;
  }
  assert.deepEqual(got.sort(), [0, 1, 2, 3, 4, 5, 6, 7], "one edge copy per chunk");
});

test("in a seeded swarm a chunk no neighbour holds waits seededElectionWaitMs before the election", () => {
  const s = make({ chunkCount: 2, electionSettleMs: 0, seededElectionWaitMs: 4000 }, 0);
  s.addPeer("newcomer", bits(2, [0]), 0);
  s.swarmSeeded(); // a join answer listed a complete viewer
  s.markHeld(0);
  // Chunk 1: nobody connected holds it, but the swarm does: no origin request yet, whoever owns it.
  assert.deepEqual(http(s.tick(0)), []);
  assert.ok(s.nextWake(0)! <= 4000);
  // The neighbour gets it meanwhile: it comes from the neighbour.
  s.peerHave("newcomer", 1, 3000);
  const r = reqs(s.tick(3000));
  assert.deepEqual(r.map((x) => [x.peer, x.chunk]), [["newcomer", 1]]);
});

test("in a seeded swarm the election runs once the wait is over", () => {
  const s = make({ chunkCount: 2, electionSettleMs: 0, seededElectionWaitMs: 4000 }, 0);
  s.markHeld(0); // the first chunk of a read does not wait (it starts the stream)
  s.swarmSeeded();
  assert.deepEqual(http(s.tick(0)), []);
  assert.deepEqual(http(s.tick(3999)), []);
  assert.deepEqual(http(s.tick(4000)), [1], "alone, this viewer owns it");
});

test("a complete neighbour makes the swarm seeded; a complete edge does not", () => {
  const s = make({ chunkCount: 2, electionSettleMs: 0, seededElectionWaitMs: 4000 }, 0);
  s.markHeld(0);
  s.addPeer("edge", bits(2, [0, 1]), 0, true);
  // With only an edge, chunk 1 goes to the election at once and is fetched over the edge.
  assert.deepEqual(reqs(s.tick(0)).map((x) => x.peer), ["edge"]);
  const t = make({ chunkCount: 2, electionSettleMs: 0, seededElectionWaitMs: 4000 }, 0);
  t.markHeld(0);
  t.addPeer("seeder", bits(2, [0, 1]), 0);
  t.removePeer("seeder");
  assert.deepEqual(http(t.tick(0)), [], "the seeder left, but the swarm holds the chunk: wait first");
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
  const s = make({ chunkCount: 1 }, 0);
  s.addPeer("edge", bits(1, []), 0, true);
  const first = reqs(s.tick(0));
  s.failedRequest(first[0]!.requestId, "busy", 1);
  assert.deepEqual(s.tick(2), []);
  const again = reqs(s.tick(2 + DEFAULTS.busyBackoffMs));
  assert.equal(again[0]?.peer, "edge");
});
