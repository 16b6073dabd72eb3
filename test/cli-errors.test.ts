// Bad input per the contract: one line on stderr naming the thing, a non-zero exit (2 for usage
// and configuration), and nothing written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { RESTORE_BIN, SNAPSHOT_BIN, runCli } from './helpers/cli.js';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rp-cli-'));
}

function assertOneLineError(stderr: string, re: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected, got:\n${stderr}`);
  assert.match(lines[0]!, re);
}

test('unknown option: exit 2, names the option, writes nothing', () => {
  const dir = tmp();
  try {
    const r = runCli(SNAPSHOT_BIN, ['--root', dir, '--repo', path.join(dir, 'repo'), '--bogus']);
    assert.equal(r.status, 2);
    assertOneLineError(r.stderr, /unknown option '--bogus'/);
    assert.equal(fs.existsSync(path.join(dir, 'repo')), false);
    const r2 = runCli(RESTORE_BIN, ['--frobnicate']);
    assert.equal(r2.status, 2);
    assertOneLineError(r2.stderr, /unknown option '--frobnicate'/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad value of a hidden testing option is a usage error too, before anything is written', () => {
  const dir = tmp();
  try {
    const r = runCli(SNAPSHOT_BIN, ['--root', dir, '--repo', path.join(dir, 'repo'), '--config', '/dev/null', '--no-boot', '--test-racy-margin-ms', 'abc']);
    assert.equal(r.status, 2);
    assertOneLineError(r.stderr, /--test-racy-margin-ms needs a whole number of milliseconds, got 'abc'/);
    assert.equal(fs.existsSync(path.join(dir, 'repo')), false);
    const r2 = runCli(RESTORE_BIN, ['--root', dir, '--repo', path.join(dir, 'repo'), '--config', '/dev/null', '--test-racy-margin-ms', '-5']);
    assert.equal(r2.status, 2);
    assertOneLineError(r2.stderr, /--test-racy-margin-ms needs a whole number of milliseconds, got '-5'/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('missing explicit config file: exit 2, names the file, writes nothing', () => {
  const dir = tmp();
  try {
    const r = runCli(SNAPSHOT_BIN, ['--root', dir, '--repo', path.join(dir, 'repo'), '--config', '/nonexistent/snap.conf']);
    assert.equal(r.status, 2);
    assertOneLineError(r.stderr, /\/nonexistent\/snap\.conf/);
    assert.equal(fs.existsSync(path.join(dir, 'repo')), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bad config line: exit 2, names file and line', () => {
  const dir = tmp();
  try {
    const conf = path.join(dir, 'snap.conf');
    fs.writeFileSync(conf, 'min_snapshots = 2\nmax_size_ratio = lots\n');
    const r = runCli(SNAPSHOT_BIN, ['--root', dir, '--repo', path.join(dir, 'repo'), '--config', conf]);
    assert.equal(r.status, 2);
    assertOneLineError(r.stderr, new RegExp(`${conf} line 2: max_size_ratio`));
    assert.equal(fs.existsSync(path.join(dir, 'repo')), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('ROOT missing: exit 2, names ROOT, no repository created', () => {
  const dir = tmp();
  try {
    const r = runCli(SNAPSHOT_BIN, ['--root', path.join(dir, 'nope'), '--repo', path.join(dir, 'repo'), '--config', '/dev/null', '--db-locations', '/dev/null', '--no-boot']);
    assert.equal(r.status, 2);
    assertOneLineError(r.stderr, /root .*nope does not exist/);
    assert.equal(fs.existsSync(path.join(dir, 'repo')), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('repository path is a file: exit 2, names it, the file is untouched', () => {
  const dir = tmp();
  try {
    const file = path.join(dir, 'repo');
    fs.writeFileSync(file, 'precious');
    fs.mkdirSync(path.join(dir, 'root'));
    const r = runCli(SNAPSHOT_BIN, ['--root', path.join(dir, 'root'), '--repo', file, '--config', '/dev/null', '--db-locations', '/dev/null', '--no-boot']);
    assert.equal(r.status, 2);
    assertOneLineError(r.stderr, /repository path .*repo exists and is not a directory/);
    assert.equal(fs.readFileSync(file, 'utf8'), 'precious');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a non-empty directory without repo.json is refused as a repository', () => {
  const dir = tmp();
  try {
    fs.mkdirSync(path.join(dir, 'repo'));
    fs.writeFileSync(path.join(dir, 'repo', 'data.txt'), 'x');
    fs.mkdirSync(path.join(dir, 'root'));
    const r = runCli(SNAPSHOT_BIN, ['--root', path.join(dir, 'root'), '--repo', path.join(dir, 'repo'), '--config', '/dev/null', '--db-locations', '/dev/null', '--no-boot']);
    assert.equal(r.status, 2);
    assertOneLineError(r.stderr, /not empty and holds no repository/);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'repo')), ['data.txt']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('restore: unknown point and missing repository are usage errors', () => {
  const dir = tmp();
  try {
    const r = runCli(RESTORE_BIN, ['--repo', path.join(dir, 'none'), '--list', '--config', '/dev/null']);
    assert.equal(r.status, 2);
    assertOneLineError(r.stderr, /no repository at/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a previous point whose tree is gone: one line naming the blob, non-zero exit, no new point', () => {
  const dir = tmp();
  try {
    const root = path.join(dir, 'root');
    const repo = path.join(dir, 'repo');
    fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(root, 'etc', 'a.conf'), 'a = 1\n');
    const args = ['--root', root, '--repo', repo, '--config', '/dev/null', '--db-locations', '/dev/null', '--no-boot', '--quiet'];
    assert.equal(runCli(SNAPSHOT_BIN, args).status, 0);
    const [pointFile] = fs.readdirSync(path.join(repo, 'points'));
    const pointPath = path.join(repo, 'points', pointFile!);
    const point = JSON.parse(fs.readFileSync(pointPath, 'utf8')) as { root: string };
    point.root = 'ab'.repeat(32); // a tree no pack holds
    fs.writeFileSync(pointPath, JSON.stringify(point));
    // The scan threads are already booting when the previous tree is asked for; the command must
    // still end with the error (spawnSync's timeout killing it would give status null).
    const r = spawnSync(SNAPSHOT_BIN, args, { encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(r.status, null, 'the snapshot exited by itself');
    assert.notEqual(r.status, 0);
    assertOneLineError(r.stderr, /abababab/);
    assert.deepEqual(fs.readdirSync(path.join(repo, 'points')), [pointFile]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
