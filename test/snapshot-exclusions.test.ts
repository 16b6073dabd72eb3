// What a snapshot leaves out, checked by restoring the point into an empty directory: each
// built-in pattern of the contract, config patterns, database locations, the repository inside
// ROOT (by path and through a bind mount, by device+inode), and a tmpfs mounted inside ROOT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SNAPSHOT_BIN, restoreInto, runCli } from './helpers/cli.js';

function write(root: string, rel: string, content = 'x\n'): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), content);
}

test('exclusions: built-in patterns, config, databases, repository, pseudo mounts', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-excl-'));
  const mounts: string[] = [];
  t.after(() => {
    for (const m of mounts.reverse()) execFileSync('umount', [m]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const root = path.join(dir, 'root');
  const kept = ['etc/passwd', 'etc/mnt-notes', 'var/lib/heartbeat-old/x', 'srv/tmp/keep', 'home/a/price$', 'var/lib/mysql-tools/bin'];
  const omitted = [
    'dev/sda',
    'proc/1/status',
    'sys/kernel/x',
    'tmp/scratch',
    'mnt/cdrom/file',
    'data/mnt/inner/file',
    'var/lib/heartbeat/hb.state',
    'var/lib/heartbeat/crm/cib.xml',
    'var/lock/subsys/sshd',
    'run/sshd.pid',
    'home/a/.notes.swp',
    'home/a/backup.tar$',
    'srv/cache/blob',
    'var/lib/mysql/ibdata1',
    'var/lib/pgsql/data/base',
  ];
  for (const f of [...kept, ...omitted]) write(root, f);
  // Directories that must come back empty (mount points and excluded dirs keep their metadata).
  fs.chmodSync(path.join(root, 'tmp'), 0o1777);
  const emptyDirs = ['dev', 'proc', 'sys', 'tmp', 'mnt', 'data/mnt', 'var/lib/heartbeat/crm', 'var/lib/mysql', 'var/lib/pgsql', 'root/snapshots', 'srv/repo-bind', 'run/shm'];

  // The repository inside ROOT, and visible a second time through a bind mount.
  const repo = path.join(root, 'root/snapshots');
  fs.mkdirSync(path.join(root, 'srv/repo-bind'), { recursive: true });
  const conf = path.join(dir, 'snap.conf');
  fs.writeFileSync(conf, 'exclude = /srv/cache/*\n');
  const dbs = path.join(dir, 'dbs');
  fs.writeFileSync(dbs, '# databases\n/var/lib/mysql\n/var/lib/pgsql/\n');
  // First a point so the repository has content, then bind-mount it inside ROOT.
  const first = runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--config', conf, '--db-locations', dbs, '--no-boot', '--quiet']);
  assert.equal(first.status, 0, first.stderr);
  execFileSync('mount', ['--bind', repo, path.join(root, 'srv/repo-bind')]);
  mounts.push(path.join(root, 'srv/repo-bind'));
  fs.mkdirSync(path.join(root, 'run/shm'), { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', path.join(root, 'run/shm')]);
  mounts.push(path.join(root, 'run/shm'));
  write(root, 'run/shm/volatile');

  const r = runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--config', conf, '--db-locations', dbs, '--no-boot', '--json', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  const res = restoreInto(repo, 2, out);
  assert.equal(res.status, 0, res.stderr);

  for (const f of kept) assert.ok(fs.existsSync(path.join(out, f)), `kept: ${f}`);
  for (const f of omitted) assert.ok(!fs.existsSync(path.join(out, f)), `excluded: ${f}`);
  for (const d of emptyDirs) {
    assert.ok(fs.statSync(path.join(out, d)).isDirectory(), `${d} is kept as a directory`);
    assert.deepEqual(fs.readdirSync(path.join(out, d)), [], `${d} is empty`);
  }
  assert.equal(fs.statSync(path.join(out, 'tmp')).mode & 0o7777, 0o1777, 'an excluded directory keeps its own mode');
  assert.ok(fs.existsSync(path.join(out, 'var/lib/heartbeat')), 'the parent of an excluded pattern stays');
  assert.ok(fs.existsSync(path.join(out, 'var/lock/subsys')), 'a directory whose contents are excluded stays');
});
