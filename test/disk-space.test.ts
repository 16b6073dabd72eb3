// Never fill the disk: min_free stays free on the repository's filesystem. Retention removes what
// it may to make room; when that is not enough the snapshot stops cleanly (no point, earlier
// points intact, repository usable); removing points works on a full disk. On a small loop fs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { withLoopFs } from './helpers/loop-fs.js';
import { makeTmpDir } from './helpers/tmp.js';
import { assertTreesEqual } from './helpers/tree-compare.js';
import { listPoints, RESTORE_BIN, restoreInto, runCli, SNAPSHOT_BIN } from './helpers/cli.js';

const free = (dir: string): number => {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
};

test('min_free: prune to make room, else stop cleanly; deletion works on a full disk', async (t) => {
  const work = makeTmpDir('rp-space-', t);
  const root = path.join(work, 'root');
  fs.mkdirSync(root);
  await withLoopFs('ext4', 80, async (mnt) => {
    const repo = path.join(mnt, 'repo');
    const free0 = free(mnt);
    const fileSize = Math.floor(free0 * 0.3);
    const minFree = Math.floor(free0 * 0.25);
    const conf = path.join(work, 'snap.conf');
    const config = (minSnapshots: number): void =>
      fs.writeFileSync(conf, `min_free = ${minFree}\nmin_snapshots = ${minSnapshots}\nprotect_seconds = 0\nmax_size_ratio = 100\n`);
    const snap = (): ReturnType<typeof runCli> => runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--config', conf, '--db-locations', '/dev/null', '--no-boot', '--json', '--quiet']);
    const newContent = (): void => fs.writeFileSync(path.join(root, 'data.bin'), randomBytes(fileSize));

    config(1);
    newContent();
    assert.equal(snap().status, 0);
    newContent();
    assert.equal(snap().status, 0);
    // The third would cross min_free: retention removes the oldest point to make room.
    newContent();
    const third = snap();
    assert.equal(third.status, 0, third.stderr);
    assert.equal((JSON.parse(third.stdout) as { pruned: string[] }).pruned.length, 1);
    assert.ok(free(mnt) >= minFree);

    // With min_snapshots 5 nothing may go: the run stops before crossing min_free.
    const copy = path.join(work, 'state-before');
    execFileSync('cp', ['-a', root, copy]); // keeps ns mtimes (fs.cpSync rounds them)
    config(5);
    const before = listPoints(repo);
    newContent();
    const stopped = snap();
    assert.equal(stopped.status, 1);
    assert.match(stopped.stderr, /^system_snapshot: stopped before the filesystem of .* went below min_free .*no restore point was written, earlier ones are intact\n$/);
    assert.deepEqual(listPoints(repo), before, 'no half point');
    assert.ok(free(mnt) >= minFree, 'min_free was kept');
    const out = path.join(work, 'out');
    fs.mkdirSync(out);
    assert.equal(restoreInto(repo, before.length, out).status, 0);
    assertTreesEqual(copy, out, { ignoreRootMeta: true });
    assert.equal(runCli(SNAPSHOT_BIN, ['--repo', repo, '--check', '--config', '/dev/null']).status, 0, 'the repository is usable');

    // A completely full disk: removing a point (and its data) still works.
    config(1);
    const filler = path.join(mnt, 'filler');
    const fd = fs.openSync(filler, 'w');
    try {
      const block = Buffer.alloc(1024 * 1024);
      for (;;) fs.writeSync(fd, block);
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
    } finally {
      fs.closeSync(fd);
    }
    const onFull = snap();
    assert.notEqual(onFull.status, 0, 'not enough room even after pruning');
    assert.equal(listPoints(repo).length, 1, 'the older point was removed on the full disk');
    fs.rmSync(filler);
    const last = snap();
    assert.equal(last.status, 0, last.stderr);
  });
});

test('restore never fills ROOT: a file its filesystem has no room for stops the restore first', async (t) => {
  const work = makeTmpDir('rp-space-restore-', t);
  const repo = path.join(work, 'repo'); // on the big disk: only ROOT is short of space
  await withLoopFs('ext4', 48, async (mnt) => {
    const big = path.join(mnt, 'big.bin');
    const bigSize = Math.floor(free(mnt) * 0.4);
    fs.writeFileSync(big, randomBytes(bigSize));
    fs.writeFileSync(path.join(mnt, 'small.conf'), 'setting = 1\n');
    const args = ['--root', mnt, '--repo', repo, '--config', '/dev/null', '--db-locations', '/dev/null', '--no-boot'];
    assert.equal(runCli(SNAPSHOT_BIN, [...args, '--quiet']).status, 0);
    const state = path.join(work, 'state');
    execFileSync('cp', ['-a', mnt, state]);

    // The big file is gone and something else now takes the space: only half of it is free.
    fs.rmSync(big);
    fs.writeFileSync(path.join(mnt, 'small.conf'), 'setting = 2\n');
    const filler = path.join(mnt, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free(mnt) - Math.floor(bigSize / 2))));
    const freeBefore = free(mnt);
    assert.ok(freeBefore < bigSize, 'the big file does not fit now');

    const r = runCli(RESTORE_BIN, [...args, '--point', '1', '--yes']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^system_restore: restoring \/big\.bin failed: it needs [\d.]+ MiB but its filesystem has only [\d.]+ MiB free \([\d.]+ MiB are kept free\): stopped before filling the disk; .*run the same restore again.*\n$/);
    assert.equal(fs.existsSync(big), false);
    assert.deepEqual(fs.readdirSync(mnt).filter((n) => n.startsWith('.rp-restore-')), [], 'no temp file left');
    assert.ok(free(mnt) >= freeBefore - 1024 * 1024, 'nothing of the big file was written');

    // With the room back, the same command converges to the point exactly.
    fs.rmSync(filler);
    const again = runCli(RESTORE_BIN, [...args, '--point', '1', '--yes']);
    assert.equal(again.status, 0, again.stderr);
    assertTreesEqual(state, mnt, { ignoreRootMeta: true });
  });
});

test('restore never fills ROOT with many files that fit one by one but not together', async (t) => {
  const work = makeTmpDir('rp-space-many-', t);
  const repo = path.join(work, 'repo');
  await withLoopFs('ext4', 48, async (mnt) => {
    const many = path.join(mnt, 'many');
    fs.mkdirSync(many);
    const fileSize = 256 * 1024;
    const count = Math.floor((free(mnt) * 0.6) / fileSize);
    for (let i = 0; i < count; i++) fs.writeFileSync(path.join(many, `f${String(i).padStart(3, '0')}`), randomBytes(fileSize));
    const args = ['--root', mnt, '--repo', repo, '--config', '/dev/null', '--db-locations', '/dev/null', '--no-boot'];
    assert.equal(runCli(SNAPSHOT_BIN, [...args, '--quiet']).status, 0);

    // The files are gone and a filler leaves room for about half of them (named to sort after
    // "many": the restore deletes it, as it is not in the point, but only after many/).
    fs.rmSync(many, { recursive: true });
    const filler = path.join(mnt, 'zz-filler');
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free(mnt) - Math.floor((count * fileSize) / 2))));

    const r = runCli(RESTORE_BIN, [...args, '--point', '1', '--yes']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^system_restore: restoring \/many\/f\d{3} failed: it needs 0\.3 MiB but its filesystem has only [\d.]+ MiB free \([\d.]+ MiB are kept free\): stopped before filling the disk; /);
    const restored = fs.readdirSync(many).filter((n) => !n.startsWith('.rp-restore-'));
    assert.ok(restored.length > count / 4 && restored.length < count, `part of the files restored (${restored.length} of ${count})`);
    assert.deepEqual(fs.readdirSync(many).filter((n) => n.startsWith('.rp-restore-')), [], 'no temp file left');
    const s = fs.statfsSync(mnt);
    assert.ok(s.bavail * s.bsize >= Math.floor(s.blocks * s.bsize * 0.01), `the reserve is still free (${s.bavail * s.bsize} bytes)`);
  });
});
