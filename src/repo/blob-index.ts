// The read side's table of every stored blob: id -> (pack, record offset, length, kind). Built from
// the index files; entries stay in the files' own 88-byte tables (no JS object per blob), and one
// IdTable maps ids to a global entry number.
import type { BlobKind } from '../model/blob-id.js';
import { SnapError } from '../model/errors.js';
import { INDEX_ENTRY_BYTES, indexTable, readIndexEntry, type IndexEntry } from './index-file.js';
import { IdTable } from './id-table.js';
import type { LocalStore } from './local-store.js';

export interface BlobLocation extends IndexEntry {
  packId: string;
}

export class BlobIndex {
  private readonly ids = new IdTable(4096);
  private readonly packIds: string[] = [];
  private readonly tables: Buffer[] = [];
  private readonly firstEntry: number[] = [];
  private total = 0;

  static load(store: LocalStore): BlobIndex {
    const index = new BlobIndex();
    for (const key of store.list('index')) {
      const packId = key.slice('index/'.length, -'.idx'.length);
      if (!store.exists(`packs/${packId.slice(0, 2)}/${packId}.pack`)) continue; // orphan index
      index.addPack(packId, indexTable(store.get(key), key));
    }
    return index;
  }

  addPack(packId: string, table: Buffer): void {
    const n = table.length / INDEX_ENTRY_BYTES;
    this.packIds.push(packId);
    this.tables.push(table);
    this.firstEntry.push(this.total);
    for (let i = 0; i < n; i++) this.ids.add(table.subarray(i * INDEX_ENTRY_BYTES, i * INDEX_ENTRY_BYTES + 32), this.total + i);
    this.total += n;
  }

  get size(): number {
    return this.ids.size;
  }

  has(id: Uint8Array): boolean {
    return this.ids.has(id);
  }

  /** Every stored id, for seeding the writer's dedup table. */
  *allIds(): Generator<Buffer> {
    for (const table of this.tables) {
      for (let o = 0; o < table.length; o += INDEX_ENTRY_BYTES) yield table.subarray(o, o + 32);
    }
  }

  locate(id: Uint8Array): BlobLocation {
    const n = this.ids.get(id);
    if (n === undefined) {
      throw new SnapError('REPO_CORRUPT', `blob ${Buffer.from(id).toString('hex')} is missing from the repository`);
    }
    let lo = 0;
    let hi = this.firstEntry.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.firstEntry[mid]! <= n) lo = mid;
      else hi = mid - 1;
    }
    return { ...readIndexEntry(this.tables[lo]!, n - this.firstEntry[lo]!), packId: this.packIds[lo]! };
  }

  kindOf(id: Uint8Array): BlobKind {
    return this.locate(id).kind;
  }
}
