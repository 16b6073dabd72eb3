// Buffers freed at once, not at some later collection. V8 frees a dead buffer only at a collection
// it starts tens of MiB of such memory later (zstd's output, native memory, it does not count at
// all): at a million small files the writer carried ~35 MiB of outgrown tables that way, and a
// first snapshot of the bench tree ~80 MB of zstd output (docs/BENCHMARKS.md, eleventh round).
// Measured with Node's own count of live ArrayBuffer memory, which drops the moment a buffer is
// freed, or for native memory with the process's RSS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { BlobKind, ZERO_ID } from '../src/model/blob-id.js';
import { BlobIndex } from '../src/repo/blob-index.js';
import { IdTable } from '../src/repo/id-table.js';
import { INDEX_ENTRY_BYTES, IndexRows, indexTable } from '../src/repo/index-file.js';
import { Compression } from '../src/repo/record.js';
import { compressPayload } from '../src/repo/compression.js';
import { releaseBuffer } from '../src/sys/index.js';
import { BlobSink } from '../src/worker/blob-sink.js';

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
  assert.equal(table.size, 0, 'and left it empty');
  assert.equal(table.get(all.subarray(0, 32)), undefined);
  for (let i = 0; i < 100; i++) assert.ok(table.add(all.subarray(i * 32, i * 32 + 32), i), 'and usable');
  assert.equal(table.get(all.subarray(99 * 32, 100 * 32)), 99);
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
  // Released rows are empty, and take rows again.
  assert.equal(rows.count, 0);
  for (let i = 0; i < 20; i++) rows.push(all.subarray(i * 32, i * 32 + 32), BlobKind.Data, Compression.Zstd, i, 100, 200, ZERO_ID);
  assert.equal(indexTable(rows.encode(), 'again.idx').length, 20 * INDEX_ENTRY_BYTES);
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

/** 2 MiB that zstd halves: random bytes with every other byte the same. */
function halfCompressible(): Buffer {
  const raw = randomFillSync(Buffer.allocUnsafeSlow(2 * MiB));
  for (let i = 0; i < raw.length; i += 2) raw[i] = 65;
  return raw;
}

test("releaseBuffer frees zstd's output (native memory) at once; a view is left alone", async () => {
  const raw = halfCompressible();
  const kept: Buffer[] = [];
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 40; i++) {
    const { compression, payload } = await compressPayload(raw);
    assert.equal(compression, Compression.Zstd);
    assert.ok(payload.length > MiB, 'about half the input');
    const length = payload.length;
    assert.equal(releaseBuffer(payload), length, 'freed whole');
    kept.push(payload); // still referenced: only the release can have freed it
  }
  const grown = process.memoryUsage().rss - before;
  // 40 outputs of ~1 MiB each stayed in memory before (the holders are alive, so no collection helps).
  assert.ok(grown < 16 * MiB, `RSS grew ${(grown / MiB).toFixed(1)} MiB for 40 released outputs`);
  assert.ok(kept.every((b) => b.length === 0), 'released buffers read as empty');
  const whole = Buffer.allocUnsafeSlow(64 * 1024).fill(3);
  const view = whole.subarray(16);
  assert.equal(releaseBuffer(view), 0);
  assert.equal(view[0], 3);
  assert.equal(whole.length, 64 * 1024);
});

test("a BlobSink frees its compressed copies when it finishes, not at a collection", async () => {
  const raw = halfCompressible(); // the caller's: never released by the sink
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 40; i++) {
    const sink = new BlobSink();
    raw.writeUInt32LE(i, 1); // a new blob each time (an odd offset: not one of the constant bytes)
    sink.add(raw);
    const { data, blobs } = await sink.finish();
    assert.equal(blobs.length, 1);
    assert.equal(blobs[0]!.compression, Compression.Zstd);
    releaseBuffer(data); // the result's own copy, which a scan thread moves to the main thread
  }
  const grown = process.memoryUsage().rss - before;
  assert.ok(grown < 16 * MiB, `RSS grew ${(grown / MiB).toFixed(1)} MiB over 40 tasks`);
  assert.equal(raw.length, 2 * MiB, "the caller's buffer is intact");
});
