import { ChunkStore } from "./chunk-store.js";
import { sha256 } from "./hash.js";
import { IdbChunkStore } from "./idb-store.js";
import { CONTENT_ID, parseManifest, type Manifest } from "./manifest.js";
import { DEFAULTS, type Mode, type Strategy } from "./scheduler.js";
import { SignalingClient } from "./signaling-client.js";
import { Swarm, type PeerStats, type SwarmHost } from "./swarm.js";
import { UploadLimiter } from "./upload-limiter.js";

export interface ConnectOptions {
  /** The WebRtcCdn server's base URL (origin HTTP and `/signaling`), e.g. `https://cdn.example.com`. */
  server: string;
  /** Join token (HMAC-signed by the publisher's backend) when the server requires one. */
  token?: string;
  /** Most peer connections per content. Default 8. */
  maxPeers?: number;
  /** Upload cap in bytes per second (the seed's `bandwidth_limit`); 0 = no cap. Default 0. */
  uploadLimit?: number;
  /** `normal` (download and share), `leech` (download only), `origin-only` (kill switch: plain HTTP). */
  mode?: Mode;
  /** Bytes of verified chunks kept in memory (LRU). Default 512 MiB. */
  cacheBytes?: number;
  /** Keep verified chunks in IndexedDB as well. Default false. */
  persist?: boolean;
  /** Chunk requests being served to peers at once; more get REJECT busy. Default 32. */
  maxUploads?: number;
  /** Signaling URL when it is not `${server}/signaling`. */
  signaling?: string;
  /** Give up waiting for signaling after this long and start over HTTP (reconnects continue). Default 3000 ms. */
  signalingTimeoutMs?: number;
  /** Scheduler tuning (see scheduler.ts DEFAULTS). */
  tuning?: Partial<typeof DEFAULTS> & { graceMs?: number; seederGraceMs?: number };
  /** Testing only: serve corrupted pieces to peers (the poisoning test's bad viewer). */
  debugCorruptUploads?: boolean;
}

export interface CdnFetchOptions {
  signal?: AbortSignal;
  /** Like fetch(): `high` shortens the deadline before the origin steps in for a streamed read; `low` lengthens it. */
  priority?: "high" | "low" | "auto";
  /** `stream` (in order, with deadlines: media) or `rarest` (rarest-first: whole files). Default: by media type. */
  strategy?: Strategy;
  /** Called as verified chunks arrive. */
  onProgress?: (p: ProgressDetail) => void;
}

export interface ProgressDetail {
  contentId: string;
  loaded: number;
  total: number;
  chunks: number;
  totalChunks: number;
}

export interface CdnStats {
  /** Verified bytes received from peers and from the origin, over all content. */
  bytesFromPeers: number;
  bytesFromOrigin: number;
  /** bytesFromPeers / (bytesFromPeers + bytesFromOrigin); 0 before anything arrived. */
  offload: number;
  /** Payload bytes sent to peers. */
  bytesUploaded: number;
  /** Bytes received and thrown away (duplicates of end-game, corrupt chunks). */
  bytesDiscarded: number;
  corruptChunks: number;
  /** Peers banned for corrupt data, this session. */
  bannedPeers: number;
  /** Connected peers (open data channels), over all content. */
  peers: number;
  peerDetails: PeerStats[];
  /** Chunks fetched from the origin because this viewer was elected their owner, and back-up step-ins. */
  electedChunks: number;
  stepIns: number;
  signaling: "connected" | "disconnected" | "off";
  peerId: string | undefined;
  cacheBytes: number;
}

export interface CdnEventMap {
  peer: CustomEvent<{ contentId: string; peer: string; state: "connected" | "disconnected"; reason?: string }>;
  /** `reason`: why an origin chunk came from the origin (first chunk, elected owner, back-up step-in, every holder failed, overdue streamed read, origin-only mode). */
  chunk: CustomEvent<{ contentId: string; index: number; source: "peer" | "origin"; peer?: string; bytes: number; reason?: "first" | "elected" | "step-in" | "fallback" | "urgent" | "origin-only" }>;
  error: CustomEvent<{ contentId?: string; peer?: string; chunk?: number; message: string }>;
  progress: CustomEvent<ProgressDetail>;
}

const DEFAULT_MAX_PEERS = 8;
const DEFAULT_CACHE = 512 * 1024 * 1024;
const DEFAULT_MAX_UPLOADS = 32;

/**
 * A WebRtcCdn client: fetches content from a swarm of viewers over WebRTC data channels, with the HTTP
 * origin as fallback, every chunk verified against the manifest's SHA-256. Create with `WebRtcCdn.connect`.
 */
export class WebRtcCdn extends EventTarget {
  private readonly swarms = new Map<string, Swarm>();
  private readonly pending = new Map<string, Promise<Swarm>>();
  private readonly store: ChunkStore;
  private readonly uploader: UploadLimiter;
  private closed = false;
  private retired = { fromPeers: 0, fromOrigin: 0, discarded: 0, corrupt: 0, banned: 0, elected: 0, stepIns: 0 };

  private constructor(
    private readonly options: ConnectOptions,
    private readonly signaling: SignalingClient | undefined,
    private readonly idb: IdbChunkStore | undefined,
  ) {
    super();
    this.store = new ChunkStore(options.cacheBytes ?? DEFAULT_CACHE);
    this.store.onEvict = (id, i) => this.swarms.get(id)?.evicted(i);
    this.uploader = new UploadLimiter(options.uploadLimit ?? 0, options.maxUploads ?? DEFAULT_MAX_UPLOADS, performance.now());
    if (signaling) signaling.onMessage = (m) => this.swarms.get("swarm" in m ? m.swarm : "")?.signal(m);
  }

  /**
   * Connects to the server's signaling. Never fails because signaling is unreachable: the instance then
   * works over HTTP (and keeps trying to reach signaling in the background); an `error` event says so.
   */
  static async connect(options: ConnectOptions): Promise<WebRtcCdn> {
    if (!options || typeof options.server !== "string") throw new TypeError("WebRtcCdn.connect: 'server' (the server's URL) is required");
    const base = new URL(options.server, typeof location !== "undefined" ? location.href : undefined).toString();
    const opts = { ...options, server: base };
    const mode = opts.mode ?? "normal";
    if (!["normal", "leech", "origin-only"].includes(mode)) throw new TypeError(`WebRtcCdn.connect: unknown mode '${mode}'`);
    let signaling: SignalingClient | undefined;
    let error: string | undefined;
    if (mode !== "origin-only") {
      signaling = new SignalingClient({
        server: opts.signaling ?? base,
        connectTimeoutMs: opts.signalingTimeoutMs ?? 3000,
      });
      try {
        await signaling.connect();
      } catch (e) {
        error = (e as Error).message;
      }
    }
    const idb = opts.persist ? await IdbChunkStore.open() : undefined;
    const cdn = new WebRtcCdn(opts, signaling, idb);
    // A task later, so that listeners added right after `await connect()` hear it.
    if (error) setTimeout(() => cdn.emit("error", { message: `signaling unavailable, using HTTP: ${error}` }), 0);
    return cdn;
  }

  override addEventListener<K extends keyof CdnEventMap>(type: K, listener: (e: CdnEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null | ((e: Event) => void), options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject, options);
  }

  private emit(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  private host(): SwarmHost {
    return {
      server: this.options.server,
      signaling: this.signaling,
      store: this.store,
      uploader: this.uploader,
      mode: this.options.mode ?? "normal",
      maxPeers: this.options.maxPeers ?? DEFAULT_MAX_PEERS,
      token: this.options.token,
      tuning: this.options.tuning ?? {},
      emit: (t, d) => this.emit(t, d),
      persist: (id, i, data) => void this.idb?.put(id, i, data),
      corruptUploads: this.options.debugCorruptUploads === true,
    };
  }

  /** The content id named by `urlOrContentId`, or undefined for a URL outside this server's content. */
  contentIdOf(urlOrContentId: string): string | undefined {
    if (CONTENT_ID.test(urlOrContentId)) return urlOrContentId;
    try {
      const u = new URL(urlOrContentId, this.options.server);
      const m = /^\/content\/([0-9a-f]{64})(?:\/(?:file)?)?$/.exec(u.pathname);
      return m ? m[1] : undefined;
    } catch {
      return undefined;
    }
  }

  /** The manifest of a content id (from the origin, checked against the id). */
  async manifest(contentId: string, signal?: AbortSignal): Promise<Manifest> {
    const res = await fetch(new URL(`/content/${contentId}/manifest`, this.options.server), signal ? { signal } : {});
    if (!res.ok) throw new Error(`manifest of ${contentId}: HTTP ${res.status}`);
    return parseManifest(await res.text(), contentId);
  }

  private async swarmFor(contentId: string, strategy: Strategy | undefined, signal?: AbortSignal): Promise<Swarm> {
    const existing = this.swarms.get(contentId);
    if (existing) return existing;
    let p = this.pending.get(contentId);
    if (!p) {
      p = (async () => {
        const manifest = await this.manifest(contentId, signal);
        if (this.idb) await this.restore(manifest);
        const s = new Swarm(manifest, this.host(), strategy ?? (/^(video|audio)\//.test(manifest.mediaType) ? "stream" : "rarest"));
        this.swarms.set(contentId, s);
        void s.start();
        return s;
      })();
      this.pending.set(contentId, p);
      p.finally(() => this.pending.delete(contentId)).catch(() => undefined);
    }
    return p;
  }

  private async restore(m: Manifest): Promise<void> {
    for (let i = 0; i < m.chunks.length; i++) {
      const data = await this.idb!.get(m.id, i);
      if (!data) continue;
      const d = await sha256(data as Uint8Array<ArrayBuffer>);
      if (d.every((b, k) => b === m.chunkDigests[i]![k])) this.store.put(m.id, i, data);
    }
  }

  /**
   * Fetches content through the swarm. Resolves to a `Response` as soon as the manifest is known; its body
   * streams the content in order as chunks are verified (so `arrayBuffer()`, `blob()` and media elements
   * work). A URL that is not this server's content is fetched over plain HTTP.
   */
  async fetch(urlOrContentId: string, init: CdnFetchOptions = {}): Promise<Response> {
    if (this.closed) throw new DOMException("the WebRtcCdn instance was closed", "InvalidStateError");
    const contentId = this.contentIdOf(urlOrContentId);
    if (!contentId) return fetch(urlOrContentId, init.signal ? { signal: init.signal } : {});
    const signal = init.signal;
    signal?.throwIfAborted();
    const swarm = await this.swarmFor(contentId, init.strategy, signal);
    if (init.priority === "high") swarm.scheduler.shortenStallDeadline(1000);
    const m = swarm.manifest;
    const onProgress = init.onProgress;
    const progress = onProgress
      ? (e: Event) => {
          const d = (e as CustomEvent<ProgressDetail>).detail;
          if (d.contentId === contentId) onProgress(d);
        }
      : undefined;
    if (progress) this.addEventListener("progress", progress);
    let next = 0;
    swarm.readers++;
    let released = false;
    const done = () => {
      if (released) return;
      released = true;
      swarm.readers--;
      if (progress) this.removeEventListener("progress", progress);
    };
    const body = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (next >= m.chunks.length) {
          done();
          controller.close();
          return;
        }
        try {
          const data = await swarm.read(next, signal);
          next++;
          // A copy: the reader may transfer or change what it gets; the store's copy is shared with peers.
          controller.enqueue(data.slice());
        } catch (e) {
          done();
          controller.error(e);
        }
      },
      cancel: done,
    }, { highWaterMark: 2 });
    return new Response(body, {
      status: 200,
      headers: { "content-type": m.mediaType, "content-length": String(m.size), "x-webrtc-cdn-content-id": contentId },
    });
  }

  /** Live statistics over all content. */
  stats(): CdnStats {
    let fromPeers = this.retired.fromPeers;
    let fromOrigin = this.retired.fromOrigin;
    let discarded = this.retired.discarded;
    let corrupt = this.retired.corrupt;
    let banned = this.retired.banned;
    let elected = this.retired.elected;
    let stepIns = this.retired.stepIns;
    const peerDetails: PeerStats[] = [];
    for (const s of this.swarms.values()) {
      fromPeers += s.bytesFromPeers;
      fromOrigin += s.bytesFromOrigin;
      discarded += s.bytesDiscarded;
      corrupt += s.corruptChunks;
      banned += s.banned.size;
      elected += s.scheduler.elected;
      stepIns += s.scheduler.stepIns;
      peerDetails.push(...s.peerStats());
    }
    const total = fromPeers + fromOrigin;
    return {
      bytesFromPeers: fromPeers,
      bytesFromOrigin: fromOrigin,
      offload: total > 0 ? fromPeers / total : 0,
      bytesUploaded: this.uploader.uploaded,
      bytesDiscarded: discarded,
      corruptChunks: corrupt,
      bannedPeers: banned,
      peers: peerDetails.length,
      peerDetails,
      electedChunks: elected,
      stepIns,
      signaling: this.signaling ? (this.signaling.connected ? "connected" : "disconnected") : "off",
      peerId: this.signaling?.peerId,
      cacheBytes: this.store.size,
    };
  }

  /** Stops sharing `contentId` (leaves its swarm, closes its peer connections); its chunks stay cached. */
  release(contentId: string): void {
    const s = this.swarms.get(contentId);
    if (!s) return;
    this.retired.fromPeers += s.bytesFromPeers;
    this.retired.fromOrigin += s.bytesFromOrigin;
    this.retired.discarded += s.bytesDiscarded;
    this.retired.corrupt += s.corruptChunks;
    this.retired.banned += s.banned.size;
    this.retired.elected += s.scheduler.elected;
    this.retired.stepIns += s.scheduler.stepIns;
    s.close();
    this.swarms.delete(contentId);
  }

  /** Closes every peer connection and the signaling connection; pending reads fail with an AbortError. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.swarms.keys()]) this.release(id);
    this.signaling?.close();
    this.idb?.close();
  }
}
