// The seed's interactive flow, driven through stdin: listing, number prompt, warning, 'yes'
// prompt. Anything but 'yes', end of input or Ctrl-C leaves everything as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { makeTmpDir } from './helpers/tmp.js';
import { isolated, listPoints, runCli, RESTORE_BIN, snapshotJson } from './helpers/cli.js';

function setup(t: Parameters<typeof makeTmpDir>[1]): { root: string; repo: string; dbs: string } {
  const dir = makeTmpDir('rp-prompt-', t);
  const root = path.join(dir, 'root');
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/my.cnf'), 'v1\n');
  const repo = path.join(dir, 'repo');
  snapshotJson(root, repo, ['--note', 'before upgrade']);
  fs.writeFileSync(path.join(root, 'etc/my.cnf'), 'v2\n');
  snapshotJson(root, repo);
  const dbs = path.join(dir, 'dbs');
  fs.writeFileSync(dbs, '/var/lib/mysql\n/var/lib/mysql_recovery\n');
  return { root, repo, dbs };
}

const args = (root: string, repo: string, dbs: string): string[] => ['--root', root, '--repo', repo, '--config', '/dev/null', '--db-locations', dbs, '--no-boot'];

test('the listing, prompts and warning are the seed\'s; answering yes restores', (t) => {
  const { root, repo, dbs } = setup(t);
  const r = runCli(RESTORE_BIN, args(root, repo, dbs), '1\nyes\n');
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /Backups currently available:\n/);
  assert.match(out, /Restore point 1: \d\d-\d\d-\d{4} : at \d+ hours, \d+ min, and \d+ seconds\. \( 0 days, 0 hrs, \d+ minutes ago\) \[before upgrade\]\n/);
  assert.match(out, /Restore point 2: .*minutes ago\)\n/);
  assert.match(out, /The current server time is \w{3} \w{3} \d\d \d\d:\d\d:\d\d \S+ \d{4}\n/);
  assert.match(out, /   Any restore operation will exclude these databases:\n   \/var\/lib\/mysql\n   \/var\/lib\/mysql_recovery\n/);
  assert.match(out, /WILL NOT touch the data,/);
  assert.match(out, / Enter the number of the restore point to recover to \(or press CTRL-C to exit\): /);
  assert.match(out, / ARE YOU SURE\? THIS WILL REVERT THE FILESYSTEM TO THIS POINT IN TIME!\n/);
  assert.match(out, / Changes since then will be lost, unless a more recent restore point\n exists \(if so, you can still roll forward\)\./);
  assert.match(out, /To continue and revert the system to a prior point in time, type 'yes' :/);
  assert.equal(fs.readFileSync(path.join(root, 'etc/my.cnf'), 'utf8'), 'v1\n');
});

for (const [label, input] of [
  ['answering no', '1\nno\n'],
  ["answering 'yes please'", '1\nyes please\n'],
  ['answering YES', '2\nYES\n'],
  ['end of input at the number prompt', ''],
  ['end of input at the yes prompt', '1\n'],
] as const) {
  test(`${label}: exit 1, nothing was changed`, (t) => {
    const { root, repo, dbs } = setup(t);
    const r = runCli(RESTORE_BIN, args(root, repo, dbs), input);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /nothing was changed/);
    assert.equal(fs.readFileSync(path.join(root, 'etc/my.cnf'), 'utf8'), 'v2\n');
    assert.equal(listPoints(repo).length, 2, 'no pre-restore point');
  });
}

test('a number out of range is asked again', (t) => {
  const { root, repo, dbs } = setup(t);
  const r = runCli(RESTORE_BIN, args(root, repo, dbs), '7\nabc\n1\nyes\n');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /There is no restore point 7; enter a number from 1 to 2\./);
  assert.equal(fs.readFileSync(path.join(root, 'etc/my.cnf'), 'utf8'), 'v1\n');
});

test('--point without --yes skips the number prompt but still asks for yes', (t) => {
  const { root, repo, dbs } = setup(t);
  const r = runCli(RESTORE_BIN, [...args(root, repo, dbs), '--point', '1'], 'yes\n');
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /Enter the number/);
  assert.match(r.stdout, /type 'yes' :/);
  assert.equal(fs.readFileSync(path.join(root, 'etc/my.cnf'), 'utf8'), 'v1\n');
});

test('Ctrl-C at the yes prompt: exit 130, nothing was changed', async (t) => {
  const { root, repo, dbs } = setup(t);
  const child = spawn(RESTORE_BIN, args(root, repo, dbs), { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  let answered = false;
  const asked = new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!answered && out.includes('Enter the number')) {
        answered = true;
        child.stdin.write('1\n');
      }
      if (out.includes("type 'yes' :")) resolve();
    });
  });
  const code = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  await asked;
  child.kill('SIGINT');
  assert.equal(await code, 130, err);
  assert.match(err, /nothing was changed/);
  assert.equal(fs.readFileSync(path.join(root, 'etc/my.cnf'), 'utf8'), 'v2\n');
  assert.equal(listPoints(repo).length, 2);
});

test('--list --json: numbers, ids, ISO times with offset, notes', (t) => {
  const { repo } = setup(t);
  const list = listPoints(repo);
  assert.deepEqual(list.map((p) => p.number), [1, 2]);
  assert.equal(list[0]!.note, 'before upgrade');
  for (const p of list) assert.match(p.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
  const byId = runCli(RESTORE_BIN, ['--repo', repo, '--list', ...isolated()]);
  assert.equal(byId.status, 0);
});
