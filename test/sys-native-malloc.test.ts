// glibc allocator tuning (native/src/malloc.cc): limitMallocArenas (mallopt M_ARENA_MAX). It acts
// on this test process's allocator only.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { native } from '../src/sys/native.js';
import * as sys from '../src/sys/index.js';

test('limitMallocArenas: glibc takes a positive count; bad arguments throw', () => {
  assert.equal(sys.limitMallocArenas(8), true);
  assert.throws(() => native.limitMallocArenas(0), RangeError);
  assert.throws(() => native.limitMallocArenas(-1), RangeError);
  assert.throws(() => (native.limitMallocArenas as (n: unknown) => boolean)('2'), TypeError);
  assert.throws(() => (native.limitMallocArenas as () => boolean)(), TypeError);
  // Allocation goes on normally after the cap.
  assert.equal(Buffer.allocUnsafeSlow(1 << 20).fill(7)[(1 << 20) - 1], 7);
});
