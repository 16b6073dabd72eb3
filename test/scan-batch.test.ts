// A directory task may start from several directories (the leftovers of a full batch, grouped by
// the coordinator). Hazards: a task directory that fails must not fail (or hide) the others, one
// the batch had no room for must come back to be scheduled again, the tree packs a batch opens
// must all be closed when it ends, and the leftovers must still spread over the threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WorkerContext } from '../src/worker/worker-context.js';
import { BATCH_ENTRIES, scanDirBatch } from '../src/worker/scan-batch.js';
import { ROOT_FAILED, ROOT_NOT_REACHED, type DirResult, type ScanWorkerInit } from '../src/worker/protocol.js';
import { DEFAULT_CHUNKER } from '../src/worker/chunker.js';
import { dirGroups } from '../src/scan/coordinator.js';
import { Repository } from '../src/repo/repository.js';
import { decodeTree } from '../src/repo/tree-codec.js';
import { LocalStore } from '../src/repo/local-store.js';
import { OpenFiles } from '../src/repo/open-files.js';
import { snapshotJson } from './helpers/cli.js';
import { makeTmpDir } from './helpers/tmp.js';

function context(root: string, repoDir: string): WorkerContext {
  // racySinceNs: now, as a snapshot with no margin would (these trees are made just before).
  const init: ScanWorkerInit = { root, patterns: [], emptyDirs: [], repoDir, repoDev: '0', repoIno: '0', chunker: DEFAULT_CHUNKER, racySinceNs: String(BigInt(Date.now()) * 1_000_000n) };
  return new WorkerContext(init);
}

const dir = (p: string, prevTreeId: Buffer | null = null): { relPath: Buffer; prevTreeId: Buffer | null } => ({ relPath: Buffer.from(p), prevTreeId });

/** Names of the entries in a part's encoded tree. */
function names(res: DirResult, part: number): string[] {
  return decodeTree(Buffer.from(res.parts[part]!.tree)).map((e) => e.name.toString());
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** ROOT with b/ (two files), big/ (more entries than a batch lists), c/ (a subdirectory). */
function makeTree(root: string): void {
  fs.mkdirSync(path.join(root, 'b'), { recursive: true });
  fs.writeFileSync(path.join(root, 'b', 'one'), 'one');
  fs.writeFileSync(path.join(root, 'b', 'two'), 'two');
  fs.mkdirSync(path.join(root, 'big'));
  for (let i = 0; i < BATCH_ENTRIES + 50; i++) fs.symlinkSync('x', path.join(root, 'big', `l${i}`));
  fs.mkdirSync(path.join(root, 'c', 'sub'), { recursive: true });
}

test('a task of several directories: a failing one is handed back alone, one past the full batch is not reached, the others are scanned', async (t) => {
  const tmp = makeTmpDir('rp-batch-', t);
  const root = path.join(tmp, 'root');
  makeTree(root);
  const ctx = context(root, path.join(tmp, 'no-repo'));
  const res = await scanDirBatch(ctx, { kind: 'dir', dirs: [dir('/b'), dir('/gone'), dir('/big'), dir('/c')], entryLimit: null });
  assert.equal(res.roots.length, 4);
  assert.deepEqual(names(res, res.roots[0]!), ['one', 'two']);
  assert.equal(res.roots[1], ROOT_FAILED, 'the missing directory fails alone');
  assert.equal(names(res, res.roots[2]!).length, BATCH_ENTRIES + 50);
  assert.equal(res.roots[3], ROOT_NOT_REACHED, 'c/ comes after a full batch');
  assert.equal(res.parts.length, 2);
  assert.equal(res.stats.dirs, 0, 'c/ was not reached: its subdirectory is not counted');
});

test('a task whose first directory fails goes on with the next one; a task of one directory reports its failure', async (t) => {
  const tmp = makeTmpDir('rp-batch-', t);
  const root = path.join(tmp, 'root');
  makeTree(root);
  const ctx = context(root, path.join(tmp, 'no-repo'));
  const res = await scanDirBatch(ctx, { kind: 'dir', dirs: [dir('/gone'), dir('/c')], entryLimit: null });
  assert.deepEqual(res.roots.map((r) => (r < 0 ? r : names(res, r))), [ROOT_FAILED, ['sub']]);
  // c/sub is scanned in the same batch: c's part points at it.
  const c = res.parts[res.roots[1]!]!;
  assert.ok(c.subdirs[0]!.part >= 0);
  await assert.rejects(scanDirBatch(ctx, { kind: 'dir', dirs: [dir('/gone')], entryLimit: null }), { code: 'ENOENT' });
});

test('a task with an entry limit (the pool is starving) stops after that many entries', async (t) => {
  const tmp = makeTmpDir('rp-batch-', t);
  const root = path.join(tmp, 'root');
  makeTree(root);
  const ctx = context(root, path.join(tmp, 'no-repo'));
  // b lists 2 entries, c 1 (its subdirectory): the limit of 3 is reached after c.
  const res = await scanDirBatch(ctx, { kind: 'dir', dirs: [dir('/b'), dir('/c'), dir('/big')], entryLimit: 3 });
  assert.deepEqual(res.roots.slice(0, 2).map((r) => names(res, r)), [['one', 'two'], ['sub']]);
  assert.equal(res.roots[2], ROOT_NOT_REACHED);
  assert.equal(res.parts[res.roots[1]!]!.subdirs[0]!.part, -1, 'c/sub is left for another task');
  // The first directory is scanned whatever the limit.
  const big = await scanDirBatch(ctx, { kind: 'dir', dirs: [dir('/big'), dir('/b')], entryLimit: 1 });
  assert.deepEqual(big.roots, [0, ROOT_NOT_REACHED]);
});

test('a batch reads previous trees of several task directories and closes every pack it opened', async (t) => {
  const tmp = makeTmpDir('rp-batch-', t);
  const root = path.join(tmp, 'root');
  makeTree(root);
  const repoDir = path.join(tmp, 'repo');
  snapshotJson(root, repoDir);
  const repo = Repository.open(repoDir, { create: false });
  const point = repo.points().points[0]!;
  const reader = repo.reader();
  // The point's root tree holds ROOT itself as "."; its subtree lists b, big and c.
  const top = decodeTree(await reader.read(Buffer.from(point.root, 'hex')));
  const rootTree = decodeTree(await reader.read(top[0]!.subtree!));
  const idOf = (name: string): Buffer => rootTree.find((e) => e.name.toString() === name)!.subtree!;
  const ctx = context(root, repoDir);
  const before = openFds();
  const res = await scanDirBatch(ctx, { kind: 'dir', dirs: [dir('/b', idOf('b')), dir('/c', idOf('c'))], entryLimit: null });
  assert.equal(openFds(), before, 'no descriptor left open');
  assert.deepEqual(names(res, res.roots[0]!), ['one', 'two']);
  assert.deepEqual(names(res, res.roots[1]!), ['sub']);
  assert.equal(res.blobs.length, 0, 'unchanged: nothing read');
});

test('a batch reads ahead only a bounded amount of large previous trees, not one per task directory', async (t) => {
  const tmp = makeTmpDir('rp-batch-', t);
  const root = path.join(tmp, 'root');
  // Ten directories of 1,500 entries: a batch lists two of them (3,000 >= BATCH_ENTRIES).
  const dirs = Array.from({ length: 10 }, (_, i) => `d${i}`);
  for (const d of dirs) {
    fs.mkdirSync(path.join(root, d), { recursive: true });
    for (let i = 0; i < 1500; i++) fs.symlinkSync(`target-${i}`, path.join(root, d, `entry-${i}`));
  }
  const repoDir = path.join(tmp, 'repo');
  snapshotJson(root, repoDir);
  const repo = Repository.open(repoDir, { create: false });
  const reader = repo.reader();
  const top = decodeTree(await reader.read(Buffer.from(repo.points().points[0]!.root, 'hex')));
  const rootTree = decodeTree(await reader.read(top[0]!.subtree!));
  const idOf = (name: string): Buffer => rootTree.find((e) => e.name.toString() === name)!.subtree!;
  const ctx = context(root, repoDir);
  const asked: number[] = [];
  const readTrees = ctx.readTrees.bind(ctx);
  ctx.readTrees = (ids, open) => (asked.push(ids.length), readTrees(ids, open));
  const res = await scanDirBatch(ctx, { kind: 'dir', dirs: dirs.map((d) => dir(`/${d}`, idOf(d))), entryLimit: null });
  assert.deepEqual(res.roots.slice(0, 2), [0, 1]);
  assert.ok(res.roots.slice(2).every((r) => r === ROOT_NOT_REACHED));
  const read = asked.reduce((a, b) => a + b, 0);
  assert.ok(ctx.treeSize(idOf('d0')) > 64 * 1024, 'each tree is large');
  assert.ok(read <= 3, `${read} trees read for 2 scanned (in ${asked.length} calls)`);
});

test('the directories a batch left over go out in groups, at least four when there are four', () => {
  const sizes = (n: number): number[] => dirGroups(n).map(([a, b]) => b - a);
  assert.deepEqual(sizes(0), []);
  assert.deepEqual(sizes(1), [1]);
  assert.deepEqual(sizes(3), [1, 1, 1]);
  assert.deepEqual(sizes(4), [1, 1, 1, 1]);
  assert.deepEqual(sizes(40), [10, 10, 10, 10]);
  assert.deepEqual(sizes(41), [11, 11, 11, 8]);
  assert.deepEqual(sizes(1000), [...Array(31).fill(32), 8]);
  // In order, no gaps.
  const g = dirGroups(41);
  assert.equal(g[0]![0], 0);
  for (let i = 1; i < g.length; i++) assert.equal(g[i]![0], g[i - 1]![1]);
  assert.equal(g.at(-1)![1], 41);
});

test('OpenFiles keeps one descriptor per file, at most 16, and closes them all', (t) => {
  const tmp = makeTmpDir('rp-openfiles-', t);
  const store = new LocalStore(tmp);
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(tmp, `f${i}`), Buffer.from(`0123456789-${i}`));
  const open = new OpenFiles();
  const before = openFds();
  const [a, b] = store.getRanges('f0', [{ offset: 0, length: 4 }, { offset: 10, length: 3 }], open);
  assert.equal(a!.toString(), '0123');
  assert.equal(b!.toString(), '-0');
  assert.equal(open.fd(path.join(tmp, 'f0')), open.fd(path.join(tmp, 'f0')), 'reused');
  assert.equal(openFds(), before + 1);
  for (let i = 0; i < 20; i++) assert.equal(store.getRanges(`f${i}`, [{ offset: 11, length: 4 }], open)[0]!.toString(), `${i}`);
  assert.equal(open.size, 16);
  assert.equal(openFds(), before + 16);
  open.close();
  assert.equal(openFds(), before);
  assert.equal(store.getRanges('f3', [{ offset: 0, length: 2 }])[0]!.toString(), '01', 'without a cache: opened and closed');
  assert.equal(openFds(), before);
});
