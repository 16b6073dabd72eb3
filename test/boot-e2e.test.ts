// The boot area through the commands: snapshot a system on a partitioned loop disk (separate
// /boot), break its boot code, post-MBR gap and /boot files, then restore it from a second mount
// point as a rescue system would. Boot code and gap come back byte-exact, bytes 440-511 and the
// partitions' own bytes stay untouched; after a partition table change the boot area is skipped
// with the reason while the files are still restored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { attachMbrBootDisk, MiB, mount, pattern, readAt, run, umount, unavailable, withUndo, writeAt } from './helpers/loop-disk.js';
import { makeTmpDir } from './helpers/tmp.js';
import { assertTreesEqual } from './helpers/tree-compare.js';
import { listPoints, runCli, RESTORE_BIN, SNAPSHOT_BIN } from './helpers/cli.js';

const common = ['--config', '/dev/null', '--db-locations', '/dev/null'];

const isMounted = (dir: string): boolean => fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);
const notLostFound = (p: string): boolean => p === 'lost+found' || p === 'boot/lost+found';

test('MBR disk with a separate /boot: snapshot, break, restore from a rescue mount', { skip: unavailable([]) }, async (t) => {
  const dir = makeTmpDir('boot-e2e-', t);
  const bootCode = pattern(440, 11);
  const gap = pattern(MiB - 512, 12);
  await withUndo(async (undo) => {
    const disk = await attachMbrBootDisk(undo, dir, bootCode, gap);
    const root = path.join(dir, 'root');
    // Mounted by hand: the test unmounts them itself (the rescue system's view comes next).
    for (const [part, at] of [[disk.part(2), root], [disk.part(1), path.join(root, 'boot')]] as const) {
      fs.mkdirSync(at, { recursive: true });
      run('mount', ['-t', 'ext4', part, at]);
      undo.push(`umount ${at}`, async () => {
        if (isMounted(at)) await umount(at);
      });
    }
    fs.mkdirSync(path.join(root, 'etc'));
    fs.writeFileSync(path.join(root, 'etc/fstab'), '/dev/sda2 / ext4 defaults 0 1\n');
    fs.mkdirSync(path.join(root, 'boot/grub/i386-pc'), { recursive: true });
    fs.writeFileSync(path.join(root, 'boot/vmlinuz-6.1.0-18-amd64'), pattern(300_000, 13));
    fs.writeFileSync(path.join(root, 'boot/grub/grub.cfg'), 'menuentry "Debian" { linux /vmlinuz-6.1.0-18-amd64 }\n');
    fs.writeFileSync(path.join(root, 'boot/grub/i386-pc/normal.mod'), pattern(50_000, 14));
    const repo = path.join(dir, 'repo');
    const snap = runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, ...common]);
    assert.equal(snap.status, 0, snap.stderr);
    assert.doesNotMatch(snap.stdout, /Boot area not saved/);
    const copy = path.join(dir, 'copy');
    execFileSync('cp', ['-a', root, copy]);
    const list = runCli(RESTORE_BIN, ['--repo', repo, '--list', ...common]);
    assert.match(list.stdout, /Restore point 1: .* \(with boot area\)/);
    const json = JSON.parse(runCli(RESTORE_BIN, ['--repo', repo, '--list', '--json', ...common]).stdout) as { boot: boolean }[];
    assert.equal(json[0]!.boot, true);

    // A failed upgrade: new boot code and core.img, /boot files replaced.
    const table = readAt(disk.loop, 440, 72);
    writeAt(disk.loop, 0, Buffer.alloc(440, 0x90));
    writeAt(disk.loop, 512, Buffer.alloc(MiB - 512, 0x77));
    fs.writeFileSync(path.join(root, 'boot/grub/grub.cfg'), 'broken\n');
    fs.rmSync(path.join(root, 'boot/vmlinuz-6.1.0-18-amd64'));

    // The rescue system mounts the same disk elsewhere.
    await umount(path.join(root, 'boot'));
    await umount(root);
    const sysimage = path.join(dir, 'sysimage');
    await mount(undo, disk.part(2), sysimage, 'ext4');
    await mount(undo, disk.part(1), path.join(sysimage, 'boot'), 'ext4');
    const dry = runCli(RESTORE_BIN, ['--root', sysimage, '--repo', repo, '--point', '1', '--dry-run', ...common]);
    assert.match(dry.stdout, /^boot area: write boot code \(bytes 0-439, 440 bytes\) and post-MBR gap \(bytes 512-1048575, 1048064 bytes\) to \/dev\/loop\d+$/m);
    assert.ok(readAt(disk.loop, 0, 440).equals(Buffer.alloc(440, 0x90)), 'the dry run wrote nothing');
    const r = runCli(RESTORE_BIN, ['--root', sysimage, '--repo', repo, '--point', '1', '--yes', ...common]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readAt(disk.loop, 0, 440).equals(bootCode), 'boot code restored byte-exact');
    assert.ok(readAt(disk.loop, 512, MiB - 512).equals(gap), 'post-MBR gap restored byte-exact');
    assert.ok(readAt(disk.loop, 440, 72).equals(table), 'disk signature and partition table untouched');
    // (The first partition's own bytes are /boot's superblock, which mounting changes: the
    // guarantee that nothing past the gap is written is the dry-run line above, checked byte by
    // byte in boot-loop.test.ts.)
    assertTreesEqual(copy, sysimage, { ignore: notLostFound, ignoreRootMeta: true });

    // The admin added a partition since: the boot area is skipped with the reason, files restored.
    run('sfdisk', ['--quiet', '--append', '--no-reread', '--no-tell-kernel', disk.loop], 'size=4MiB, type=83\n');
    writeAt(disk.loop, 0, Buffer.alloc(440, 0x90));
    fs.writeFileSync(path.join(sysimage, 'boot/grub/grub.cfg'), 'broken again\n');
    const again = runCli(RESTORE_BIN, ['--root', sysimage, '--repo', repo, '--point', '1', '--yes', ...common]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^boot area: skipped because partition table changed since the point/m);
    assert.ok(readAt(disk.loop, 0, 440).equals(Buffer.alloc(440, 0x90)), 'boot code not written to a changed disk');
    assert.equal(fs.readFileSync(path.join(sysimage, 'boot/grub/grub.cfg'), 'utf8'), fs.readFileSync(path.join(copy, 'boot/grub/grub.cfg'), 'utf8'));
    assert.ok(listPoints(repo).length >= 3);
  });
});

test('--no-boot and --boot-device on the commands', { skip: unavailable([]) }, async (t) => {
  const dir = makeTmpDir('boot-e2e-', t);
  const image = path.join(dir, 'disk.img');
  fs.writeFileSync(image, '');
  fs.truncateSync(image, 8 * MiB);
  run('sfdisk', ['--quiet', image], 'label: dos\nstart=2048, type=83\n');
  writeAt(image, 0, pattern(440, 21));
  const root = path.join(dir, 'root');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'f'), 'x');
  const repo = path.join(dir, 'repo');
  const s1 = runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--boot-device', image, '--json', '--quiet', ...common]);
  assert.equal(s1.status, 0, s1.stderr);
  assert.equal((JSON.parse(s1.stdout) as { boot: boolean }).boot, true);
  const s2 = runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--no-boot', '--json', '--quiet', ...common]);
  assert.equal((JSON.parse(s2.stdout) as { boot: boolean }).boot, false);
  const bad = runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--boot-device', path.join(dir, 'missing.img'), ...common]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--boot-device .*missing\.img/);
  assert.equal(listPoints(repo).length, 2, 'a bad --boot-device leaves no point');
  const both = runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--boot-device', image, '--no-boot', ...common]);
  assert.equal(both.status, 2);
  writeAt(image, 0, Buffer.alloc(440));
  const r = runCli(RESTORE_BIN, ['--root', root, '--repo', repo, '--point', '1', '--yes', '--boot-device', image, ...common]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(readAt(image, 0, 440).equals(pattern(440, 21)));
  const nb = runCli(RESTORE_BIN, ['--root', root, '--repo', repo, '--point', '1', '--yes', '--no-boot', ...common]);
  assert.match(nb.stdout, /^boot area: skipped because --no-boot was given$/m);
});
