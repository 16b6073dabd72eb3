// A live server changes files while they are read. A file that changes during its read is read
// again; one that keeps changing is stored flagged and reported — never a silent torn copy. The
// snapshot's test hook signals each read and pauses, so the test can change the file mid-read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SNAPSHOT_BIN, isolated, restoreInto, spawnCli } from './helpers/cli.js';
import { makeTmpDir, type AfterHook } from './helpers/tmp.js';

interface RaceRun {
  status: number | null;
  json: { changed_while_read: number; warnings: string[]; files_read: number };
}

/** Runs a snapshot; `onRead(n)` is called for the n-th read of `target` while that read pauses. */
async function snapshotWithRace(root: string, repo: string, target: string, onRead: (n: number) => void): Promise<RaceRun> {
  const signal = path.join(path.dirname(repo), `signal-${Date.now()}`);
  fs.writeFileSync(signal, '');
  const child = spawnCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--json', '--quiet', '--test-read-delay-ms', '250', '--test-read-signal', signal, ...isolated()]);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let seen = 0;
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    const reads = fs.readFileSync(signal, 'utf8').split('\n').filter((l) => l === `/${target}`).length;
    while (seen < reads) onRead(++seen);
    await sleep(5);
  }
  const status = await exited;
  assert.equal(status, 0, stderr);
  return { status, json: JSON.parse(stdout) as RaceRun['json'] };
}

/** A temp ROOT holding one `size`-byte file, live.dat, being the file the races are run on. */
function raceTree(t: AfterHook, size: number): { dir: string; root: string; file: string } {
  const dir = makeTmpDir('rp-race-', t);
  const root = path.join(dir, 'root');
  fs.mkdirSync(root);
  const file = path.join(root, 'live.dat');
  fs.writeFileSync(file, randomBytes(size));
  return { dir, root, file };
}

for (const [label, size] of [
  ['small file (read by the directory task)', 256 * 1024],
  ['large file (read in segments by file tasks)', 40 * 1024 * 1024],
] as const) {
  test(`${label}: changed once during its read, it is read again and stored as it is now`, async (t) => {
    const { dir, root, file } = raceTree(t, size);
    const final = randomBytes(size);
    const run = await snapshotWithRace(root, path.join(dir, 'repo'), 'live.dat', (n) => {
      if (n === 1) fs.writeFileSync(file, final);
    });
    assert.equal(run.json.changed_while_read, 0);
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    assert.equal(restoreInto(path.join(dir, 'repo'), 1, out).status, 0);
    assert.ok(fs.readFileSync(path.join(out, 'live.dat')).equals(final), 'the stored copy is the new version, whole');
  });

  test(`${label}: changing during every read, it is stored flagged and reported`, async (t) => {
    const { dir, root, file } = raceTree(t, size);
    const run = await snapshotWithRace(root, path.join(dir, 'repo'), 'live.dat', () => fs.appendFileSync(file, 'more\n'));
    assert.equal(run.json.changed_while_read, 1);
    assert.ok(run.json.warnings.some((w) => w.includes('live.dat') && w.includes('changed while it was read')), JSON.stringify(run.json.warnings));
  });
}
