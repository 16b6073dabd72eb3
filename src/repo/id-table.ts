// A compact hash table from 32-byte blob ids to u32 values: ids live in one flat Buffer and values
// in a Uint32Array, so a million blobs cost ~60 MB and no JS object per blob (DESIGN: memory).
// Ids are SHA-256, so their first bytes are already a uniform hash.
import { ID_BYTES } from '../model/blob-id.js';
import { releaseArrayBuffer } from '../sys/index.js';

const EMPTY = 0;

export class IdTable {
  private keys: Buffer;
  private vals: Uint32Array; // value + 1; 0 marks an empty slot
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.keys = Buffer.alloc(cap * ID_BYTES);
    this.vals = new Uint32Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  private slotOf(id: Uint8Array): number {
    let slot = ((id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24)) >>> 0) & this.mask;
    for (;;) {
      if (this.vals[slot] === EMPTY) return slot;
      if (this.keyEquals(slot, id)) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  private keyEquals(slot: number, id: Uint8Array): boolean {
    const base = slot * ID_BYTES;
    for (let i = 0; i < ID_BYTES; i++) if (this.keys[base + i] !== id[i]) return false;
    return true;
  }

  get(id: Uint8Array): number | undefined {
    const v = this.vals[this.slotOf(id)]!;
    return v === EMPTY ? undefined : v - 1;
  }

  has(id: Uint8Array): boolean {
    return this.vals[this.slotOf(id)] !== EMPTY;
  }

  /** Sets id -> value; returns false when the id was already present (value then unchanged). */
  add(id: Uint8Array, value = 0): boolean {
    if (value < 0 || value >= 0xffffffff) throw new RangeError(`IdTable value out of range: ${value}`);
    const slot = this.slotOf(id);
    if (this.vals[slot] !== EMPTY) return false;
    this.keys.set(id.subarray(0, ID_BYTES), slot * ID_BYTES);
    this.vals[slot] = value + 1;
    this.count++;
    if (this.count * 10 > (this.mask + 1) * 7) this.grow();
    return true;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const cap = (this.mask + 1) * 2;
    this.keys = Buffer.alloc(cap * ID_BYTES);
    this.vals = new Uint32Array(cap);
    this.mask = cap - 1;
    for (let s = 0; s < oldVals.length; s++) {
      if (oldVals[s] === EMPTY) continue;
      const id = oldKeys.subarray(s * ID_BYTES, (s + 1) * ID_BYTES);
      const slot = this.slotOf(id);
      this.keys.set(id, slot * ID_BYTES);
      this.vals[slot] = oldVals[s]!;
    }
    // Freed now: the collector would free them only after tens of MiB more (see release()).
    releaseArrayBuffer(oldKeys.buffer as ArrayBuffer);
    releaseArrayBuffer(oldVals.buffer as ArrayBuffer);
  }

  /**
   * Frees the table's memory now and leaves it empty (and usable). V8 frees a dead buffer only at
   * a collection it starts tens of MiB of such memory later: the writer thread drops one table per
   * sealed pack (36 bytes a slot, two slots an id), and a million-file snapshot kept several.
   */
  release(): void {
    releaseArrayBuffer(this.keys.buffer as ArrayBuffer);
    releaseArrayBuffer(this.vals.buffer as ArrayBuffer);
    this.keys = Buffer.alloc(16 * ID_BYTES);
    this.vals = new Uint32Array(16);
    this.mask = 15;
    this.count = 0;
  }
}
