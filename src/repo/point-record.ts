// Point files: points/<id>.json, one per restore point, written last and atomically; a point
// exists iff its file exists (docs/FORMAT.md "Point file").
import { randomBytes } from 'node:crypto';
import { SnapError } from '../model/errors.js';

export interface PointStats {
  files: number;
  dirs: number;
  bytes_scanned: number;
  /** Regular files' data as stored (holes left out, links shared); absent in points of 0.1.0 before it. */
  data_bytes?: number;
  bytes_added: number;
  files_read: number;
  blobs_added: number;
  changed_while_read: number;
}

/** The boot area saved with a point (src/boot captures and restores it). Blob ids are hex. */
export interface BootRecordJson {
  device: string;
  kind: 'mbr' | 'gpt';
  fingerprint: string;
  boot_code: string;
  gap: string;
  gap_offset: number;
  gap_length: number;
  gap_source: string;
}

export interface PointRecord {
  format: 1;
  id: string;
  time: string;
  time_ns: string;
  note: string;
  root: string;
  root_path: string;
  hostname: string;
  excludes: string[];
  db_locations: string[];
  stats: PointStats;
  /** The boot area saved with the point (src/boot BootRecord), or null. */
  boot: BootRecordJson | null;
}

/** Ids sort by time: "20261126T131600Z-3f2a9c". */
export function newPointId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export function isPointId(s: string): boolean {
  return /^\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(s);
}

/** ISO-8601 local time with its UTC offset, as the contract wants for `time`. */
export function isoWithOffset(d: Date): string {
  const off = -d.getTimezoneOffset();
  const local = new Date(d.getTime() + off * 60000).toISOString().slice(0, -1);
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

export function parsePointRecord(text: string, where: string): PointRecord {
  let p: PointRecord;
  try {
    p = JSON.parse(text) as PointRecord;
  } catch {
    throw new SnapError('REPO_CORRUPT', `point file ${where} is not valid JSON`);
  }
  if (p.format !== 1 || !isPointId(p.id) || !/^[0-9a-f]{64}$/.test(p.root) || typeof p.time_ns !== 'string') {
    throw new SnapError('REPO_CORRUPT', `point file ${where} is damaged`);
  }
  return p;
}
