// The read side's table of every stored blob: id -> (pack, record offset, length, kind). Rows stay
// in the index files' own 88-byte tables; the hash table holds only u32 row numbers and compares
// ids against the rows (4 bytes a slot, no second copy of the ids, no JS object per blob).
// With `lazyData`, only tree and boot rows are loaded at first: a snapshot of an unchanged tree
// never needs the data rows, which are nearly all of them; loadData() adds them when needed.
// With `treesOnly` (scan threads, which look up nothing but trees), only tree rows are loaded, and
// an index whose first row is not a tree is not read past that row: writers keep trees in packs
// of their own, so such a pack holds none (one written before may: the first miss loads the rest).
// With `idsOnly` (the writer thread, which reads nothing but trees and asks of the rest only
// whether they are stored), rows other than trees keep just an id key (index-file.ts): the id's
// first 8 bytes and the row's place in its index file, from where a match is confirmed with the
// whole id. A million small blobs cost 12 MB instead of 88, and has() answers the same.
import { BlobKind } from '../model/blob-id.js';
import { SnapError } from '../model/errors.js';
import { ID_KEY_BYTES, ID_KEY_PREFIX, INDEX_ENTRY_BYTES, firstRowKind, readIndexEntry, readIndexId, readIndexRows, readRawLength, splitRows, type IndexEntry } from './index-file.js';
import type { LocalStore } from './local-store.js';
import { OpenFiles } from './open-files.js';
import { releaseArrayBuffer } from '../sys/index.js';

export interface BlobLocation extends IndexEntry {
  packId: string;
}

const ID = 32;

export interface BlobIndexOptions {
  lazyData?: boolean;
  treesOnly?: boolean;
  idsOnly?: boolean;
}

export class BlobIndex {
  private readonly packIds: string[] = [];
  private readonly tables: Buffer[] = [];
  /** Bytes per row of each table: INDEX_ENTRY_BYTES, or ID_KEY_BYTES for a table of id keys. */
  private readonly strides: number[] = [];
  private readonly firstRow: number[] = [];
  private rows = 0;
  private slots = new Uint32Array(1024); // row + 1; 0 = empty
  /**
   * Byte 4 of the id in each used slot (bytes 0..3 chose the home slot). A lookup that misses
   * (every new blob of a first snapshot) passes ~6 used slots at the table's fullest; comparing
   * the tag first leaves the row (another table, found by binary search) alone for nearly all.
   */
  private tags = new Uint8Array(1024);
  private count = 0;
  private dataLoaded = true;
  /** The kinds of row a lazy load took; loadData() adds the others. */
  private loadedKinds: (kind: BlobKind) => boolean = () => true;
  /** The kinds of row kept whole (with their location); the others keep their id alone. */
  private locatable: (kind: number) => boolean = () => true;
  private idsOnly = false;
  /** Packs a lazy load left rows out of: 'some' (of the other kinds) or 'all' (not read). */
  private readonly partial = new Map<string, 'some' | 'all'>();
  private store: LocalStore | null = null;
  /**
   * Index files read to confirm id keys, kept open: content stored already is confirmed up to three
   * times on the writer's way (has(), a bundle's rebuild, claim()), an open and a close each.
   */
  private readonly confirmFiles = new OpenFiles();

  static load(store: LocalStore, opts: BlobIndexOptions = {}): BlobIndex {
    const index = new BlobIndex();
    index.store = store;
    if (opts.idsOnly) {
      index.idsOnly = true;
      index.locatable = (kind) => kind === BlobKind.Tree;
    }
    if (opts.treesOnly) index.loadedKinds = (kind) => kind === BlobKind.Tree;
    else if (opts.lazyData) index.loadedKinds = (kind) => kind !== BlobKind.Data;
    index.dataLoaded = !opts.lazyData && !opts.treesOnly;
    index.loadFiles(index.loadedKinds, undefined, opts.treesOnly);
    return index;
  }

  private loadFiles(want: (kind: BlobKind) => boolean, only?: ReadonlySet<string>, skipNonTreePacks = false): void {
    const store = this.store!;
    const tables: { packId: string; table: Buffer; stride: number }[] = [];
    for (const key of store.list('index')) {
      const packId = key.slice('index/'.length, -'.idx'.length);
      if (only && !only.has(packId)) continue;
      if (!store.exists(`packs/${packId.slice(0, 2)}/${packId}.pack`)) continue; // orphan index
      if (skipNonTreePacks && firstRowKind(store.path(key), key) !== BlobKind.Tree) {
        this.partial.set(packId, 'all');
        continue;
      }
      const { rows, ids, total } = readIndexRows(
        store.path(key),
        key,
        (kind) => want(kind as BlobKind) && this.locatable(kind),
        (kind) => want(kind as BlobKind) && !this.locatable(kind),
      );
      if (rows.length / INDEX_ENTRY_BYTES + ids.length / ID_KEY_BYTES !== total) this.partial.set(packId, 'some');
      if (rows.length > 0) tables.push({ packId, table: rows, stride: INDEX_ENTRY_BYTES });
      if (ids.length > 0) tables.push({ packId, table: ids, stride: ID_KEY_BYTES });
    }
    // Sized once for all of them: doubling from 1 KiB slots rehashed ~20k tree rows five times, in
    // code still cold at a thread's start (~10 ms of each thread's start-up).
    this.reserve(tables.reduce((n, t) => n + t.table.length / t.stride, 0));
    for (const t of tables) this.addTable(t.packId, t.table, t.stride);
  }

  /** Adds the rows a lazy load left out (a snapshot that stores content, a restore, a miss). */
  loadData(): void {
    if (this.dataLoaded) return;
    this.dataLoaded = true;
    const some = new Set([...this.partial].filter(([, left]) => left === 'some').map(([p]) => p));
    const all = new Set([...this.partial].filter(([, left]) => left === 'all').map(([p]) => p));
    this.partial.clear();
    const loaded = this.loadedKinds;
    this.loadFiles((kind) => !loaded(kind), some);
    this.loadFiles(() => true, all);
  }

  /** The pack (position in `tables`) a global row number belongs to. */
  private packOf(row: number): number {
    let lo = 0;
    let hi = this.firstRow.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.firstRow[mid]! <= row) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Whether row `row` holds `id`: compared in place, bytes 4.. first (0..3 chose the slot). An id
   * of ID_KEY_PREFIX bytes (addTable) asks whether the row's id starts with them.
   */
  private rowHolds(row: number, id: Uint8Array): boolean {
    const p = this.packOf(row);
    const table = this.tables[p]!;
    const stride = this.strides[p]!;
    const o = (row - this.firstRow[p]!) * stride;
    const held = stride === ID_KEY_BYTES ? ID_KEY_PREFIX : ID;
    const n = Math.min(held, id.length);
    for (let i = 4; i < n; i++) if (table[o + i] !== id[i]) return false;
    for (let i = 0; i < 4; i++) if (table[o + i] !== id[i]) return false;
    return n === id.length || this.keyConfirmed(p, table.readUInt32LE(o + ID_KEY_PREFIX), id);
  }

  /**
   * An id key's prefix matched: the whole id, from the index file, decides. Content already stored
   * (the only way a prefix matches short of 2^-64 odds) costs one small read; the prefix alone is
   * not trusted, since 8 bytes of SHA-256 can be matched on purpose by a file's author.
   */
  private keyConfirmed(p: number, fileRow: number, id: Uint8Array): boolean {
    const stored = readIndexId(this.store!.path(`index/${this.packIds[p]!}.idx`), fileRow, this.confirmFiles);
    for (let i = 0; i < ID; i++) if (stored[i] !== id[i]) return false;
    return true;
  }

  private slotOf(id: Uint8Array): number {
    const mask = this.slots.length - 1;
    const tag = id[4]!;
    let slot = ((id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24)) >>> 0) & mask;
    for (;;) {
      const v = this.slots[slot]!;
      // The row is compared in place: a Buffer view per probe made loading 12k tree rows take 50 ms.
      if (v === 0 || (this.tags[slot] === tag && this.rowHolds(v - 1, id))) return slot;
      slot = (slot + 1) & mask;
    }
  }

  /** Room for `more` ids without growing on the way (the load factor stays at most 0.7). */
  private reserve(more: number): void {
    let size = this.slots.length;
    while ((this.count + more) * 10 > size * 7) size *= 2;
    if (size > this.slots.length) this.grow(size);
  }

  /** Rehashes into `size` slots. Its ids are distinct, so each goes to the first free slot from its home. */
  private grow(size = this.slots.length * 2): void {
    const oldSlots = this.slots;
    const oldTags = this.tags;
    this.slots = new Uint32Array(size);
    this.tags = new Uint8Array(size);
    const mask = this.slots.length - 1;
    for (let i = 0; i < oldSlots.length; i++) {
      const v = oldSlots[i]!;
      if (v === 0) continue;
      const p = this.packOf(v - 1);
      let slot = this.tables[p]!.readUInt32LE((v - 1 - this.firstRow[p]!) * this.strides[p]!) & mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = v;
      this.tags[slot] = oldTags[i]!;
    }
    // Freed now: the writer's table doubles to 2M slots (10 MiB) at a million blobs, and the
    // collector frees a dead buffer only tens of MiB later.
    releaseArrayBuffer(oldSlots.buffer as ArrayBuffer);
    releaseArrayBuffer(oldTags.buffer as ArrayBuffer);
  }

  /**
   * Makes a pack's rows (its index's entry table, whose index file is in the store) findable; a
   * duplicate id keeps its first location. An `idsOnly` index keeps an id key of every row it
   * need not locate.
   */
  addPack(packId: string, table: Buffer): void {
    if (!this.idsOnly) return this.addTable(packId, table, INDEX_ENTRY_BYTES);
    const { rows, ids } = splitRows(table, this.locatable, (kind) => !this.locatable(kind));
    if (rows.length > 0) this.addTable(packId, rows, INDEX_ENTRY_BYTES);
    if (ids.length > 0) this.addTable(packId, ids, ID_KEY_BYTES);
  }

  /** Adds a table of rows `stride` bytes apart, each starting with its blob's id (or id key). */
  private addTable(packId: string, table: Buffer, stride: number): void {
    this.packIds.push(packId);
    this.tables.push(table);
    this.strides.push(stride);
    this.firstRow.push(this.rows);
    const n = table.length / stride;
    const keys = stride === ID_KEY_BYTES;
    for (let i = 0; i < n; i++) {
      if ((this.count + 1) * 10 > this.slots.length * 7) this.grow();
      const o = i * stride;
      let id = table.subarray(o, o + (keys ? ID_KEY_PREFIX : ID));
      let slot = this.slotOf(id);
      if (keys && this.slots[slot] !== 0) {
        // The prefix is held already: the whole id (from this row's index file) decides.
        id = readIndexId(this.store!.path(`index/${packId}.idx`), table.readUInt32LE(o + ID_KEY_PREFIX), this.confirmFiles);
        slot = this.slotOf(id);
      }
      if (this.slots[slot] === 0) {
        this.slots[slot] = this.rows + i + 1;
        this.tags[slot] = id[4]!;
        this.count++;
      }
    }
    this.rows += n;
  }

  get size(): number {
    return this.count;
  }

  /** Index files held open to confirm id keys (for tests). */
  get openIndexFiles(): number {
    return this.confirmFiles.size;
  }

  /** Closes the index files held open; the index stays usable (they are opened again as needed). */
  closeFiles(): void {
    this.confirmFiles.close();
  }

  has(id: Uint8Array): boolean {
    return this.slots[this.slotOf(id)] !== 0;
  }

  /**
   * The blob's raw length if this index has its row (null otherwise; unlike locate(), a miss loads
   * nothing more). For sizing reads ahead of time: no entry object is made.
   */
  rawLength(id: Uint8Array): number | null {
    const v = this.slots[this.slotOf(id)]!;
    if (v === 0) return null;
    const p = this.packOf(v - 1);
    return this.strides[p] === INDEX_ENTRY_BYTES ? readRawLength(this.tables[p]!, v - 1 - this.firstRow[p]!) : null;
  }

  locate(id: Uint8Array): BlobLocation {
    let v = this.slots[this.slotOf(id)]!;
    if (v === 0 && !this.dataLoaded) {
      this.loadData();
      v = this.slots[this.slotOf(id)]!;
    }
    if (v === 0) throw new SnapError('REPO_CORRUPT', `blob ${Buffer.from(id).toString('hex')} is missing from the repository`);
    const row = v - 1;
    const p = this.packOf(row);
    // Only the writer thread keeps ids alone, and it locates nothing but trees.
    if (this.strides[p] !== INDEX_ENTRY_BYTES) throw new Error(`blob ${Buffer.from(id).toString('hex')}: this index keeps only its id, not its location`);
    return { ...readIndexEntry(this.tables[p]!, row - this.firstRow[p]!), packId: this.packIds[p]! };
  }
}
