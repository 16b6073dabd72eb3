// One writer at a time: a second snapshot, restore or check while one runs waits up to --wait and
// otherwise names the holder; a lock left by a killed process never blocks (flock dies with it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireRepoLock } from '../src/repo/repo-lock.js';
import { makeTmpDir } from './helpers/tmp.js';
import { isolated, RESTORE_BIN, runCli, snapshot, snapshotJson, SNAPSHOT_BIN, spawnCli } from './helpers/cli.js';

function setup(t: Parameters<typeof makeTmpDir>[1]): { root: string; repo: string } {
  const dir = makeTmpDir('rp-lock-', t);
  const root = path.join(dir, 'root');
  fs.mkdirSync(root);
  for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(root, `f${i}`), `file ${i}\n`);
  const repo = path.join(dir, 'repo');
  snapshotJson(root, repo);
  return { root, repo };
}

function runAsync(bin: string, args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawnCli(bin, args);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (status) => resolve({ status, stderr })));
}

test('snapshot, restore and check refuse a locked repository and name the holder', async (t) => {
  const { root, repo } = setup(t);
  const lock = await acquireRepoLock(repo, 'prune');
  try {
    const s = snapshot(root, repo);
    assert.equal(s.status, 1);
    assert.match(s.stderr, new RegExp(`^system_snapshot: another prune is running \\(pid ${process.pid}, since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); repository .* is locked`));
    const r = runCli(RESTORE_BIN, ['--root', root, '--repo', repo, '--point', '1', '--yes', ...isolated()]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /another prune is running/);
    const c = runCli(SNAPSHOT_BIN, ['--repo', repo, '--check', '--config', '/dev/null']);
    assert.equal(c.status, 1);
    assert.match(c.stderr, /another prune is running/);
  } finally {
    lock.release();
  }
});

test('--wait waits for the holder to finish', async (t) => {
  const { root, repo } = setup(t);
  const lock = await acquireRepoLock(repo, 'restore');
  const waiting = runAsync(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--wait', '10', '--quiet', ...isolated()]);
  await sleep(800);
  lock.release();
  const r = await waiting;
  assert.equal(r.status, 0, r.stderr);
});

test('--wait gives up after its time with the holder named', async (t) => {
  const { root, repo } = setup(t);
  const lock = await acquireRepoLock(repo, 'snapshot');
  try {
    const started = Date.now();
    const r = await runAsync(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--wait', '1', '--quiet', ...isolated()]);
    assert.equal(r.status, 1);
    assert.ok(Date.now() - started >= 1000);
    assert.match(r.stderr, /another snapshot is running .*\(waited 1 s\)/);
  } finally {
    lock.release();
  }
});

test('two snapshots at once: one runs, the other says so; a killed holder blocks nothing', async (t) => {
  const { root, repo } = setup(t);
  // Changed files are read, and each read pauses 10 ms: the first run lasts about a second.
  const touchAll = (): void => {
    for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(root, `f${i}`), `file ${i} changed ${Date.now()}\n`);
  };
  touchAll();
  const slow = ['--test-read-delay-ms', '10'];
  const [a, b] = await Promise.all([
    runAsync(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--quiet', ...slow, ...isolated()]),
    (async () => {
      await sleep(400);
      return runAsync(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--quiet', ...isolated()]);
    })(),
  ]);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /another snapshot is running \(pid \d+/);

  touchAll();
  const child = spawnCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--quiet', ...slow, ...isolated()]);
  await sleep(500);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('exit', resolve));
  const after = snapshot(root, repo, ['--quiet']);
  assert.equal(after.status, 0, after.stderr);
});
