/** A set of chunk indexes as the wire protocol's bitfield: bit i (most significant first) = chunk i. */
export class Bitfield {
  readonly bytes: Uint8Array;
  private _count = 0;

  constructor(readonly size: number, bytes?: Uint8Array) {
    this.bytes = new Uint8Array((size + 7) >> 3);
    if (bytes) {
      this.bytes.set(bytes.subarray(0, this.bytes.length));
      for (let i = 0; i < size; i++) if (this.has(i)) this._count++;
    }
  }

  get count(): number {
    return this._count;
  }

  get complete(): boolean {
    return this._count === this.size;
  }

  has(i: number): boolean {
    return i >= 0 && i < this.size && (this.bytes[i >> 3]! & (0x80 >> (i & 7))) !== 0;
  }

  set(i: number): boolean {
    if (i < 0 || i >= this.size || this.has(i)) return false;
    this.bytes[i >> 3]! |= 0x80 >> (i & 7);
    this._count++;
    return true;
  }

  clear(i: number): boolean {
    if (!this.has(i)) return false;
    this.bytes[i >> 3]! &= ~(0x80 >> (i & 7));
    this._count--;
    return true;
  }
}
