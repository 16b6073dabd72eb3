// Bundle records: several small data blobs of one task stored as one record, compressed as one
// zstd frame (docs/FORMAT.md "Bundle records"). The member table stays uncompressed, so which blobs
// a record holds is known without decompressing (check, prune, the writer's dedup).
import { BlobKind, ID_BYTES, blobId } from '../model/blob-id.js';
import { SnapError } from '../model/errors.js';
import { compressPayload, decompressPayload } from './compression.js';
import type { Compression } from './record.js';

const MAGIC = Buffer.from('RPB1');
const MEMBER_BYTES = 40;

/** Data blobs below this many raw bytes go into bundles; larger ones are records of their own. */
export const BUNDLE_MEMBER_MAX = 256 * 1024;
/** A bundle is closed once its members hold this many raw bytes. */
export const BUNDLE_TARGET_BYTES = 1024 * 1024;

export interface BundleMember {
  id: Buffer;
  kind: number;
  rawLength: number;
}

export interface ParsedBundle {
  members: BundleMember[];
  /** Where each member starts in the members' raw bytes (same order as `members`). */
  offsets: number[];
  /** The members' raw bytes as stored (compressed or not, as the record header says). */
  data: Buffer;
  rawTotal: number;
}

export function encodeBundleTable(members: readonly BundleMember[]): Buffer {
  const table = Buffer.alloc(8 + members.length * MEMBER_BYTES);
  MAGIC.copy(table, 0);
  table.writeUInt32LE(members.length, 4);
  members.forEach((m, i) => {
    const o = 8 + i * MEMBER_BYTES;
    m.id.copy(table, o, 0, ID_BYTES);
    table.writeUInt8(m.kind, o + 32);
    table.writeUInt32LE(m.rawLength, o + 36);
  });
  return table;
}

/** The id a bundle record's header carries: SHA-256 of its member table. */
export function bundleId(table: Buffer): Buffer {
  return blobId(table);
}

/** Splits a bundle record's payload (already xxh3-verified) into its table and data; `where` names it. */
export function parseBundle(payload: Buffer, where: string): ParsedBundle {
  const bad = (why: string): SnapError => new SnapError('REPO_CORRUPT', `damaged bundle in ${where}: ${why}`);
  if (payload.length < 8 || !payload.subarray(0, 4).equals(MAGIC)) throw bad('bad member table');
  const count = payload.readUInt32LE(4);
  const tableEnd = 8 + count * MEMBER_BYTES;
  if (count === 0 || tableEnd > payload.length) throw bad('bad member count');
  const members: BundleMember[] = [];
  const offsets: number[] = [];
  let rawTotal = 0;
  for (let i = 0; i < count; i++) {
    const o = 8 + i * MEMBER_BYTES;
    const rawLength = payload.readUInt32LE(o + 36);
    members.push({ id: Buffer.from(payload.subarray(o, o + ID_BYTES)), kind: payload.readUInt8(o + 32), rawLength });
    offsets.push(rawTotal);
    rawTotal += rawLength;
  }
  return { members, offsets, data: payload.subarray(tableEnd), rawTotal };
}

/**
 * The members' raw bytes: decompressed, and their length checked against the member table and the
 * record header's raw length (`where` names the record in errors).
 */
export async function bundleRaw(bundle: ParsedBundle, compression: Compression, rawLength: number, where: string): Promise<Buffer> {
  const raw = await decompressPayload(compression, bundle.data);
  if (raw.length !== bundle.rawTotal || raw.length !== rawLength) {
    throw new SnapError('REPO_CORRUPT', `damaged bundle in ${where}: its members' length does not match`);
  }
  return raw;
}

/** Member `i`'s bytes out of the members' raw bytes (bundleRaw). */
export function memberBytes(bundle: ParsedBundle, raw: Buffer, i: number): Buffer {
  const start = bundle.offsets[i]!;
  return raw.subarray(start, start + bundle.members[i]!.rawLength);
}

/** The table part of a bundle payload (what its id is the SHA-256 of). */
export function bundleTable(payload: Buffer): Buffer {
  return payload.subarray(0, 8 + payload.readUInt32LE(4) * MEMBER_BYTES);
}

/**
 * The bundle again with only the members `keep` wants (the writer's answer to a bundle most of
 * whose content is stored already; prune's to one whose other members are dead): decompressed,
 * cut, and compressed anew. One member left is a plain data record. Returns the record's fields
 * and the members it holds. `verify`: `where` names a stored record, and each kept member's
 * SHA-256 must be its id (REPO_CORRUPT otherwise), so damage is never copied as if sound.
 */
export async function rebuildBundle(
  bundle: ParsedBundle,
  compression: Compression,
  keep: (m: BundleMember) => boolean,
  verify: { where: string } | null = null,
): Promise<{ id: Buffer; kind: BlobKind; compression: Compression; rawLength: number; payload: Buffer; members: BundleMember[] }> {
  const where = verify?.where ?? 'a scan result';
  const raw = await bundleRaw(bundle, compression, bundle.rawTotal, where);
  const kept: BundleMember[] = [];
  const parts: Buffer[] = [];
  const ids = new Set<string>();
  bundle.members.forEach((m, i) => {
    const hex = m.id.toString('hex');
    if (!keep(m) || ids.has(hex)) return;
    ids.add(hex);
    const bytes = memberBytes(bundle, raw, i);
    if (verify && !blobId(bytes).equals(m.id)) throw new SnapError('REPO_CORRUPT', `damaged bundle in ${where}: member ${hex} does not match its id`);
    kept.push(m);
    parts.push(bytes);
  });
  const rawLength = parts.reduce((n, p) => n + p.length, 0);
  if (kept.length === 1) {
    const packed = await compressPayload(parts[0]!);
    return { id: kept[0]!.id, kind: kept[0]!.kind as BlobKind, rawLength, ...packed, members: kept };
  }
  const table = encodeBundleTable(kept);
  const packed = await compressPayload(Buffer.concat(parts, rawLength));
  return { id: bundleId(table), kind: BlobKind.Bundle, compression: packed.compression, rawLength, payload: Buffer.concat([table, packed.payload]), members: kept };
}
