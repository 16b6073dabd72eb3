// Memory calls (native/src/malloc.cc): limitMallocArenas (mallopt M_ARENA_MAX; it acts on this
// test process's allocator only) and releaseArrayBuffer (frees a buffer's memory without a GC).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';

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

const MiB = 1024 * 1024;

test('releaseArrayBuffer: the memory goes at once, no collection needed; views read as empty', () => {
  const ab = new ArrayBuffer(64 * MiB);
  const view = new Uint8Array(ab, 16).fill(1);
  const buf = Buffer.from(ab, 8, 1024);
  // Measured from here: a collection may free earlier garbage at any time, never ab (still used).
  const withIt = process.memoryUsage().arrayBuffers;
  assert.ok(withIt >= 64 * MiB);
  assert.equal(sys.releaseArrayBuffer(ab), 64 * MiB);
  assert.ok(process.memoryUsage().arrayBuffers <= withIt - 63 * MiB, 'freed without a collection');
  assert.equal(ab.byteLength, 0);
  assert.equal(view.length, 0);
  assert.equal(buf.length, 0);
  assert.equal(view[0], undefined, 'no access to the freed memory');
  assert.equal(sys.releaseArrayBuffer(ab), 0, 'a second release frees nothing');
});

test('releaseArrayBuffer: pool-sized buffers are left alone (Node shares one pool among small Buffers)', () => {
  const small = Buffer.from('pooled');
  const neighbour = Buffer.from('neighbour');
  assert.ok(small.buffer.byteLength <= Buffer.poolSize, 'a pooled Buffer');
  assert.equal(sys.releaseArrayBuffer(small.buffer as ArrayBuffer), 0);
  assert.equal(small.toString(), 'pooled');
  assert.equal(neighbour.toString(), 'neighbour');
  const own = new ArrayBuffer(Buffer.poolSize);
  assert.equal(sys.releaseArrayBuffer(own), 0);
  assert.equal(own.byteLength, Buffer.poolSize);
  // One V8 refuses to detach is left as it is, not an error.
  // (WebAssembly is not in this project's TypeScript libs.)
  const Wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly;
  const wasm = new Wasm.Memory({ initial: 2 });
  new Uint8Array(wasm.buffer).fill(9);
  assert.equal(sys.releaseArrayBuffer(wasm.buffer), 0);
  assert.equal(wasm.buffer.byteLength, 2 * 65536);
  assert.equal(new Uint8Array(wasm.buffer)[100], 9);
});

test('releaseArrayBuffer: a buffer moved from another thread (as the writer thread gets records)', async () => {
  const w = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const data = new Uint8Array(32 * 1024 * 1024).fill(5);
     parentPort.postMessage({ data }, [data.buffer]);`,
    { eval: true },
  );
  const msg = await new Promise<{ data: Uint8Array }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  assert.equal(msg.data[100], 5);
  assert.equal(sys.releaseArrayBuffer(msg.data.buffer as ArrayBuffer), 32 * MiB);
  assert.equal(msg.data.length, 0);
});

test('releaseArrayBuffer: anything but an ArrayBuffer is refused, before the addon', () => {
  const release = sys.releaseArrayBuffer as (x: unknown) => number;
  assert.throws(() => release(new Uint8Array(64 * 1024)), TypeError);
  assert.throws(() => release(new SharedArrayBuffer(64 * 1024)), TypeError);
  assert.throws(() => release(undefined), TypeError);
  const raw = native.releaseArrayBuffer as (x: unknown) => number;
  assert.throws(() => raw(new Uint8Array(8)), TypeError);
  assert.throws(() => (raw as () => number)(), TypeError);
});
