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
  /** Every read the hook signalled, in order (a file read in segments signals each segment). */
  reads: string[];
  json: { changed_while_read: number; warnings: string[]; files_read: number };
}

/** Runs a snapshot; `onRead(n)` is called for the n-th read of `target` while that read pauses. */
async function snapshotWithRace(root: string, repo: string, target: string, onRead: (n: number) => void): Promise<RaceRun> {
  let seen = 0;
  return snapshotWatching(root, repo, (reads) => {
    const n = reads.filter((l) => l === `/${target}`).length;
    while (seen < n) onRead(++seen);
  });
}

/** Runs a snapshot; `onReads(reads)` is called with every read signalled so far while the last one pauses. */
async function snapshotWatching(root: string, repo: string, onReads: (reads: string[]) => void): Promise<RaceRun> {
  const signal = path.join(path.dirname(repo), `signal-${Date.now()}`);
  fs.writeFileSync(signal, '');
  const child = spawnCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--json', '--quiet', '--test-read-delay-ms', '250', '--test-read-signal', signal, ...isolated()]);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = false;
  let count = 0;
  void exited.then(() => (done = true));
  const reads = (): string[] => fs.readFileSync(signal, 'utf8').split('\n').filter(Boolean);
  while (!done) {
    const now = reads();
    if (now.length > count) {
      count = now.length;
      onReads(now);
    }
    await sleep(5);
  }
  const status = await exited;
  assert.equal(status, 0, stderr);
  return { status, reads: reads(), json: JSON.parse(stdout) as RaceRun['json'] };
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

test('small files a batch\'s budget left over are read by a group task; one that grew meanwhile is read in segments, one deleted is reported', async (t) => {
  const dir = makeTmpDir('rp-race-group-', t);
  const root = path.join(dir, 'root');
  fs.mkdirSync(path.join(root, 'many'), { recursive: true });
  // 30 x 400 KiB: the batch reads about 8 MiB (f000-f019) and defers the rest to one group task.
  const name = (i: number): string => `many/f${String(i).padStart(3, '0')}`;
  for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(root, name(i)), randomBytes(400 * 1024));
  const grown = randomBytes(40 * 1024 * 1024);
  const rewritten = randomBytes(400 * 1024);
  // The batch reads exactly 20 of them (in listing order); the 21st read is the group task's first.
  let victims: string[] = [];
  const run = await snapshotWatching(root, path.join(dir, 'repo'), (reads) => {
    if (reads.length !== 21 || victims.length > 0) return;
    victims = Array.from({ length: 30 }, (_, i) => name(i)).filter((n) => !reads.includes(`/${n}`));
    assert.equal(victims.length, 9, 'nine left for the group');
    fs.writeFileSync(path.join(root, victims[8]!), grown); // listed at 400 KiB, now past a whole read
    fs.writeFileSync(path.join(root, victims[7]!), rewritten);
    fs.rmSync(path.join(root, victims[6]!));
  });
  assert.equal(victims.length, 9);
  const [grownName, rewrittenName, deletedName] = [victims[8]!, victims[7]!, victims[6]!];
  const segments = run.reads.filter((r) => r === `/${grownName}`).length;
  assert.ok(segments >= 2, `the grown file is read in segments, not whole (${segments} reads)`);
  assert.ok(run.json.warnings.some((w) => w.includes(deletedName) && w.includes('vanished')), JSON.stringify(run.json.warnings));
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  assert.equal(restoreInto(path.join(dir, 'repo'), 1, out).status, 0);
  assert.ok(fs.readFileSync(path.join(out, grownName)).equals(grown), 'the grown file is stored whole, as it is now');
  assert.ok(fs.readFileSync(path.join(out, rewrittenName)).equals(rewritten));
  assert.ok(!fs.existsSync(path.join(out, deletedName)));
  for (let i = 0; i < 30; i++) {
    if (!victims.slice(6).includes(name(i))) assert.ok(fs.readFileSync(path.join(out, name(i))).equals(fs.readFileSync(path.join(root, name(i)))), name(i));
  }
});

test('directories a full batch left over are scanned in groups; those that vanish or turn into files meanwhile are recorded empty and reported, the rest stored exactly', async (t) => {
  const dir = makeTmpDir('rp-race-dirgroup-', t);
  const root = path.join(dir, 'root');
  fs.mkdirSync(root);
  // Two 4 MiB files use up the first batch's read budget in ROOT itself, so that batch stops after
  // listing ROOT and d00-d39 come back to the coordinator, which groups them (DirTask).
  for (const f of ['f0', 'f1']) fs.writeFileSync(path.join(root, f), randomBytes(4 * 1024 * 1024));
  const d = (i: number): string => `d${String(i).padStart(2, '0')}`;
  for (let i = 0; i < 40; i++) {
    fs.mkdirSync(path.join(root, d(i), 'sub'), { recursive: true });
    fs.writeFileSync(path.join(root, d(i), 'data'), `data-${i}`);
    fs.symlinkSync(`deeper-${i}`, path.join(root, d(i), 'sub', 'link'));
  }
  // When the first of them is read (its group task pauses there), a third of those not read yet
  // are removed and a third replaced by a file.
  const removed: string[] = [];
  const replaced: string[] = [];
  const run = await snapshotWatching(root, path.join(dir, 'repo'), (reads) => {
    if (removed.length > 0 || !reads.some((r) => /^\/d\d\d\//.test(r))) return;
    for (let i = 0; i < 40; i++) {
      if (reads.includes(`/${d(i)}/data`)) continue;
      if (i % 3 === 2) continue;
      fs.rmSync(path.join(root, d(i)), { recursive: true });
      if (i % 3 === 0) removed.push(d(i));
      else {
        fs.writeFileSync(path.join(root, d(i)), 'now a file');
        replaced.push(d(i));
      }
    }
  });
  const victims = [...removed, ...replaced];
  assert.ok(removed.length >= 10 && replaced.length >= 10, `${removed.length} removed, ${replaced.length} replaced`);
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  assert.equal(restoreInto(path.join(dir, 'repo'), 1, out).status, 0);
  const storedAsWas = (i: number): boolean => fs.readFileSync(path.join(out, d(i), 'data'), 'utf8') === `data-${i}` && fs.readlinkSync(path.join(out, d(i), 'sub', 'link')) === `deeper-${i}`;
  // A victim whose scan had begun (the first directory of another group task, up to one per task
  // in flight) is stored with what was read of it before it went (a vanished entry is left out
  // silently: the next run sees it); every other one is reported and recorded empty.
  const partOfWhatWas = (i: number): boolean => {
    const at = path.join(out, d(i));
    const data = path.join(at, 'data');
    const link = path.join(at, 'sub', 'link');
    return (!fs.existsSync(data) || fs.readFileSync(data, 'utf8') === `data-${i}`) && (!fs.existsSync(link) || fs.readlinkSync(link) === `deeper-${i}`);
  };
  let reported = 0;
  for (let i = 0; i < 40; i++) {
    const name = d(i);
    if (!victims.includes(name)) {
      assert.ok(storedAsWas(i), name);
      continue;
    }
    if (run.json.warnings.some((w) => w.includes(`/${name}`) && w.includes('directory vanished'))) {
      reported++;
      assert.deepEqual(fs.readdirSync(path.join(out, name)), [], `${name} recorded empty`);
    } else {
      assert.ok(partOfWhatWas(i), `${name}: neither reported nor stored with what was read of it`);
    }
  }
  assert.ok(reported >= victims.length - 5, `${reported} of ${victims.length} reported`);
  assert.equal(run.json.warnings.length, reported, JSON.stringify(run.json.warnings));
  for (const f of ['f0', 'f1']) assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(root, f))));
});
