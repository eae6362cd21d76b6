import { Bitfield } from "./bitfield.js";
import type { ChunkStore } from "./chunk-store.js";
import { fromHex, sha256 } from "./hash.js";
import { chunkLength, type Manifest } from "./manifest.js";
import { PeerLink } from "./peer-link.js";
import { DEFAULTS, HTTP, Scheduler, type Action, type FailReason, type Mode, type OriginReason, type Strategy } from "./scheduler.js";
import type { CandidatePeer, SignalingClient, SignalMessage } from "./signaling-client.js";
import type { UploadLimiter } from "./upload-limiter.js";
import type { WireFrame } from "./wire.js";

/**
 * One content's swarm: the peer links for it, the scheduler driving its download, the origin requests,
 * the integrity check of every chunk, and the serving of held chunks to peers. It keeps seeding after the
 * download completes, until the SDK is closed or the content is released.
 */
export interface SwarmHost {
  readonly server: string;
  readonly signaling: SignalingClient | undefined;
  readonly store: ChunkStore;
  readonly uploader: UploadLimiter;
  readonly mode: Mode;
  readonly maxPeers: number;
  readonly token: string | undefined;
  readonly tuning: Partial<typeof DEFAULTS> & { graceMs?: number; seederGraceMs?: number };
  emit(type: "peer" | "chunk" | "error" | "progress", detail: unknown): void;
  persist(contentId: string, index: number, data: Uint8Array): void;
  /** Test hook: serve corrupted pieces (the poisoning scenario). */
  readonly corruptUploads: boolean;
}

export interface PeerStats {
  id: string;
  /** Bytes per second received from / sent to this peer, over the last stats() interval (at least 400 ms). */
  downloadRate: number;
  uploadRate: number;
  bytesFromPeer: number;
  bytesToPeer: number;
}

/** The start-up grace: how long a viewer waits for the candidate peers' HELLO before the origin may be used. */
export const GRACE_MS = 2000;
/** How long elections wait for connecting candidates that hold chunks. */
export const SEEDER_GRACE_MS = 6000;
/**
 * How often a downloading viewer below its outgoing limit asks signaling for more candidates: 3 s, because a
 * late joiner handed only a few new, chunk-poor candidates (holders at their limit are skipped) otherwise elects
 * itself for the chunks they lack and costs origin copies (swarm bench N = 12: 10 origin chunks for the last
 * viewer with a 10 s period) until seeders free slots.
 */
const REJOIN_MS = 3000;

/**
 * Connections a viewer opens itself: maxPeers less a quarter kept for offers from newcomers. Signaling skips
 * peers at their connection limit; when every viewer dialled up to maxPeers, 9 viewers with maxPeers 8 made a
 * full mesh, and the 10th (swarm bench, N = 12) got no candidates and fetched everything from the origin.
 */
export function outgoingLimit(maxPeers: number): number {
  return Math.max(1, maxPeers - Math.ceil(maxPeers / 4));
}

interface Incoming {
  requestId: number;
  chunk: number;
  peer: string;
  buf: Uint8Array;
  received: number;
}

export class Swarm {
  readonly scheduler: Scheduler;
  readonly held: Bitfield;
  readonly links = new Map<string, PeerLink>();
  readonly banned = new Set<string>();
  bytesFromPeers = 0;
  bytesFromOrigin = 0;
  bytesDiscarded = 0;
  /** Of bytesDiscarded: pieces of requests already cancelled (they crossed the CANCEL), and whole duplicate chunks. */
  bytesDiscardedLate = 0;
  bytesDiscardedDuplicate = 0;
  corruptChunks = 0;
  /** Open Response bodies reading this content: while there are any, unread chunks are pinned in the store. */
  readers = 0;
  private readonly pinned = new Set<number>();
  private readonly contentIdBytes: Uint8Array;
  private readonly incoming = new Map<number, Incoming>();
  private readonly httpAborts = new Map<number, AbortController>();
  /** Why each chunk last went to the origin (reported in its `chunk` event). */
  private readonly originWhy = new Map<number, OriginReason>();
  private readonly waiters = new Map<number, Array<() => void>>();
  private readonly statsMark = new Map<string, { at: number; in: number; out: number; rateIn: number; rateOut: number }>();
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private tickQueued = false;
  private closed = false;
  private failure: Error | undefined;
  private expected = new Set<string>();
  private haveTimer: ReturnType<typeof setTimeout> | undefined;
  private haveDue = 0;
  private linkSeq = 0;
  private onJoined: ((e: Event) => void) | undefined;
  private rejoinTimer: ReturnType<typeof setInterval> | undefined;
  /** Peers signaling listed with role `edge` (server-side seeders the scheduler asks before the origin). */
  private readonly edges = new Set<string>();

  constructor(
    readonly manifest: Manifest,
    private readonly host: SwarmHost,
    readonly strategy: Strategy,
  ) {
    this.contentIdBytes = fromHex(manifest.id);
    const count = manifest.chunks.length;
    this.held = new Bitfield(count);
    for (let i = 0; i < count; i++) if (host.store.has(manifest.id, i)) this.held.set(i);
    const selfId = host.signaling?.peerId ?? `local-${Math.random().toString(36).slice(2)}`;
    this.scheduler = new Scheduler(
      {
        ...DEFAULTS,
        ...host.tuning,
        selfId,
        chunkCount: count,
        chunkLength: (i) => chunkLength(manifest, i),
        strategy,
        mode: host.mode,
      },
      performance.now(),
      host.tuning.graceMs ?? GRACE_MS,
      new Bitfield(count, this.held.bytes),
    );
  }

  get id(): string {
    return this.manifest.id;
  }

  /** Joins the swarm through signaling and connects to the candidate peers; the download starts at once. */
  async start(): Promise<void> {
    const sig = this.host.signaling;
    if (this.host.mode === "origin-only" || !sig) {
      this.scheduler.endGrace(performance.now());
      this.schedule();
      return;
    }
    // Candidates from any `joined` for this swarm: ours, the re-join after a signaling reconnect, the periodic one.
    this.onJoined = (e: Event) => {
      const d = (e as CustomEvent<{ swarm: string; peers: CandidatePeer[] }>).detail;
      if (d.swarm === this.id) this.connectTo(d.peers);
    };
    sig.addEventListener("joined", this.onJoined);
    // Below maxPeers while downloading, ask again for candidates (peers leave; new ones arrive).
    this.rejoinTimer = setInterval(() => {
      if (!this.held.complete && this.links.size < outgoingLimit(this.host.maxPeers) && sig.connected) void this.join().catch(() => undefined);
    }, REJOIN_MS);
    if (!sig.connected) {
      // Signaling is down: start over HTTP now; join when it comes back.
      this.scheduler.endGrace(performance.now());
      this.schedule();
      sig.addEventListener("welcome", () => void this.join().catch(() => undefined), { once: true });
      return;
    }
    this.schedule();
    try {
      const peers = await this.join();
      // The start-up grace waits for the HELLO of every candidate we are connecting to; elections wait
      // longer for candidates the server says hold chunks (on a loaded machine a connection takes seconds,
      // and electing ourselves meanwhile would cost origin copies of chunks a seeder has).
      for (const p of peers) {
        const l = this.links.get(p.peer_id);
        if (l && !l.helloReceived && !l.closed) {
          this.expected.add(p.peer_id);
          if ((p.chunks ?? 0) > 0) this.scheduler.holdElections(performance.now() + (this.host.tuning.seederGraceMs ?? SEEDER_GRACE_MS));
        }
      }
    } catch (e) {
      this.host.emit("error", { contentId: this.id, message: `join failed: ${(e as Error).message}` });
    }
    this.checkGrace();
  }

  private join(): Promise<CandidatePeer[]> {
    return this.host.signaling!.join({
      swarm: this.id,
      ...(this.host.token ? { token: this.host.token } : {}),
      chunks: this.host.mode === "normal" ? this.held.count : 0,
      total: this.held.size,
      bitfield: this.advertised(),
      maxConnections: this.host.maxPeers,
      connections: this.links.size,
      want: outgoingLimit(this.host.maxPeers),
    });
  }

  /** What we tell others we hold: nothing in leech mode (it serves nobody). */
  private advertised(): Uint8Array {
    return this.host.mode === "normal" ? this.held.bytes.slice() : new Uint8Array(this.held.bytes.length);
  }

  private connectTo(peers: CandidatePeer[]): void {
    if (this.closed) return;
    for (const p of peers) {
      if (p.role === "edge") this.edges.add(p.peer_id);
      // A complete viewer somewhere in the swarm (edges hold everything by design: they stand in for the origin).
      if (p.role !== "edge" && p.total === this.held.size && p.chunks === p.total && p.total > 0) this.scheduler.swarmSeeded();
    }
    for (const p of peers) {
      if (this.links.size >= outgoingLimit(this.host.maxPeers)) break;
      if (this.links.has(p.peer_id) || this.banned.has(p.peer_id)) continue;
      this.connect(p.peer_id);
    }
  }

  private checkGrace(): void {
    if (this.expected.size === 0) {
      // A late joiner is handed the few viewers below their connection limit, often recent and chunk-poor ones;
      // electing itself among them for chunks they lack cost the swarm bench (N = 12) up to 17 origin chunks
      // for the last joiner. With fewer than half its outgoing links open it keeps waiting (at most
      // SEEDER_GRACE_MS, and only when candidates hold chunks) while rejoins bring better-stocked peers.
      let open = 0;
      for (const l of this.links.values()) if (l.open) open++;
      this.scheduler.endGrace(performance.now(), open < Math.ceil(outgoingLimit(this.host.maxPeers) / 2));
      this.schedule();
    }
  }

  private expectedDone(peer: string): void {
    if (this.expected.delete(peer)) this.checkGrace();
  }

  private newLink(remoteId: string, cid: string, initiator: boolean): PeerLink {
    const sig = this.host.signaling!;
    const link = new PeerLink(
      remoteId,
      cid,
      initiator,
      sig.iceServers.map((s) => ({ urls: s.urls, ...(s.username ? { username: s.username, credential: s.credential ?? "" } : {}) })),
      {
        sendOffer: (sdp) => sig.relay("offer", remoteId, this.id, cid, sdp),
        sendAnswer: (sdp) => sig.relay("answer", remoteId, this.id, cid, sdp),
        sendCandidate: (c) => sig.candidate(remoteId, this.id, cid, c),
      },
      {
        onOpen: (l) => this.onOpen(l),
        onFrame: (l, f) => this.onFrame(l, f),
        onClose: (l, reason) => this.onLinkClose(l, reason),
        chunk: (i) => (this.held.has(i) ? this.host.store.get(this.id, i) : undefined),
        // Whole files rank requesters by progress (UPLOAD_SHARES); streamed media does not (urgency is the requester's).
        progress: (l) => (this.strategy === "stream" ? undefined : this.scheduler.peerProgress(l.remoteId)),
      },
      this.host.uploader,
      this.host.mode === "normal",
    );
    link.corruptUploads = this.host.corruptUploads;
    this.links.set(remoteId, link);
    return link;
  }

  private connect(remoteId: string): void {
    this.newLink(remoteId, `${Date.now().toString(36)}-${++this.linkSeq}`, true);
  }

  /** An offer/answer/candidate/peer-left for this swarm. */
  signal(m: SignalMessage): void {
    if (this.closed) return;
    const sig = this.host.signaling;
    if (!sig?.peerId) return;
    switch (m.type) {
      case "offer": {
        if (this.banned.has(m.from) || !m.cid) return;
        const existing = this.links.get(m.from);
        if (existing) {
          // Both sides offered at once: the offer from the lower peer id wins.
          if (existing.open || !existing.initiator || m.from > sig.peerId) return;
          this.links.delete(m.from);
          existing.close("glare");
        } else if (this.links.size >= this.host.maxPeers && !this.pruneComplete()) {
          return;
        }
        void this.newLink(m.from, m.cid, false).acceptOffer(m.sdp);
        return;
      }
      case "answer": {
        const l = this.links.get(m.from);
        if (l && l.cid === m.cid) void l.acceptAnswer(m.sdp);
        return;
      }
      case "candidate": {
        const l = this.links.get(m.from);
        if (l && l.cid === m.cid) void l.addCandidate(m.candidate);
        return;
      }
      case "peer-left": {
        const l = this.links.get(m.peer_id);
        if (l && !l.open) l.close("peer left");
        return;
      }
    }
  }

  private onOpen(link: PeerLink): void {
    // A leech downloads only: it advertises nothing, so nobody asks it for chunks.
    link.send({ type: "HELLO", contentId: this.contentIdBytes, chunkCount: this.held.size, bitfield: this.advertised() });
    this.host.emit("peer", { contentId: this.id, peer: link.remoteId, state: "connected" });
    this.announceHave(true);
  }

  private onLinkClose(link: PeerLink, reason: string): void {
    if (this.links.get(link.remoteId) === link) this.links.delete(link.remoteId);
    for (const [id, inc] of this.incoming) if (inc.peer === link.remoteId) this.incoming.delete(id);
    this.scheduler.removePeer(link.remoteId);
    this.expectedDone(link.remoteId);
    this.host.emit("peer", { contentId: this.id, peer: link.remoteId, state: "disconnected", reason });
    this.announceHave(true);
    this.schedule();
  }

  private onFrame(link: PeerLink, f: WireFrame): void {
    const now = performance.now();
    switch (f.type) {
      case "HELLO": {
        if (f.chunkCount !== this.held.size || !equal(f.contentId, this.contentIdBytes)) {
          link.close("HELLO for other content");
          return;
        }
        this.scheduler.addPeer(link.remoteId, new Bitfield(f.chunkCount, f.bitfield), now, this.edges.has(link.remoteId));
        this.expectedDone(link.remoteId);
        if (this.pruneComplete(link)) return;
        break;
      }
      case "HAVE":
        this.scheduler.peerHave(link.remoteId, f.chunkIndex, now);
        if (this.pruneComplete(link)) return;
        break;
      case "PIECE": {
        const inc = this.incoming.get(f.requestId);
        if (!inc || inc.peer !== link.remoteId || inc.chunk !== f.chunkIndex) {
          // A piece for a request we cancelled (it crossed the CANCEL): count and drop.
          this.bytesDiscarded += f.data.length;
          this.bytesDiscardedLate += f.data.length;
          return;
        }
        if (f.offset !== inc.received || inc.received + f.data.length > inc.buf.length) {
          this.punish(link, inc.chunk, "pieces out of order or beyond the chunk");
          return;
        }
        inc.buf.set(f.data, inc.received);
        inc.received += f.data.length;
        this.scheduler.activity(f.requestId, now, f.data.length);
        if (inc.received === inc.buf.length) {
          this.incoming.delete(f.requestId);
          void this.verify(inc.requestId, inc.chunk, inc.buf, link.remoteId);
        }
        return;
      }
      case "REJECT": {
        if (!this.incoming.delete(f.requestId)) return;
        this.scheduler.failedRequest(f.requestId, f.reason as FailReason, now);
        break;
      }
      default:
        return;
    }
    this.schedule();
  }

  private punish(link: PeerLink, chunk: number, why: string): void {
    this.corruptChunks++;
    this.banned.add(link.remoteId);
    this.scheduler.ban(link.remoteId);
    for (const [id, inc] of this.incoming) if (inc.peer === link.remoteId) this.incoming.delete(id);
    this.host.emit("error", { contentId: this.id, peer: link.remoteId, chunk, message: `peer banned: ${why}` });
    link.close(`banned: ${why}`);
    this.schedule();
  }

  private async verify(requestId: number, chunk: number, data: Uint8Array, source: string): Promise<void> {
    const digest = await sha256(data as Uint8Array<ArrayBuffer>);
    if (this.closed) return;
    if (!equal(digest, this.manifest.chunkDigests[chunk]!)) {
      if (source === HTTP) {
        this.scheduler.failedRequest(requestId, "corrupt", performance.now());
        this.host.emit("error", { contentId: this.id, chunk, message: "the origin sent a chunk that does not match the manifest" });
        this.schedule();
        return;
      }
      const link = this.links.get(source);
      this.bytesDiscarded += data.length;
      if (link) this.punish(link, chunk, `chunk ${chunk} failed its SHA-256 check`);
      else {
        this.banned.add(source);
        this.scheduler.ban(source);
        this.corruptChunks++;
        this.host.emit("error", { contentId: this.id, peer: source, chunk, message: `peer banned: chunk ${chunk} failed its SHA-256 check` });
        this.schedule();
      }
      return;
    }
    if (!this.scheduler.isCurrent(requestId) || this.held.has(chunk)) {
      this.bytesDiscarded += data.length;
      this.bytesDiscardedDuplicate += data.length;
      return;
    }
    for (const a of this.scheduler.completed(requestId, performance.now())) if (a.kind === "cancel") this.cancel(a);
    this.accept(chunk, data, source);
    this.schedule();
  }

  private accept(chunk: number, data: Uint8Array, source: string): void {
    // Pinned until read: rarest-first fetches ahead of the reader, and the LRU must not evict what it has
    // not consumed yet (the store may exceed its bound by the unread part of a read in progress).
    if (this.readers > 0 && !this.pinned.has(chunk)) {
      this.host.store.pin(this.id, chunk);
      this.pinned.add(chunk);
    }
    this.host.store.put(this.id, chunk, data);
    this.held.set(chunk);
    if (source === HTTP) this.bytesFromOrigin += data.length;
    else this.bytesFromPeers += data.length;
    this.host.persist(this.id, chunk, data);
    if (this.host.mode === "normal") for (const l of this.links.values()) if (l.open) l.send({ type: "HAVE", chunkIndex: chunk });
    this.host.emit("chunk", {
      contentId: this.id,
      index: chunk,
      source: source === HTTP ? "origin" : "peer",
      peer: source === HTTP ? undefined : source,
      bytes: data.length,
      ...(source === HTTP ? { reason: this.originWhy.get(chunk) } : {}),
    });
    this.host.emit("progress", { contentId: this.id, loaded: Math.min(this.manifest.size, this.held.count * this.manifest.chunkSize), total: this.manifest.size, chunks: this.held.count, totalChunks: this.held.size });
    this.announceHave();
    if (this.held.complete) this.pruneComplete();
    const ws = this.waiters.get(chunk);
    if (ws) {
      this.waiters.delete(chunk);
      for (const w of ws) w();
    }
  }

  /**
   * Tells the signaling server what we hold and how many connections we have (it ranks candidates by the
   * first and skips peers at their connection limit by the second): at most every 2 s for chunks, within
   * 200 ms when the connection count changed or the download completed.
   */
  private announceHave(urgent = false): void {
    if (!this.host.signaling || this.closed) return;
    const delay = urgent || this.held.complete ? 200 : 2000;
    if (this.haveTimer) {
      if (this.haveDue <= performance.now() + delay) return;
      clearTimeout(this.haveTimer);
    }
    this.haveDue = performance.now() + delay;
    this.haveTimer = setTimeout(() => {
      this.haveTimer = undefined;
      if (!this.closed)
        this.host.signaling?.have(this.id, this.held.count, this.held.size, this.links.size, this.advertised(), this.host.uploader.uploaded, this.host.uploader.served);
    }, delay);
  }

  /**
   * Two complete peers have nothing to give each other: when both hold everything, the link is closed so
   * that its slot serves a newcomer (seeders at maxPeers would otherwise turn joiners away).
   */
  private pruneComplete(link?: PeerLink): boolean {
    if (!this.held.complete || this.host.mode !== "normal") return false;
    let closed = false;
    for (const l of link ? [link] : [...this.links.values()]) {
      if (l.open && this.scheduler.peerComplete(l.remoteId)) {
        l.close("both complete");
        closed = true;
      }
    }
    return closed;
  }

  /** The store evicted a chunk: it is no longer held (peers asking for it get REJECT not_found). */
  evicted(index: number): void {
    this.held.clear(index);
    this.scheduler.have.clear(index);
  }

  private cancel(a: Action & { kind: "cancel" }): void {
    if (a.source === HTTP) {
      this.httpAborts.get(a.requestId)?.abort();
      this.httpAborts.delete(a.requestId);
    } else {
      this.incoming.delete(a.requestId);
      this.links.get(a.source)?.send({ type: "CANCEL", requestId: a.requestId });
    }
  }

  /** Runs the scheduler soon (coalesces the many events of one turn into one tick). */
  schedule(): void {
    if (this.tickQueued || this.closed) return;
    this.tickQueued = true;
    queueMicrotask(() => {
      this.tickQueued = false;
      this.tick();
    });
  }

  private tick(): void {
    if (this.closed) return;
    const now = performance.now();
    for (const a of this.scheduler.tick(now)) {
      switch (a.kind) {
        case "request": {
          const link = this.links.get(a.peer);
          const len = chunkLength(this.manifest, a.chunk);
          if (!link?.open) {
            this.scheduler.failedRequest(a.requestId, "closed", now);
            continue;
          }
          this.incoming.set(a.requestId, { requestId: a.requestId, chunk: a.chunk, peer: a.peer, buf: new Uint8Array(len), received: 0 });
          link.send({ type: "REQUEST", requestId: a.requestId, chunkIndex: a.chunk, offset: 0, length: len });
          break;
        }
        case "http":
          this.originWhy.set(a.chunk, a.why);
          void this.httpFetch(a.requestId, a.chunk);
          break;
        case "cancel":
          this.cancel(a);
          break;
      }
    }
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    const wake = this.scheduler.nextWake(now);
    if (wake !== undefined) this.wakeTimer = setTimeout(() => this.schedule(), Math.max(1, wake - now));
  }

  private async httpFetch(requestId: number, chunk: number): Promise<void> {
    const ac = new AbortController();
    this.httpAborts.set(requestId, ac);
    try {
      const res = await fetch(new URL(`/content/${this.id}/chunks/${chunk}`, this.host.server), { signal: ac.signal });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = new Uint8Array(await res.arrayBuffer());
      this.httpAborts.delete(requestId);
      await this.verify(requestId, chunk, data, HTTP);
    } catch (e) {
      this.httpAborts.delete(requestId);
      if (ac.signal.aborted || this.closed) return;
      const fatal = this.scheduler.failedRequest(requestId, "http-error", performance.now());
      this.host.emit("error", { contentId: this.id, chunk, message: `origin request failed: ${(e as Error).message}` });
      if (fatal) this.fail(new Error(fatal));
      this.schedule();
    }
  }

  private fail(e: Error): void {
    this.failure = e;
    for (const ws of this.waiters.values()) for (const w of ws) w();
    this.waiters.clear();
  }

  /** Resolves with chunk `index` once it is held and verified (the reader is at `index`). */
  async read(index: number, signal?: AbortSignal): Promise<Uint8Array> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.closed) throw new DOMException("the WebRtcCdn instance was closed", "AbortError");
      signal?.throwIfAborted();
      if (this.held.has(index)) {
        const data = this.host.store.get(this.id, index);
        if (this.pinned.delete(index)) this.host.store.unpin(this.id, index);
        if (data) {
          this.scheduler.setReadPosition(Math.min(index + 1, this.held.size - 1), false, performance.now());
          return data;
        }
        this.evicted(index);
      }
      this.scheduler.setReadPosition(index, true, performance.now());
      this.schedule();
      await new Promise<void>((resolve) => {
        const list = this.waiters.get(index) ?? [];
        list.push(resolve);
        this.waiters.set(index, list);
        signal?.addEventListener("abort", () => resolve(), { once: true });
      });
    }
  }

  peerStats(): PeerStats[] {
    const now = performance.now();
    const out: PeerStats[] = [];
    for (const l of this.links.values()) {
      if (!l.open) continue;
      let mark = this.statsMark.get(l.remoteId);
      if (!mark) this.statsMark.set(l.remoteId, (mark = { at: now, in: l.bytesIn, out: l.bytesOut, rateIn: 0, rateOut: 0 }));
      // Rates over at least 400 ms, so that callers polling often still see a stable figure.
      if (now - mark.at >= 400) {
        const dt = (now - mark.at) / 1000;
        mark.rateIn = (l.bytesIn - mark.in) / dt;
        mark.rateOut = (l.bytesOut - mark.out) / dt;
        mark.at = now;
        mark.in = l.bytesIn;
        mark.out = l.bytesOut;
      }
      out.push({ id: l.remoteId, downloadRate: mark.rateIn, uploadRate: mark.rateOut, bytesFromPeer: l.bytesIn, bytesToPeer: l.bytesOut });
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    if (this.haveTimer) clearTimeout(this.haveTimer);
    if (this.rejoinTimer) clearInterval(this.rejoinTimer);
    if (this.onJoined) this.host.signaling?.removeEventListener("joined", this.onJoined);
    for (const ac of this.httpAborts.values()) ac.abort();
    for (const l of [...this.links.values()]) l.close("closed");
    for (const i of this.pinned) this.host.store.unpin(this.id, i);
    this.pinned.clear();
    this.host.signaling?.leave(this.id);
    for (const ws of this.waiters.values()) for (const w of ws) w();
    this.waiters.clear();
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
