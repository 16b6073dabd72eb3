// file-extents.ts - what a regular file holds, seen the way a restore must preserve it: its data
// regions (SEEK_DATA/SEEK_HOLE) and its bytes. Content is compared region by region in bounded
// buffers, so a multi-GiB sparse file costs only its data, never its holes.
import fs from 'node:fs';

import * as sys from '../../src/sys/index.js';

/** [start, end) byte ranges. */
export type Region = readonly [number, number];

const READ_CHUNK = 1 << 20;

/** The data regions of an open regular file, as the filesystem reports them. */
export function dataRegions(fd: number, size: number): Region[] {
  const regions: Region[] = [];
  let offset = 0;
  while (offset < size) {
    const start = sys.lseekData(fd, offset);
    if (start < 0 || start >= size) break;
    let end = sys.lseekHole(fd, start);
    if (end < 0 || end > size) end = size;
    regions.push([start, end]);
    offset = end;
  }
  return regions;
}

/**
 * Regions widened to whole `granularity` blocks and merged. Filesystems allocate (and report)
 * data in blocks of their own size, so two files hold "the same holes" when their regions agree
 * after this rounding.
 */
export function roundRegions(regions: readonly Region[], granularity: number, size: number): Region[] {
  const limit = Math.ceil(size / granularity) * granularity;
  const out: Array<[number, number]> = [];
  for (const [start, end] of regions) {
    const s = Math.floor(start / granularity) * granularity;
    const e = Math.min(Math.ceil(end / granularity) * granularity, limit);
    const last = out[out.length - 1];
    if (last !== undefined && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

export function regionsEqual(a: readonly Region[], b: readonly Region[]): boolean {
  return a.length === b.length && a.every(([s, e], i) => b[i]![0] === s && b[i]![1] === e);
}

export function formatRegions(regions: readonly Region[], max = 8): string {
  if (regions.length === 0) return '(all hole)';
  const shown = regions.slice(0, max).map(([s, e]) => `${s}-${e}`);
  return shown.join(',') + (regions.length > max ? `,… (${regions.length} regions)` : '');
}

/** Ranges where either file has data, merged; outside them both read as zeros. */
function unionRegions(a: readonly Region[], b: readonly Region[]): Region[] {
  const all = [...a, ...b].sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const [s, e] of all) {
    const last = out[out.length - 1];
    if (last !== undefined && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

function readFully(fd: number, buffer: Buffer, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/**
 * The first offset where two same-size files differ, or -1. Only ranges that are data in at
 * least one of them are read.
 */
export function firstContentDifference(
  fdA: number,
  fdB: number,
  regionsA: readonly Region[],
  regionsB: readonly Region[],
): number {
  const bufA = Buffer.allocUnsafe(READ_CHUNK);
  const bufB = Buffer.allocUnsafe(READ_CHUNK);
  for (const [start, end] of unionRegions(regionsA, regionsB)) {
    for (let pos = start; pos < end; pos += READ_CHUNK) {
      const want = Math.min(READ_CHUNK, end - pos);
      const gotA = readFully(fdA, bufA, want, pos);
      const gotB = readFully(fdB, bufB, want, pos);
      const n = Math.min(gotA, gotB);
      if (bufA.compare(bufB, 0, n, 0, n) !== 0) {
        for (let i = 0; i < n; i++) if (bufA[i] !== bufB[i]) return pos + i;
      }
      if (gotA !== gotB) return pos + n;
    }
  }
  return -1;
}
