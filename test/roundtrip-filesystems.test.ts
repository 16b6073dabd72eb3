// The lossless round trip: the nasty tree (every inode type, raw-byte and 255-byte names, a path
// beyond PATH_MAX, setuid/setgid/sticky, numeric ids, ns mtimes, xattrs of every namespace,
// capabilities, ACLs, SELinux labels, sparse files, hardlink groups, chattr flags) is snapshotted
// and restored into an empty directory on ext4, xfs and btrfs images, then compared attribute by
// attribute. A second restore onto the result changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createTree } from './helpers/tree-create.js';
import { makeNastyTreeSpec, NASTY } from './helpers/nasty-tree-spec.js';
import { assertTreesEqual } from './helpers/tree-compare.js';
import { withLoopFs, type LoopFsType } from './helpers/loop-fs.js';
import { isolated, restoreInto, runCli, RESTORE_BIN, snapshotJson } from './helpers/cli.js';

/** Sockets are not restorable (skipped with a warning); everything else must come back. */
const ignoreSocket = (p: string): boolean => p === `nasty/${NASTY.socket}`;

for (const fsType of ['ext4', 'xfs', 'btrfs'] as const satisfies readonly LoopFsType[]) {
  test(`nasty tree round-trips exactly on ${fsType}`, async () => {
    await withLoopFs(fsType, 400, async (mnt) => {
      const root = path.join(mnt, 'root');
      const out = path.join(mnt, 'out');
      const repo = path.join(mnt, 'repo');
      fs.mkdirSync(root);
      fs.mkdirSync(out);
      // Below ROOT/nasty, so the built-in /dev, /tmp... exclusions do not apply to its test objects.
      createTree(path.join(root, 'nasty'), makeNastyTreeSpec({ deep: true }));
      const snap = snapshotJson(root, repo);
      assert.deepEqual(snap.warnings, [`skipped socket or unknown file type: /nasty/${NASTY.socket}`]);
      const r = restoreInto(repo, 1, out);
      assert.equal(r.status, 0, r.stderr);
      assertTreesEqual(path.join(root, 'nasty'), path.join(out, 'nasty'), { ignore: (p) => ignoreSocket(`nasty/${p}`) });

      // Compare before set: restoring the same point onto its own result plans nothing.
      const again = runCli(RESTORE_BIN, ['--root', out, '--repo', repo, '--point', '1', '--dry-run', ...isolated()]);
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, /^0 added, 0 changed, 0 deleted/m);
    });
  });
}
