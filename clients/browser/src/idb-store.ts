/**
 * Optional persistence of verified chunks in IndexedDB, so a returning viewer starts with what it held
 * (and can seed it). Best effort: any IndexedDB failure (private mode, quota) just disables persistence.
 * Chunks read back are verified again before use (the caller does it), since storage is not trusted either.
 */
const DB = "webrtc-cdn";
const STORE = "chunks";

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export class IdbChunkStore {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(): Promise<IdbChunkStore | undefined> {
    if (typeof indexedDB === "undefined") return undefined;
    try {
      const r = indexedDB.open(DB, 1);
      r.onupgradeneeded = () => r.result.createObjectStore(STORE);
      return new IdbChunkStore(await req(r));
    } catch {
      return undefined;
    }
  }

  async put(contentId: string, index: number, data: Uint8Array): Promise<void> {
    try {
      const tx = this.db.transaction(STORE, "readwrite");
      await req(tx.objectStore(STORE).put(data, `${contentId}/${index}`));
    } catch {
      // Quota or a closed database: persistence is best effort.
    }
  }

  async get(contentId: string, index: number): Promise<Uint8Array | undefined> {
    try {
      const v: unknown = await req(this.db.transaction(STORE).objectStore(STORE).get(`${contentId}/${index}`));
      return v instanceof Uint8Array ? v : undefined;
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.db.close();
  }
}
