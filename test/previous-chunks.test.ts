// The previous version's chunk list (src/worker/previous-chunks.ts): packing across threads, the
// id set BlobSink looks up, and the window a large file's segment task gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PACKED_CHUNK_BYTES, PreviousChunkList, packChunks, previousChunkSet } from '../src/worker/previous-chunks.js';

function chunk(i: number, length: number): { id: Buffer; length: number } {
  return { id: createHash('sha256').update(`chunk ${i}`).digest(), length };
}

function idsOf(packed: Uint8Array): string[] {
  return [...(previousChunkSet(packed) ?? [])];
}

test('packChunks / previousChunkSet: every id comes back, nothing else', () => {
  const chunks = [chunk(0, 100), chunk(1, 200), chunk(2, 4_000_000_000)];
  const packed = packChunks(chunks);
  assert.equal(packed.length, 3 * PACKED_CHUNK_BYTES);
  assert.deepEqual(idsOf(packed).sort(), chunks.map((c) => c.id.toString('hex')).sort());
  assert.equal(previousChunkSet(null), undefined);
  assert.equal(previousChunkSet(new Uint8Array(0)), undefined);
});

test('PreviousChunkList.window: the chunks overlapping a range of data bytes', () => {
  const chunks = [chunk(0, 100), chunk(1, 200), chunk(2, 300), chunk(3, 400)]; // starts 0 100 300 600, end 1000
  const list = new PreviousChunkList(packChunks(chunks));
  const hex = (...i: number[]): string[] => i.map((k) => chunks[k]!.id.toString('hex'));
  assert.deepEqual(idsOf(list.window(0, 1)), hex(0));
  assert.deepEqual(idsOf(list.window(150, 350)), hex(1, 2));
  assert.deepEqual(idsOf(list.window(-50, 99)), hex(0));
  assert.deepEqual(idsOf(list.window(100, 100)), hex(1), 'an empty range at a boundary gives the chunk starting there');
  assert.deepEqual(idsOf(list.window(999, 5000)), hex(3));
  assert.deepEqual(idsOf(list.window(-1e9, 1e9)), hex(0, 1, 2, 3));
  assert.deepEqual(idsOf(list.window(1000, 2000)), [], 'past the end: nothing');
  assert.deepEqual(idsOf(new PreviousChunkList(new Uint8Array(0)).window(0, 100)), []);
});

test('PreviousChunkList.window: a 100 GB file gives each segment ~100 chunks, not 200k', () => {
  const MiB = 1024 * 1024;
  const chunks = Array.from({ length: 200_000 }, (_v, i) => chunk(i, 512 * 1024));
  const list = new PreviousChunkList(packChunks(chunks));
  const pos = 60_000 * 512 * 1024; // somewhere in the middle
  const w = list.window(pos - 16 * MiB, pos + 32 * MiB);
  assert.equal(w.length / PACKED_CHUNK_BYTES, 97, '48 MiB of 512 KiB chunks, plus the one at the end');
  assert.ok(idsOf(w).includes(chunks[60_000]!.id.toString('hex')), 'the chunk at the position is in it');
});
