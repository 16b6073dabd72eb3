// Reused read memory (src/worker/read-slabs.ts): a scan thread lends fixed-size slabs to its
// tasks' BlobSinks and takes them back when a task's result is built. Reuse must never let one
// read's bytes show up in another's blobs: pieces never overlap, a slab is never lent twice, a
// result built by finish() is its own memory, and a snapshot whose scan thread reuses slabs across
// many tasks restores byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { blobId, BlobKind } from '../src/model/blob-id.js';
import { BlobSink } from '../src/worker/blob-sink.js';
import { READ_FROM_SLAB_MIN, READ_SLAB_BYTES, ReadSlabs, SlabCursor } from '../src/worker/read-slabs.js';
import { storeBundle } from '../src/repo/store-bundle.js';
import { IdTable } from '../src/repo/id-table.js';
import { PackWriter } from '../src/repo/pack-writer.js';
import { Repository } from '../src/repo/repository.js';
import { makeTmpDir } from './helpers/tmp.js';
import { assertTreesEqual } from './helpers/tree-compare.js';
import { listPoints, restoreInto, snapshotJson } from './helpers/cli.js';

/** Deterministic bytes, different for each seed (a counter through SHA-256, so nothing repeats). */
function bytesOf(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let o = 0, i = 0; o < length; o += 32, i++) createHash('sha256').update(`${seed}/${i}`).digest().copy(out, o);
  return out;
}

test('SlabCursor: pieces of one borrower never overlap, fill slabs in turn, and outside the range are not lent', () => {
  const slabs = new ReadSlabs(2);
  const cursor = new SlabCursor(slabs);
  assert.equal(cursor.piece(READ_FROM_SLAB_MIN - 1), null, 'small reads are not lent');
  assert.equal(cursor.piece(READ_SLAB_BYTES + 1), null, 'reads larger than a slab are not lent');
  const sizes = [READ_FROM_SLAB_MIN, 1_000_000, 1_500_001, 2_000_000, READ_SLAB_BYTES, 70_000];
  const pieces = sizes.map((n) => cursor.piece(n)!);
  pieces.forEach((p, i) => assert.equal(p.length, sizes[i]));
  // Byte ranges within each slab are disjoint.
  const bySlab = new Map<ArrayBufferLike, [number, number][]>();
  for (const p of pieces) {
    assert.equal(p.buffer.byteLength, READ_SLAB_BYTES);
    const list = bySlab.get(p.buffer) ?? [];
    for (const [a, b] of list) assert.ok(p.byteOffset >= b || p.byteOffset + p.length <= a, 'pieces overlap');
    list.push([p.byteOffset, p.byteOffset + p.length]);
    bySlab.set(p.buffer, list);
  }
  assert.equal(bySlab.size, 4, 'a piece that does not fit the current slab starts the next one');
  cursor.giveBackAll();
  assert.equal(slabs.kept, 2, 'no more slabs are kept than allowed');
});

test('ReadSlabs: a slab is lent to one borrower at a time and given back once', () => {
  const slabs = new ReadSlabs(4);
  const a = slabs.take();
  const b = slabs.take();
  assert.notEqual(a, b);
  slabs.giveBack(a);
  assert.throws(() => slabs.giveBack(a), /not a lent slab/);
  assert.throws(() => slabs.giveBack(new ArrayBuffer(READ_SLAB_BYTES)), /not a lent slab/);
  assert.equal(slabs.take(), a, 'a slab given back is lent again');
  assert.notEqual(slabs.take(), b, 'one still lent is not');
});

test('BlobSink: a result stays intact while the next task reads into the same slabs', async (t) => {
  const dir = makeTmpDir('rp-slab-sink-', t);
  let repos = 0;
  const slabs = new ReadSlabs(8);
  /** One task: reads `files` through its sink as readChunks does, adds each whole. */
  const task = async (seeds: number[], length: number) => {
    const sink = new BlobSink(slabs);
    const contents = seeds.map((s) => bytesOf(s, length));
    for (const c of contents) {
      const buf = sink.readBuffer(c.length);
      c.copy(buf);
      sink.add(buf);
    }
    return { out: await sink.finish(), contents };
  };
  /** Stores a result the way the writer thread does and reads every blob back through a reader. */
  const readBack = async (out: Awaited<ReturnType<typeof task>>['out'], ids: Buffer[]): Promise<Buffer[]> => {
    const repo = Repository.open(path.join(dir, `repo-${++repos}`), { create: true });
    const packs = new PackWriter(repo.store, new IdTable());
    const data = Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength);
    for (const b of out.blobs) {
      const payload = data.subarray(b.offset, b.offset + b.length);
      const blob = { id: Buffer.from(b.id), kind: b.kind, compression: b.compression, rawLength: b.rawLength, payload };
      if (b.kind === BlobKind.Bundle) await storeBundle(packs, blob, () => undefined);
      else packs.add(blob);
    }
    packs.seal();
    const reader = Repository.open(repo.dir, { create: false }).reader();
    return Promise.all(ids.map((id) => reader.read(id)));
  };
  for (const length of [40_000, 600_000, 3_000_000]) {
    const first = await task([1, 2, 3, 4, 5], length);
    const kept = Buffer.from(first.out.data); // what the first result holds now
    const second = await task([11, 12, 13, 14, 15], length); // reuses the first task's slabs
    assert.ok(Buffer.from(first.out.data).equals(kept), `${length}: the first result was not overwritten`);
    for (const { out, contents } of [first, second]) {
      const back = await readBack(out, contents.map((c) => blobId(c)));
      back.forEach((b, i) => assert.ok(b.equals(contents[i]!), `${length}: each blob reads back as read`));
    }
  }
  assert.ok(slabs.kept > 0, 'slabs were given back for reuse');
});

test('a snapshot read by one scan thread reusing slabs across tasks restores every file byte for byte', (t) => {
  const dir = makeTmpDir('rp-slabs-', t);
  const root = path.join(dir, 'root');
  const repo = path.join(dir, 'repo');
  // Sizes on both sides of every limit: below READ_FROM_SLAB_MIN, bundle members, inline reads
  // that fill slabs unevenly, chunked files read inline (1-4 MiB) and in file tasks (> 4 MiB).
  const sizes = [100, 16 * 1024, 50_000, 300_000, 900_000, 1_048_577, 2_500_000, 4 * 1024 * 1024, 9_000_000];
  let seed = 0;
  for (let d = 0; d < 12; d++) {
    const sub = path.join(root, `d${d}`);
    fs.mkdirSync(sub, { recursive: true });
    for (const size of sizes) fs.writeFileSync(path.join(sub, `f${size}`), bytesOf(++seed, size));
  }
  snapshotJson(root, repo, ['--threads', '1']);
  // Change a third of the files, so the second run reads again (and reuses the first's chunks).
  for (let d = 0; d < 12; d += 3) for (const size of sizes) fs.writeFileSync(path.join(root, `d${d}`, `f${size}`), bytesOf(1000 + ++seed, size));
  const second = snapshotJson(root, repo, ['--threads', '1']);
  assert.ok(second.files_read >= 4 * sizes.length);
  const target = path.join(dir, 'restored');
  fs.mkdirSync(target);
  const r = restoreInto(repo, listPoints(repo).at(-1)!.number, target);
  assert.equal(r.status, 0, r.stderr);
  assertTreesEqual(root, target);
});
