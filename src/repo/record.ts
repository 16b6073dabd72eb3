// Pack records: a 96-byte header (id, kind, compression, lengths, delta base, xxh3) + payload.
// Layout and invariants: docs/FORMAT.md "Pack file".
import { ID_BYTES, ZERO_ID, type BlobKind } from '../model/blob-id.js';
import { SnapError } from '../model/errors.js';
import { xxh3 } from './checksum.js';
import { readU64, writeU64 } from './u64.js';

export const PACK_MAGIC = Buffer.from('RPPACK1\n');
export const RECORD_MAGIC = Buffer.from('RPR1');
export const RECORD_HEADER_BYTES = 96;
const CHECKED_HEADER_BYTES = 88;

export enum Compression {
  None = 0,
  Zstd = 1,
}

export interface RecordHeader {
  id: Buffer;
  kind: BlobKind;
  compression: Compression;
  rawLength: number;
  payloadLength: number;
  base: Buffer;
}

export function encodeRecordHeader(h: Omit<RecordHeader, 'payloadLength'>, payload: Uint8Array): Buffer {
  const buf = Buffer.alloc(RECORD_HEADER_BYTES);
  RECORD_MAGIC.copy(buf, 0);
  h.id.copy(buf, 4, 0, ID_BYTES);
  buf.writeUInt8(h.kind, 36);
  buf.writeUInt8(h.compression, 37);
  writeU64(buf, 40, h.rawLength);
  buf.writeUInt32LE(payload.length, 48);
  (h.base ?? ZERO_ID).copy(buf, 52, 0, ID_BYTES);
  xxh3(buf.subarray(0, CHECKED_HEADER_BYTES), payload).copy(buf, CHECKED_HEADER_BYTES);
  return buf;
}

/** Parses and verifies one record (header + payload bytes). `where` names it in errors. */
export function decodeRecord(rec: Buffer, where: string): { header: RecordHeader; payload: Buffer } {
  if (rec.length < RECORD_HEADER_BYTES || !rec.subarray(0, 4).equals(RECORD_MAGIC)) {
    throw new SnapError('REPO_CORRUPT', `damaged record in ${where}: bad record header`);
  }
  const payloadLength = rec.readUInt32LE(48);
  if (rec.length !== RECORD_HEADER_BYTES + payloadLength) {
    throw new SnapError('REPO_CORRUPT', `damaged record in ${where}: length mismatch`);
  }
  const payload = rec.subarray(RECORD_HEADER_BYTES);
  const sum = xxh3(rec.subarray(0, CHECKED_HEADER_BYTES), payload);
  if (!sum.equals(rec.subarray(CHECKED_HEADER_BYTES, RECORD_HEADER_BYTES))) {
    throw new SnapError('REPO_CORRUPT', `damaged record in ${where}: checksum mismatch`);
  }
  return {
    header: {
      id: Buffer.from(rec.subarray(4, 36)),
      kind: rec.readUInt8(36) as BlobKind,
      compression: rec.readUInt8(37) as Compression,
      rawLength: readU64(rec, 40),
      payloadLength,
      base: Buffer.from(rec.subarray(52, 84)),
    },
    payload,
  };
}
