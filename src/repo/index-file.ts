// Index files: the sorted blob table of one pack (docs/FORMAT.md "Index file").
import { ID_BYTES, ZERO_ID, type BlobKind } from '../model/blob-id.js';
import { SnapError } from '../model/errors.js';
import fs from 'node:fs';
import { xxh3, xxh3Stream } from './checksum.js';
import type { Compression } from './record.js';
import { readU64, writeU64 } from './u64.js';
import type { OpenFiles } from './open-files.js';
import { releaseArrayBuffer } from '../sys/index.js';

const MAGIC = Buffer.from('RPIDX01\n');
export const INDEX_ENTRY_BYTES = 88;
/** Where a row holds its blob kind (readIndexEntry). */
const KIND_OFFSET = 32;

export interface IndexEntry {
  id: Buffer;
  kind: BlobKind;
  compression: Compression;
  offset: number;
  recordLength: number;
  rawLength: number;
  base: Buffer;
}

export function encodeIndex(entries: IndexEntry[]): Buffer {
  const rows = new IndexRows();
  for (const e of entries) rows.push(e.id, e.kind, e.compression, e.offset, e.recordLength, e.rawLength, e.base);
  return rows.encode();
}

/**
 * The rows of one pack's index as the writer collects them: 88-byte rows (the file's own layout)
 * in one growing buffer. A pack of bundles holds ~100k small blobs; an object per row made the
 * writer's peak RSS ~30 MiB higher at 400k small files (docs/BENCHMARKS.md).
 */
export class IndexRows {
  private buf = Buffer.alloc(INDEX_ENTRY_BYTES * 256);
  count = 0;

  push(id: Uint8Array, kind: BlobKind, compression: Compression, offset: number, recordLength: number, rawLength: number, base: Uint8Array = ZERO_ID): void {
    if ((this.count + 1) * INDEX_ENTRY_BYTES > this.buf.length) {
      const bigger = Buffer.alloc(this.buf.length * 2);
      this.buf.copy(bigger);
      // Freed now, not at a collection tens of MiB later: a pack's doublings add up to its rows.
      releaseArrayBuffer(this.buf.buffer as ArrayBuffer);
      this.buf = bigger;
    }
    const o = this.count * INDEX_ENTRY_BYTES;
    this.buf.set(id.subarray(0, ID_BYTES), o);
    this.buf.writeUInt8(kind, o + 32);
    this.buf.writeUInt8(compression, o + 33);
    // Not through BigInt: a BigInt per field cost ~6% of the writer thread at 1M blobs.
    writeU64(this.buf, o + 36, offset);
    this.buf.writeUInt32LE(recordLength, o + 44);
    writeU64(this.buf, o + 48, rawLength);
    this.buf.set(base.subarray(0, ID_BYTES), o + 56);
    this.count++;
  }

  /** The index file: magic, count, the rows sorted by id, xxh3. */
  encode(): Buffer {
    const n = this.count;
    const rows = this.buf;
    // Ids are SHA-256: their first four bytes order nearly all pairs; ties compare whole ids.
    const head = new Uint32Array(n);
    for (let i = 0; i < n; i++) head[i] = rows.readUInt32BE(i * INDEX_ENTRY_BYTES);
    const order = Array.from({ length: n }, (_, i) => i).sort(
      (a, b) => head[a]! - head[b]! || rows.compare(rows, b * INDEX_ENTRY_BYTES, b * INDEX_ENTRY_BYTES + ID_BYTES, a * INDEX_ENTRY_BYTES, a * INDEX_ENTRY_BYTES + ID_BYTES),
    );
    const out = Buffer.alloc(MAGIC.length + 4 + n * INDEX_ENTRY_BYTES + 8);
    MAGIC.copy(out, 0);
    out.writeUInt32LE(n, 8);
    let o = 12;
    for (const i of order) {
      rows.copy(out, o, i * INDEX_ENTRY_BYTES, (i + 1) * INDEX_ENTRY_BYTES);
      o += INDEX_ENTRY_BYTES;
    }
    xxh3(out.subarray(0, o)).copy(out, o);
    return out;
  }

  /** Frees the rows now (after encode()) and leaves none (pushing starts again from empty). */
  release(): void {
    releaseArrayBuffer(this.buf.buffer as ArrayBuffer);
    this.buf = Buffer.alloc(INDEX_ENTRY_BYTES * 16);
    this.count = 0;
  }
}

/** Verifies an index file and returns its entry table (count x 88 bytes, sorted by id). */
export function indexTable(buf: Buffer, where: string): Buffer {
  const bad = (why: string): SnapError => new SnapError('REPO_CORRUPT', `damaged index ${where}: ${why}`);
  if (buf.length < 20 || !buf.subarray(0, 8).equals(MAGIC)) throw bad('bad magic');
  const count = buf.readUInt32LE(8);
  const end = 12 + count * INDEX_ENTRY_BYTES;
  if (buf.length !== end + 8) throw bad('length mismatch');
  if (!xxh3(buf.subarray(0, end)).equals(buf.subarray(end))) throw bad('checksum mismatch');
  return buf.subarray(12, end);
}

export function readIndexEntry(table: Buffer, i: number): IndexEntry {
  const o = i * INDEX_ENTRY_BYTES;
  return {
    id: Buffer.from(table.subarray(o, o + 32)),
    kind: table.readUInt8(o + 32) as BlobKind,
    compression: table.readUInt8(o + 33) as Compression,
    offset: readU64(table, o + 36),
    recordLength: table.readUInt32LE(o + 44),
    rawLength: readRawLength(table, i),
    base: Buffer.from(table.subarray(o + 56, o + 88)),
  };
}

/** Row i's raw length alone, read in place (no entry object, no copies of its id and base). */
export function readRawLength(table: Buffer, i: number): number {
  return readU64(table, i * INDEX_ENTRY_BYTES + 48);
}

/**
 * The kind of an index file's first row (rows are sorted by id), or null for an empty index; only
 * the header and that row are read (and so not checksummed: callers that skip a file on this
 * answer read it whole, checked, if they come back to it).
 */
export function firstRowKind(file: string, where: string): number | null {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(12 + INDEX_ENTRY_BYTES);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    if (n < 12 || !head.subarray(0, 8).equals(MAGIC)) throw new SnapError('REPO_CORRUPT', `damaged index ${where}: bad magic`);
    if (head.readUInt32LE(8) === 0) return null;
    if (n < head.length) throw new SnapError('REPO_CORRUPT', `damaged index ${where}: truncated`);
    return head[12 + KIND_OFFSET]!;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The 88-byte row of `id` in an index file, found by binary search (rows are sorted by id): about
 * log2(count) reads of one id each, or null when the file has no such row. The file's checksum is
 * not checked: the record the row points at is, with the content's SHA-256, when it is read.
 */
export function findIndexRow(file: string, where: string, id: Uint8Array): Buffer | null {
  const bad = (why: string): SnapError => new SnapError('REPO_CORRUPT', `damaged index ${where}: ${why}`);
  const want = Buffer.from(id.buffer, id.byteOffset, ID_BYTES);
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(12);
    if (fs.readSync(fd, head, 0, 12, 0) !== 12 || !head.subarray(0, 8).equals(MAGIC)) throw bad('bad magic');
    const probe = Buffer.alloc(INDEX_ENTRY_BYTES);
    let lo = 0;
    let hi = head.readUInt32LE(8) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (fs.readSync(fd, probe, 0, ID_BYTES, 12 + mid * INDEX_ENTRY_BYTES) !== ID_BYTES) throw bad('truncated');
      const order = probe.compare(want, 0, ID_BYTES, 0, ID_BYTES);
      if (order < 0) lo = mid + 1;
      else if (order > 0) hi = mid - 1;
      else if (fs.readSync(fd, probe, 0, INDEX_ENTRY_BYTES, 12 + mid * INDEX_ENTRY_BYTES) !== INDEX_ENTRY_BYTES) throw bad('truncated');
      else return probe;
    }
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * An id key: what an `idsOnly` index keeps of a row it never locates (BlobIndex): the id's first
 * ID_KEY_PREFIX bytes and the row's number in its index file, where the whole id is read back to
 * confirm a match. 12 bytes a blob instead of 32 (~20 MB less in the writer thread at a million).
 */
export const ID_KEY_BYTES = 12;
export const ID_KEY_PREFIX = 8;

/**
 * Row `row`'s whole id, read from the index file (to confirm an id key's match), through `open`'s
 * descriptors when given (index files never change once written).
 */
export function readIndexId(file: string, row: number, open?: OpenFiles): Buffer {
  const id = Buffer.alloc(ID_BYTES);
  const fd = open ? open.fd(file) : fs.openSync(file, 'r');
  try {
    if (fs.readSync(fd, id, 0, ID_BYTES, 12 + row * INDEX_ENTRY_BYTES) !== ID_BYTES) throw new SnapError('REPO_CORRUPT', `damaged index ${file}: row ${row} is missing`);
    return id;
  } finally {
    if (!open) fs.closeSync(fd);
  }
}

/**
 * Splits a table of index rows by kind: the rows `keep` wants, whole (runs copied at once), and
 * the id keys (ID_KEY_BYTES) of the rows it refuses but `keepId` wants; `firstRow` is the
 * table's first row in its index file. Both are copies.
 */
export function splitRows(table: Buffer, keep: (kind: number) => boolean, keepId: (kind: number) => boolean, firstRow = 0): { rows: Buffer; ids: Buffer } {
  const n = table.length / INDEX_ENTRY_BYTES;
  const kept: Buffer[] = [];
  const ids = Buffer.allocUnsafe(n * ID_KEY_BYTES);
  let idBytes = 0;
  let runStart = -1; // first row of the current run of kept rows
  for (let i = 0; i <= n; i++) {
    const kind = i < n ? table[i * INDEX_ENTRY_BYTES + KIND_OFFSET]! : -1;
    const wanted = i < n && keep(kind);
    if (i < n && !wanted && keepId(kind)) {
      table.copy(ids, idBytes, i * INDEX_ENTRY_BYTES, i * INDEX_ENTRY_BYTES + ID_KEY_PREFIX);
      ids.writeUInt32LE(firstRow + i, idBytes + ID_KEY_PREFIX);
      idBytes += ID_KEY_BYTES;
    }
    if (wanted && runStart < 0) runStart = i;
    if (!wanted && runStart >= 0) {
      kept.push(table.subarray(runStart * INDEX_ENTRY_BYTES, i * INDEX_ENTRY_BYTES));
      runStart = -1;
    }
  }
  return { rows: Buffer.concat(kept), ids: idBytes === ids.length ? ids : Buffer.from(ids.subarray(0, idBytes)) };
}

/**
 * Reads an index file in small pieces, verifying its checksum, and keeps only the rows whose kind
 * `keep` wants (a copy). Loading only tree rows this way never holds a whole index file in memory.
 * Each scan thread loads the tree rows at its start, so the loop creates no object per row: runs
 * of kept rows are copied out of the read block at once.
 * Rows `keep` refuses but `keepId` wants come back as their id keys alone, in `ids` (splitRows):
 * enough to know a blob is stored (the writer's dedup), at 12 bytes a blob instead of 88.
 */
export function readIndexRows(
  file: string,
  where: string,
  keep: (kind: number) => boolean,
  keepId: (kind: number) => boolean = () => false,
): { rows: Buffer; ids: Buffer; total: number } {
  const bad = (why: string): SnapError => new SnapError('REPO_CORRUPT', `damaged index ${where}: ${why}`);
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(12);
    if (fs.readSync(fd, head, 0, 12, 0) !== 12 || !head.subarray(0, 8).equals(MAGIC)) throw bad('bad magic');
    const count = head.readUInt32LE(8);
    if (fs.fstatSync(fd).size !== 12 + count * INDEX_ENTRY_BYTES + 8) throw bad('length mismatch');
    const hasher = xxh3Stream();
    hasher.update(head);
    const block = Buffer.alloc(INDEX_ENTRY_BYTES * 1024);
    const kept: Buffer[] = [];
    const ids: Buffer[] = [];
    let pos = 12;
    for (let left = count; left > 0; ) {
      const n = Math.min(left, 1024);
      const len = n * INDEX_ENTRY_BYTES;
      if (fs.readSync(fd, block, 0, len, pos) !== len) throw bad('truncated');
      hasher.update(block.subarray(0, len));
      const part = splitRows(block.subarray(0, len), keep, keepId, count - left);
      if (part.rows.length > 0) kept.push(part.rows);
      if (part.ids.length > 0) ids.push(part.ids);
      pos += len;
      left -= n;
    }
    const sum = Buffer.alloc(8);
    if (fs.readSync(fd, sum, 0, 8, pos) !== 8 || !hasher.digest().equals(sum)) throw bad('checksum mismatch');
    return { rows: Buffer.concat(kept), ids: Buffer.concat(ids), total: count };
  } finally {
    fs.closeSync(fd);
  }
}
