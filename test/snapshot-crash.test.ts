// kill -9 of a snapshot at several moments: no point is ever listed for the killed run, the next
// snapshot succeeds, and every listed point still restores exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SNAPSHOT_BIN, isolated, listPoints, restoreInto, snapshotJson, spawnCli } from './helpers/cli.js';
import { assertTreesEqual } from './helpers/tree-compare.js';

function fill(root: string, tag: string): void {
  for (let d = 0; d < 6; d++) {
    const dir = path.join(root, `d${d}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 12; f++) fs.writeFileSync(path.join(dir, `f${f}`), Buffer.concat([Buffer.from(tag), randomBytes(1024 * 1024)]));
    for (let f = 0; f < 100; f++) fs.writeFileSync(path.join(dir, `s${f}.txt`), `${tag} small ${d} ${f}\n`);
  }
  fs.writeFileSync(path.join(root, 'large.img'), randomBytes(48 * 1024 * 1024));
}

test('kill -9 during a snapshot never leaves a listed point; the next one succeeds', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-kill-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'root');
  const repo = path.join(dir, 'repo');
  fill(root, 'A');
  snapshotJson(root, repo);
  // Keep an independent copy of state A to compare point 1 with at the end.
  execFileSync('cp', ['-a', root, path.join(dir, 'stateA')]);
  fill(root, 'B');

  // A 5 ms pause after each file read stretches the run to a few seconds, so every kill lands
  // inside it (packs sealed by a killed run are reused by the next, which would otherwise soon
  // finish before the kill).
  for (const delayMs of [150, 400, 700, 1000, 1400, 2000]) {
    const child = spawnCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--quiet', '--test-read-delay-ms', '5', ...isolated()]);
    let finished = false;
    const exited = new Promise<void>((resolve) => child.on('exit', (code) => { finished = code === 0; resolve(); }));
    await sleep(delayMs);
    assert.equal(finished, false, `the snapshot was still running at ${delayMs} ms`);
    child.kill('SIGKILL');
    await exited;
    assert.equal(listPoints(repo).length, 1, `after a kill at ${delayMs} ms only the first point is listed`);
  }
  snapshotJson(root, repo);
  const points = listPoints(repo);
  assert.equal(points.length, 2);
  assert.deepEqual(fs.readdirSync(path.join(repo, 'tmp')), [], 'the writer cleared what killed runs staged');

  for (const [n, expected] of [[1, path.join(dir, 'stateA')], [2, root]] as const) {
    const out = path.join(dir, `out${n}`);
    fs.mkdirSync(out);
    const r = restoreInto(repo, n, out);
    assert.equal(r.status, 0, r.stderr);
    assertTreesEqual(expected, out, { ignoreRootMeta: true });
  }
});
