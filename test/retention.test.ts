// Retention as the seed says: oldest first while the repository exceeds max_size_ratio x the data,
// never below min_snapshots, never younger than protect_seconds; removed points' space is
// reclaimed and every remaining point still restores exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { nextRemoval, nextRemovalForSpace, type RetentionConfig } from '../src/retention/retention-policy.js';
import { makeTmpDir } from './helpers/tmp.js';
import { assertTreesEqual } from './helpers/tree-compare.js';
import { listPoints, outcome, restoreInto, runCli, SNAPSHOT_BIN, snapshotJson, spawnCli } from './helpers/cli.js';

const HOUR = 3600 * 1000;
const now = 1_800_000_000_000;
const cfg: RetentionConfig = { maxSizeRatio: 1.5, minSnapshots: 2, protectSeconds: 86400 };
const pts = (...agesHours: number[]) => agesHours.map((h, i) => ({ id: `p${i}`, timeMs: now - h * HOUR }));

const cases: [string, ReturnType<typeof pts>, number, number, RetentionConfig, string | null, RegExp][] = [
  ['within the ratio: nothing', pts(72, 48, 30), 140, 100, cfg, null, /within 1.5 x/],
  ['over the ratio: the oldest', pts(30, 72, 48), 200, 100, cfg, 'p1', /exceeds 1.5 x/],
  ['over, but only min_snapshots left', pts(72, 48), 900, 100, cfg, null, /at least 2 are always kept/],
  ['over, but the oldest is younger than protect_seconds', pts(23, 20, 1), 900, 100, cfg, null, /newer than 86400 seconds are never removed/],
  ['exactly protect_seconds old may go', pts(24, 20, 1), 900, 100, cfg, 'p0', /exceeds/],
  ['min_snapshots 1 allows down to one', pts(72, 48), 900, 100, { ...cfg, minSnapshots: 1 }, 'p0', /exceeds/],
];
for (const [name, points, repoBytes, dataBytes, c, want, reason] of cases) {
  test(`retention policy: ${name}`, () => {
    const d = nextRemoval(points, repoBytes, dataBytes, now, c);
    assert.equal(d.remove?.id ?? null, want);
    assert.match(d.reason, reason);
  });
}

test('retention policy for free space keeps the same protections', () => {
  assert.equal(nextRemovalForSpace(pts(72, 48, 30), 10, 5, now, cfg).remove, null);
  assert.equal(nextRemovalForSpace(pts(72, 48, 30), 1, 5, now, cfg).remove?.id, 'p0');
  assert.equal(nextRemovalForSpace(pts(72, 48), 1, 5, now, cfg).remove, null);
  assert.equal(nextRemovalForSpace(pts(2, 1, 0.5), 1, 5, now, cfg).remove, null);
});

function churn(root: string, round: number): void {
  // Incompressible new content each round: the repository outgrows the data quickly.
  fs.writeFileSync(path.join(root, 'data.bin'), randomBytes(2 * 1024 * 1024));
  fs.writeFileSync(path.join(root, 'round.txt'), `round ${round}\n`);
}

test('end to end with a tiny ratio: oldest points go, space is reclaimed, the rest restore exactly', (t) => {
  const dir = makeTmpDir('rp-retain-', t);
  const root = path.join(dir, 'root');
  const repo = path.join(dir, 'repo');
  const conf = path.join(dir, 'snap.conf');
  fs.mkdirSync(root);
  fs.writeFileSync(conf, 'max_size_ratio = 1\nmin_snapshots = 2\nprotect_seconds = 0\n');
  const states: string[] = [];
  const pruned: string[] = [];
  for (let round = 0; round < 5; round++) {
    churn(root, round);
    const r = snapshotJson(root, repo, ['--config', conf]);
    pruned.push(...(r.pruned as string[]));
    const copy = path.join(dir, `state${round}`);
    execFileSync('cp', ['-a', root, copy]);
    states[round] = copy;
  }
  const left = listPoints(repo);
  assert.equal(left.length, 2, 'down to min_snapshots');
  assert.equal(pruned.length, 3);
  const repoBytes = Number(execFileSync('du', ['-sb', '--exclude=tmp', repo], { encoding: 'utf8' }).split('\t')[0]);
  assert.ok(repoBytes < 6 * 1024 * 1024, `space of removed points reclaimed (${repoBytes} bytes)`);
  left.forEach((p, i) => {
    const out = path.join(dir, `out${i}`);
    fs.mkdirSync(out);
    assert.equal(restoreInto(repo, p.number, out).status, 0);
    assertTreesEqual(states[3 + i]!, out, { ignoreRootMeta: true });
  });
  assert.equal(runCli(SNAPSHOT_BIN, ['--repo', repo, '--check', '--read-data', '--config', '/dev/null']).status, 0);
});

test('the seed texts name each removed point; a point file that cannot be read is never removed', (t) => {
  const dir = makeTmpDir('rp-retain-', t);
  const root = path.join(dir, 'root');
  const repo = path.join(dir, 'repo');
  const conf = path.join(dir, 'snap.conf');
  fs.mkdirSync(root);
  fs.writeFileSync(conf, 'max_size_ratio = 1\nmin_snapshots = 1\nprotect_seconds = 0\n');
  churn(root, 0);
  const first = snapshotJson(root, repo, ['--config', conf]);
  fs.writeFileSync(path.join(repo, 'points', `${first.id}.json`), '{ damaged');
  churn(root, 1);
  const r = runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--config', conf, '--db-locations', '/dev/null', '--no-boot']);
  assert.equal(r.status, 0, r.stderr);
  churn(root, 2);
  const r2 = runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--config', conf, '--db-locations', '/dev/null', '--no-boot']);
  assert.equal(r2.status, 0, r2.stderr);
  assert.ok(fs.existsSync(path.join(repo, 'points', `${first.id}.json`)), 'the unreadable point file stays');
  assert.match(r2.stderr, /point file\(s\) \S+ cannot be read; their data is kept/);
  assert.match(r2.stdout, /^Removed restore point \S+ taken \S+: the repository \(\d+ bytes\) exceeds 1 x the data/m);
});

test('kill -9 during retention and prune: every listed point still restores exactly', async (t) => {
  const dir = makeTmpDir('rp-prunekill-', t);
  const root = path.join(dir, 'root');
  const repo = path.join(dir, 'repo');
  const conf = path.join(dir, 'snap.conf');
  fs.mkdirSync(root);
  fs.writeFileSync(conf, 'min_snapshots = 1\nprotect_seconds = 0\n');
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(root, `keep${i}.bin`), randomBytes(200 * 1024));
  for (let round = 0; round < 6; round++) {
    churn(root, round);
    snapshotJson(root, repo, ['--config', conf]);
  }
  // Now a ratio that forces pruning of most points, killed at several moments.
  fs.writeFileSync(conf, 'max_size_ratio = 1\nmin_snapshots = 1\nprotect_seconds = 0\n');
  for (const delayMs of [300, 600, 900, 1200]) {
    churn(root, 100 + delayMs);
    const child = spawnCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--config', conf, '--db-locations', '/dev/null', '--no-boot', '--quiet']);
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    await sleep(delayMs);
    child.kill('SIGKILL');
    await exited;
    const check = runCli(SNAPSHOT_BIN, ['--repo', repo, '--check', '--config', '/dev/null']);
    assert.equal(check.status, 0, `after a kill at ${delayMs} ms: ${check.stdout} ${outcome(check)}`);
    for (const p of listPoints(repo)) {
      const out = fs.mkdtempSync(path.join(dir, 'out-'));
      const r = restoreInto(repo, p.id, out);
      assert.equal(r.status, 0, `restore of ${p.id} after a kill at ${delayMs} ms: ${outcome(r)}`);
      fs.rmSync(out, { recursive: true, force: true });
    }
  }
});

test('retention weighs the files\' data: holes of sparse files and extra hard links are not counted', (t) => {
  const dir = makeTmpDir('rp-retain-', t);
  const root = path.join(dir, 'root');
  const repo = path.join(dir, 'repo');
  const conf = path.join(dir, 'snap.conf');
  const MiB = 1024 * 1024;
  // A 1 GiB image holding 1 MiB, and a 2 MiB file with three names, in a directory that does not
  // change afterwards (so the later snapshots count it on the unchanged-directory path).
  fs.mkdirSync(path.join(root, 'img'), { recursive: true });
  const fd = fs.openSync(path.join(root, 'img', 'disk.img'), 'w');
  fs.writeSync(fd, randomBytes(MiB), 0, MiB, 512 * MiB);
  fs.ftruncateSync(fd, 1024 * MiB);
  fs.closeSync(fd);
  fs.writeFileSync(path.join(root, 'img', 'shared.bin'), randomBytes(2 * MiB));
  fs.linkSync(path.join(root, 'img', 'shared.bin'), path.join(root, 'img', 'link1'));
  fs.linkSync(path.join(root, 'img', 'shared.bin'), path.join(root, 'img', 'link2'));
  fs.writeFileSync(conf, 'max_size_ratio = 1.5\nmin_snapshots = 1\nprotect_seconds = 0\n');

  const inRange = (r: Record<string, unknown>, extra: number): void => {
    const data = r.data_bytes as number;
    // 1 MiB + 2 MiB + the churned 2 MiB file; allocation may round up a little per file.
    assert.ok(data >= 3 * MiB + extra && data <= 3 * MiB + extra + 256 * 1024, `data_bytes ${data}`);
    assert.ok((r.bytes_scanned as number) >= 1024 * MiB + 6 * MiB + extra, `bytes_scanned ${String(r.bytes_scanned)}`);
  };
  const first = snapshotJson(root, repo, ['--config', conf]);
  inRange(first, 0);
  const pruned: string[] = [];
  for (let round = 0; round < 3; round++) {
    churn(root, round); // 2 MiB of new incompressible data each round
    const r = snapshotJson(root, repo, ['--config', conf]);
    inRange(r, 2 * MiB + 'round 0\n'.length);
    pruned.push(...(r.pruned as string[]));
  }
  // Weighed against bytes_scanned (over 1 GiB) nothing would ever go; against the ~5 MiB of data,
  // a repository holding 3 + 2 x 2 MiB of incompressible content is over 1.5 x and old points go.
  assert.ok(pruned.includes(first.id as string), `the first point was pruned (pruned: ${pruned.join(' ')})`);
  assert.equal(runCli(SNAPSHOT_BIN, ['--repo', repo, '--check', '--config', '/dev/null']).status, 0);
});
