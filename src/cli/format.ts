// Text shapes shared by both commands: sizes, the seed's dates and the restore-point listing.
import type { PointRecord } from '../repo/point-record.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** The seed prints the repository size in whole GB; below 10 GB we keep one decimal. */
export function formatGB(n: number): string {
  const gb = n / 1024 ** 3;
  return `${gb >= 10 ? gb.toFixed(0) : gb.toFixed(gb >= 1 ? 1 : 2)} GB`;
}

/** "Dec-11-2009--15hrs.59min", the seed's snapshot stamp, local time. */
export function snapshotStamp(d: Date): string {
  return `${MONTHS[d.getMonth()]}-${pad2(d.getDate())}-${d.getFullYear()}--${pad2(d.getHours())}hrs.${pad2(d.getMinutes())}min`;
}

function zoneName(d: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName');
  return part?.value ?? 'UTC';
}

/** "Fri Dec 11 16:05:58 EST 2009", like date(1). */
export function serverTime(d: Date): string {
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${zoneName(d)} ${d.getFullYear()}`;
}

export function pointDate(p: PointRecord): Date {
  return new Date(Number(BigInt(p.time_ns) / 1000000n));
}

/** "Restore point 1: 12-11-2009 : at 15 hours, 25 min, and 29 seconds. ( 0 days, 0 hrs, 40 minutes ago)" */
export function listingLine(n: number, p: PointRecord, now: Date): string {
  const d = pointDate(p);
  const age = Math.max(0, Math.floor((now.getTime() - d.getTime()) / 60000));
  const days = Math.floor(age / 1440);
  const hrs = Math.floor((age % 1440) / 60);
  const mins = age % 60;
  let line =
    `Restore point ${n}: ${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}-${d.getFullYear()} : ` +
    `at ${d.getHours()} hours, ${d.getMinutes()} min, and ${d.getSeconds()} seconds. ` +
    `( ${days} days, ${hrs} hrs, ${mins} minutes ago)`;
  if (p.note) line += ` [${p.note}]`;
  if (p.boot) line += ' (with boot area)';
  return line;
}

export function listingJson(points: PointRecord[]): object[] {
  return points.map((p, i) => ({
    number: i + 1,
    id: p.id,
    time: p.time,
    note: p.note,
    files: p.stats.files,
    bytes_scanned: p.stats.bytes_scanned,
    root_path: p.root_path,
    boot: p.boot !== null,
  }));
}
