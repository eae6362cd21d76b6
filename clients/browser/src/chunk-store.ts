/**
 * The viewer's chunk store: verified chunks only, bounded in bytes, least recently used evicted first.
 * Chunks of a download still in progress can be pinned so that a small cap never evicts what the reader
 * has not consumed yet. Optional persistence (IndexedDB) is a second tier behind it (see idb-store.ts).
 */
export class ChunkStore {
  private readonly map = new Map<string, Uint8Array>();
  private readonly pinned = new Map<string, number>();
  private bytes = 0;
  /** Called with (contentId, index) when a chunk is evicted, so the owner can stop advertising it. */
  onEvict: ((contentId: string, index: number) => void) | undefined;

  constructor(readonly maxBytes: number) {
    if (!(maxBytes > 0)) throw new RangeError("maxBytes must be positive");
  }

  private static key(contentId: string, index: number): string {
    return `${contentId}/${index}`;
  }

  get size(): number {
    return this.bytes;
  }

  get count(): number {
    return this.map.size;
  }

  has(contentId: string, index: number): boolean {
    return this.map.has(ChunkStore.key(contentId, index));
  }

  /** Returns the chunk and marks it most recently used. */
  get(contentId: string, index: number): Uint8Array | undefined {
    const k = ChunkStore.key(contentId, index);
    const v = this.map.get(k);
    if (v) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }

  put(contentId: string, index: number, data: Uint8Array): void {
    const k = ChunkStore.key(contentId, index);
    const old = this.map.get(k);
    if (old) {
      this.bytes -= old.length;
      this.map.delete(k);
    }
    this.map.set(k, data);
    this.bytes += data.length;
    this.evict();
  }

  /** Pinned chunks are not evicted (a download's unread chunks); pins nest. */
  pin(contentId: string, index: number): void {
    const k = ChunkStore.key(contentId, index);
    this.pinned.set(k, (this.pinned.get(k) ?? 0) + 1);
  }

  unpin(contentId: string, index: number): void {
    const k = ChunkStore.key(contentId, index);
    const n = (this.pinned.get(k) ?? 0) - 1;
    if (n > 0) this.pinned.set(k, n);
    else this.pinned.delete(k);
    this.evict();
  }

  delete(contentId: string, index: number): void {
    const k = ChunkStore.key(contentId, index);
    const v = this.map.get(k);
    if (v) {
      this.map.delete(k);
      this.bytes -= v.length;
    }
  }

  private evict(): void {
    if (this.bytes <= this.maxBytes) return;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      if (this.pinned.has(k)) continue;
      this.map.delete(k);
      this.bytes -= v.length;
      const slash = k.lastIndexOf("/");
      this.onEvict?.(k.slice(0, slash), Number(k.slice(slash + 1)));
    }
  }
}
