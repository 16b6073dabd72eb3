// Incremental snapshots: an unchanged tree reads no file and adds almost nothing; a changed file
// costs about its compressed size; an append to a large file costs about the appended bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { listPoints, restoreInto, snapshotJson } from './helpers/cli.js';
import { assertTreesEqual } from './helpers/tree-compare.js';

const MiB = 1024 * 1024;

function makeTree(root: string): void {
  for (let d = 0; d < 10; d++) {
    const dir = path.join(root, `etc/conf${d}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 30; f++) fs.writeFileSync(path.join(dir, `file${f}.conf`), `setting_${d}_${f} = ${'value '.repeat(50 + f)}\n`);
  }
  fs.mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
  for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(root, `usr/lib/lib${i}.so`), randomBytes(600 * 1024 + i));
}

test('incremental snapshots: no-change, one changed file, appended large file', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-incr-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'root');
  const repo = path.join(dir, 'repo');
  makeTree(root);
  const big = path.join(root, 'var/log/big.log');
  fs.mkdirSync(path.dirname(big), { recursive: true });
  const fd = fs.openSync(big, 'w');
  for (let i = 0; i < 200; i++) fs.writeSync(fd, randomBytes(MiB));
  fs.closeSync(fd);

  const first = snapshotJson(root, repo);
  let appendReused = 0;
  assert.ok(first.files_read >= 300, `first snapshot reads every file (${first.files_read})`);

  await t.test('a no-change snapshot reads no file contents and adds < 1% of the first', () => {
    const again = snapshotJson(root, repo);
    assert.equal(again.files_read, 0);
    assert.ok(again.bytes_added < first.repo_bytes * 0.01, `added ${again.bytes_added} of ${first.repo_bytes}`);
  });

  await t.test('changing one file adds about its compressed size', () => {
    fs.writeFileSync(path.join(root, 'usr/lib/lib3.so'), randomBytes(300 * 1024));
    const r = snapshotJson(root, repo);
    assert.equal(r.files_read, 1);
    assert.equal(r.chunks_reused, 0, 'new content is compressed');
    assert.ok(r.bytes_added >= 300 * 1024, `added ${r.bytes_added}`);
    assert.ok(r.bytes_added < 300 * 1024 + 16 * 1024, `added ${r.bytes_added}: only the file and a few trees`);
  });

  await t.test('appending 1 MiB to a 200 MiB file adds about 1 MiB', () => {
    fs.appendFileSync(big, randomBytes(MiB));
    const r = snapshotJson(root, repo);
    assert.equal(r.files_read, 1);
    assert.ok(r.bytes_added >= MiB, `added ${r.bytes_added}`);
    assert.ok(r.bytes_added < 3 * MiB, `added ${r.bytes_added}: the new chunks and the re-cut tail only`);
    // 200 MiB in chunks of at most 2 MiB: at least 100 chunks, all but the re-cut tail unchanged.
    assert.ok(r.chunks_reused >= 99, `the old chunks are not compressed again (${r.chunks_reused} reused)`);
    appendReused = r.chunks_reused;
  });

  await t.test('64 KiB inserted in the middle of the large file: the shifted chunks are still known', () => {
    const data = fs.readFileSync(big);
    fs.writeFileSync(big, Buffer.concat([data.subarray(0, 100 * MiB), randomBytes(64 * 1024), data.subarray(100 * MiB)]));
    const r = snapshotJson(root, repo);
    assert.equal(r.files_read, 1);
    // The chunk holding the insertion and those cut anew until the boundaries fall in step again,
    // each at most 2 MiB (the chunker's max): usually 1-3 MB, once 5.7 MB (a 3 MiB bound flaked).
    assert.ok(r.bytes_added < 8 * MiB, `added ${r.bytes_added}: the chunks around the insertion only`);
    // All but the few chunks around the insertion, as many as an append reused (every segment's
    // task is given the previous chunks near its position, which the 64 KiB shift stays within).
    assert.ok(r.chunks_reused >= appendReused - 4, `chunks after the insertion moved by 64 KiB and are not compressed again (${r.chunks_reused} reused, ${appendReused} after the append)`);
  });

  await t.test('a file whose mtime moved but whose content did not is read, not compressed again', () => {
    const conf = path.join(root, 'etc/conf4/file7.conf');
    const later = new Date(Date.now() + 3600_000);
    fs.utimesSync(conf, later, later);
    const r = snapshotJson(root, repo);
    assert.equal(r.files_read, 1);
    assert.equal(r.chunks_reused, 1);
    assert.ok(r.bytes_added < 16 * 1024, `added ${r.bytes_added}: trees only`);
  });

  await t.test('the newest point, stored from reused chunks, restores exactly', () => {
    const target = path.join(dir, 'restored');
    fs.mkdirSync(target);
    const r = restoreInto(repo, listPoints(repo).at(-1)!.number, target);
    assert.equal(r.status, 0, r.stderr);
    assertTreesEqual(root, target);
  });
});

test('regression: subdirectories that finish while their parent is still storing its blobs', (t) => {
  // A parent's directory task stores its (large) blobs while its children already run and
  // finish; the parent was then completed twice and the run failed (seen in bench/e2e churn).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-race-complete-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'root');
  const repo = path.join(dir, 'repo');
  const fill = (round: number): void => {
    for (const top of ['a', 'b', 'c', 'd']) {
      for (let f = 0; f < 2; f++) {
        fs.mkdirSync(path.join(root, top), { recursive: true });
        fs.writeFileSync(path.join(root, top, `big${f}`), randomBytes(3 * MiB + round));
      }
      for (let s = 0; s < 40; s++) {
        fs.mkdirSync(path.join(root, top, `sub${s}`), { recursive: true });
        fs.writeFileSync(path.join(root, top, `sub${s}`, 'f'), `${round}`);
      }
    }
  };
  fill(0);
  snapshotJson(root, repo);
  for (let round = 1; round <= 4; round++) {
    fill(round);
    const r = snapshotJson(root, repo);
    assert.equal(r.files, 4 * (2 + 40));
  }
});

test('the previous point compared with is the newest of the same ROOT', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-two-roots-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  makeTree(a);
  fs.mkdirSync(b);
  fs.writeFileSync(path.join(b, 'other'), 'x');
  const repo = path.join(dir, 'repo');
  snapshotJson(a, repo);
  snapshotJson(b, repo); // e.g. a restore's pre-restore point of another ROOT
  assert.equal(snapshotJson(a, repo).files_read, 0, 'nothing re-read: compared with a, not b');
});
