// The basic round trip of issue 2: regular files (empty, small, 100 MiB), directories, symlinks,
// setuid/setgid/sticky, numeric uid/gid and ns mtimes come back exactly from a restore into an
// empty directory. SIGINT during a snapshot leaves no point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTree } from './helpers/tree-create.js';
import { dir, file, patternFile, symlink } from './helpers/tree-spec.js';
import { assertTreesEqual } from './helpers/tree-compare.js';
import { makeTmpDir } from './helpers/tmp.js';
import { isolated, listPoints, restoreInto, SNAPSHOT_BIN, snapshotJson, spawnCli } from './helpers/cli.js';

const MiB = 1024 * 1024;

test('round trip: empty, small and 100 MiB files, dirs, symlinks, special modes, ids, ns mtimes', (t) => {
  const work = makeTmpDir('rp-rt-', t);
  const root = path.join(work, 'root');
  createTree(
    root,
    dir(
      {
        empty: file(''),
        small: file('hello\n', { mtimeNs: 1_234_567_890_123_456_789n }),
        big: patternFile(100 * MiB, { seed: 9 }, { mtimeNs: 1_700_000_001_000_000_001n }),
        setuid: file('x', { mode: 0o4755 }),
        setgid: file('x', { mode: 0o2711, gid: 50 }),
        owned: file('x', { uid: 4_000_000_000, gid: 1234, mode: 0o600 }),
        sticky: dir({ inside: file('t') }, { mode: 0o1777, mtimeNs: 999_999_999n }),
        nested: dir({ a: dir({ b: dir({ c: file('deep') }) }) }, { uid: 33, gid: 33, mode: 0o750 }),
        link: symlink('nested/a/b/c', { uid: 33, gid: 33, mtimeNs: 5_000_000_007n }),
        dangling: symlink('/nowhere/at/all'),
      },
      { mode: 0o755 },
    ),
  );
  const repo = path.join(work, 'repo');
  const out = path.join(work, 'out');
  fs.mkdirSync(out);
  const snap = snapshotJson(root, repo);
  assert.equal(snap.files, 10);
  assert.equal(restoreInto(repo, 1, out).status, 0);
  assertTreesEqual(root, out);
});

test('SIGINT during a snapshot: exit 130, no point, the next run succeeds', async (t) => {
  const work = makeTmpDir('rp-int-', t);
  const root = path.join(work, 'root');
  fs.mkdirSync(root);
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(root, `f${i}`), `file ${i}\n`);
  const repo = path.join(work, 'repo');
  snapshotJson(root, repo);
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(root, `f${i}`), `changed ${i}\n`);
  const child = spawnCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--test-read-delay-ms', '10', ...isolated()]);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  await sleep(700);
  child.kill('SIGINT');
  assert.equal(await code, 130);
  assert.match(stderr, /interrupted: no restore point was written/);
  assert.equal(listPoints(repo).length, 1);
  snapshotJson(root, repo);
  assert.equal(listPoints(repo).length, 2);
});
