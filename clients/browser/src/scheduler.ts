import { Bitfield } from "./bitfield.js";
import { ownerRank, ranking } from "./election.js";

/**
 * The download scheduler of one content: which chunk to ask of which peer, when to go to the origin, what
 * to cancel. Pure and synchronous: the driver (swarm.ts) feeds it events with the current time in
 * milliseconds and carries out the actions it returns; `nextWake` says when to call `tick` again. Unit tests
 * run it with a fake clock.
 *
 * Rules (the section 4):
 * - Chunks a connected peer holds come from peers, at most `maxConcurrentTransfers` in flight per peer; the
 *   peer with the best estimated throughput per queued request (EWMA) gets the next one.
 * - Order: rarest-first for whole files (the chunks fewest neighbours hold first), in order for streamed reads.
 * - In a seeded swarm (a peer holds everything), a chunk no neighbour holds waits `seededElectionWaitMs` for one to
 *   get it before the election below (late joiners among newcomers otherwise pull chunks the swarm holds).
 * - A chunk no neighbour holds is fetched from the server by exactly one elected owner (election.ts): over a
 *   connected edge's data channel (role `edge`, the server's peer face) when there is one and it has not refused the
 *   chunk, else from the origin over HTTP. Edges are never holders for these rules, nor election candidates; the
 *   others wait for its HAVE. Ranked back-ups step in after rank x `ownerBackoffMs` without progress from
 *   the owner, and an owner that needed a back-up twice no longer counts in elections (a leech or a stuck
 *   peer).
 * - The first chunk of a read comes from the origin when, after the start-up grace, no peer holds it;
 *   in a streamed read, the chunk the reader waits for goes to the origin once it is `stallDeadlineMs`
 *   overdue (never worse than HTTP).
 * - A rejected, timed-out or corrupt request moves to another holder, or to the origin when none is left.
 * - Sources: requests go to at most `maxSources` viewers at once; another holder is taken when a source has nothing
 *   left in flight, or when it is known to be twice as fast as the slowest source (an idle holder may still
 *   duplicate a straggler, and a stream's waiting chunk may go anywhere).
 * - Slow start: a peer gets one request until it has delivered a chunk (a new link's first transfer can
 *   stall for seconds inside Chromium's SCTP; one chunk waiting on it is better than four).
 * - Stragglers: an idle peer (nothing new to fetch) duplicates the in-flight request
 *   expected to finish last, when it would deliver it in under half the time (a silent peer's requests
 *   qualify after `stragglerMs`); the first copy to arrive wins and the others are cancelled. This is the
 *   end-game, and it also keeps one slow peer from holding up a viewer mid-download.
 */
export const HTTP = "(origin)";

export type Strategy = "stream" | "rarest";
export type Mode = "normal" | "leech" | "origin-only";

export interface SchedulerOptions {
  selfId: string;
  chunkCount: number;
  chunkLength: (index: number) => number;
  strategy: Strategy;
  mode: Mode;
  /** In-flight chunk requests per peer (the seed's max_concurrent_transfers). */
  maxConcurrentTransfers: number;
  /**
   * Peers (viewers) a download has requests at, at once: a new source is taken only when one of them has nothing
   * left in flight. Every link moving data costs Chromium CPU of its own, and an uploader serves fewer requesters
   * at once.
   */
  maxSources: number;
  /** In-flight origin requests. */
  httpConcurrency: number;
  /** Back-up rank r fetches an unheld chunk after r x this without progress from the owner. */
  ownerBackoffMs: number;
  /** Streamed reads: the chunk the reader waits for goes to HTTP after this long. */
  stallDeadlineMs: number;
  /** A peer with requests in flight that delivers nothing for this long has them all timed out. */
  peerIdleTimeoutMs: number;
  /** Any request older than this times out (the seed's request timeout, 30 s). */
  requestTimeoutMs: number;
  /** How long a "busy" REJECT keeps a peer out of one chunk. */
  busyBackoffMs: number;
  /** How long a first time-out keeps a peer out of one chunk (a second one keeps it out for good). */
  timeoutBackoffMs: number;
  /** A peer silent this long with requests in flight has them duplicated at other holders. */
  stragglerMs: number;
  /** After the start-up grace, a newcomer waits this long before fetching chunks it is elected for. */
  electionSettleMs: number;
  /**
   * In a seeded swarm (some peer holds every chunk), a chunk no neighbour holds is held elsewhere: it waits this
   * long for a neighbour to get it before an election (or a back-up) sends it to the origin.
   */
  seededElectionWaitMs: number;
}

export const DEFAULTS: Omit<SchedulerOptions, "selfId" | "chunkCount" | "chunkLength" | "strategy" | "mode"> = {
  // 4 rather than the server's 10: a viewer's queue per peer is what lets throughput estimates steer;
  // 4 x 1 MiB keeps a 20-30 MB/s data channel (Chromium on loopback) busy across a round trip.
  maxConcurrentTransfers: 4,
  // Swarm bench (N = 12, 32 MiB, 100 Mbit/s origin, 2026-11-24 12:21-12:50): against no limit over 12 alternating
  // pairs the slowest viewer took 22.4 s instead of 25.3 s on average (bench/RESULTS.md). 3 sources x 4 requests keep
  // 12 MiB in flight; P2P Media Loader also caps its simultaneous P2P downloads.
  maxSources: 3,
  // Browsers open at most 6 HTTP/1.1 connections per host; 3 leaves room for the page's own requests.
  httpConcurrency: 3,
  // About three origin chunk fetch times under a 100 Mbit/s origin shared by several owners.
  ownerBackoffMs: 3000,
  // Media players buffer a few seconds; a chunk late by 2 s is at risk of a rebuffer.
  stallDeadlineMs: 2000,
  peerIdleTimeoutMs: 5000,
  requestTimeoutMs: 30000,
  busyBackoffMs: 500,
  timeoutBackoffMs: 10_000,
  // Measured in the swarm bench (32 MiB, 12 viewers on 2 cores): stalled links resumed after 2-4 s while other
  // holders were idle. 2.5 s is ~50 chunk times at a working link's 20 MB/s; at 1.5 s, under a load average of
  // 20-40, CPU-starved links that were about to resume were duplicated and the losers' bytes wasted.
  stragglerMs: 2500,
  // A newcomer cannot see the origin fetches its neighbours started while it was not there (they elected
  // themselves); those finish and are announced (HAVE) within a few chunk times (3 x 1 MiB at a shared
  // 100 Mbit/s origin: 250 ms). Without it the swarm bench (N = 8, capped) pulled 1.16 origin copies.
  electionSettleMs: 750,
  // Swarm bench (N = 12, 32 MiB, 2026-11-24 07:20): a late joiner whose few neighbours were newcomers themselves
  // elected itself for a chunk the swarm held and stepped in twice for CPU-starved owners (3 origin chunks of the
  // 4 over one copy). Its neighbours were downloading: within a rejoin period (3 s) plus a connection (~1 s) they
  // hold it, or better-stocked peers are connected. Longer only delays a viewer whose swarm really lacks it.
  seededElectionWaitMs: 4000,
};

export type Action =
  | { kind: "request"; requestId: number; chunk: number; peer: string }
  | { kind: "http"; requestId: number; chunk: number; why: OriginReason }
  | { kind: "cancel"; requestId: number; chunk: number; source: string };

/** Why a chunk goes to the origin (reported with the chunk, so origin egress can be explained). */
export type OriginReason = "first" | "elected" | "step-in" | "fallback" | "urgent" | "origin-only";

export type FailReason = "busy" | "not_found" | "choked" | "invalid" | "timeout" | "corrupt" | "http-error" | "closed";

interface Request {
  id: number;
  chunk: number;
  source: string;
  started: number;
  /** Bytes received so far (peer requests): what is left, not the whole chunk, decides whether to duplicate it. */
  received: number;
}

interface PeerState {
  id: string;
  has: Bitfield;
  inflight: number;
  /** Bytes per millisecond, exponentially weighted; undefined until the first chunk arrives. */
  rate: number | undefined;
  lastActivity: number;
  lastProgress: number;
  lastCompletion: number;
  overdue: number;
  /** An edge (role `edge` in signaling): it can get chunks it does not hold (pull-through), so it is asked before the origin. */
  edge: boolean;
}

/** Optimistic first estimate for a peer (10 MB/s), so new peers get tried. */
const INITIAL_RATE = 10_000;
/** Requests a peer gets before its first delivery (slow start). */
const FIRST_REQUESTS = 1;
/** A duplicate is sent only when the other holder is expected to deliver in under 1 / this of the time left. */
const DUPLICATE_GAIN = 2;
/** With maxSources reached, a holder known to be this many times faster than the slowest source is taken too. */
const FASTER_SOURCE = 2;
const EWMA_ALPHA = 0.3;
/**
 * A peer's current request taking more than this many times its expected time shows the peer's current rate
 * (currentRate). 2: one chunk time of jitter is normal on a loaded machine; the swarm bench (N = 12, 2026-11-24)
 * saw viewers' last chunks wait 3-5 s at peers that still trickled pieces while idle holders could have served them.
 */
const SLOW_HEAD = 2;
/** After this many back-up step-ins for its chunks, a peer no longer counts as an owner candidate. */
const MAX_OVERDUE = 2;
/** Origin errors on one chunk before the download fails. */
export const MAX_HTTP_ATTEMPTS = 5;

export class Scheduler {
  readonly have: Bitfield;
  private readonly o: SchedulerOptions;
  private readonly requests = new Map<number, Request>();
  private readonly byChunk = new Map<number, Set<number>>();
  private readonly peers = new Map<string, PeerState>();
  private readonly failed = new Map<number, Map<string, number>>();
  private readonly waitStart = new Map<number, number>();
  private readonly httpErrors = new Map<number, number>();
  /** Origin retries wait 250 ms x 2^(errors-1) so a failing origin is not hammered. */
  private readonly httpRetryAt = new Map<number, number>();
  private readonly banned = new Set<string>();
  private readonly timeouts = new Map<number, Map<string, number>>();
  /** Chunks that reached the election while the swarm was seeded, and since when (see seededElectionWaitMs). */
  private readonly orphanSince = new Map<number, number>();
  /** Some peer of the swarm holds every chunk (a complete neighbour, or a complete candidate in a join answer). */
  private seeded = false;
  private nextId = 1;
  private httpInflight = 0;
  private graceUntil: number;
  private electionGraceUntil = 0;
  private graceEnded = false;
  private readPos = 0;
  private readWaitSince: number | undefined;
  private firstChunk: number | undefined;
  /** Chunks this viewer fetched from the origin because it was elected (for tests and stats). */
  elected = 0;
  stepIns = 0;
  /** Requests timed out (silent peer, or past the hard limit) and straggler duplicates sent (for the bench's diagnostics). */
  timedOut = 0;
  duplicates = 0;

  constructor(options: SchedulerOptions, now: number, graceMs: number, held?: Bitfield) {
    this.o = { ...options };
    this.have = held ?? new Bitfield(options.chunkCount);
    this.graceUntil = options.mode === "origin-only" ? now : now + graceMs;
    for (let i = 0; i < options.chunkCount; i++) {
      if (!this.have.has(i)) {
        this.firstChunk = i;
        break;
      }
    }
  }

  get done(): boolean {
    return this.have.complete;
  }

  get inflightCount(): number {
    return this.requests.size;
  }

  get connectedPeers(): string[] {
    return [...this.peers.keys()];
  }

  peerRate(id: string): number | undefined {
    return this.peers.get(id)?.rate;
  }

  /** `priority: "high"` reads: the origin steps in sooner for the chunk the reader waits for. */
  shortenStallDeadline(ms: number): void {
    this.o.stallDeadlineMs = Math.min(this.o.stallDeadlineMs, ms);
  }

  /** The part of the content the peer has said it holds, 0..1 (0 for a peer not known yet). */
  peerProgress(id: string): number {
    const p = this.peers.get(id);
    return p && p.has.size > 0 ? p.has.count / p.has.size : 0;
  }

  /** Whether the peer has said it holds every chunk. */
  peerComplete(id: string): boolean {
    return this.peers.get(id)?.has.complete ?? false;
  }

  isBanned(id: string): boolean {
    return this.banned.has(id);
  }

  /**
   * Ends the start-up grace (every expected peer said HELLO, or there are none). `keepElectionHold`: the viewer
   * has few neighbours in a swarm whose candidates hold chunks, so chunks its neighbours lack are most likely held
   * by peers it is not connected to yet: a `holdElections` in force stays (it is not cut short by the HELLOs).
   */
  endGrace(now: number, keepElectionHold = false): void {
    this.graceUntil = Math.min(this.graceUntil, now);
    if (!keepElectionHold) this.electionGraceUntil = Math.min(this.electionGraceUntil, now);
    if (!this.graceEnded && this.peers.size > 0) this.electionGraceUntil = Math.max(this.electionGraceUntil, now + this.o.electionSettleMs);
    this.graceEnded = true;
  }

  /**
   * Candidates that hold chunks are still connecting: until `until`, chunks no connected peer holds wait for
   * them rather than being elected for the origin (the first chunk and overdue streamed chunks do not wait).
   */
  holdElections(until: number): void {
    this.electionGraceUntil = Math.max(this.electionGraceUntil, until);
  }

  addPeer(id: string, has: Bitfield, now: number, edge = false): void {
    if (this.banned.has(id) || id === this.o.selfId) return;
    this.peers.set(id, { id, has, inflight: 0, rate: undefined, lastActivity: now, lastProgress: now, lastCompletion: now, overdue: 0, edge });
    if (has.complete && !edge) this.seeded = true;
  }

  peerHave(id: string, index: number, now: number): void {
    const p = this.peers.get(id);
    if (!p || index < 0 || index >= this.o.chunkCount) return;
    if (p.has.set(index)) p.lastProgress = now;
    if (p.has.complete && !p.edge) this.seeded = true;
  }

  /** Signaling listed a candidate that holds every chunk: chunks no neighbour holds are held in the swarm. */
  swarmSeeded(): void {
    this.seeded = true;
  }

  /** The peer is gone: its requests are dropped without penalty (the chunks become requestable again). */
  removePeer(id: string): void {
    for (const r of [...this.requests.values()]) if (r.source === id) this.drop(r);
    this.peers.delete(id);
  }

  /** The peer sent a corrupt chunk: never ask it again in this session. */
  ban(id: string): void {
    this.banned.add(id);
    this.removePeer(id);
  }

  /** The reader now needs chunk `index` (streamed reads); `waiting` when it is blocked on it. */
  setReadPosition(index: number, waiting: boolean, now: number): void {
    if (index !== this.readPos) this.readWaitSince = undefined;
    this.readPos = index;
    if (waiting && this.readWaitSince === undefined) this.readWaitSince = now;
    if (!waiting) this.readWaitSince = undefined;
  }

  /** `bytes` of request `requestId` arrived (keeps the peer alive). */
  activity(requestId: number, now: number, bytes = 0): void {
    const r = this.requests.get(requestId);
    if (!r) return;
    r.received += bytes;
    const p = this.peers.get(r.source);
    if (p) p.lastActivity = now;
  }

  isCurrent(requestId: number): boolean {
    return this.requests.has(requestId);
  }

  requestChunk(requestId: number): number | undefined {
    return this.requests.get(requestId)?.chunk;
  }

  /**
   * A verified chunk arrived for `requestId`. Returns the cancels for its duplicates (end-game); the
   * chunk is then held.
   */
  completed(requestId: number, now: number): Action[] {
    const r = this.requests.get(requestId);
    if (!r) return [];
    const bytes = this.o.chunkLength(r.chunk);
    const p = this.peers.get(r.source);
    if (p) {
      const elapsed = Math.max(1, now - Math.max(r.started, p.lastCompletion));
      const sample = bytes / elapsed;
      p.rate = p.rate === undefined ? sample : p.rate * (1 - EWMA_ALPHA) + sample * EWMA_ALPHA;
      p.lastCompletion = now;
      p.lastActivity = now;
    }
    this.drop(r);
    this.have.set(r.chunk);
    this.waitStart.delete(r.chunk);
    this.orphanSince.delete(r.chunk);
    this.failed.delete(r.chunk);
    this.timeouts.delete(r.chunk);
    const out: Action[] = [];
    for (const id of [...(this.byChunk.get(r.chunk) ?? [])]) {
      const d = this.requests.get(id)!;
      this.drop(d);
      out.push({ kind: "cancel", requestId: id, chunk: d.chunk, source: d.source });
    }
    return out;
  }

  /** The chunk was found elsewhere (a duplicate completion after `completed`), or the caller holds it now. */
  markHeld(index: number): void {
    this.have.set(index);
  }

  /** A request failed; the chunk moves to another source on the next tick. Returns an error text when the download cannot go on. */
  failedRequest(requestId: number, reason: FailReason, now: number): string | undefined {
    const r = this.requests.get(requestId);
    if (!r) return undefined;
    this.drop(r);
    if (r.source === HTTP) {
      const n = (this.httpErrors.get(r.chunk) ?? 0) + 1;
      this.httpErrors.set(r.chunk, n);
      this.httpRetryAt.set(r.chunk, now + 250 * 2 ** (n - 1));
      if (n >= MAX_HTTP_ATTEMPTS && !this.anyHolder(r.chunk, now)) return `the origin failed ${n} times for chunk ${r.chunk}`;
      return undefined;
    }
    let m = this.failed.get(r.chunk);
    if (!m) this.failed.set(r.chunk, (m = new Map()));
    // Busy: try again soon. A first time-out: the peer may just be stalled (Chromium's SCTP stalls for
    // seconds on a loaded machine), so it is left out for a while, and the chunk waits for holders rather
    // than costing an origin copy; a second time-out, or a refusal, excludes it for this chunk.
    const timedOutBefore = (this.timeouts.get(r.chunk)?.get(r.source) ?? 0) > 0;
    let until = Infinity;
    if (reason === "busy") until = now + this.o.busyBackoffMs;
    else if (reason === "timeout" && !timedOutBefore) until = now + this.o.timeoutBackoffMs;
    if (reason === "timeout") {
      let t = this.timeouts.get(r.chunk);
      if (!t) this.timeouts.set(r.chunk, (t = new Map()));
      t.set(r.source, (t.get(r.source) ?? 0) + 1);
    }
    m.set(r.source, until);
    if (reason === "not_found") this.peers.get(r.source)?.has.clear(r.chunk);
    return undefined;
  }

  private drop(r: Request): void {
    this.requests.delete(r.id);
    const set = this.byChunk.get(r.chunk);
    set?.delete(r.id);
    if (set && set.size === 0) this.byChunk.delete(r.chunk);
    if (r.source === HTTP) this.httpInflight--;
    else {
      const p = this.peers.get(r.source);
      if (p) p.inflight--;
    }
  }

  private add(chunk: number, source: string, now: number): Request {
    const r: Request = { id: this.nextId++, chunk, source, started: now, received: 0 };
    this.requests.set(r.id, r);
    let set = this.byChunk.get(chunk);
    if (!set) this.byChunk.set(chunk, (set = new Set()));
    set.add(r.id);
    if (source === HTTP) this.httpInflight++;
    else {
      const p = this.peers.get(source)!;
      // An idle peer's silence clock starts with its first request, not at its last delivery.
      if (p.inflight === 0) p.lastActivity = now;
      p.inflight++;
    }
    return r;
  }

  /** A viewer (not an edge: edges stand in for the origin, see edgeFor) that holds the chunk and has not failed it. */
  private usable(p: PeerState, chunk: number, now: number): boolean {
    return !p.edge && p.has.has(chunk) && (this.failed.get(chunk)?.get(p.id) ?? 0) <= now;
  }

  private anyHolder(chunk: number, now: number): boolean {
    for (const p of this.peers.values()) if (this.usable(p, chunk, now)) return true;
    return false;
  }

  /** Viewers among the neighbours that hold the chunk (edges hold everything they can pull: they do not count). */
  private holderCount(chunk: number): number {
    let n = 0;
    for (const p of this.peers.values()) if (!p.edge && p.has.has(chunk)) n++;
    return n;
  }

  /** Whether a holder that did not fail this chunk exists at all (busy or not). */
  private everHeld(chunk: number): boolean {
    for (const p of this.peers.values()) if (!p.edge && p.has.has(chunk) && (this.failed.get(chunk)?.get(p.id) ?? 0) !== Infinity) return true;
    return false;
  }

  private bestPeer(chunk: number, now: number, exclude?: Set<number>, idleOnly = false): PeerState | undefined {
    let best: PeerState | undefined;
    let bestScore = -1;
    // At most maxSources viewers with requests at once; duplicates of stragglers (idleOnly) and the chunk a stream
    // reader waits for may go past it, and so may a holder known to be FASTER_SOURCE times faster than the slowest
    // source (a slow source would otherwise keep its place for as long as it holds chunks this viewer lacks).
    let active = 0;
    let slowest = Infinity;
    for (const p of this.peers.values()) {
      if (p.inflight === 0 || p.edge) continue;
      active++;
      if (p.rate !== undefined) slowest = Math.min(slowest, p.rate);
    }
    const full = !idleOnly && active >= this.o.maxSources && !(this.o.strategy === "stream" && chunk === this.readPos);
    for (const p of this.peers.values()) {
      if (p.inflight >= (idleOnly ? 1 : this.limit(p)) || !this.usable(p, chunk, now)) continue;
      if (full && p.inflight === 0 && !(p.rate !== undefined && p.rate > FASTER_SOURCE * slowest)) continue;
      if (exclude) {
        let already = false;
        for (const id of exclude) if (this.requests.get(id)?.source === p.id) already = true;
        if (already) continue;
      }
      const score = (p.rate ?? INITIAL_RATE) / (p.inflight + 1);
      if (score > bestScore) {
        best = p;
        bestScore = score;
      }
    }
    return best;
  }

  /** In-flight requests a peer may have: one until it has delivered a chunk (slow start), then the cap. */
  private limit(p: PeerState): number {
    return p.rate === undefined ? Math.min(FIRST_REQUESTS, this.o.maxConcurrentTransfers) : this.o.maxConcurrentTransfers;
  }

  /** Milliseconds a chunk takes at a peer's estimated rate. */
  private chunkTime(p: PeerState, chunk: number): number {
    return this.o.chunkLength(chunk) / (p.rate ?? INITIAL_RATE);
  }

  /**
   * When request `r` is expected to finish, in ms from now: the chunks queued at its peer up to and including
   * it, at the peer's rate. Infinity when the peer has been silent for `stragglerMs`.
   */
  private expectedLeft(r: Request, now: number): number {
    const p = this.peers.get(r.source);
    if (!p) return Infinity;
    if (now - Math.max(p.lastActivity, r.started) >= this.o.stragglerMs) return Infinity;
    let queued = 0;
    let head: Request | undefined;
    for (const q of this.requests.values()) {
      if (q.source !== r.source) continue;
      if (!head || servedBefore(q, head)) head = q;
      if (q === r || servedBefore(q, r)) queued += Math.max(0, this.o.chunkLength(q.chunk) - q.received);
    }
    return queued / this.currentRate(p, head, now);
  }

  /**
   * A peer's rate for what it has queued: its average, unless the request it is serving now (the oldest: a link
   * serves in order) has taken more than SLOW_HEAD times its expected time, when what that request received since it
   * became the head is the better estimate (a peer that went slow, CPU-starved or serving others first, still
   * trickles pieces and is not "silent", but the average of its past chunks would keep promising its old speed).
   */
  private currentRate(p: PeerState, head: Request | undefined, now: number): number {
    const rate = p.rate ?? INITIAL_RATE;
    if (!head || p.rate === undefined) return rate;
    const elapsed = now - Math.max(head.started, p.lastCompletion);
    if (elapsed <= SLOW_HEAD * this.chunkTime(p, head.chunk)) return rate;
    return Math.min(rate, Math.max(head.received, 1) / elapsed);
  }

  /** When the head request at `p` turns slow (see currentRate), or undefined. */
  private slowHeadAt(p: PeerState, head: Request): number {
    return Math.max(head.started, p.lastCompletion) + SLOW_HEAD * this.chunkTime(p, head.chunk);
  }

  private wanted(): number[] {
    const out: number[] = [];
    const n = this.o.chunkCount;
    if (this.o.strategy === "stream") {
      for (let k = 0; k < n; k++) {
        const i = (this.readPos + k) % n;
        if (!this.have.has(i)) out.push(i);
      }
      return out;
    }
    for (let i = 0; i < n; i++) if (!this.have.has(i)) out.push(i);
    // Rarest first; the read position's chunk first among equals so the stream starts early.
    const rarity = new Map(out.map((i) => [i, this.holderCount(i)]));
    out.sort((a, b) => {
      const ra = rarity.get(a)!;
      const rb = rarity.get(b)!;
      // Chunks no neighbour holds are fetched by their owners in index order; held ones rarest first.
      if (ra === 0 || rb === 0) return ra === rb ? a - b : ra - rb;
      return ra - rb || ((a - this.readPos + n) % n) - ((b - this.readPos + n) % n);
    });
    return out;
  }

  private electionPeers(): string[] {
    const out: string[] = [];
    // Edges never fetch from the origin on their own: electing one would leave the chunk to the back-ups.
    for (const p of this.peers.values()) if (p.overdue < MAX_OVERDUE && !p.edge) out.push(p.id);
    return out;
  }

  /**
   * The connected edge to fetch a chunk from instead of the origin (not at its limit, not failed on that chunk), or
   * "wait" when every edge is only briefly out for it (busy, a first time-out), or undefined: no edge, use the origin.
   */
  private edgeFor(chunk: number, now: number): PeerState | "wait" | undefined {
    let best: PeerState | undefined;
    let wait = false;
    for (const p of this.peers.values()) {
      if (!p.edge) continue;
      const until = this.failed.get(chunk)?.get(p.id) ?? 0;
      if (until === Infinity) continue;
      if (p.inflight >= this.o.maxConcurrentTransfers || until > now) {
        wait = true;
        continue;
      }
      if (!best || p.inflight < best.inflight) best = p;
    }
    return best ?? (wait ? "wait" : undefined);
  }

  /**
   * Fetches a chunk from the server: over a connected edge's data channel when there is one (it is the server's
   * peer-to-peer face: same bytes, same egress bill, no HTTP connection), else from the origin over HTTP.
   */
  private fromServer(chunk: number, now: number, why: OriginReason, edge: PeerState | undefined): Action | undefined {
    if (!edge) return this.http(chunk, now, why);
    const r = this.add(chunk, edge.id, now);
    return { kind: "request", requestId: r.id, chunk, peer: edge.id };
  }

  /** Runs the rules; returns what to start or cancel now. */
  tick(now: number): Action[] {
    const out: Action[] = [];
    // Time-outs: silent peers, and requests past the hard limit.
    for (const r of [...this.requests.values()]) {
      const p = this.peers.get(r.source);
      const idle = p !== undefined && now - p.lastActivity >= this.o.peerIdleTimeoutMs;
      if (idle || now - r.started >= this.o.requestTimeoutMs) {
        out.push({ kind: "cancel", requestId: r.id, chunk: r.chunk, source: r.source });
        this.failedRequest(r.id, "timeout", now);
        this.timedOut++;
      }
    }
    if (this.done) return out;
    const inGrace = now < this.graceUntil;
    const originOnly = this.o.mode === "origin-only";
    const electors = this.electionPeers();
    for (const chunk of this.wanted()) {
      const inflight = this.byChunk.get(chunk);
      const streamedUrgent =
        this.o.strategy === "stream" && chunk === this.readPos && this.readWaitSince !== undefined && now - this.readWaitSince >= this.o.stallDeadlineMs;
      if (inflight && inflight.size > 0) {
        // A streamed read's overdue chunk is raced over HTTP even if a peer is on it.
        if (streamedUrgent && !this.hasHttp(inflight) && this.httpInflight < this.o.httpConcurrency) {
          push(out, this.http(chunk, now, "urgent"));
        }
        continue;
      }
      if (originOnly) {
        if (this.httpInflight < this.o.httpConcurrency) push(out, this.http(chunk, now, "origin-only"));
        continue;
      }
      const peer = this.bestPeer(chunk, now);
      if (peer) {
        const r = this.add(chunk, peer.id, now);
        out.push({ kind: "request", requestId: r.id, chunk, peer: peer.id });
        continue;
      }
      // What the server sends goes through a connected edge when there is one (edges are never holders for the rules
      // below: asking the edge for every chunk no neighbour holds made each viewer pull its own copy over it).
      const edgeChoice = this.edgeFor(chunk, now);
      // A busy edge is waited for, except by a reader stalled on this chunk: that one goes to HTTP now.
      if (edgeChoice === "wait" && !streamedUrgent) continue;
      const edge = edgeChoice === "wait" ? undefined : edgeChoice;
      if (!edge && this.httpInflight >= this.o.httpConcurrency) continue;
      if (this.everHeld(chunk)) {
        // Holders exist but are busy: wait for them unless the reader is stalled on this chunk.
        if (streamedUrgent) push(out, this.fromServer(chunk, now, "urgent", edge));
        continue;
      }
      if (this.holderCount(chunk) > 0) {
        // Every holder failed this chunk (rejected, timed out, corrupt): the origin it is.
        push(out, this.fromServer(chunk, now, "fallback", edge));
        continue;
      }
      if (inGrace) continue;
      if (streamedUrgent || chunk === this.firstChunk) {
        push(out, this.fromServer(chunk, now, streamedUrgent ? "urgent" : "first", edge));
        continue;
      }
      if (now < this.electionGraceUntil) continue;
      if (this.seeded) {
        // Someone in the swarm holds it: a neighbour will most likely have it soon (or rejoins bring a holder).
        const orphan = this.orphanSince.get(chunk) ?? now;
        if (!this.orphanSince.has(chunk)) this.orphanSince.set(chunk, now);
        if (now - orphan < this.o.seededElectionWaitMs) continue;
      }
      // Nobody holds it: the elected owner fetches it, back-ups step in when the owner makes no progress.
      const rank = ownerRank(this.o.selfId, electors, chunk);
      if (rank === 0) {
        this.elected++;
        push(out, this.fromServer(chunk, now, "elected", edge));
        continue;
      }
      const since = this.waitStart.get(chunk) ?? now;
      if (!this.waitStart.has(chunk)) this.waitStart.set(chunk, now);
      const owner = this.peers.get(ranking(this.o.selfId, electors, chunk)[0]!);
      const ownerQuiet = now - Math.max(since, owner?.lastProgress ?? since);
      if (ownerQuiet >= rank * this.o.ownerBackoffMs) {
        this.stepIns++;
        if (owner) owner.overdue++;
        this.waitStart.set(chunk, now);
        push(out, this.fromServer(chunk, now, "step-in", edge));
      }
    }
    // Stragglers (and the end-game): peers with spare capacity have nothing new to fetch; they duplicate the
    // requests expected to finish last, when clearly faster.
    if (!originOnly) this.duplicateStragglers(now, out);
    return out;
  }

  private duplicateStragglers(now: number, out: Action[]): void {
    // Only idle peers duplicate: every duplicate costs up to a chunk of upload thrown away by the loser, and on
    // a CPU-bound machine (12 Chromium viewers on 2 cores) that waste slows everyone.
    let idle = false;
    for (const p of this.peers.values()) if (p.inflight === 0) idle = true;
    if (!idle) return;
    const candidates: Array<{ r: Request; left: number }> = [];
    for (const ids of this.byChunk.values()) {
      if (ids.size !== 1) continue;
      const r = this.requests.get(ids.values().next().value!)!;
      if (r.source === HTTP) continue;
      candidates.push({ r, left: this.expectedLeft(r, now) });
    }
    candidates.sort((a, b) => b.left - a.left);
    for (const { r, left } of candidates) {
      const ids = this.byChunk.get(r.chunk)!;
      const peer = this.bestPeer(r.chunk, now, ids, true);
      if (!peer) continue;
      // A peer that has not delivered yet has only the optimistic first estimate: it duplicates only a silent
      // peer's request. Betting on it cost the swarm bench (N = 12, 2026-11-24 07:33) 8-20 duplicates per viewer
      // and 2-12 MiB per viewer of pieces that crossed the loser's CANCEL, on CPU-bound Chromium.
      if (peer.rate === undefined && left !== Infinity) continue;
      // The new holder's own queue counts: a duplicate behind three other chunks is no gain.
      const mine = (peer.inflight + 1) * this.chunkTime(peer, r.chunk);
      if (mine * DUPLICATE_GAIN >= left) continue;
      const d = this.add(r.chunk, peer.id, now);
      this.duplicates++;
      out.push({ kind: "request", requestId: d.id, chunk: r.chunk, peer: peer.id });
    }
  }

  private hasHttp(ids: Set<number>): boolean {
    for (const id of ids) if (this.requests.get(id)?.source === HTTP) return true;
    return false;
  }

  private http(chunk: number, now: number, why: OriginReason): Action | undefined {
    if ((this.httpRetryAt.get(chunk) ?? 0) > now) return undefined;
    const r = this.add(chunk, HTTP, now);
    return { kind: "http", requestId: r.id, chunk, why };
  }

  /** When `tick` has something time-based to do next (a time-out, the end of the grace, a back-up's turn). */
  nextWake(now: number): number | undefined {
    if (this.done) return undefined;
    let t = Infinity;
    if (this.graceUntil > now && this.graceUntil !== Infinity) t = Math.min(t, this.graceUntil);
    if (this.electionGraceUntil > now) t = Math.min(t, this.electionGraceUntil);
    const heads = new Map<string, Request>();
    for (const r of this.requests.values()) {
      const p = this.peers.get(r.source);
      if (p) t = Math.min(t, p.lastActivity + this.o.peerIdleTimeoutMs);
      if (p && p.rate !== undefined && this.byChunk.get(r.chunk)?.size === 1) {
        const h = heads.get(p.id);
        if (!h || servedBefore(r, h)) heads.set(p.id, r);
      }
      // A straggler's turn to be duplicated (only while it still has a single copy in flight).
      const silentAt = Math.max(p?.lastActivity ?? r.started, r.started) + this.o.stragglerMs;
      if (p && silentAt > now && this.byChunk.get(r.chunk)?.size === 1) t = Math.min(t, silentAt);
      t = Math.min(t, r.started + this.o.requestTimeoutMs);
    }
    // A head request turning slow may make its queue worth duplicating (only when its chunk has a single copy).
    for (const [id, head] of heads) {
      const at = this.slowHeadAt(this.peers.get(id)!, head);
      if (at > now) t = Math.min(t, at);
    }
    for (const [chunk, since] of this.waitStart) if (!this.have.has(chunk)) t = Math.min(t, since + this.o.ownerBackoffMs);
    for (const [chunk, since] of this.orphanSince) if (!this.have.has(chunk) && since + this.o.seededElectionWaitMs > now) t = Math.min(t, since + this.o.seededElectionWaitMs);
    if (this.readWaitSince !== undefined) t = Math.min(t, this.readWaitSince + this.o.stallDeadlineMs);
    for (const [chunk, at] of this.httpRetryAt) if (at > now && !this.have.has(chunk)) t = Math.min(t, at);
    for (const m of this.failed.values()) for (const until of m.values()) if (until > now && until !== Infinity) t = Math.min(t, until);
    // Back-ups re-check at least every back-off period while they wait.
    if (this.waitStart.size > 0) t = Math.min(t, now + this.o.ownerBackoffMs);
    return t === Infinity ? undefined : Math.max(t, now + 1);
  }
}

/** A peer serves its requests in the order they were sent: `a` before `b` (ids break ties within one tick). */
function servedBefore(a: Request, b: Request): boolean {
  return a.started < b.started || (a.started === b.started && a.id < b.id);
}

function push(out: Action[], a: Action | undefined): void {
  if (a) out.push(a);
}
