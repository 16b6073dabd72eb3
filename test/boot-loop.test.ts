// Boot area on real (loop) disks: an MBR disk with /boot and root partitions and a GPT disk with a
// BIOS boot partition and an ESP, partitioned with sfdisk, attached with `losetup --partscan`,
// formatted and mounted like a server. Detection must find the loop DISK through the mounts; a
// clobbered boot code and core.img must come back byte-exact while the partition table, GPT
// structures and partitions stay byte-identical; a changed partition table must stop the restore.
// Needs root, the loop driver, util-linux (losetup, partx, mount), fdisk (sfdisk), e2fsprogs and
// dosfstools. Only image files in temp dirs and the loop devices attached here are touched.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  applyBootPlan,
  bootRecordOf,
  captureBootArea,
  describeBootPlan,
  findBootDisk,
  planBootRestore,
  BIOS_BOOT_TYPE_GUID,
  type BootRecord,
} from '../src/boot/index.js';
import { withLoopFs } from './helpers/loop-fs.js';
import { attachDisk, attachMbrBootDisk, DISK_MIB, MiB, mkfsExt4, mount, pattern, readAt, run, unavailable, withUndo, writeAt, type LoopDisk } from './helpers/loop-disk.js';
import { makeTmpDir } from './helpers/tmp.js';


/** Capture, clobber, plan, apply; returns the record and plan for further checks. */
async function roundTrip(t: TestContext, root: string, disk: LoopDisk, expect: { bootCode: Buffer; gapOffset: number; gap: Buffer; kind: 'mbr' | 'gpt' }): Promise<BootRecord> {
  const found = findBootDisk(root);
  assert.ok(found.ok, found.ok ? '' : found.reason);
  assert.equal(found.disk.device, disk.loop, 'the loop DISK, not a partition');
  assert.equal(found.disk.kind, expect.kind);
  // The same disk through --boot-device: as a partition, as the disk, as the image file.
  for (const bootDevice of [disk.part(1), disk.loop, disk.image]) {
    const other = findBootDisk('/nonexistent', { bootDevice });
    assert.ok(other.ok, other.ok ? '' : other.reason);
    assert.equal(other.disk.fingerprint, found.disk.fingerprint, bootDevice);
    assert.equal(other.disk.device, bootDevice === disk.part(1) ? disk.loop : bootDevice);
  }

  const capture = captureBootArea(found.disk);
  assert.ok(capture.bootCode.equals(expect.bootCode), 'boot code captured');
  assert.equal(capture.gapOffset, expect.gapOffset);
  assert.equal(capture.gap.length, expect.gap.length);
  assert.ok(capture.gap.equals(expect.gap), 'gap captured');
  const { record, blobs } = bootRecordOf(capture);
  const store = new Map(blobs.map((b) => [b.id, Buffer.from(b.data)]));

  writeAt(disk.loop, 0, Buffer.alloc(440, 0xee));
  writeAt(disk.loop, expect.gapOffset, randomBytes(expect.gap.length));
  assert.ok(!readAt(disk.loop, 0, 440).equals(expect.bootCode), 'clobbered');

  const plan = planBootRestore(record, findBootDisk(root));
  t.diagnostic(describeBootPlan(plan));
  assert.equal(plan.action, 'write', describeBootPlan(plan));
  if (plan.action !== 'write') throw new Error('unreachable');
  assert.equal(plan.device, disk.loop);
  await applyBootPlan(plan, async (id) => store.get(id)!);
  assert.ok(readAt(disk.loop, 0, 440).equals(expect.bootCode), 'boot code restored byte-exact');
  assert.ok(readAt(disk.loop, expect.gapOffset, expect.gap.length).equals(expect.gap), 'gap restored byte-exact');
  return record;
}

/** Adds a partition in the free space at the end, on the attached disk, as an admin would. */
function addPartition(disk: LoopDisk, type: string): void {
  run('sfdisk', ['--quiet', '--append', '--no-reread', '--no-tell-kernel', disk.loop], `size=4MiB, type=${type}\n`);
}

async function assertSkipsAfterTableChange(root: string, disk: LoopDisk, record: BootRecord, type: string): Promise<void> {
  const stale = planBootRestore(record, findBootDisk(root));
  assert.equal(stale.action, 'write');
  const before = readAt(disk.loop, 0, 440);
  addPartition(disk, type);
  const now = findBootDisk(root);
  assert.ok(now.ok, now.ok ? '' : now.reason);
  assert.notEqual(now.disk.fingerprint, record.fingerprint);
  const plan = planBootRestore(record, now);
  assert.equal(plan.action, 'skip');
  assert.match(plan.action === 'skip' ? plan.reason : '', /^partition table changed since the point \(fingerprint \w+ then, \w+ now on \/dev\/loop\d+\)$/);
  // A plan made before the change (its blobs are the bytes on disk now) is refused at write time.
  if (stale.action === 'write') {
    const blobs = new Map(stale.writes.map((w) => [w.blob, readAt(disk.loop, w.offset, w.length)]));
    await assert.rejects(applyBootPlan(stale, async (id) => blobs.get(id)!), /partition table changed after the plan was made/);
  }
  assert.ok(readAt(disk.loop, 0, 440).equals(before));
}

test('MBR disk: /boot and root partitions on a loop disk; boot code and post-MBR gap restored byte-exact', { skip: unavailable([]) }, async (t) => {
  const dir = makeTmpDir('boot-mbr-', t);
  const bootCode = pattern(440, 1);
  const gap = pattern(MiB - 512, 2);
  await withUndo(async (undo) => {
    const disk = await attachMbrBootDisk(undo, dir, bootCode, gap);
    const root = path.join(dir, 'root');
    await mount(undo, disk.part(2), root, 'ext4');
    await mount(undo, disk.part(1), path.join(root, 'boot'), 'ext4');
    fs.writeFileSync(path.join(root, 'boot/vmlinuz-test'), 'kernel');

    const table = readAt(disk.loop, 440, 72);
    const partitionStart = readAt(disk.loop, MiB, 64 * 1024);
    const record = await roundTrip(t, root, disk, { bootCode, gapOffset: 512, gap, kind: 'mbr' });
    assert.deepEqual(
      { device: record.device, kind: record.kind, gap_offset: record.gap_offset, gap_length: record.gap_length, gap_source: record.gap_source },
      { device: disk.loop, kind: 'mbr', gap_offset: 512, gap_length: MiB - 512, gap_source: 'post-mbr-gap' },
    );
    assert.ok(readAt(disk.loop, 440, 72).equals(table), 'bytes 440-511 byte-identical');
    assert.ok(readAt(disk.loop, MiB, 64 * 1024).equals(partitionStart), 'first partition untouched');
    assert.equal(fs.readFileSync(path.join(root, 'boot/vmlinuz-test'), 'utf8'), 'kernel');

    await assertSkipsAfterTableChange(root, disk, record, '83');
  });
});

test('GPT disk: BIOS boot partition and ESP; boot code and BIOS boot partition restored, GPT untouched', { skip: unavailable(['mkfs.vfat']) }, async (t) => {
  const dir = makeTmpDir('boot-gpt-', t);
  const bootCode = pattern(440, 3);
  const core = pattern(MiB, 4);
  await withUndo(async (undo) => {
    const script = [
      'label: gpt',
      `start=2048, size=2048, type=${BIOS_BOOT_TYPE_GUID.toUpperCase()}`,
      'size=16MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
      'size=32MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4',
      '',
    ].join('\n');
    const disk = await attachDisk(undo, dir, script, (image) => {
      writeAt(image, 0, bootCode);
      writeAt(image, MiB, core);
    }, 3);
    run('mkfs.vfat', [disk.part(2)]);
    mkfsExt4(disk.part(3));
    const root = path.join(dir, 'root');
    await mount(undo, disk.part(3), root, 'ext4');
    fs.mkdirSync(path.join(root, 'boot/efi'), { recursive: true });
    if (/\tvfat\n/.test(fs.readFileSync('/proc/filesystems', 'utf8'))) {
      await mount(undo, disk.part(2), path.join(root, 'boot/efi'), 'vfat');
    } else {
      t.diagnostic('this kernel has no vfat: the ESP is formatted but not mounted at /boot/efi');
    }

    // Protective MBR table, primary GPT (LBA 1-33), ESP start, backup GPT (last 33 sectors).
    const sizeBytes = DISK_MIB * MiB;
    const ranges: [number, number][] = [[440, 72], [512, 33 * 512], [2 * MiB, 64 * 1024], [sizeBytes - 33 * 512, 33 * 512]];
    const before = ranges.map(([o, l]) => readAt(disk.loop, o, l));
    const record = await roundTrip(t, root, disk, { bootCode, gapOffset: MiB, gap: core, kind: 'gpt' });
    assert.equal(record.gap_source, 'bios-boot-partition');
    ranges.forEach(([o, l], i) => assert.ok(readAt(disk.loop, o, l).equals(before[i]!), `bytes ${o}-${o + l - 1} byte-identical`));
    // The kernel still reads the same table (a written GPT would show up here).
    assert.match(run('sfdisk', ['--dump', disk.loop]), /type=21686148-6449-6E6F-744E-656564454649/);

    await assertSkipsAfterTableChange(root, disk, record, '0FC63DAF-8483-4772-8E79-3D69D8477DE4');
  });
});

test('ROOT on one disk, /boot on another: the /boot disk is the boot disk; a whole-device ROOT has none', { skip: unavailable([]) }, async (t) => {
  const dir = makeTmpDir('boot-split-', t);
  await withLoopFs('ext4', 32, async (rootDir) => {
    const alone = findBootDisk(rootDir);
    assert.equal(alone.ok, false);
    assert.match(alone.ok ? '' : alone.reason, /is on the whole device loop\d+, not on a partition: no boot area to keep/);
    await withUndo(async (undo) => {
      const disk = await attachDisk(undo, dir, 'label: dos\nstart=2048, size=16MiB, type=83\n', () => {}, 1);
      mkfsExt4(disk.part(1));
      await mount(undo, disk.part(1), path.join(rootDir, 'boot'), 'ext4');
      const found = findBootDisk(rootDir);
      assert.ok(found.ok, found.ok ? '' : found.reason);
      assert.equal(found.disk.device, disk.loop);
    });
  });
});

function dmUnavailable(): string | false {
  const base = unavailable(['dmsetup']);
  if (base) return base;
  try {
    run('dmsetup', ['version']);
  } catch {
    return 'no device-mapper in this kernel (dmsetup version fails); the fake-sysfs tests cover dm chains';
  }
  return false;
}

test('device-mapper: a linear dm device over a loop partition resolves to the loop disk', { skip: dmUnavailable() }, async (t) => {
  const dir = makeTmpDir('boot-dm-', t);
  await withUndo(async (undo) => {
    const disk = await attachDisk(undo, dir, 'label: dos\nstart=2048, size=32MiB, type=8e\n', () => {}, 1);
    const name = `boot-test-${process.pid}-${randomBytes(3).toString('hex')}`;
    const sectors = run('blockdev', ['--getsz', disk.part(1)]);
    run('dmsetup', ['create', name, '--table', `0 ${sectors} linear ${disk.part(1)} 0`]);
    undo.push(`dmsetup remove ${name}`, () => void run('dmsetup', ['remove', name]));
    const node = `/dev/mapper/${name}`;
    for (let i = 0; !fs.existsSync(node); i++) {
      if (i > 50) throw new Error(`${node} did not appear`);
      await sleep(100);
    }
    mkfsExt4(node);
    const root = path.join(dir, 'root');
    await mount(undo, node, root, 'ext4');
    const found = findBootDisk(root);
    assert.ok(found.ok, found.ok ? '' : found.reason);
    assert.equal(found.disk.device, disk.loop);
  });
});
