// Detection of the boot disk from mountinfo and sysfs, on fake /sys trees and fake /dev dirs of
// image files (no root, no real disks). Hazards: picking ROOT's disk when /boot is elsewhere, a
// hidden (over-mounted) mount, a prefix that is not a path parent (/bootstrap), and guessing a
// disk under md RAID or a multi-device volume, where the honest answer is "can't tell".
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { findBootDisk, type BootDiskResult } from '../src/boot/index.js';
import { mountHolding, parseMountinfo } from '../src/boot/find-boot-disk.js';
import { makeTmpDir, type AfterHook } from './helpers/tmp.js';

interface FakeDevice {
  dev: string;
  /** Partitions: name -> major:minor. */
  parts?: Record<string, string>;
  slaves?: string[];
  dmName?: string;
  mdLevel?: string;
}

/** A sysfs look-alike: devices/ dirs, with block/, class/block/ and dev/block/ symlinks into it. */
function fakeSys(root: string, devices: Record<string, FakeDevice>, opts: { devBlockLinks?: boolean } = {}): void {
  const devDirOf = (name: string): string => `devices/virtual/block/${name}`;
  const put = (rel: string, content: string): void => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), `${content}\n`);
  };
  const link = (rel: string, target: string): void => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.symlinkSync(target, path.join(root, rel));
  };
  const classLinks = (name: string, devDir: string, mm: string): void => {
    link(`class/block/${name}`, `../../${devDir}`);
    if (opts.devBlockLinks !== false) link(`dev/block/${mm}`, `../../${devDir}`);
  };
  const location = new Map<string, string>();
  for (const [name, d] of Object.entries(devices)) {
    const dir = devDirOf(name);
    location.set(name, dir);
    put(`${dir}/dev`, d.dev);
    put(`${dir}/size`, '4096');
    link(`block/${name}`, `../${dir}`);
    classLinks(name, dir, d.dev);
    if (d.dmName !== undefined) put(`${dir}/dm/name`, d.dmName);
    if (d.mdLevel !== undefined) put(`${dir}/md/level`, d.mdLevel);
    Object.entries(d.parts ?? {}).forEach(([part, mm], i) => {
      location.set(part, `${dir}/${part}`);
      put(`${dir}/${part}/dev`, mm);
      put(`${dir}/${part}/partition`, String(i + 1));
      classLinks(part, `${dir}/${part}`, mm);
    });
  }
  for (const [name, d] of Object.entries(devices)) {
    fs.mkdirSync(path.join(root, devDirOf(name), 'slaves'), { recursive: true });
    for (const s of d.slaves ?? []) link(`${devDirOf(name)}/slaves/${s}`, path.join(root, location.get(s) ?? `missing/${s}`));
  }
}

/** mountinfo lines: [mount point, major:minor, fstype, source]. */
function mountinfo(rows: [string, string, string, string][]): string {
  return rows
    .map(([mp, mm, type, src], i) => `${20 + i} 1 ${mm} / ${mp} rw,relatime${i % 2 ? ` shared:${i} master:3` : ''} - ${type} ${src} rw`)
    .join('\n');
}

/** A small MBR disk image: partition 1 at 1 MiB. */
function mbrDisk(): Buffer {
  const img = Buffer.alloc(4 * 1024 * 1024);
  img[446 + 4] = 0x83;
  img.writeUInt32LE(2048, 446 + 8);
  img.writeUInt32LE(4096, 446 + 12);
  img[510] = 0x55;
  img[511] = 0xaa;
  return img;
}

const DEVICES: Record<string, FakeDevice> = {
  sda: { dev: '8:0', parts: { sda1: '8:1', sda2: '8:2', sda3: '8:3' } },
  sdb: { dev: '8:16', parts: { sdb1: '8:17', sdb2: '8:18' } },
  sdc: { dev: '8:32' },
  nvme0n1: { dev: '259:0', parts: { nvme0n1p1: '259:1', nvme0n1p2: '259:2' } },
  loop3: { dev: '7:3', parts: { loop3p1: '259:8' } },
  'dm-0': { dev: '253:0', slaves: ['sda2'], dmName: 'vg-root' },
  'dm-1': { dev: '253:1', slaves: ['dm-2'], dmName: 'vg-var' },
  'dm-2': { dev: '253:2', slaves: ['sda3'], dmName: 'luks-1234' },
  'dm-3': { dev: '253:3', slaves: ['sda3', 'sdb2'], dmName: 'vg-big' },
  'dm-4': { dev: '253:4', slaves: ['md0'], dmName: 'vg-onraid' },
  md0: { dev: '9:0', slaves: ['sda1', 'sdb1'], mdLevel: 'raid1', parts: { md0p1: '259:9' } },
};

interface Fake {
  sysRoot: string;
  devRoot: string;
  find(root: string, rows: [string, string, string, string][]): BootDiskResult;
}

function makeFake(t: AfterHook, opts: { devBlockLinks?: boolean } = {}): Fake {
  const dir = makeTmpDir('boot-sysfs-', t);
  const sysRoot = path.join(dir, 'sys');
  const devRoot = path.join(dir, 'dev');
  fakeSys(sysRoot, DEVICES, opts);
  fs.mkdirSync(devRoot);
  for (const disk of ['sda', 'sdb', 'nvme0n1', 'loop3']) fs.writeFileSync(path.join(devRoot, disk), mbrDisk());
  fs.writeFileSync(path.join(devRoot, 'sdc'), Buffer.alloc(1024 * 1024)); // a filesystem on the whole disk
  return { sysRoot, devRoot, find: (root, rows) => findBootDisk(root, { mountinfo: mountinfo(rows), sysRoot, devRoot }) };
}

function assertDisk(r: BootDiskResult, device: string): void {
  assert.ok(r.ok, r.ok ? '' : r.reason);
  assert.equal(r.disk.device, device);
  assert.equal(r.disk.kind, 'mbr');
}

function assertReason(r: BootDiskResult, why: RegExp): void {
  assert.equal(r.ok, false, `expected a reason matching ${why}`);
  if (!r.ok) assert.match(r.reason, why);
}

test('mountinfo parsing: optional fields, escaped names, the "-" separator', () => {
  const text = [
    '22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw',
    '23 22 8:1 / /boot rw - ext4 /dev/sda1 rw',
    '24 22 8:17 /sub /mnt/my\\040disk rw shared:3 master:1 propagate_from:2 - xfs /dev/sdb1 rw,attr2',
    '',
  ].join('\n');
  assert.deepEqual(parseMountinfo(text), [
    { majorMinor: '8:2', mountPoint: '/', fsType: 'ext4', source: '/dev/sda2' },
    { majorMinor: '8:1', mountPoint: '/boot', fsType: 'ext4', source: '/dev/sda1' },
    { majorMinor: '8:17', mountPoint: '/mnt/my disk', fsType: 'xfs', source: '/dev/sdb1' },
  ]);
});

test('the mount holding a path: deepest visible one; over-mounts hide; /bootstrap is not /boot', () => {
  const m = (mountPoint: string, majorMinor: string) => ({ mountPoint, majorMinor, fsType: 'ext4', source: 'x' });
  const mounts = [m('/', '1:1'), m('/bootstrap', '1:2'), m('/boot', '1:3'), m('/mnt/sysimage', '1:4'), m('/mnt/sysimage/boot', '1:5')];
  assert.equal(mountHolding('/boot', mounts)?.majorMinor, '1:3');
  assert.equal(mountHolding('/boot/grub', mounts)?.majorMinor, '1:3');
  assert.equal(mountHolding('/mnt/sysimage/boot', mounts)?.majorMinor, '1:5');
  assert.equal(mountHolding('/mnt/sysimage2/boot', mounts)?.majorMinor, '1:1');
  assert.equal(mountHolding('/boo', mounts)?.majorMinor, '1:1');
  // Mounted over later: a new /boot on top; a new /mnt/sysimage hides the old one's /boot too.
  assert.equal(mountHolding('/boot', [...mounts, m('/boot', '1:6')])?.majorMinor, '1:6');
  assert.equal(mountHolding('/mnt/sysimage/boot', [...mounts, m('/mnt/sysimage', '1:7')])?.majorMinor, '1:7');
  assert.equal(mountHolding('/x', []), null);
});

test('a separate /boot decides the disk, not ROOT (/ on sdb2, /boot on sda1 -> sda)', (t) => {
  const f = makeFake(t);
  const r = f.find('/', [['/', '8:18', 'ext4', '/dev/sdb2'], ['/boot', '8:1', 'ext4', '/dev/sda1'], ['/bootstrap', '259:1', 'ext4', '/dev/nvme0n1p1']]);
  assertDisk(r, path.join(f.devRoot, 'sda'));
});

test('without a separate /boot, ROOT\'s own filesystem decides', (t) => {
  const f = makeFake(t);
  assertDisk(f.find('/', [['/', '8:18', 'ext4', '/dev/sdb2'], ['/bootstrap', '8:1', 'ext4', '/dev/sda1']]), path.join(f.devRoot, 'sdb'));
});

test('a rescue-mode ROOT (/mnt/sysimage) uses its own /boot, not the rescue system\'s', (t) => {
  const f = makeFake(t);
  const rows: [string, string, string, string][] = [
    ['/', '8:18', 'ext4', '/dev/sdb2'],
    ['/boot', '8:17', 'ext4', '/dev/sdb1'],
    ['/mnt/sysimage', '259:2', 'xfs', '/dev/nvme0n1p2'],
    ['/mnt/sysimage/boot', '259:1', 'xfs', '/dev/nvme0n1p1'],
  ];
  assertDisk(f.find('/mnt/sysimage', rows), path.join(f.devRoot, 'nvme0n1'));
  assertDisk(f.find('/mnt/sysimage/', rows), path.join(f.devRoot, 'nvme0n1'));
  assertDisk(f.find('/mnt/sysimage', rows.slice(0, 3)), path.join(f.devRoot, 'nvme0n1'));
});

test('partitioned loop device: /dev/loop3p1 -> /dev/loop3', (t) => {
  const f = makeFake(t);
  assertDisk(f.find('/', [['/', '259:8', 'ext4', '/dev/loop3p1']]), path.join(f.devRoot, 'loop3'));
});

test('device-mapper: LVM on a partition, and LVM on LUKS, follow the single chain to the disk', (t) => {
  const f = makeFake(t);
  assertDisk(f.find('/', [['/', '253:0', 'ext4', '/dev/mapper/vg-root']]), path.join(f.devRoot, 'sda'));
  assertDisk(f.find('/', [['/', '253:1', 'ext4', '/dev/mapper/vg-var']]), path.join(f.devRoot, 'sda'));
});

test('sysfs without dev/block links: the device is found by its dev file', (t) => {
  const f = makeFake(t, { devBlockLinks: false });
  assert.equal(fs.existsSync(path.join(f.sysRoot, 'dev')), false);
  assertDisk(f.find('/', [['/', '253:0', 'ext4', '/dev/mapper/vg-root']]), path.join(f.devRoot, 'sda'));
});

test('chains that do not lead to one disk are reported, never guessed', (t) => {
  const f = makeFake(t);
  const cases: [string, [string, string, string, string], RegExp][] = [
    ['md RAID1 over two disks', ['/', '9:0', 'ext4', '/dev/md0'], /md0 is a software RAID array \(md raid1\) over sda1, sdb1: each member disk has its own boot area.*--boot-device/],
    ['LVM on md', ['/', '253:4', 'ext4', '/dev/mapper/vg-onraid'], /md0 is a software RAID array \(md raid1\) over sda1, sdb1/],
    ['partition of an md array', ['/', '259:9', 'ext4', '/dev/md0p1'], /md0p1 is a partition of md0; md0 is a software RAID array/],
    ['a volume over two devices', ['/', '253:3', 'ext4', '/dev/mapper/vg-big'], /dm-3 \(vg-big\) spans 2 devices \(sda3, sdb2\): cannot pick one boot disk; name it with --boot-device/],
    ['a filesystem on a whole disk', ['/', '8:32', 'ext4', '/dev/sdc'], /is on the whole device sdc, not on a partition/],
    ['a device sysfs does not know', ['/', '8:99', 'ext4', '/dev/sdz9'], /block device 8:99 not found in/],
    ['btrfs / overlay (anonymous device) without a /dev source', ['/', '0:35', 'overlay', 'overlay'], /\/boot \(on the mount at \/ from overlay, overlay\) is not on a block device/],
  ];
  for (const [name, row, why] of cases) {
    const r = f.find('/', [row]);
    assert.equal(r.ok, false, name);
    if (!r.ok) assert.match(r.reason, why, name);
  }
  assertReason(f.find('/', []), /no mount holds \/boot/);
});

test('a disk found in sysfs but without its /dev node, or without a partition table, is a reason', (t) => {
  const f = makeFake(t);
  fs.unlinkSync(path.join(f.devRoot, 'sdb'));
  assertReason(f.find('/', [['/', '8:18', 'ext4', '/dev/sdb2']]), /cannot open boot disk .*\/sdb/);
  fs.writeFileSync(path.join(f.devRoot, 'sdb'), Buffer.alloc(65536));
  assertReason(f.find('/', [['/', '8:18', 'ext4', '/dev/sdb2']]), /sdb: no partition table/);
});
