// A restore must never be steered outside ROOT by the live tree, and an interrupted restore run
// again must converge to the exact tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTree } from './helpers/tree-create.js';
import { dir, file, patternFile } from './helpers/tree-spec.js';
import { makeNastyTreeSpec, NASTY } from './helpers/nasty-tree-spec.js';
import { assertTreesEqual } from './helpers/tree-compare.js';
import { makeTmpDir } from './helpers/tmp.js';
import { mutateAll } from './helpers/mutate.js';
import { isolated, listPoints, restoreInto, RESTORE_BIN, snapshotJson, spawnCli } from './helpers/cli.js';

test('a directory replaced by a symlink to outside ROOT: restored, and nothing outside is touched', (t) => {
  const dir0 = makeTmpDir('rp-escape-', t);
  const root = path.join(dir0, 'root');
  const outside = path.join(dir0, 'outside');
  const repo = path.join(dir0, 'repo');
  createTree(root, { etc: dir({ passwd: file('root:x:0:0::/root:/bin/sh\n'), 'ssh': dir({ sshd_config: file('PermitRootLogin no\n') }) }) });
  createTree(outside, { passwd: file('CANARY\n'), ssh: dir({ keep: file('CANARY 2\n') }) });
  snapshotJson(root, repo);
  const outsideBefore = fs.readdirSync(outside, { recursive: true }).sort();
  const canaryStat = fs.statSync(path.join(outside, 'passwd'), { bigint: true });

  fs.rmSync(path.join(root, 'etc'), { recursive: true });
  fs.symlinkSync(outside, path.join(root, 'etc'));
  const r = restoreInto(repo, 1, root);
  assert.equal(r.status, 0, r.stderr);

  assert.ok(fs.lstatSync(path.join(root, 'etc')).isDirectory(), 'etc is a directory again');
  assert.equal(fs.readFileSync(path.join(root, 'etc/passwd'), 'utf8'), 'root:x:0:0::/root:/bin/sh\n');
  assert.deepEqual(fs.readdirSync(outside, { recursive: true }).sort(), outsideBefore, 'nothing created or deleted outside');
  const after = fs.statSync(path.join(outside, 'passwd'), { bigint: true });
  assert.equal(fs.readFileSync(path.join(outside, 'passwd'), 'utf8'), 'CANARY\n');
  assert.equal(after.mtimeNs, canaryStat.mtimeNs);
  assert.equal(after.ctimeNs, canaryStat.ctimeNs, 'the canary inode was not even chmod-ed');
  assert.equal(fs.readFileSync(path.join(outside, 'ssh/keep'), 'utf8'), 'CANARY 2\n');
});

test('kill -9 of a restore at 10 moments, then the same restore again: the exact tree every time', async (t) => {
  const dir0 = makeTmpDir('rp-rerun-', t);
  const root = path.join(dir0, 'root');
  const fresh = path.join(dir0, 'fresh');
  const repo = path.join(dir0, 'repo');
  // Enough content that the apply phase takes a while to interrupt.
  const bulk = dir(Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`f${i}`, patternFile(200_000 + i, { seed: i })])));
  const spec = (): ReturnType<typeof makeNastyTreeSpec> => makeNastyTreeSpec({ deep: false });
  createTree(path.join(root, 'nasty'), spec());
  createTree(path.join(root, 'bulk'), bulk);
  createTree(path.join(fresh, 'nasty'), spec());
  createTree(path.join(fresh, 'bulk'), bulk);
  const point = snapshotJson(root, repo).id;
  const ignore = (p: string): boolean => p === `nasty/${NASTY.socket}`;

  for (const delayMs of [200, 350, 500, 650, 800, 950, 1100, 1300, 1600, 2000]) {
    mutateAll(path.join(root, 'nasty'));
    for (let i = 0; i < 120; i += 3) fs.writeFileSync(path.join(root, 'bulk', `f${i}`), `changed ${delayMs}`);
    const child = spawnCli(RESTORE_BIN, ['--root', root, '--repo', repo, '--point', point, '--yes', ...isolated()]);
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    await sleep(delayMs);
    child.kill('SIGKILL');
    await exited;
    const r = restoreInto(repo, point, root);
    assert.equal(r.status, 0, `rerun after a kill at ${delayMs} ms: ${r.stderr}`);
    assertTreesEqual(fresh, root, { ignore, ignoreRootMeta: true });
  }
  assert.ok(listPoints(repo).length > 10, 'each restore took its pre-restore point first');
});
