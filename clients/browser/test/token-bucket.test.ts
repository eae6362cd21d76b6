import { test } from "node:test";
import assert from "node:assert/strict";
import { TokenBucket } from "../src/token-bucket.js";
import { UPLOAD_SHARES, UploadLimiter } from "../src/upload-limiter.js";

test("token bucket: the burst is available at once, then the rate", () => {
  const b = new TokenBucket(1000, 500, 0);
  assert.ok(b.tryTake(500, 0));
  assert.equal(b.tryTake(1, 0), false);
  assert.equal(b.delayFor(100, 0), 100);
  assert.ok(b.tryTake(100, 100));
  assert.equal(b.tryTake(1, 100), false);
});

test("token bucket: idle time refills only up to the burst", () => {
  const b = new TokenBucket(1000, 500, 0);
  assert.ok(b.tryTake(500, 0));
  assert.ok(b.tryTake(500, 60_000));
  assert.equal(b.tryTake(1, 60_000), false);
});

test("token bucket: a long run delivers rate x time (fake clock)", () => {
  const b = new TokenBucket(10_000, 1000, 0);
  let sent = 0;
  for (let t = 0; t <= 10_000; t += 7) while (b.tryTake(100, t)) sent += 100;
  // 10 s x 10,000 B/s plus the initial burst.
  assert.ok(sent >= 100_000 && sent <= 101_000, String(sent));
});

test("token bucket: rejects nonsense parameters", () => {
  assert.throws(() => new TokenBucket(0, 1, 0), RangeError);
  assert.throws(() => new TokenBucket(1, -1, 0), RangeError);
});

test("upload limiter: caps concurrent uploads and paces bytes", () => {
  const u = new UploadLimiter(65536 * 4, 2, 0);
  assert.ok(u.tryStart());
  assert.ok(u.tryStart());
  assert.equal(u.tryStart(), false);
  u.finish();
  assert.ok(u.tryStart());
  assert.equal(u.take(65536, 0), 0);
  assert.ok(u.take(65536, 0) > 0);
  assert.equal(u.take(65536, 250), 0);
  assert.equal(u.uploaded, 131072);
  const unlimited = new UploadLimiter(0, 1, 0);
  assert.equal(unlimited.take(1 << 30, 0), 0);
});

/** A queue as the limiter sees it, recording pumps. */
function queue(progress: number | undefined, openedAt: number, pumps: string[], name: string) {
  return { progress, openedAt, uploadPriority() { return this.progress; }, pump() { pumps.push(name); } };
}

test("upload limiter: the requester closest to done gets the largest share; ties go to the older link", () => {
  const u = new UploadLimiter(0, 32, 0);
  const pumps: string[] = [];
  const early = queue(0.75, 100, pumps, "early");
  const middle = queue(0.25, 50, pumps, "middle");
  const late = queue(0, 300, pumps, "late");
  const lateToo = queue(0, 200, pumps, "lateToo");
  for (const q of [late, middle, early, lateToo]) u.queued(q);
  u.queued(early); // idempotent
  assert.equal(u.queuedCount, 4);
  assert.equal(u.shareFor(early), UPLOAD_SHARES[0]);
  assert.equal(u.shareFor(middle), UPLOAD_SHARES[1]);
  // The rest keep one piece in flight (a share, never zero: their requests must stay alive).
  assert.equal(u.shareFor(lateToo), UPLOAD_SHARES[2]);
  assert.equal(u.shareFor(late), UPLOAD_SHARES[2]);
  assert.ok(UPLOAD_SHARES[2]! >= 65536 - 14, "the smallest share holds a whole piece");

  // The leader is done: the others move up and are pumped at once (not at their next buffered-amount event).
  u.drained(early);
  assert.deepEqual(pumps.sort(), ["late", "lateToo", "middle"]);
  assert.equal(u.shareFor(middle), UPLOAD_SHARES[0]);
  assert.equal(u.shareFor(lateToo), UPLOAD_SHARES[1]);
  // Progress changes the order as HAVEs arrive.
  late.progress = 0.5;
  assert.equal(u.shareFor(late), UPLOAD_SHARES[0]);
  assert.equal(u.shareFor(middle), UPLOAD_SHARES[1]);
  // A queue that was never queued (or drained twice) changes nothing.
  pumps.length = 0;
  u.drained(early);
  assert.deepEqual(pumps, []);
  assert.equal(u.queuedCount, 3);
});

test("upload limiter: unranked queues (streamed media) always get the full share and do not push others down", () => {
  const u = new UploadLimiter(0, 32, 0);
  const pumps: string[] = [];
  const streamA = queue(undefined, 0, pumps, "a");
  const streamB = queue(undefined, 1, pumps, "b");
  const file = queue(0.1, 2, pumps, "file");
  for (const q of [streamA, streamB, file]) u.queued(q);
  assert.equal(u.shareFor(streamA), UPLOAD_SHARES[0]);
  assert.equal(u.shareFor(streamB), UPLOAD_SHARES[0]);
  assert.equal(u.shareFor(file), UPLOAD_SHARES[0]);
});
