// Appends records to the open pack in the staging area and seals it (fsync, rename to its content
// name, fsync dir, then its index) at PACK_TARGET_BYTES. Runs only in the writer thread, the one
// place that writes packs; `known` dedups against the repository and this run.
import fs from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { ZERO_ID, idHex, type BlobKind } from '../model/blob-id.js';
import type { BundleMember } from './bundle.js';
import { IndexRows } from './index-file.js';
import { PACK_MAGIC, RECORD_HEADER_BYTES, encodeRecordHeader, type Compression } from './record.js';
import type { LocalStore } from './local-store.js';

/** What the writer asks before storing a blob: is it stored already? `add` records a new one. */
export interface KnownIds {
  has(id: Uint8Array): boolean;
  add(id: Uint8Array): boolean;
}

/** 32 MiB: few enough files for a large repository, small enough to repack cheaply. */
export const PACK_TARGET_BYTES = 32 * 1024 * 1024;

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
  private open: OpenPack | null = null;
  /** Bytes of records written (payload + headers) by this writer. */
  bytesWritten = 0;
  readonly sealedPacks: string[] = [];

  constructor(
    private readonly store: LocalStore,
    private readonly known: KnownIds,
    private readonly targetBytes = PACK_TARGET_BYTES,
    /** Told of each sealed pack and its index bytes (the writer thread makes them readable). */
    private readonly onSeal: (packId: string, index: Buffer) => void = () => undefined,
  ) {}

  /** Adds a record unless its blob is already stored; returns whether it was written. */
  add(rec: NewRecord): boolean {
    if (!this.known.add(rec.id)) return false;
    this.write(rec, [{ id: rec.id, kind: rec.kind, rawLength: rec.rawLength, base: rec.base }]);
    return true;
  }

  /**
   * Adds a bundle record (`rec`, payload = member table + members) with an index row for each
   * member not stored yet; a bundle with none is not written. Returns the members it stored.
   */
  addBundle(rec: NewRecord, members: readonly BundleMember[]): number {
    const fresh = members.filter((m) => this.known.add(m.id));
    if (fresh.length > 0) this.write(rec, fresh.map((m) => ({ id: m.id, kind: m.kind as BlobKind, rawLength: m.rawLength })));
    return fresh.length;
  }

  /** Appends one record and an index row per blob it holds. */
  private write(rec: NewRecord, rows: { id: Buffer; kind: BlobKind; rawLength: number; base?: Buffer }[]): void {
    const pack = this.open ?? this.startPack();
    const header = encodeRecordHeader(
      { id: rec.id, kind: rec.kind, compression: rec.compression, rawLength: rec.rawLength, base: rec.base ?? ZERO_ID },
      rec.payload,
    );
    const offset = pack.size;
    this.writeAll(pack, header);
    this.writeAll(pack, rec.payload);
    for (const r of rows) pack.rows.push(r.id, r.kind, rec.compression, offset, RECORD_HEADER_BYTES + rec.payload.length, r.rawLength, r.base);
    this.bytesWritten += header.length + rec.payload.length;
    if (pack.size >= this.targetBytes) this.seal();
  }

  private startPack(): OpenPack {
    const staged = this.store.stagingPath('.pack');
    const fd = fs.openSync(staged, 'wx', 0o600);
    const pack: OpenPack = { staged, fd, hash: createHash('sha256'), size: 0, rows: new IndexRows() };
    this.open = pack;
    this.writeAll(pack, PACK_MAGIC);
    return pack;
  }

  private writeAll(pack: OpenPack, data: Buffer): void {
    let done = 0;
    while (done < data.length) done += fs.writeSync(pack.fd, data, done, data.length - done);
    pack.hash.update(data);
    pack.size += data.length;
  }

  /** Makes the open pack and its index durable under their final names. */
  seal(): void {
    const pack = this.open;
    if (!pack) return;
    this.open = null;
    fs.fsyncSync(pack.fd);
    fs.closeSync(pack.fd);
    const packId = idHex(pack.hash.digest());
    this.store.putStaged(pack.staged, `packs/${packId.slice(0, 2)}/${packId}.pack`);
    const index = pack.rows.encode();
    this.store.put(`index/${packId}.idx`, index);
    this.sealedPacks.push(packId);
    this.onSeal(packId, index);
  }

  /** Drops the open pack (abort path); sealed packs stay as orphans for prune. */
  discard(): void {
    if (!this.open) return;
    fs.closeSync(this.open.fd);
    fs.rmSync(this.open.staged, { force: true });
    this.open = null;
  }
}
