// The restore's pipeline (src/restore/read-ahead.ts, content-prefetch.ts): plan steps made ahead
// of the one applied, and file content asked of the writer thread in order, in batches, within a
// budget. Fakes stand in for the plan and the writer thread; restore-*.test.ts run the real ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { blobId, idFromHex } from '../src/model/blob-id.js';
import { type Entry, EntryType } from '../src/model/entry.js';
import type { SnapError } from '../src/model/errors.js';
import { Repository } from '../src/repo/repository.js';
import { RepoWriter } from '../src/repo/repo-writer.js';
import { decodeTree } from '../src/repo/tree-codec.js';
import { makeTmpDir } from './helpers/tmp.js';
import { outcome, snapshot } from './helpers/cli.js';
import { readAhead } from '../src/restore/read-ahead.js';
import { ContentPrefetch, type BatchReader } from '../src/restore/content-prefetch.js';
import { PlanApplier, openRoot } from '../src/restore/apply-plan.js';
import type { PlanOp } from '../src/restore/plan-types.js';

/** An async source of 0..n-1 that records how far it has been pulled and whether it was closed. */
function counting(n: number, failAt = -1): { source: AsyncGenerator<number>; pulled: () => number; closed: () => boolean } {
  let pulled = 0;
  let closed = false;
  async function* gen(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < n; i++) {
        await tick();
        if (i === failAt) throw new Error(`source failed at ${i}`);
        pulled = i + 1;
        yield i;
      }
    } finally {
      closed = true;
    }
  }
  return { source: gen(), pulled: () => pulled, closed: () => closed };
}

test('readAhead: items in order, up to `size` pulled before they are asked for, each seen once when pulled', async () => {
  const { source, pulled } = counting(50);
  const seen: number[] = [];
  const got: number[] = [];
  let maxAhead = 0;
  for await (const i of readAhead(source, 8, (x) => seen.push(x))) {
    got.push(i);
    await tick(); // the consumer's own work: the pulls go on meanwhile
    await tick();
    maxAhead = Math.max(maxAhead, pulled() - got.length);
    assert.ok(seen.length >= got.length, 'an item is seen before it is consumed');
  }
  assert.deepEqual(got, [...Array(50).keys()]);
  assert.deepEqual(seen, got);
  assert.ok(maxAhead >= 2, `read ahead of the consumer (at most ${maxAhead} ahead)`);
  assert.ok(maxAhead <= 8, `never more than size ahead (${maxAhead})`);
});

test('readAhead: a failing source fails the consumer after the items before the failure', async () => {
  const { source, closed } = counting(20, 7);
  const got: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const i of readAhead(source, 4, () => undefined)) got.push(i);
    })(),
    /source failed at 7/,
  );
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6]);
  assert.ok(closed());
});

test('readAhead: a consumer that stops early closes the source, with no pull left running', async () => {
  const { source, closed, pulled } = counting(1000);
  for await (const i of readAhead(source, 16, () => undefined)) {
    if (i === 3) break;
  }
  assert.ok(closed(), 'the source was closed');
  const at = pulled();
  await tick();
  await tick();
  assert.equal(pulled(), at, 'nothing pulled after the consumer left');
  assert.ok(at <= 4 + 16, `pulled ${at}`);
});

test('readAhead: a consumer that throws closes the source; `seen` throwing fails the consumer', async () => {
  const a = counting(100);
  await assert.rejects(
    (async () => {
      for await (const i of readAhead(a.source, 8, () => undefined)) if (i === 5) throw new Error('apply failed');
    })(),
    /apply failed/,
  );
  assert.ok(a.closed());
  const b = counting(100);
  const got: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const i of readAhead(b.source, 8, (x) => {
        if (x === 10) throw new Error('seen failed');
      }))
        got.push(i);
    })(),
    /seen failed/,
  );
  assert.deepEqual(got, [...Array(11).keys()], 'items pulled before the failure are still consumed');
  assert.ok(b.closed());
});

const idOf = (name: string): Buffer => createHash('sha256').update(name).digest();

function fileOp(name: string, chunkLengths: number[]): PlanOp {
  const chunks = chunkLengths.map((length, i) => ({ id: idOf(`${name}#${i}`), length }));
  const entry = { name: Buffer.from(name), type: EntryType.File, chunks } as unknown as Entry;
  return { op: 'create', path: Buffer.from(`/${name}`), entry };
}

/** A writer thread stand-in: answers when told to, records batches and what is in flight. */
class FakeWriter implements BatchReader {
  batches: Buffer[][] = [];
  singles = 0;
  fail = new Set<string>();
  private outstanding: { id: Buffer; resolve: (b: Buffer) => void; reject: (e: Error) => void }[] = [];
  constructor(private readonly lengths: Map<string, number>) {}
  getMany(ids: readonly Uint8Array[]): Promise<Buffer>[] {
    this.batches.push(ids.map((id) => Buffer.from(id)));
    return ids.map((id) => new Promise<Buffer>((resolve, reject) => this.outstanding.push({ id: Buffer.from(id), resolve, reject })));
  }
  async get(id: Uint8Array): Promise<Buffer> {
    this.singles++;
    return this.content(Buffer.from(id));
  }
  content(id: Buffer): Buffer {
    return Buffer.alloc(this.lengths.get(id.toString('hex')) ?? 0, id[0]);
  }
  /** Answers everything asked so far. */
  answer(): void {
    for (const o of this.outstanding.splice(0)) {
      if (this.fail.has(o.id.toString('hex'))) o.reject(new Error(`blob ${o.id.toString('hex').slice(0, 8)} is damaged`));
      else o.resolve(this.content(o.id));
    }
  }
  get asked(): number {
    return this.batches.reduce((n, b) => n + b.length, 0);
  }
}

function plan(files: number, chunkLengths: (i: number) => number[]): { ops: PlanOp[]; writer: FakeWriter } {
  const ops: PlanOp[] = [];
  const lengths = new Map<string, number>();
  for (let i = 0; i < files; i++) {
    const op = fileOp(`f${i}`, chunkLengths(i));
    ops.push(op);
    for (const c of (op as { entry: Entry }).entry.chunks) lengths.set(c.id.toString('hex'), c.length);
  }
  return { ops, writer: new FakeWriter(lengths) };
}

test('ContentPrefetch: reads come back in plan order, asked for in batches within the budget', async () => {
  const { ops, writer } = plan(500, (i) => (i % 10 === 0 ? [3000, 5000] : [100]));
  const limits = { maxBlobs: 64, maxBytes: 20_000, batch: 16 };
  const prefetch = new ContentPrefetch(writer, limits);
  let read = 0;
  let maxInFlight = 0;
  let maxBytesInFlight = 0;
  for (const op of ops) prefetch.want(op); // the plan read ahead as far as it goes
  for (const op of ops) {
    for (const c of (op as { entry: Entry }).entry.chunks) {
      maxInFlight = Math.max(maxInFlight, writer.asked - read);
      let bytes = 0;
      for (const b of writer.batches.flat().slice(read)) bytes += writer.content(b).length; // asked, not yet read
      maxBytesInFlight = Math.max(maxBytesInFlight, bytes);
      const p = prefetch.read(c.id);
      writer.answer();
      const data = await p;
      assert.equal(data.length, c.length);
      assert.equal(data[0], c.id[0], 'the blob asked for');
      read++;
    }
  }
  assert.equal(writer.singles, 0, 'every blob came from a batch');
  assert.equal(prefetch.misses, 0);
  assert.equal(writer.asked, read, 'each blob asked for once');
  assert.ok(writer.batches.every((b) => b.length <= limits.batch), 'batches within their size');
  assert.ok(maxInFlight <= limits.maxBlobs, `at most maxBlobs in flight (${maxInFlight})`);
  assert.ok(maxBytesInFlight <= limits.maxBytes, `at most maxBytes in flight (${maxBytesInFlight})`);
  // ~10 kB (half the byte budget) is asked for at a time: ~12 of these blobs on average.
  assert.ok(writer.batches.length * 8 <= writer.asked, `${writer.asked} blobs in ${writer.batches.length} batches`);
});

test('ContentPrefetch: a chunk larger than the budget is still asked for, alone', async () => {
  const { ops, writer } = plan(3, (i) => (i === 1 ? [50_000] : [10]));
  const prefetch = new ContentPrefetch(writer, { maxBlobs: 8, maxBytes: 1000, batch: 4 });
  for (const op of ops) prefetch.want(op);
  for (const op of ops) {
    const c = (op as { entry: Entry }).entry.chunks[0]!;
    const p = prefetch.read(c.id);
    writer.answer();
    assert.equal((await p).length, c.length);
  }
  assert.equal(writer.singles, 0);
});

test('ContentPrefetch: a damaged blob fails its own read only; unread failures are no unhandled rejection', async () => {
  const { ops, writer } = plan(6, () => [10]);
  const bad = (ops[2] as { entry: Entry }).entry.chunks[0]!.id;
  const unread = (ops[5] as { entry: Entry }).entry.chunks[0]!.id;
  writer.fail.add(bad.toString('hex'));
  writer.fail.add(unread.toString('hex'));
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown): void => void unhandled.push(r);
  process.on('unhandledRejection', onUnhandled);
  try {
    const prefetch = new ContentPrefetch(writer, { maxBlobs: 16, maxBytes: 1 << 20, batch: 8 });
    for (const op of ops) prefetch.want(op);
    const read = (id: Buffer): Promise<Buffer> => {
      const p = prefetch.read(id);
      writer.answer();
      return p;
    };
    for (const i of [0, 1]) assert.equal((await read((ops[i] as { entry: Entry }).entry.chunks[0]!.id)).length, 10);
    assert.ok(writer.asked === 6, 'all six asked for by now');
    await assert.rejects(read(bad), /is damaged/);
    // The restore stops here (its error names the file); blob 5 failed too and is never read.
    await tick();
    await tick();
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('ContentPrefetch: a read out of the wanted order is served on its own', async () => {
  const { ops, writer } = plan(2, () => [10]);
  const prefetch = new ContentPrefetch(writer);
  prefetch.want(ops[0]!);
  writer.answer();
  const other = idOf('not wanted');
  assert.equal((await prefetch.read(other)).length, 0);
  assert.equal(prefetch.misses, 1);
  assert.equal(writer.singles, 1);
  const p = prefetch.read((ops[0] as { entry: Entry }).entry.chunks[0]!.id);
  writer.answer();
  assert.equal((await p).length, 10);
});

/** A full collection, for tests that check what is kept alive (the flag makes gc reachable). */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

test('ContentPrefetch: a blob read is let go of, not kept by the list of wanted blobs', async () => {
  const { ops, writer } = plan(40, () => [20_000]);
  const prefetch = new ContentPrefetch(writer, { maxBlobs: 8, maxBytes: 1 << 20, batch: 4 });
  for (const op of ops) prefetch.want(op);
  const refs: WeakRef<Buffer>[] = [];
  for (const op of ops) {
    const p = prefetch.read((op as { entry: Entry }).entry.chunks[0]!.id);
    writer.answer();
    refs.push(new WeakRef(await p));
  }
  await tick();
  collectGarbage();
  // The last one read may still be in use by its caller; none before it is held by the prefetch.
  const kept = refs.slice(0, -1).filter((r) => r.deref() !== undefined).length;
  assert.equal(kept, 0, `${kept} of ${refs.length - 1} blobs already used are still held`);
  assert.equal(prefetch.misses, 0); // and the prefetch is still alive here
});

/** Answers each batch with views of one buffer, as RepoWriter.getMany does. */
class OneBufferWriter implements BatchReader {
  answers: ArrayBuffer[] = [];
  getMany(ids: readonly Uint8Array[]): Promise<Buffer>[] {
    const ab = new ArrayBuffer(ids.length * 10_000);
    this.answers.push(ab);
    return ids.map(async (id, i) => Buffer.from(ab, i * 10_000, 10_000).fill(id[0]!));
  }
  async get(): Promise<Buffer> {
    throw new Error('every blob is asked for in a batch');
  }
}

test('ContentPrefetch: the buffer of an answer is freed once all its blobs were used, not before', async () => {
  const ops = Array.from({ length: 12 }, (_, i) => fileOp(`f${i}`, [10_000]));
  const writer = new OneBufferWriter();
  const prefetch = new ContentPrefetch(writer, { maxBlobs: 8, maxBytes: 1 << 20, batch: 4 });
  for (const op of ops) prefetch.want(op);
  const held: Buffer[] = [];
  for (const [i, op] of ops.entries()) {
    const id = (op as { entry: Entry }).entry.chunks[0]!.id;
    const data = await prefetch.read(id);
    assert.equal(data.length, 10_000, `blob ${i} is whole when read`);
    assert.equal(data[0], id[0]);
    held.push(data);
    // Every blob of the answer being read is intact: the one just read is the caller's until the
    // next read, the others were used before it. Answers read to the end before it are freed.
    for (const [k, blob] of held.entries()) {
      if (blob.buffer === data.buffer) assert.equal(blob.length, 10_000, `blob ${k} intact after read ${i}`);
      else assert.equal(blob.buffer.byteLength, 0, `the answer of blob ${k} freed by read ${i}`);
    }
  }
  assert.ok(writer.answers.length >= 3, `${writer.answers.length} answers`);
  const last = writer.answers.at(-1)!;
  assert.ok(last.byteLength > 0, 'the last answer is held until a next read');
});

test('PlanApplier: content shorter than its chunk (a freed buffer reads as empty) fails the file, nothing written', async (t) => {
  const dir = makeTmpDir('rp-short-chunk-', t);
  const id = idOf('content');
  const entry = {
    name: Buffer.from('f'), type: EntryType.File, flags: 0, mode: 0o100644, uid: 0, gid: 0, mtimeNs: 0n, ctimeNs: 0n,
    ino: 1n, dev: 1n, nlink: 1, size: 5000, rdevMajor: 0, rdevMinor: 0, fsFlags: 0, xattrs: [],
    extents: [{ offset: 0, length: 5000 }], chunks: [{ id, length: 5000 }], subtree: null, target: null,
  } satisfies Entry;
  const rootFd = openRoot(dir);
  const applier = new PlanApplier(rootFd, { read: async () => Buffer.alloc(0) }, { warning: () => undefined });
  try {
    await assert.rejects(applier.apply({ op: 'create', path: Buffer.from('/f'), entry }), (err: SnapError) => {
      assert.equal(err.code, 'REPO_CORRUPT');
      assert.match(err.message, /restoring \/f failed: .*chunk of 5000 bytes read back as 0/);
      return true;
    });
  } finally {
    applier.close();
    fs.closeSync(rootFd);
  }
  assert.deepEqual(fs.readdirSync(dir), [], 'no file, no temp file left');
});

test('RepoWriter.getMany: blobs of a real repository in one round trip, each verified; a bad one fails alone', async (t) => {
  const dir = makeTmpDir('rp-getmany-', t);
  const root = path.join(dir, 'root');
  const repoDir = path.join(dir, 'repo');
  fs.mkdirSync(root);
  const contents = ['small', 'x'.repeat(70_000), randomBytes(300_000).toString('base64')];
  contents.forEach((c, i) => fs.writeFileSync(path.join(root, `f${i}`), c));
  const r = snapshot(root, repoDir, ['--no-boot']);
  assert.equal(r.status, 0, outcome(r));
  const repo = Repository.open(repoDir, { create: false });
  const point = repo.points().points.at(-1)!;
  const top = decodeTree(await repo.readTree(idFromHex(point.root)));
  const files = decodeTree(await repo.readTree(top[0]!.subtree!)).filter((e) => e.type === EntryType.File);
  const ids = files.flatMap((e) => e.chunks.map((c) => c.id));
  assert.ok(ids.length >= 3);
  const missing = createHash('sha256').update('never stored').digest();
  const writer = new RepoWriter({ repoDir, readsContent: true });
  try {
    const got = writer.getMany([...ids, missing, ids[0]!]);
    const blobs = await Promise.allSettled(got);
    for (let i = 0; i < ids.length; i++) {
      assert.equal(blobs[i]!.status, 'fulfilled');
      assert.ok(blobId((blobs[i] as PromiseFulfilledResult<Buffer>).value).equals(ids[i]!), `blob ${i} is the one asked for`);
    }
    assert.equal(blobs[ids.length]!.status, 'rejected', 'the unknown id fails');
    const reason = (blobs[ids.length] as PromiseRejectedResult).reason as SnapError;
    assert.equal(reason.code, 'REPO_CORRUPT');
    assert.match(reason.message, new RegExp(`blob ${missing.toString('hex')} is missing`), 'the error names its own blob');
    assert.ok(blobId((blobs[ids.length + 1] as PromiseFulfilledResult<Buffer>).value).equals(ids[0]!), 'a blob after the failure still comes back');
    const byName = new Map(files.map((e) => [e.name.toString(), e]));
    const f1 = byName.get('f1')!;
    assert.equal((await Promise.all(writer.getMany(f1.chunks.map((c) => c.id)))).map((b) => b.toString()).join(''), contents[1]);
  } finally {
    await writer.close();
  }
});
