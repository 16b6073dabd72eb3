// withLoopFs gives each test a real ext4/xfs/btrfs and leaves no mount or loop device behind, even
// when the test throws; and the nasty tree, built on each of them, compares equal to the same
// spec built on the temp dir's filesystem: the comparer's tolerances (extent rounding,
// allocation slack, fs-own flags and xattrs) absorb what filesystems legitimately differ in,
// while a real loss is still reported. Needs root, the loop driver and the mkfs tools.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';

import * as sys from '../src/sys/index.js';
import { withEntryFd } from './helpers/at-path.js';
import { loopFsUnavailableReason, withLoopFs, type LoopFsType } from './helpers/loop-fs.js';
import { makeNastyTreeSpec, NASTY, NASTY_SPARSE_SIZE } from './helpers/nasty-tree-spec.js';
import { makeTmpDir } from './helpers/tmp.js';
import { assertTreesEqual, compareTrees } from './helpers/tree-compare.js';
import { createTree } from './helpers/tree-spec.js';

const C = sys.constants;

function mountedAt(dir: string): boolean {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === dir);
}

function loopDeviceOf(mountDir: string): string {
  const line = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[4] === mountDir);
  const source = line?.split(' - ')[1]?.split(' ')[1];
  assert.ok(source !== undefined && /^\/dev\/loop\d+$/.test(source), `no loop device behind ${mountDir}: ${line}`);
  return source;
}

/** The image file a loop device is backed by, or null once it is detached. */
function backingFile(device: string): string | null {
  try {
    return fs.readFileSync(`/sys/block/${device.slice('/dev/'.length)}/loop/backing_file`, 'utf8').trim();
  } catch {
    return null;
  }
}

for (const fsType of ['ext4', 'xfs', 'btrfs'] as const satisfies readonly LoopFsType[]) {
  const skip = loopFsUnavailableReason(fsType) ?? false;

  test(`withLoopFs(${fsType}) mounts a fresh ${fsType} and undoes it all, also when fn throws`, { skip }, async () => {
    let seen: { mountDir: string; device: string; image: string | null } | undefined;
    await assert.rejects(
      withLoopFs(fsType, 64, (mountDir) => {
        const device = loopDeviceOf(mountDir);
        seen = { mountDir, device, image: backingFile(device) };
        const type = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === mountDir);
        assert.equal(type?.split(' ')[2], fsType);
        throw new Error('boom inside fn');
      }),
      /boom inside fn/,
    );
    assert.ok(seen !== undefined);
    assert.equal(mountedAt(seen.mountDir), false, 'still mounted');
    assert.notEqual(backingFile(seen.device), seen.image, 'loop device still attached to our image');
    assert.equal(fs.existsSync(seen.mountDir), false, 'temp dir left behind');
  });

  test(`the nasty tree built on ${fsType} equals the one built on the temp dir, and losses still show`, { skip }, async (t) => {
    const a = `${makeTmpDir('helpers-loopfs-', t)}/a`;
    createTree(a, makeNastyTreeSpec());
    await withLoopFs(fsType, 64, (mountDir) => {
      const b = `${mountDir}/tree`;
      createTree(b, makeNastyTreeSpec());
      assertTreesEqual(a, b);
      assertTreesEqual(b, a);
      withEntryFd(b, NASTY.sparse, C.O_RDWR, (fd) => {
        const st = sys.fstat(fd);
        const bytes = Buffer.alloc(NASTY_SPARSE_SIZE);
        fs.readSync(fd, bytes, 0, bytes.length, 0);
        sys.pwriteAll(fd, bytes, 0);
        sys.fsync(fd);
        sys.futimens(fd, null, st.mtimeNs);
      });
      const found = compareTrees(a, b).map((d) => `${d.path} :: ${d.what}`);
      assert.deepEqual(found.sort(), [`${NASTY.sparse} :: blocks`, `${NASTY.sparse} :: sparseness`]);
    });
  });
}
