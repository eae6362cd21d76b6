import { TokenBucket } from "./token-bucket.js";

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
