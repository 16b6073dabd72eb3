// In-place rollback: a tree changed in every way (MUTATIONS) is brought back exactly to its
// restore point; the pre-restore point rolls it forward again; a restore that finds the tree
// already as wanted writes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createTree } from './helpers/tree-create.js';
import { makeNastyTreeSpec, NASTY } from './helpers/nasty-tree-spec.js';
import { assertTreesEqual, compareTrees } from './helpers/tree-compare.js';
import { makeTmpDir } from './helpers/tmp.js';
import { mutateAll, MUTATIONS } from './helpers/mutate.js';
import { isolated, listPoints, restoreInto, runCli, RESTORE_BIN, snapshotJson } from './helpers/cli.js';

const ignoreSocket = (p: string): boolean => p === `nasty/${NASTY.socket}` || p === NASTY.socket;

function setup(t: Parameters<typeof makeTmpDir>[1]): { dir: string; root: string; repo: string; fresh: string } {
  const dir = makeTmpDir('rp-inplace-', t);
  const root = path.join(dir, 'root');
  const fresh = path.join(dir, 'fresh');
  createTree(path.join(root, 'nasty'), makeNastyTreeSpec({ deep: false }));
  // The same spec built again: what "exactly as at the restore point" looks like.
  createTree(path.join(fresh, 'nasty'), makeNastyTreeSpec({ deep: false }));
  return { dir, root, repo: path.join(dir, 'repo'), fresh };
}

test('full in-place restore undoes every mutation exactly, then rolls forward', (t) => {
  const { dir, root, repo, fresh } = setup(t);
  snapshotJson(root, repo, ['--note', 'good']);
  mutateAll(path.join(root, 'nasty'));
  const before = compareTrees(path.join(fresh, 'nasty'), path.join(root, 'nasty'), { ignore: ignoreSocket });
  assert.ok(before.length >= MUTATIONS.length, `the mutations show (${before.length} differences)`);

  const r = restoreInto(repo, 1, root);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /The state before this restore is restore point 2 \(pre-restore\)/);
  assertTreesEqual(path.join(fresh, 'nasty'), path.join(root, 'nasty'), { ignore: ignoreSocket });
  const points = listPoints(repo);
  assert.deepEqual(points.map((p) => p.note), ['good', 'pre-restore']);

  // Roll forward: the mutated state, as the pre-restore point holds it, comes back exactly.
  const mutated = path.join(dir, 'mutated');
  fs.mkdirSync(mutated);
  assert.equal(restoreInto(repo, 2, mutated).status, 0);
  const fwd = restoreInto(repo, 2, root);
  assert.equal(fwd.status, 0, fwd.stderr);
  assertTreesEqual(mutated, root, { ignore: ignoreSocket, ignoreRootMeta: true });
});

test('restoring a point identical to the live tree changes and writes nothing', (t) => {
  const { root, repo } = setup(t);
  snapshotJson(root, repo);
  const inode = fs.statSync(path.join(root, 'nasty', NASTY.passwd)).ino;
  const r = restoreInto(repo, 1, root);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /: 0 added, 0 changed, 0 deleted\./);
  assert.equal(fs.statSync(path.join(root, 'nasty', NASTY.passwd)).ino, inode, 'no file was rewritten');
});

test('a restore with a few changed files touches only them', (t) => {
  const { root, repo } = setup(t);
  snapshotJson(root, repo);
  const untouched = fs.statSync(path.join(root, 'nasty', NASTY.hardlinkFirst)).ino;
  fs.writeFileSync(path.join(root, 'nasty', NASTY.passwd), 'edited\n');
  const r = restoreInto(repo, 1, root);
  assert.equal(r.status, 0, r.stderr);
  // The file, and the mtimes of its directory and ROOT's directories above it.
  assert.match(r.stdout, /: 0 added, 4 changed, 0 deleted\./);
  assert.equal(fs.statSync(path.join(root, 'nasty', NASTY.hardlinkFirst)).ino, untouched);
});

test('--dry-run prints the plan and changes nothing, not even a pre-restore point', (t) => {
  const { root, repo } = setup(t);
  snapshotJson(root, repo);
  mutateAll(path.join(root, 'nasty'));
  const snapshotOfLive = (): string => JSON.stringify(fs.readdirSync(path.join(root, 'nasty'), { recursive: true }).sort());
  const liveBefore = snapshotOfLive();
  const r = runCli(RESTORE_BIN, ['--root', root, '--repo', repo, '--point', '1', '--dry-run', ...isolated()]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  for (const want of [
    `~ /nasty/${NASTY.passwd} (content, mtime)`,
    `~ /nasty/${NASTY.setuid} (mode)`,
    `+ /nasty/${NASTY.setgid}`,
    '- /nasty/etc/added-by-upgrade.conf',
    '- /nasty/usr/lib/newpkg',
    '~ /nasty/var/epoch (type)',
    `~ /nasty/${NASTY.relSymlink} (type)`,
    `~ /nasty/${NASTY.absSymlink} (content`,
    `~ /nasty/${NASTY.aliceNotes} (owner, xattrs)`,
  ]) {
    assert.ok(lines.some((l) => l.startsWith(want)), `plan has '${want}':\n${r.stdout}`);
  }
  assert.equal(lines.at(-2), 'boot area: skipped because --no-boot was given');
  const summary = lines.at(-1)!;
  const m = /^(\d+) added, (\d+) changed, (\d+) deleted \(dry run/.exec(summary);
  assert.ok(m, summary);
  assert.equal(Number(m[1]) + Number(m[2]) + Number(m[3]), lines.length - 2, 'the count matches the lines');
  assert.equal(snapshotOfLive(), liveBefore);
  assert.equal(listPoints(repo).length, 1, 'no pre-restore point');
  assert.deepEqual(fs.readdirSync(path.join(repo, 'tmp')), []);
});

test('--path restores only that path and leaves its parents and everything else alone', (t) => {
  const { root, repo, fresh } = setup(t);
  snapshotJson(root, repo);
  mutateAll(path.join(root, 'nasty'));
  const etc = path.join(root, 'nasty/etc');
  const etcMtime = fs.statSync(etc, { bigint: true }).mtimeNs;
  const r = runCli(RESTORE_BIN, ['--root', root, '--repo', repo, '--point', '1', '--yes', '--path', `/nasty/${NASTY.passwd}`, '--path', '/nasty/usr/bin', ...isolated()]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(listPoints(repo).length, 2, 'a pre-restore point first');
  // Restored: the two paths, exactly.
  assertTreesEqual(path.join(fresh, 'nasty/usr/bin'), path.join(root, 'nasty/usr/bin'));
  assert.equal(fs.readFileSync(path.join(root, 'nasty', NASTY.passwd), 'utf8'), fs.readFileSync(path.join(fresh, 'nasty', NASTY.passwd), 'utf8'));
  // Untouched: the parent's mtime and every other mutation.
  assert.equal(fs.statSync(etc, { bigint: true }).mtimeNs, etcMtime);
  assert.ok(fs.existsSync(path.join(root, 'nasty/etc/added-by-upgrade.conf')));
  assert.ok(fs.statSync(path.join(root, 'nasty/var/epoch')).isDirectory());
});
