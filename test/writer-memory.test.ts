// The writer thread's tables free what they outgrow at once. V8 frees a dead buffer only at a
// collection it starts tens of MiB of such memory later; at a million small files the writer
// carried ~35 MiB of outgrown tables that way (docs/BENCHMARKS.md, eleventh round). Measured with
// Node's own count of live ArrayBuffer memory, which drops the moment a buffer is freed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { BlobKind, ZERO_ID } from '../src/model/blob-id.js';
import { BlobIndex } from '../src/repo/blob-index.js';
import { IdTable } from '../src/repo/id-table.js';
import { INDEX_ENTRY_BYTES, IndexRows, indexTable } from '../src/repo/index-file.js';
import { Compression } from '../src/repo/record.js';

const MiB = 1024 * 1024;

function liveBuffers(): number {
  return process.memoryUsage().arrayBuffers;
}

/** `n` random 32-byte ids in one buffer (views of it allocate nothing). */
function ids(n: number): Buffer {
  return randomFillSync(Buffer.allocUnsafeSlow(n * 32));
}

test('an IdTable that grows from 1 KiB to 300k ids holds its last table only, and release() frees it', () => {
  const all = ids(300_000);
  const before = liveBuffers();
  const table = new IdTable(1024);
  for (let i = 0; i < 300_000; i++) table.add(all.subarray(i * 32, i * 32 + 32), i);
  const grown = liveBuffers() - before;
  const last = 524_288 * (32 + 4); // 300k ids at a load of at most 0.7: 2^19 slots of key + value
  // Without the frees, the outgrown tables (together about the size of the last) were still held.
  assert.ok(grown <= last * 1.05, `held ${(grown / MiB).toFixed(1)} MiB, the last table is ${(last / MiB).toFixed(1)} MiB`);
  for (let i = 0; i < 300_000; i += 997) assert.equal(table.get(all.subarray(i * 32, i * 32 + 32)), i);
  table.release();
  assert.ok(liveBuffers() - before < MiB, 'release() freed the table');
});

test("a pack's index rows hold one buffer while they grow, and are freed after encoding", () => {
  const all = ids(65_536);
  const before = liveBuffers();
  const rows = new IndexRows();
  for (let i = 0; i < 65_536; i++) rows.push(all.subarray(i * 32, i * 32 + 32), BlobKind.Data, Compression.Zstd, i * 100, 100, 200, ZERO_ID);
  const grown = liveBuffers() - before;
  const last = 65_536 * INDEX_ENTRY_BYTES;
  assert.ok(grown <= last * 1.05, `held ${(grown / MiB).toFixed(1)} MiB for ${(last / MiB).toFixed(1)} MiB of rows`);
  const encoded = rows.encode();
  rows.release();
  assert.ok(liveBuffers() - before <= encoded.length * 1.05 + 256 * 1024, 'only the encoded index (and the sort keys) remain');
  const table = indexTable(encoded, 'test.idx');
  assert.equal(table.length, last);
  const row = all.indexOf(table.subarray(0, 32));
  assert.equal(row % 32, 0, 'the first sorted row is one of the ids pushed');
});

test("the blob index's slot table holds its last size only after growing to 300k rows", () => {
  const n = 300_000;
  const all = ids(n);
  const rows = new IndexRows();
  for (let i = 0; i < n; i++) rows.push(all.subarray(i * 32, i * 32 + 32), BlobKind.Data, Compression.Zstd, i * 100, 100, 200, ZERO_ID);
  const table = indexTable(rows.encode(), 'test.idx');
  rows.release();
  const index = new BlobIndex();
  const before = liveBuffers();
  index.addPack('test', table);
  const grown = liveBuffers() - before;
  const last = 524_288 * (4 + 1); // u32 row + u8 tag per slot
  assert.ok(grown <= last * 1.05, `held ${(grown / MiB).toFixed(2)} MiB, the last slot table is ${(last / MiB).toFixed(2)} MiB`);
  assert.equal(index.size, n);
  for (let i = 0; i < n; i += 991) assert.ok(index.has(all.subarray(i * 32, i * 32 + 32)));
});
