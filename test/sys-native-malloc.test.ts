// glibc allocator calls (native/src/malloc.cc): limitMallocArenas (mallopt M_ARENA_MAX) and
// trimMalloc (malloc_trim). Both act on this test process's allocator only.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { native } from '../src/sys/native.js';
import * as sys from '../src/sys/index.js';

test('limitMallocArenas: glibc takes a positive count; bad arguments throw and change nothing', () => {
  assert.equal(sys.limitMallocArenas(8), true);
  assert.throws(() => native.limitMallocArenas(0), RangeError);
  assert.throws(() => native.limitMallocArenas(-1), RangeError);
  assert.throws(() => (native.limitMallocArenas as (n: unknown) => boolean)('2'), TypeError);
  assert.throws(() => (native.limitMallocArenas as () => boolean)(), TypeError);
});

test('trimMalloc: answers whether memory went back, and allocation works after it', () => {
  // Malloc-backed buffers of mixed sizes, dropped: the holes are what malloc_trim gives back.
  let keep: Buffer[] = [];
  for (let i = 0; i < 2000; i++) keep.push(Buffer.allocUnsafeSlow(1024 + (i % 64) * 4096).fill(i & 0xff));
  keep = keep.filter((_b, i) => i % 3 === 0);
  const released = sys.trimMalloc();
  assert.equal(typeof released, 'boolean');
  assert.equal(typeof sys.trimMalloc(), 'boolean', 'a second call in a row is harmless');
  const after = Buffer.allocUnsafeSlow(1 << 20).fill(7);
  assert.equal(after[after.length - 1], 7);
  assert.ok(keep.every((b, j) => b[0] === ((j * 3) & 0xff)), 'live buffers keep their content');
});
