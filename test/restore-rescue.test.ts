// Rescue mode: the system's disk, broken, mounted by a rescue system at another path; the
// repository lives inside it. system_restore --root MOUNT --repo MOUNT/root/snapshots brings it
// back exactly. Done on a loop-mounted ext4 image. And what a reboot needs after any restore: every
// filesystem the restore changed written out, a separate /boot as well as ROOT's.
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
import { RESTORE_BIN, restoreInto, runCli, SNAPSHOT_BIN, snapshotJson } from './helpers/cli.js';
import { attachDisk, MiB, mkfsExt4, mount, pattern, unavailable, withUndo } from './helpers/loop-disk.js';

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

/** Sectors written to a block device since boot (field 7 of /sys/class/block/NAME/stat). */
function sectorsWritten(device: string): number {
  return Number(fs.readFileSync(`/sys/class/block/${path.basename(device)}/stat`, 'utf8').trim().split(/\s+/)[6]);
}

test('a restore writes out every filesystem it changed: ROOT\'s and a /boot mounted below it', { skip: unavailable([]) }, async (t) => {
  const dir = makeTmpDir('rp-restore-sync-', t);
  const common = ['--no-boot', '--config', '/dev/null', '--db-locations', '/dev/null'];
  await withUndo(async (undo) => {
    const disk = await attachDisk(undo, dir, 'label: dos\nstart=2048, size=24MiB, type=83\nsize=24MiB, type=83\n', () => undefined, 2);
    mkfsExt4(disk.part(1));
    mkfsExt4(disk.part(2));
    const root = path.join(dir, 'root');
    await mount(undo, disk.part(1), root, 'ext4');
    await mount(undo, disk.part(2), path.join(root, 'boot'), 'ext4');
    const files = { 'lib/libc.so.6': pattern(4 * MiB, 31), 'boot/vmlinuz': pattern(4 * MiB, 32) };
    fs.mkdirSync(path.join(root, 'lib'));
    for (const [rel, data] of Object.entries(files)) fs.writeFileSync(path.join(root, rel), data);
    const repo = path.join(dir, 'repo'); // outside both filesystems
    const snap = runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, ...common]);
    assert.equal(snap.status, 0, snap.stderr);

    // A failed upgrade removed both; that much is on disk before the restore.
    for (const rel of Object.keys(files)) fs.rmSync(path.join(root, rel));
    for (const at of [root, path.join(root, 'boot')]) execFileSync('sync', ['-f', at]);
    const before = [disk.part(1), disk.part(2)].map(sectorsWritten);
    const r = runCli(RESTORE_BIN, ['--root', root, '--repo', repo, '--point', '1', '--yes', ...common]);
    assert.equal(r.status, 0, r.stderr);
    // Written back when the command returns: the kernel would have kept the new files in the page
    // cache for 30 s or more (dirty_expire_centisecs), which a crash or a forced reboot loses.
    const after = [disk.part(1), disk.part(2)].map(sectorsWritten);
    ['/', '/boot'].forEach((fsName, i) => {
      const sectors = after[i]! - before[i]!;
      assert.ok(sectors >= (4 * MiB) / 512, `${fsName}: ${sectors} sectors written by the restore, at least ${(4 * MiB) / 512} expected`);
    });
    for (const [rel, data] of Object.entries(files)) assert.ok(fs.readFileSync(path.join(root, rel)).equals(data), `${rel} restored`);
  });
});
