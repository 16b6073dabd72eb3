// Rescue mode: the system's disk, broken, mounted by a rescue system at another path; the
// repository lives inside it. system_restore --root MOUNT --repo MOUNT/root/snapshots brings it
// back exactly. Done on a loop-mounted ext4 image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createTree } from './helpers/tree-create.js';
import { dir, file, patternFile, symlink, type DirSpec } from './helpers/tree-spec.js';
import { makeNastyTreeSpec } from './helpers/nasty-tree-spec.js';
import { assertTreesEqual } from './helpers/tree-compare.js';
import { withLoopFs } from './helpers/loop-fs.js';
import { makeTmpDir } from './helpers/tmp.js';
import { restoreInto, snapshotJson } from './helpers/cli.js';

/** A small system, plus the nasty tree (built apart: its hardlinks name paths from its own root). */
function buildSystem(at: string): void {
  createTree(at, systemSpec());
  createTree(path.join(at, 'srv/nasty'), makeNastyTreeSpec({ deep: false }));
  fs.utimesSync(path.join(at, 'srv'), 1_600_000_000, 1_600_000_000); // the same in both builds
}

function systemSpec(): DirSpec {
  return dir({
    etc: dir({ passwd: file('root:x:0:0:root:/root:/bin/bash\n'), shadow: file('root:*:19000::::::\n', { mode: 0o640, gid: 42 }), fstab: file('/dev/sda1 / ext4 defaults 0 1\n') }),
    lib: dir({ 'x86_64-linux-gnu': dir({ 'libc.so.6': patternFile(2_000_000, { seed: 1 }, { mode: 0o755 }) }) }),
    lib64: dir({ 'ld-linux-x86-64.so.2': symlink('/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2') }),
    boot: dir({ 'vmlinuz-6.1.0-18-amd64': patternFile(5_000_000, { seed: 2 }), 'initrd.img-6.1.0-18-amd64': patternFile(3_000_000, { seed: 3 }), grub: dir({ 'grub.cfg': file('menuentry "Debian" {}\n') }) }),
    usr: dir({ bin: dir({ bash: patternFile(1_200_000, { seed: 4 }, { mode: 0o755 }), sudo: file('\x7fELF sudo', { mode: 0o4755 }) }) }),
    dev: dir({}),
    proc: dir({}, { mode: 0o555 }),
  });
}

test('rescue mode: a broken system disk mounted elsewhere is restored exactly', async (t) => {
  const freshDir = makeTmpDir('rp-rescue-fresh-', t);
  buildSystem(freshDir);
  await withLoopFs('ext4', 256, async (mnt) => {
    buildSystem(mnt);
    const repo = path.join(mnt, 'root/snapshots');
    snapshotJson(mnt, repo);

    // Break it: the C library gone, passwd corrupted, the kernel and GRUB config removed.
    fs.rmSync(path.join(mnt, 'lib/x86_64-linux-gnu/libc.so.6'));
    fs.writeFileSync(path.join(mnt, 'etc/passwd'), '\0\0garbage');
    fs.rmSync(path.join(mnt, 'boot/vmlinuz-6.1.0-18-amd64'));
    fs.rmSync(path.join(mnt, 'boot/grub'), { recursive: true });

    // The rescue system sees the same disk at another path.
    const device = execFileSync('findmnt', ['-n', '-o', 'SOURCE', mnt], { encoding: 'utf8' }).trim();
    const rescue = path.join(path.dirname(mnt), 'sysimage');
    fs.mkdirSync(rescue);
    execFileSync('umount', [mnt]);
    execFileSync('mount', [device, rescue]);
    try {
      const r = restoreInto(path.join(rescue, 'root/snapshots'), 1, rescue);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /Reboot now/, 'ROOT is not / here');
      assertTreesEqual(freshDir, rescue, {
        ignoreRootMeta: true,
        ignore: (p) => p === 'lost+found' || p === 'root' || p === 'srv/nasty/run/daemon.sock',
      });
    } finally {
      execFileSync('umount', [rescue]);
      execFileSync('mount', [device, mnt]); // give withLoopFs its mount back to clean up
    }
  });
});
