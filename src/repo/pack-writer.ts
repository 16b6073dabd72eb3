// Appends records to the open packs in the staging area and seals each (fsync, rename to its
// content name, fsync dir, then its index) at PACK_TARGET_BYTES. Runs only in the writer thread
// (and prune's repack), the places that write packs; dedups against the repository and this run.
//
// Tree records go to packs of their own (docs/FORMAT.md "Pack file"): a snapshot reads the
// previous point's tree of every directory, and on a repository the page cache has dropped
// (a daily cron run) trees spread among data records cost one random read each; in tree packs
// they are read in a few sequential runs.
import fs from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { BlobKind, ZERO_ID, idHex } from '../model/blob-id.js';
import type { BundleMember } from './bundle.js';
import { IdTable } from './id-table.js';
import { IndexRows } from './index-file.js';
import { PACK_MAGIC, RECORD_HEADER_BYTES, encodeRecordHeader, type Compression } from './record.js';
import type { LocalStore } from './local-store.js';

/** The blobs sealed packs hold (the repository's index); the writer adds what it writes itself. */
export interface StoredIds {
  has(id: Uint8Array): boolean;
}

/** Which open pack a record goes to. */
type PackClass = 'tree' | 'data';

function classOf(kind: BlobKind): PackClass {
  return kind === BlobKind.Tree ? 'tree' : 'data';
}

/** 32 MiB: few enough files for a large repository, small enough to repack cheaply. */
export const PACK_TARGET_BYTES = 32 * 1024 * 1024;
/**
 * A pack is also sealed at this many blobs. Small files compress to ~100 bytes each in bundles,
 * so a 32 MiB pack held ~600k blobs, and the writer kept that pack's index rows and id table in
 * memory until it was sealed: ~170 MB at the 1M-file first snapshot. An open pack and its seal
 * cost ~270 bytes a row for a moment (row buffer, id table, sort order, encoded index, id keys):
 * at 64k rows the 1M-file first snapshot peaked at 264 MiB, at 32k 246, at 16k 237 (a 1.4 MiB
 * index; 61 packs for a million small files). Larger files fill packs by size long before this.
 */
export const PACK_MAX_BLOBS = 16384;

export interface NewRecord {
  id: Buffer;
  kind: BlobKind;
  compression: Compression;
  rawLength: number;
  payload: Buffer;
  base?: Buffer;
}

interface OpenPack {
  staged: string;
  fd: number;
  hash: Hash;
  size: number;
  rows: IndexRows;
}

export class PackWriter {
  private readonly open = new Map<PackClass, OpenPack>();
  /**
   * Blobs written to (or claimed for) each class's open pack. A class's table is dropped when its
   * pack is sealed (the index has those rows then), so it never grows past one pack's blobs.
   */
  private readonly unsealed = new Map<PackClass, IdTable>();
  /** Bytes of records written (payload + headers) by this writer. */
  bytesWritten = 0;
  readonly sealedPacks: string[] = [];

  constructor(
    private readonly store: LocalStore,
    private readonly stored: StoredIds,
    private readonly targetBytes = PACK_TARGET_BYTES,
    /** Told of each sealed pack and its index bytes (the writer thread makes them readable). */
    private readonly onSeal: (packId: string, index: Buffer) => void = () => undefined,
    private readonly maxBlobs = PACK_MAX_BLOBS,
  ) {}

  /** Whether the blob is stored: in a sealed pack or in one this writer has open. */
  has(id: Uint8Array): boolean {
    if (this.stored.has(id)) return true;
    for (const ids of this.unsealed.values()) if (ids.has(id)) return true;
    return false;
  }

  /** Marks `id` as written to `cls`'s open pack unless it is stored; false if it is. */
  private claim(cls: PackClass, id: Uint8Array): boolean {
    if (this.has(id)) return false;
    let ids = this.unsealed.get(cls);
    if (!ids) this.unsealed.set(cls, (ids = new IdTable(1024)));
    return ids.add(id);
  }

  /** Adds a record unless its blob is already stored; returns whether it was written. */
  add(rec: NewRecord): boolean {
    const cls = classOf(rec.kind);
    if (!this.claim(cls, rec.id)) return false;
    this.write(cls, rec, [{ id: rec.id, kind: rec.kind, rawLength: rec.rawLength, base: rec.base }]);
    return true;
  }

  /**
   * Adds a bundle record (`rec`, payload = member table + members) with an index row for each
   * member not stored yet; a bundle with none is not written. Returns the members it stored.
   */
  addBundle(rec: NewRecord, members: readonly BundleMember[]): number {
    const fresh = members.filter((m) => this.claim('data', m.id));
    if (fresh.length > 0) this.write('data', rec, fresh.map((m) => ({ id: m.id, kind: m.kind as BlobKind, rawLength: m.rawLength })));
    return fresh.length;
  }

  /** Appends one record to `cls`'s open pack and an index row per blob it holds. */
  private write(cls: PackClass, rec: NewRecord, rows: { id: Buffer; kind: BlobKind; rawLength: number; base?: Buffer }[]): void {
    const pack = this.open.get(cls) ?? this.startPack(cls);
    const header = encodeRecordHeader(
      { id: rec.id, kind: rec.kind, compression: rec.compression, rawLength: rec.rawLength, base: rec.base ?? ZERO_ID },
      rec.payload,
    );
    const offset = pack.size;
    this.writeAll(pack, header);
    this.writeAll(pack, rec.payload);
    for (const r of rows) pack.rows.push(r.id, r.kind, rec.compression, offset, RECORD_HEADER_BYTES + rec.payload.length, r.rawLength, r.base);
    this.bytesWritten += header.length + rec.payload.length;
    if (pack.size >= this.targetBytes || pack.rows.count >= this.maxBlobs) this.sealClass(cls);
  }

  private startPack(cls: PackClass): OpenPack {
    const staged = this.store.stagingPath('.pack');
    const fd = fs.openSync(staged, 'wx', 0o600);
    const pack: OpenPack = { staged, fd, hash: createHash('sha256'), size: 0, rows: new IndexRows() };
    this.open.set(cls, pack);
    this.writeAll(pack, PACK_MAGIC);
    return pack;
  }

  private writeAll(pack: OpenPack, data: Buffer): void {
    let done = 0;
    while (done < data.length) done += fs.writeSync(pack.fd, data, done, data.length - done);
    pack.hash.update(data);
    pack.size += data.length;
  }

  /** Makes the open packs and their indexes durable under their final names. */
  seal(): void {
    for (const cls of [...this.open.keys()]) this.sealClass(cls);
  }

  private sealClass(cls: PackClass): void {
    const pack = this.open.get(cls);
    if (!pack) return;
    this.open.delete(cls);
    fs.fsyncSync(pack.fd);
    fs.closeSync(pack.fd);
    const packId = idHex(pack.hash.digest());
    this.store.putStaged(pack.staged, `packs/${packId.slice(0, 2)}/${packId}.pack`);
    const index = pack.rows.encode();
    pack.rows.release();
    this.store.put(`index/${packId}.idx`, index);
    this.sealedPacks.push(packId);
    this.onSeal(packId, index); // the index has these blobs now: the open-pack table can go
    this.unsealed.get(cls)?.release();
    this.unsealed.delete(cls);
  }

  /** Drops the open packs (abort path); sealed packs stay as orphans for prune. */
  discard(): void {
    for (const pack of this.open.values()) {
      fs.closeSync(pack.fd);
      fs.rmSync(pack.staged, { force: true });
    }
    this.open.clear();
    this.unsealed.clear();
  }
}
