import { test } from "node:test";
import assert from "node:assert/strict";
import { Bitfield } from "../src/bitfield.js";
import { DEFAULTS, Scheduler, type Action } from "../src/scheduler.js";

/**
 * A deterministic simulation of a swarm of viewers, each driven by its own Scheduler, with virtual time:
 * an origin with a shared capacity, peer links with a fixed rate each, staggered joins, HAVE propagation.
 * It checks the property the election exists for: the swarm pulls about one origin copy.
 */
interface SimOptions {
  viewers: number;
  chunks: number;
  staggerMs: number;
  /** Origin capacity shared by all concurrent origin transfers, bytes per ms (12_500 = 100 Mbit/s). */
  originRate: number;
  peerRate: number;
  connectMs: number;
}

const CHUNK = 1 << 20;

function simulate(o: SimOptions): { originChunks: number; finish: number[] } {
  type Transfer = { viewer: number; requestId: number; chunk: number; source: number | "origin"; remaining: number };
  const ids = Array.from({ length: o.viewers }, (_, i) => `viewer-${i}`);
  const sched: (Scheduler | undefined)[] = [];
  const finish: number[] = [];
  const transfers: Transfer[] = [];
  let originChunks = 0;
  let now = 0;
  const connected = new Set<string>();
  const events: { at: number; run: () => void }[] = [];
  for (let v = 0; v < o.viewers; v++) {
    events.push({
      at: v * o.staggerMs,
      run: () => {
        sched[v] = new Scheduler(
          { ...DEFAULTS, selfId: ids[v]!, chunkCount: o.chunks, chunkLength: () => CHUNK, strategy: "rarest", mode: "normal" },
          now,
          v === 0 ? 0 : 2000,
        );
        if (v > 0)
          events.push({
            at: now + o.connectMs,
            run: () => {
              for (let u = 0; u < v; u++) {
                if (!sched[u]) continue;
                connected.add(`${u}-${v}`);
                sched[v]!.addPeer(ids[u]!, new Bitfield(o.chunks, sched[u]!.have.bytes), now);
                sched[u]!.addPeer(ids[v]!, new Bitfield(o.chunks, sched[v]!.have.bytes), now);
              }
              sched[v]!.endGrace(now);
            },
          });
      },
    });
  }
  const apply = (v: number, actions: Action[]) => {
    for (const a of actions) {
      if (a.kind === "http") transfers.push({ viewer: v, requestId: a.requestId, chunk: a.chunk, source: "origin", remaining: CHUNK });
      else if (a.kind === "request") transfers.push({ viewer: v, requestId: a.requestId, chunk: a.chunk, source: ids.indexOf(a.peer), remaining: CHUNK });
      else {
        const i = transfers.findIndex((t) => t.viewer === v && t.requestId === a.requestId);
        if (i >= 0) transfers.splice(i, 1);
      }
    }
  };
  const step = 5;
  for (now = 0; now < 600_000; now += step) {
    for (const e of events.filter((e) => e.at <= now)) {
      events.splice(events.indexOf(e), 1);
      e.run();
    }
    const originCount = transfers.filter((t) => t.source === "origin").length;
    for (const t of [...transfers]) {
      // Peers serve their requests one after the other per link: the rate is shared by a link's requests.
      const sharing = t.source === "origin" ? originCount : transfers.filter((x) => x.source === t.source && x.viewer === t.viewer).length;
      t.remaining -= ((t.source === "origin" ? o.originRate : o.peerRate) * step) / sharing;
      const s = sched[t.viewer]!;
      if (t.source !== "origin") s.activity(t.requestId, now);
      if (t.remaining <= 0) {
        transfers.splice(transfers.indexOf(t), 1);
        if (!s.isCurrent(t.requestId)) continue;
        if (t.source === "origin") originChunks++;
        apply(t.viewer, s.completed(t.requestId, now));
        for (let u = 0; u < o.viewers; u++) {
          if (u !== t.viewer && sched[u] && (connected.has(`${u}-${t.viewer}`) || connected.has(`${t.viewer}-${u}`))) sched[u]!.peerHave(ids[t.viewer]!, t.chunk, now);
        }
        if (s.done) finish[t.viewer] = now;
      }
    }
    for (let v = 0; v < o.viewers; v++) if (sched[v] && !sched[v]!.done) apply(v, sched[v]!.tick(now));
    if (finish.filter((x) => x !== undefined).length === o.viewers) break;
  }
  return { originChunks, finish };
}

test("simulation: 12 viewers staggered 1 s, fast origin: about one origin copy", () => {
  const r = simulate({ viewers: 12, chunks: 32, staggerMs: 1000, originRate: 100_000, peerRate: 20_000, connectMs: 300 });
  assert.equal(r.finish.filter((x) => x !== undefined).length, 12);
  console.log(`# sim: origin ${r.originChunks}/32 chunks, slowest ${Math.max(...r.finish)} ms`);
  assert.ok(r.originChunks <= 32 * 1.15, `origin sent ${r.originChunks} chunks for 32`);
});

test("simulation: 12 viewers staggered 1 s, origin capped at 100 Mbit/s: origin egress <= 1.15 copies", () => {
  const r = simulate({ viewers: 12, chunks: 32, staggerMs: 1000, originRate: 12_500, peerRate: 20_000, connectMs: 300 });
  assert.equal(r.finish.filter((x) => x !== undefined).length, 12);
  console.log(`# sim: origin ${r.originChunks}/32 chunks, slowest ${Math.max(...r.finish)} ms`);
  assert.ok(r.originChunks <= 32 * 1.15, `origin sent ${r.originChunks} chunks for 32`);
});

test("simulation: 6 viewers starting together share the origin work", () => {
  const r = simulate({ viewers: 6, chunks: 16, staggerMs: 0, originRate: 12_500, peerRate: 20_000, connectMs: 300 });
  assert.equal(r.finish.filter((x) => x !== undefined).length, 6);
  assert.ok(r.originChunks <= 16 * 1.5, `origin sent ${r.originChunks} chunks for 16`);
});
