// The read path's identity check (src/worker/entry-meta.ts): a file read is kept only when its
// inode still shows the identity it had when opened; each of ino, size, mtime and ctime counts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import * as sys from '../src/sys/index.js';
import { identityOf, slotsHaveIdentity } from '../src/worker/entry-meta.js';

const F = sys.STAT_FIELDS;

test('slotsHaveIdentity: true for the same stat; false when ino, size, mtime or ctime differ', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entry-meta-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, 'hello');
  const fd = fs.openSync(file, 'r');
  t.after(() => fs.closeSync(fd));
  const slots = new BigInt64Array(sys.STAT_FIELD_COUNT);
  sys.fstatInto(fd, slots);
  const st = sys.statFromSlots(slots);
  assert.equal(slotsHaveIdentity(slots, st), true);

  for (const field of ['ino', 'size', 'mtimeNs', 'ctimeNs'] as const) {
    const other = new BigInt64Array(slots);
    other[F[field]] = other[F[field]]! + 1n;
    assert.equal(slotsHaveIdentity(other, st), false, field);
    assert.notEqual(identityOf(sys.statFromSlots(other)), identityOf(st), `identityOf agrees on ${field}`);
  }
  // Fields outside the identity do not count (atime moves on every read).
  const atime = new BigInt64Array(slots);
  atime[F.atimeNs] = atime[F.atimeNs]! + 5n;
  atime[F.nlink] = atime[F.nlink]! + 1n;
  assert.equal(slotsHaveIdentity(atime, st), true);

  // The file really changed: an append (size, mtime, ctime), then a touch (mtime, ctime).
  fs.appendFileSync(file, '!');
  sys.fstatInto(fd, slots);
  assert.equal(slotsHaveIdentity(slots, st), false);
  const st2 = sys.statFromSlots(slots);
  fs.utimesSync(file, new Date(0), new Date(1000));
  sys.fstatInto(fd, slots);
  assert.equal(slotsHaveIdentity(slots, st2), false);

  // An inode number with its top bit set compares as the kernel's unsigned value.
  const high = new BigInt64Array(slots);
  high[F.ino] = -2n;
  const highStat = sys.statFromSlots(high);
  assert.equal(highStat.ino, 2n ** 64n - 2n);
  assert.equal(slotsHaveIdentity(high, highStat), true);
  assert.equal(slotsHaveIdentity(high, { ...highStat, ino: 2n ** 63n - 2n }), false);
});
