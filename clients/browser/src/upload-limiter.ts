import { TokenBucket } from "./token-bucket.js";

/** One peer link with requests to serve, as the limiter ranks it against the others. */
export interface UploadQueue {
  /**
   * The requester's progress, 0..1 (the part of the content it holds): the requester closest to done goes first.
   * Undefined: not ranked, always the full share (streamed media, where the requester's urgency, not its progress,
   * matters and the uploader cannot see it).
   */
  uploadPriority(): number | undefined;
  /** When the link opened (ms): equal progress goes to the older link. */
  readonly openedAt: number;
  /** Sends what its share allows now (called when a queue ahead of it is done). */
  pump(): void;
}

/**
 * Bytes a queue may keep in its data channel by rank: 1 MiB for the first (a refill's worth, 25 ms at 20 MB/s,
 * stays queued for Chromium's SCTP), 256 KiB for the second, one 64 KiB piece for the rest.
 *
 * Serving every requester at once is processor sharing: when uploaders are the bottleneck (their uplinks, or in the
 * swarm bench the 2 cores every viewer shares) all downloads slow down together and all finish late: the N = 12 bench
 * saw the viewers that joined in the middle take 16-22 s while those joining last, into a swarm of seeders, took 9 s.
 * Serving the requester closest to completion first (shortest remaining work) finishes them one after another and
 * turns them into seeders sooner. The rest keep one piece in flight, so their requests stay alive (no silent-peer
 * time-outs, their rate estimates stay measured) and they take over as soon as those ahead are done.
 * Whole-file swarms only: streamed media requesters are not ranked (a viewer far into a video is not less urgent
 * than one about to stall), they share as before and their overdue chunks go to the origin (stallDeadlineMs).
 */
export const UPLOAD_SHARES: readonly number[] = [1 << 20, 256 << 10, 64 << 10];

/**
 * What every peer link of one SDK instance shares for uploads: the byte-rate cap (the seed's
 * `bandwidth_limit`) and the cap on requests being served at once. Pure apart from the clock it is given.
 */
export class UploadLimiter {
  private readonly bucket: TokenBucket | undefined;
  active = 0;
  uploaded = 0;
  /** Requests served to the end. */
  served = 0;
  private readonly queues = new Set<UploadQueue>();

  /** `bytesPerSecond` 0 or Infinity = no rate cap. */
  constructor(bytesPerSecond: number, readonly maxConcurrent: number, now: number) {
    // Burst: a quarter second of traffic, at least one maximum-size piece (64 KiB).
    this.bucket = bytesPerSecond > 0 && bytesPerSecond !== Infinity ? new TokenBucket(bytesPerSecond, Math.max(65536, bytesPerSecond / 4), now) : undefined;
  }

  /** A new request may be served (else REJECT busy). */
  tryStart(): boolean {
    if (this.active >= this.maxConcurrent) return false;
    this.active++;
    return true;
  }

  /** A request ended; `complete` when all its bytes were sent (not cancelled). */
  finish(complete = false): void {
    if (this.active > 0) this.active--;
    if (complete) this.served++;
  }

  /** A link has requests to serve (idempotent). */
  queued(q: UploadQueue): void {
    this.queues.add(q);
  }

  /** A link has nothing left to serve, or closed: the queues behind it move up and are pumped. */
  drained(q: UploadQueue): void {
    if (!this.queues.delete(q)) return;
    for (const other of [...this.queues]) other.pump();
  }

  /** Bytes `q` may keep buffered in its channel now, from its rank among the queues with requests (UPLOAD_SHARES). */
  shareFor(q: UploadQueue): number {
    const mine = q.uploadPriority();
    if (mine === undefined) return UPLOAD_SHARES[0]!;
    let rank = 0;
    for (const other of this.queues) {
      if (other === q) continue;
      const theirs = other.uploadPriority();
      if (theirs === undefined) continue;
      if (theirs > mine || (theirs === mine && other.openedAt < q.openedAt)) rank++;
    }
    return UPLOAD_SHARES[Math.min(rank, UPLOAD_SHARES.length - 1)]!;
  }

  /** Links with requests to serve (tests and diagnostics). */
  get queuedCount(): number {
    return this.queues.size;
  }

  /** Milliseconds to wait before `bytes` may be sent; 0 = send now (and the bytes are accounted). */
  take(bytes: number, now: number): number {
    if (!this.bucket) {
      this.uploaded += bytes;
      return 0;
    }
    if (this.bucket.tryTake(bytes, now)) {
      this.uploaded += bytes;
      return 0;
    }
    return Math.max(1, this.bucket.delayFor(bytes, now));
  }
}
