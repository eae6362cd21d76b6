/**
 * Token bucket for the upload byte-rate cap (the seed's `bandwidth_limit`). Pure: the caller passes the
 * current time in milliseconds (monotonic), so it is tested with a fake clock.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  /** `rate` bytes per second, at most `burst` bytes at once; `rate` = Infinity disables the cap. */
  constructor(readonly rate: number, readonly burst: number, now: number) {
    if (!(rate > 0) || !(burst > 0)) throw new RangeError("rate and burst must be positive");
    this.tokens = burst;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
    }
  }

  /** Takes `n` bytes if available now. */
  tryTake(n: number, now: number): boolean {
    if (this.rate === Infinity) return true;
    this.refill(now);
    if (this.tokens >= n) {
      this.tokens -= n;
      return true;
    }
    return false;
  }

  /** Milliseconds until `n` bytes (capped at the burst) are available; 0 when they are now. */
  delayFor(n: number, now: number): number {
    if (this.rate === Infinity) return 0;
    this.refill(now);
    const need = Math.min(n, this.burst) - this.tokens;
    return need <= 0 ? 0 : Math.ceil((need * 1000) / this.rate);
  }
}
