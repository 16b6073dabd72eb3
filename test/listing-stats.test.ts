// ListingStats (src/worker/listing-stats.ts): the full path of the walk stats a directory's entries
// in batches, in arrays of its own. Each entry's stat must be the one lstat gives, across batch
// boundaries, with or without the first batch handed over; an entry deleted since the listing is
// its errno; and errors built from an errno read like the addon's own.
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as sys from '../src/sys/index.js';
import { ListingStats } from '../src/worker/listing-stats.js';
import { STAT_BATCH } from '../src/worker/worker-context.js';

const { ENOENT } = os.constants.errno;

/** A directory of 2 batches and a bit: files of different sizes, subdirectories, symlinks, a FIFO. */
function makeDir(dir: string): number {
  const count = 2 * STAT_BATCH + 37;
  for (let i = 0; i < count; i++) {
    const p = path.join(dir, `e${i}`);
    if (i % 50 === 7) fs.mkdirSync(p);
    else if (i % 50 === 8) fs.symlinkSync(`target-${i}`, p);
    else if (i === 9) execFileSync('mkfifo', [p]);
    else fs.writeFileSync(p, 'x'.repeat(i % 300));
  }
  return count;
}

function listingOf(dir: string): { fd: number; listing: sys.PackedDir; names: string[]; starts: number[] } {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  const listing = sys.readdirPacked(fd);
  const names: string[] = [];
  const starts: number[] = [];
  for (let o = 0; o < listing.names.length; ) {
    const end = listing.names.indexOf(0, o);
    starts.push(o);
    names.push(listing.names.toString('latin1', o, end));
    o = end + 1;
  }
  return { fd, listing, names, starts };
}

/** Entry i's stat from `stats`, or its errno. */
function statOf(stats: ListingStats, i: number, from: number): sys.SlotStat | number {
  const s = stats.slot(i, from);
  return s < 0 ? -s : sys.statFromSlots(stats.slots, s);
}

function assertSameAsLstat(st: sys.SlotStat | number, p: string): void {
  assert.notEqual(typeof st, 'number', `${p}: stat'ed`);
  const s = st as sys.SlotStat;
  const want = fs.lstatSync(p, { bigint: true });
  assert.deepEqual(
    [s.ino, s.mode, s.size, s.nlink, s.mtimeNs, s.ctimeNs],
    [want.ino, want.mode, want.size, want.nlink, want.mtimeNs, want.ctimeNs],
    p,
  );
}

test('ListingStats: every entry as lstat sees it, across batches; entries deleted since the listing are ENOENT', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-lstats-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const count = makeDir(dir);
  const { fd, listing, names, starts } = listingOf(dir);
  t.after(() => fs.closeSync(fd));
  assert.equal(listing.count, count);
  // Gone after the listing: one in the first batch, the first entry of the second, one in the third.
  const deleted = new Set([3, STAT_BATCH, 2 * STAT_BATCH + 20].map((i) => names[i]!));
  for (const name of deleted) fs.rmSync(path.join(dir, name), { recursive: true });

  const stats = new ListingStats(fd, listing, null);
  for (let i = 0; i < count; i++) {
    const st = statOf(stats, i, starts[i]!);
    if (deleted.has(names[i]!)) assert.equal(st, ENOENT, `${names[i]} was deleted`);
    else assertSameAsLstat(st, path.join(dir, names[i]!));
  }
});

test('ListingStats: a first batch handed over is copied, so the shared arrays may be reused at once', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-lstats-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(dir, `f${i}`), 'y'.repeat(i));
  const { fd, listing, names, starts } = listingOf(dir);
  t.after(() => fs.closeSync(fd));
  const shared = { slots: new BigInt64Array(STAT_BATCH * sys.STAT_FIELD_COUNT), errnos: new Int32Array(STAT_BATCH) };
  sys.fstatatMany(fd, listing, 0, listing.count, sys.constants.AT_SYMLINK_NOFOLLOW, shared.slots, shared.errnos);
  const stats = new ListingStats(fd, listing, shared);
  // The thread's other task stats something else into the shared arrays; and a file is deleted,
  // which the handed-over stats (taken before) do not see: nothing is stat'ed again.
  shared.slots.fill(-1n);
  shared.errnos.fill(ENOENT);
  fs.rmSync(path.join(dir, names[0]!));
  for (let i = 1; i < listing.count; i++) assertSameAsLstat(statOf(stats, i, starts[i]!), path.join(dir, names[i]!));
  assert.equal(typeof statOf(stats, 0, starts[0]!), 'object', 'entry 0 comes from the copy, not from a new stat');
});

test('sysErrorOfErrno: the same error the addon throws, and an unknown errno still named', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-lstats-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  t.after(() => fs.closeSync(fd));
  const name = Buffer.from('missing-\xe9', 'latin1');
  let native: unknown;
  try {
    sys.fstatatInto(fd, name, sys.constants.AT_SYMLINK_NOFOLLOW, new BigInt64Array(sys.STAT_FIELD_COUNT));
  } catch (err) {
    native = err;
  }
  assert.ok(native instanceof Error, 'the addon threw');
  const built = sys.sysErrorOfErrno(ENOENT, 'fstatat', name);
  const pick = (e: unknown) => {
    const x = e as sys.NativeError;
    return { message: x.message, code: x.code, errno: x.errno, syscall: x.syscall, path: x.path };
  };
  assert.deepEqual(pick(built), pick(native));
  assert.ok(sys.isSysError(built, 'ENOENT'));

  const odd = sys.sysErrorOfErrno(4000, 'fstatat', 'x');
  assert.equal(odd.code, 'ERRNO4000');
  assert.equal(odd.errno, -4000);
  assert.match(odd.message, /^errno 4000: .*, fstatat 'x'$/);
});
