// Racy inodes (EntryFlag.Racy): a change right after the walk read an inode can leave every stat
// field the next snapshot compares (inode, size, mtime, ctime) as recorded, when it falls in the
// same tick of the filesystem's clock. Inodes whose ctime is within RACY_MARGIN_MS of a
// snapshot's start are flagged, and the next snapshot reads them again instead of trusting the
// stat. These tests run with the built-in margin (no --test-racy-margin-ms, unlike isolated()).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { listPoints, outcome, restoreInto, runCli, SNAPSHOT_BIN } from './helpers/cli.js';
import { makeTmpDir } from './helpers/tmp.js';
import { loopFsUnavailableReason, withLoopFs } from './helpers/loop-fs.js';
import { RACY_MARGIN_MS } from '../src/worker/protocol.js';

/** A snapshot with the product's own racy margin; returns its --json result. */
function snapshotDefaultMargin(root: string, repo: string): { files_read: number } {
  const r = runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--config', '/dev/null', '--db-locations', '/dev/null', '--no-boot', '--json', '--quiet']);
  if (r.status !== 0) throw new Error(`system_snapshot failed (${outcome(r)})`);
  return JSON.parse(r.stdout) as { files_read: number };
}

test('an inode changed within a tick of being read, with every compared stat field as recorded, is read again by the next snapshot', async (t) => {
  const why = loopFsUnavailableReason('ext4');
  if (why) return t.skip(why);
  const scratch = makeTmpDir('rp-racy-', t);
  // ext4 with 128-byte inodes keeps whole seconds: a rewrite within the second of the write that
  // the snapshot recorded leaves ctime and mtime as they were (as a jiffy does on any filesystem,
  // too short a window for a test to hit).
  await withLoopFs(
    'ext4',
    32,
    async (mnt) => {
      for (let attempt = 1; attempt <= 8; attempt++) {
        const root = path.join(mnt, `root${attempt}`);
        const repo = path.join(scratch, `repo${attempt}`);
        const conf = path.join(root, 'etc/app.conf');
        fs.mkdirSync(path.dirname(conf), { recursive: true });
        await sleep(1020 - (Date.now() % 1000)); // just after a second starts
        fs.writeFileSync(conf, 'mode = A\n');
        const recorded = fs.lstatSync(conf, { bigint: true });
        snapshotDefaultMargin(root, repo);
        fs.writeFileSync(conf, 'mode = B\n'); // same size, same inode
        const now = fs.lstatSync(conf, { bigint: true });
        if (now.ctimeNs !== recorded.ctimeNs || now.mtimeNs !== recorded.mtimeNs) {
          t.diagnostic(`attempt ${attempt}: the snapshot ended in the next second; again`);
          continue;
        }
        assert.equal(now.ino, recorded.ino);
        assert.equal(now.size, recorded.size);
        // Only the Racy flag tells the next snapshot to look.
        assert.equal(snapshotDefaultMargin(root, repo).files_read, 1, 'the racy file is read again');
        const target = path.join(scratch, `restored${attempt}`);
        fs.mkdirSync(target);
        const r = restoreInto(repo, listPoints(repo).at(-1)!.number, target);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(fs.readFileSync(path.join(target, 'etc/app.conf'), 'utf8'), 'mode = B\n', 'the second point holds the content written after the first read');
        return;
      }
      assert.fail('8 attempts: no snapshot of a one-file tree finished within the second it started in (machine too slow for this test)');
    },
    ['-I', '128'],
  );
});

test('inodes changed within the racy margin of a snapshot are read again by the next one; older ones are trusted', async (t) => {
  const dir = makeTmpDir('rp-racy-', t);
  const root = path.join(dir, 'root');
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(root, `etc/old${i}.conf`), `old ${i}\n`);
  await sleep(RACY_MARGIN_MS + 200);
  fs.writeFileSync(path.join(root, 'etc/new.conf'), 'new\n');
  assert.equal(snapshotDefaultMargin(root, repo).files_read, 6, 'the first snapshot reads everything');
  // new.conf changed within the margin of the first snapshot's start: read again, and again by
  // the next one after that (this one starts within the margin of its change too).
  assert.equal(snapshotDefaultMargin(root, repo).files_read, 1, 'only the racy file is read again');
  await sleep(RACY_MARGIN_MS + 200);
  assert.equal(snapshotDefaultMargin(root, repo).files_read, 1, 'recorded racy by the second snapshot: read by the third');
  assert.equal(snapshotDefaultMargin(root, repo).files_read, 0, 'recorded well after its change: trusted');
});
