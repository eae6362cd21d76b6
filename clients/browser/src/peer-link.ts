import { decode, encode, encodePiece, MAX_PIECE_DATA, type WireFrame } from "./wire.js";
import type { UploadLimiter, UploadQueue } from "./upload-limiter.js";

/**
 * One peer: an RTCPeerConnection with one ordered, reliable data channel (label `cdn`) speaking the binary
 * wire protocol for one content. The joiner offers; trickle ICE goes through signaling. Uploads are paced
 * by the shared UploadLimiter and by the channel's bufferedAmount so a slow peer never makes the page
 * buffer without bound.
 */
export interface LinkSignals {
  sendOffer(sdp: string): void;
  sendAnswer(sdp: string): void;
  sendCandidate(c: RTCIceCandidateInit | null): void;
}

export interface LinkHandlers {
  onOpen(link: PeerLink): void;
  onFrame(link: PeerLink, frame: WireFrame): void;
  onClose(link: PeerLink, reason: string): void;
  /** The chunk bytes to serve a request, or undefined when not held. */
  chunk(index: number): Uint8Array | undefined;
  /** The remote's progress, 0..1 (what it holds of the content): requesters closest to done are served first; undefined = not ranked. */
  progress?(link: PeerLink): number | undefined;
}

/** A connection that is not open after 15 s (ICE + DTLS + SCTP on a bad network) is dropped. */
export const CONNECT_TIMEOUT_MS = 15_000;
/** Liveness: PING every 5 s; a peer silent for 20 s is dead (consent freshness gives up at ~30 s). */
const PING_MS = 5000;
const DEAD_MS = 20_000;
/** Bound on queued requests from one peer; more is abuse (each peer keeps at most a few in flight). */
const MAX_QUEUED_REQUESTS = 64;

interface Upload {
  requestId: number;
  chunk: number;
  offset: number;
  end: number;
  data: Uint8Array;
}

export class PeerLink implements UploadQueue {
  readonly pc: RTCPeerConnection;
  /** When the channel opened (ms, performance.now()); before that, when the link was made. */
  openedAt = performance.now();
  channel: RTCDataChannel | undefined;
  open = false;
  closed = false;
  helloReceived = false;
  bytesIn = 0;
  bytesOut = 0;
  private lastHeard = performance.now();
  private readonly uploads: Upload[] = [];
  private pumping = false;
  private pumpTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private readonly pendingCandidates: RTCIceCandidateInit[] = [];
  private remoteSet = false;
  /** Set to serve corrupted pieces (tests only: the poisoning scenario). */
  corruptUploads = false;

  constructor(
    readonly remoteId: string,
    readonly cid: string,
    readonly initiator: boolean,
    iceServers: RTCIceServer[],
    private readonly signals: LinkSignals,
    private readonly handlers: LinkHandlers,
    private readonly uploader: UploadLimiter,
    readonly serve: boolean,
  ) {
    this.pc = new RTCPeerConnection({ iceServers });
    this.pc.onicecandidate = (e) => this.signals.sendCandidate(e.candidate ? e.candidate.toJSON() : null);
    this.pc.onconnectionstatechange = () => {
      const s = this.pc.connectionState;
      if (s === "failed" || s === "closed") this.close(`connection ${s}`);
    };
    this.timers.push(setTimeout(() => !this.open && this.close("connect timeout"), CONNECT_TIMEOUT_MS) as unknown as ReturnType<typeof setInterval>);
    if (initiator) {
      this.attach(this.pc.createDataChannel("cdn", { ordered: true }));
      void this.offer();
    } else {
      this.pc.ondatachannel = (e) => {
        if (e.channel.label === "cdn" && !this.channel) this.attach(e.channel);
      };
    }
  }

  private async offer(): Promise<void> {
    try {
      await this.pc.setLocalDescription(await this.pc.createOffer());
      this.signals.sendOffer(this.pc.localDescription!.sdp);
    } catch (e) {
      this.close(`offer failed: ${(e as Error).message}`);
    }
  }

  async acceptOffer(sdp: string): Promise<void> {
    try {
      await this.pc.setRemoteDescription({ type: "offer", sdp });
      this.remoteSet = true;
      await this.flushCandidates();
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      this.signals.sendAnswer(this.pc.localDescription!.sdp);
    } catch (e) {
      this.close(`answer failed: ${(e as Error).message}`);
    }
  }

  async acceptAnswer(sdp: string): Promise<void> {
    if (this.pc.signalingState !== "have-local-offer") return;
    try {
      await this.pc.setRemoteDescription({ type: "answer", sdp });
      this.remoteSet = true;
      await this.flushCandidates();
    } catch (e) {
      this.close(`bad answer: ${(e as Error).message}`);
    }
  }

  async addCandidate(c: RTCIceCandidateInit | null): Promise<void> {
    if (!this.remoteSet) {
      if (c && this.pendingCandidates.length < 64) this.pendingCandidates.push(c);
      return;
    }
    try {
      await this.pc.addIceCandidate(c ?? undefined);
    } catch {
      // A candidate we cannot use (another address family, a stale generation) is not fatal.
    }
  }

  private async flushCandidates(): Promise<void> {
    for (const c of this.pendingCandidates.splice(0)) await this.addCandidate(c);
  }

  private attach(ch: RTCDataChannel): void {
    this.channel = ch;
    ch.binaryType = "arraybuffer";
    ch.onopen = () => {
      this.open = true;
      this.openedAt = performance.now();
      this.lastHeard = performance.now();
      this.timers.push(setInterval(() => this.keepAlive(), PING_MS));
      this.handlers.onOpen(this);
    };
    ch.onclose = () => this.close("channel closed");
    ch.onbufferedamountlow = () => this.pump();
    ch.onmessage = (e) => {
      if (!(e.data instanceof ArrayBuffer)) {
        this.close("text message on the wire channel");
        return;
      }
      this.lastHeard = performance.now();
      const bytes = new Uint8Array(e.data);
      this.bytesIn += bytes.length;
      const r = decode(bytes);
      if (!r.ok) {
        this.close(`malformed frame: ${r.error}`);
        return;
      }
      this.onFrame(r.frame);
    };
  }

  private keepAlive(): void {
    const now = performance.now();
    if (now - this.lastHeard > DEAD_MS) {
      this.close("peer silent");
      return;
    }
    this.send({ type: "PING", nonce: (Math.random() * 2 ** 32) >>> 0 });
  }

  private onFrame(f: WireFrame): void {
    switch (f.type) {
      case "PING":
        this.send({ type: "PONG", nonce: f.nonce });
        return;
      case "PONG":
        return;
      case "REQUEST":
        this.onRequest(f.requestId, f.chunkIndex, f.offset, f.length);
        return;
      case "CANCEL": {
        const i = this.uploads.findIndex((u) => u.requestId === f.requestId);
        if (i >= 0) {
          this.uploads.splice(i, 1);
          this.uploader.finish();
          if (this.uploads.length === 0) this.uploader.drained(this);
        }
        return;
      }
      case "HELLO":
        this.helloReceived = true;
        break;
    }
    this.handlers.onFrame(this, f);
  }

  private onRequest(requestId: number, chunk: number, offset: number, length: number): void {
    if (!this.serve) {
      this.send({ type: "REJECT", requestId, reason: "choked" });
      return;
    }
    const data = this.handlers.chunk(chunk);
    if (!data) {
      this.send({ type: "REJECT", requestId, reason: "not_found" });
      return;
    }
    if (offset + length > data.length) {
      this.send({ type: "REJECT", requestId, reason: "invalid" });
      return;
    }
    if (this.uploads.length >= MAX_QUEUED_REQUESTS || !this.uploader.tryStart()) {
      this.send({ type: "REJECT", requestId, reason: "busy" });
      return;
    }
    this.uploads.push({ requestId, chunk, offset, end: offset + length, data });
    this.uploader.queued(this);
    this.pump();
  }

  uploadPriority(): number | undefined {
    return this.handlers.progress?.(this);
  }

  /**
   * Sends queued pieces while the channel holds less than this link's share (by the requester's rank among the
   * links with requests, UploadLimiter.shareFor) and the rate cap allows. Not more: what is queued when the requester
   * cancels (a duplicate won elsewhere) is sent anyway and thrown away, and Chromium's send() fails at 16 MiB.
   */
  pump(): void {
    if (this.pumping || this.closed || !this.channel || this.uploads.length === 0) return;
    this.pumping = true;
    try {
      const share = this.uploader.shareFor(this);
      // onbufferedamountlow resumes at half the share: the rank is looked at again every refill.
      this.channel.bufferedAmountLowThreshold = share >> 1;
      while (this.uploads.length > 0 && this.channel.readyState === "open") {
        if (this.channel.bufferedAmount >= share) return;
        const u = this.uploads[0]!;
        const n = Math.min(MAX_PIECE_DATA, u.end - u.offset);
        const wait = this.uploader.take(n, performance.now());
        if (wait > 0) {
          if (!this.pumpTimer)
            this.pumpTimer = setTimeout(() => {
              this.pumpTimer = undefined;
              this.pump();
            }, wait);
          return;
        }
        let piece = u.data.subarray(u.offset, u.offset + n);
        if (this.corruptUploads) {
          piece = piece.slice();
          piece[0] = piece[0]! ^ 0xff;
        }
        this.sendRaw(encodePiece(u.requestId, u.chunk, u.offset, piece));
        u.offset += n;
        if (u.offset >= u.end) {
          this.uploads.shift();
          this.uploader.finish(true);
          if (this.uploads.length === 0) this.uploader.drained(this);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  send(frame: WireFrame): void {
    this.sendRaw(encode(frame));
  }

  private sendRaw(bytes: Uint8Array): void {
    if (!this.channel || this.channel.readyState !== "open") return;
    try {
      this.channel.send(bytes as Uint8Array<ArrayBuffer>);
      this.bytesOut += bytes.length;
    } catch (e) {
      this.close(`send failed: ${(e as Error).message}`);
    }
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    for (let i = 0; i < this.uploads.length; i++) this.uploader.finish();
    this.uploads.length = 0;
    this.uploader.drained(this);
    try {
      this.channel?.close();
      this.pc.close();
    } catch {
      // already closed
    }
    this.handlers.onClose(this, reason);
  }
}
