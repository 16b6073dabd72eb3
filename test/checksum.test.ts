// Record checksums: xxh3() reuses one hasher per thread (reset for each call), so a call must give
// what a fresh hasher gives, carry nothing over to the next call, and leave alone a streaming
// hasher that is part-way through a file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { xxh3, xxh3Stream } from '../src/repo/checksum.js';

const require = createRequire(import.meta.url);
const { XXHash3 } = require('xxhash-addon') as { XXHash3: { hash(data: Buffer): Buffer } };

/** The package's one-shot hash (seed 0, as ours) of the parts joined: a path that shares no state with xxh3(). */
function reference(...parts: Uint8Array[]): Buffer {
  return XXHash3.hash(Buffer.concat(parts));
}

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

test('xxh3: the known value of empty input, and parts hash as their concatenation', () => {
  assert.equal(xxh3().toString('hex'), '2d06800538d394c2'); // XXH3_64bits("") with seed 0
  const header = bytes(88, 1);
  const payload = bytes(5000, 2);
  assert.deepEqual(xxh3(header, payload), reference(header, payload));
  assert.deepEqual(xxh3(Buffer.concat([header, payload])), reference(header, payload));
  // A view into a larger buffer (records are subarrays of a pack's read span).
  const span = Buffer.concat([bytes(100, 3), header, payload, bytes(50, 4)]);
  assert.deepEqual(xxh3(span.subarray(100, 188), span.subarray(188, 5188)), reference(header, payload));
});

test('xxh3: nothing of one call carries over to the next', () => {
  const a = bytes(300, 5);
  const b = bytes(70, 6);
  const first = xxh3(a);
  assert.deepEqual(xxh3(a, b), reference(a, b));
  assert.deepEqual(xxh3(a), first);
  assert.deepEqual(xxh3(b), reference(b));
  assert.deepEqual(xxh3(), reference());
});

test('xxh3: calls between a streaming hasher\'s updates leave it alone', () => {
  const parts = [bytes(1000, 7), bytes(4096, 8), bytes(17, 9)];
  const stream = xxh3Stream();
  stream.update(parts[0]!);
  assert.deepEqual(xxh3(bytes(64, 10)), reference(bytes(64, 10)));
  stream.update(parts[1]!);
  xxh3(parts[2]!, parts[0]!);
  stream.update(parts[2]!);
  assert.deepEqual(stream.digest(), reference(...parts));
});
