// The walk's fast path for unchanged directories (src/worker/unchanged-dir.ts) must give exactly
// what the full path gives, and so must the full path's copying of the entries of a changed
// directory that did not change. Each case changes one thing the fast path has to notice in an
// otherwise unchanged directory, takes a second point, restores it into an empty directory and
// compares it with what the tree should hold then; the point's root tree must also be the one a
// first snapshot of the same tree stores (trees are canonical, so any entry kept wrongly shows).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listPoints, restoreInto, snapshotJson } from './helpers/cli.js';
import { assertTreesEqual } from './helpers/tree-compare.js';
import { BlobKind } from '../src/model/blob-id.js';
import { Compression } from '../src/repo/record.js';
import { indexTable, INDEX_ENTRY_BYTES, readIndexEntry } from '../src/repo/index-file.js';
import { TREE_COMPRESS_MIN } from '../src/scan/coordinator.js';
import { STAT_BATCH } from '../src/worker/worker-context.js';
import * as sys from '../src/sys/index.js';
import { createTree } from './helpers/tree-create.js';
import { makeNastyTreeSpec, NASTY } from './helpers/nasty-tree-spec.js';
import { mutateAll } from './helpers/mutate.js';
import { makeTmpDir } from './helpers/tmp.js';

/** The root tree id a point records. */
function pointRoot(repo: string, id: string): string {
  return (JSON.parse(fs.readFileSync(path.join(repo, 'points', `${id}.json`), 'utf8')) as { root: string }).root;
}

/** Point `id` of `repo` holds the same root tree as a first snapshot of `root` now. */
function assertSameAsFirstSnapshot(root: string, repo: string, id: string, scratch: string, extra: string[] = []): void {
  const freshRepo = fs.mkdtempSync(path.join(scratch, 'fresh-repo-'));
  const fresh = snapshotJson(root, freshRepo, extra);
  assert.equal(pointRoot(repo, id), pointRoot(freshRepo, fresh.id), 'the incremental point stores the trees a first snapshot stores');
}

function makeTree(root: string): void {
  for (const d of ['etc/app', 'etc/app/conf.d', 'var/lib/db', 'usr/bin']) fs.mkdirSync(path.join(root, d), { recursive: true });
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(root, `etc/app/file${i}.conf`), `key${i} = ${'v'.repeat(i * 10)}\n`);
  fs.writeFileSync(path.join(root, 'etc/app/conf.d/extra.conf'), 'extra = 1\n');
  fs.writeFileSync(path.join(root, 'var/lib/db/data.db'), 'rows\n');
  fs.writeFileSync(path.join(root, 'usr/bin/tool'), '#!/bin/sh\necho tool\n', { mode: 0o755 });
  fs.symlinkSync('tool', path.join(root, 'usr/bin/tool-link'));
}

interface Case {
  name: string;
  /** Extra arguments of the first snapshot. */
  first?(dir: string): string[];
  /** Changes the live tree; returns extra snapshot arguments. */
  change(root: string, dir: string): string[];
  /** Live paths the new point must not hold (and the comparison skips). */
  leftOut?: string[];
  /** Live directories the new point holds empty. */
  emptied?: string[];
}

const cases: Case[] = [
  {
    name: 'a new *.pid file is left out and the rest is kept',
    change: (root) => (fs.writeFileSync(path.join(root, 'etc/app/app.pid'), '123\n'), []),
    leftOut: ['etc/app/app.pid'],
  },
  {
    name: 'a deleted file is gone',
    change: (root) => (fs.rmSync(path.join(root, 'etc/app/file3.conf')), []),
  },
  {
    name: 'a renamed file (same inode, same count) has its new name',
    change: (root) => (fs.renameSync(path.join(root, 'etc/app/file4.conf'), path.join(root, 'etc/app/file4.conf.bak')), []),
  },
  {
    name: 'an exclusion added to the configuration applies to unchanged files and directories',
    change: (_root, dir) => {
      const conf = path.join(dir, 'snapshots.conf');
      fs.writeFileSync(conf, 'exclude = conf.d\nexclude = file1?.conf\n');
      return ['--config', conf];
    },
    leftOut: [...Array.from({ length: 10 }, (_v, i) => `etc/app/file1${i}.conf`), 'etc/app/conf.d/extra.conf'],
    emptied: ['etc/app/conf.d'],
  },
  {
    name: 'an exclusion removed from the configuration brings the directory back whole',
    first: (dir) => {
      const conf = path.join(dir, 'snapshots.conf');
      fs.writeFileSync(conf, 'exclude = conf.d\n');
      return ['--config', conf];
    },
    change: () => [],
  },
  {
    name: 'a database location added later is kept as an empty directory',
    change: (root, dir) => {
      const list = path.join(dir, 'database_locations');
      fs.writeFileSync(list, '/var/lib/db\n'); // as seen from ROOT
      return ['--db-locations', list];
    },
    leftOut: ['var/lib/db/data.db'],
    emptied: ['var/lib/db'],
  },
  {
    name: 'a symlink replaced by a file of the same name',
    change: (root) => {
      const p = path.join(root, 'usr/bin/tool-link');
      fs.rmSync(p);
      fs.writeFileSync(p, 'now a file\n');
      return [];
    },
  },
];

for (const c of cases) {
  test(`unchanged-directory fast path: ${c.name}`, (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-unch-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const root = path.join(dir, 'root');
    const repo = path.join(dir, 'repo');
    makeTree(root);
    snapshotJson(root, repo, c.first?.(dir) ?? []);
    const extra = c.change(root, dir);
    const second = snapshotJson(root, repo, extra);
    assertSameAsFirstSnapshot(root, repo, second.id, dir, extra);
    const target = path.join(dir, 'restored');
    fs.mkdirSync(target);
    const r = restoreInto(repo, listPoints(repo).at(-1)!.number, target, extra);
    assert.equal(r.status, 0, r.stderr);
    const leftOut = new Set(c.leftOut ?? []);
    const emptied = new Set(c.emptied ?? []);
    // An emptied directory keeps its own metadata; only what is below it is left out.
    assertTreesEqual(root, target, { ignore: (p) => leftOut.has(p) || [...emptied].some((d) => p.startsWith(`${d}/`)) });
    for (const p of leftOut) assert.equal(fs.existsSync(path.join(target, p)), false, `${p} is not in the point`);
    for (const d of emptied) assert.deepEqual(fs.readdirSync(path.join(target, d)), [], `${d} is empty in the point`);
  });
}

test('unchanged-directory fast path: a directory of more entries than one stat batch notices changes in every batch', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-unch-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'root');
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(path.join(root, 'big'), { recursive: true });
  const count = 2 * STAT_BATCH + 500;
  for (let i = 0; i < count; i++) fs.writeFileSync(path.join(root, 'big', `f${i}`), `file ${i}\n`);
  snapshotJson(root, repo);
  assert.equal(snapshotJson(root, repo).files_read, 0, 'unchanged: nothing read');
  // Entries are stat'ed in listing order, STAT_BATCH at a time: change one in each batch (the
  // first entry of the second batch, one in the middle of the third) and delete one.
  const fd = fs.openSync(path.join(root, 'big'), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  const listed: string[] = [];
  try {
    sys.forEachPackedName(sys.readdirPacked(fd), (name) => void listed.push(name.toString()));
  } finally {
    fs.closeSync(fd);
  }
  assert.equal(listed.length, count);
  for (const k of [5, STAT_BATCH, 2 * STAT_BATCH + 250]) fs.writeFileSync(path.join(root, 'big', listed[k]!), `changed ${k}\n`);
  fs.rmSync(path.join(root, 'big', listed[STAT_BATCH + 100]!));
  const third = snapshotJson(root, repo);
  assert.equal(third.files_read, 3);
  assertSameAsFirstSnapshot(root, repo, third.id, dir);
  const target = path.join(dir, 'restored');
  fs.mkdirSync(target);
  const r = restoreInto(repo, listPoints(repo).at(-1)!.number, target);
  assert.equal(r.status, 0, r.stderr);
  assertTreesEqual(root, target);
  // And with nothing changed again, the fast path takes the whole directory.
  assert.equal(snapshotJson(root, repo).files_read, 0);
});

test('changed directories keep the entries that did not change exactly: every kind of entry, after every kind of change', (t) => {
  const dir = makeTmpDir('rp-unch-', t); // removes what is immutable too
  const root = path.join(dir, 'root');
  const repo = path.join(dir, 'repo');
  // Files with xattrs, ACLs and capabilities, devices, FIFOs, hardlinks, sparse files, symlinks
  // and subdirectories, beside the entries the mutations change (edits, type changes,
  // deletions, additions, metadata): most directories of the tree change, and keep the rest.
  createTree(path.join(root, 'nasty'), makeNastyTreeSpec({ deep: false }));
  snapshotJson(root, repo);
  mutateAll(path.join(root, 'nasty'));
  const second = snapshotJson(root, repo);
  assertSameAsFirstSnapshot(root, repo, second.id, dir);
  const target = path.join(dir, 'restored');
  fs.mkdirSync(target);
  const r = restoreInto(repo, listPoints(repo).at(-1)!.number, target);
  assert.equal(r.status, 0, r.stderr);
  assertTreesEqual(root, target, { ignore: (p) => p === `nasty/${NASTY.socket}` });
});

test('small trees are stored raw, large ones compressed, in packs of their own; file content is compressed', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-unch-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'root');
  const repo = path.join(dir, 'repo');
  makeTree(root);
  fs.writeFileSync(path.join(root, 'usr/bin/big'), 'compressible line\n'.repeat(40_000));
  // A directory whose tree passes TREE_COMPRESS_MIN (each entry is ~100 bytes).
  fs.mkdirSync(path.join(root, 'var/spool'), { recursive: true });
  for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(root, `var/spool/job-${i}`), `job ${i}\n`);
  snapshotJson(root, repo);
  const compressionOf = new Map<BlobKind, Set<Compression>>();
  const treeSizes = new Map<Compression, number[]>();
  const packKinds: string[] = [];
  for (const f of fs.readdirSync(path.join(repo, 'index'))) {
    const table = indexTable(fs.readFileSync(path.join(repo, 'index', f)), f);
    const kinds = new Set<BlobKind>();
    for (let i = 0; i < table.length / INDEX_ENTRY_BYTES; i++) {
      const row = readIndexEntry(table, i);
      kinds.add(row.kind);
      if (row.kind === BlobKind.Tree) treeSizes.set(row.compression, [...(treeSizes.get(row.compression) ?? []), row.rawLength]);
      if (!compressionOf.has(row.kind)) compressionOf.set(row.kind, new Set());
      compressionOf.get(row.kind)!.add(row.compression);
    }
    packKinds.push(kinds.has(BlobKind.Tree) ? (kinds.size === 1 ? 'trees' : 'mixed') : 'data');
  }
  assert.deepEqual(packKinds.sort(), ['data', 'trees'], 'one pack of trees, one of data');
  const raw = treeSizes.get(Compression.None) ?? [];
  const packed = treeSizes.get(Compression.Zstd) ?? [];
  assert.ok(raw.length >= 5 && raw.every((n) => n < TREE_COMPRESS_MIN), `small trees raw: ${raw}`);
  assert.ok(packed.length === 1 && packed[0]! >= TREE_COMPRESS_MIN, `the large tree (var/spool) compressed: ${packed}`);
  assert.ok(compressionOf.get(BlobKind.Data)?.has(Compression.Zstd), 'file content is zstd-compressed');
});
