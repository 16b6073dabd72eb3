// Index files: the sorted blob table of one pack (docs/FORMAT.md "Index file").
import { ID_BYTES, ZERO_ID, type BlobKind } from '../model/blob-id.js';
import { SnapError } from '../model/errors.js';
import { xxh3 } from './checksum.js';
import type { Compression } from './record.js';

const MAGIC = Buffer.from('RPIDX01\n');
export const INDEX_ENTRY_BYTES = 88;

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
  const sorted = [...entries].sort((a, b) => Buffer.compare(a.id, b.id));
  const buf = Buffer.alloc(MAGIC.length + 4 + sorted.length * INDEX_ENTRY_BYTES + 8);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(sorted.length, 8);
  let o = 12;
  for (const e of sorted) {
    e.id.copy(buf, o, 0, ID_BYTES);
    buf.writeUInt8(e.kind, o + 32);
    buf.writeUInt8(e.compression, o + 33);
    buf.writeBigUInt64LE(BigInt(e.offset), o + 36);
    buf.writeUInt32LE(e.recordLength, o + 44);
    buf.writeBigUInt64LE(BigInt(e.rawLength), o + 48);
    (e.base ?? ZERO_ID).copy(buf, o + 56, 0, ID_BYTES);
    o += INDEX_ENTRY_BYTES;
  }
  xxh3(buf.subarray(0, o)).copy(buf, o);
  return buf;
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
    offset: Number(table.readBigUInt64LE(o + 36)),
    recordLength: table.readUInt32LE(o + 44),
    rawLength: Number(table.readBigUInt64LE(o + 48)),
    base: Buffer.from(table.subarray(o + 56, o + 88)),
  };
}
