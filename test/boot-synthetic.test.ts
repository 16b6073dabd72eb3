// Boot area without a real disk: MBR and GPT parsing on synthetic images, what the fingerprint
// covers, the planner's decisions, the applier's guard, and plan+apply on a disk image FILE (as
// --boot-device allows). Hazards: boot code written back over a changed partition table, a write
// reaching bytes 440-511 or a GPT structure, a gap copy running into the first partition.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import {
  applyBootPlan,
  bootBlobId,
  bootRecordOf,
  captureBootArea,
  checkBootWrites,
  describeBootPlan,
  findBootDisk,
  NO_BOOT,
  planBootRestore,
  type BootPlan,
  type BootRecord,
  type BootWrite,
  type DiskLayout,
} from '../src/boot/index.js';
import { crc32 } from '../src/boot/crc32.js';
import { BIOS_BOOT_TYPE_GUID, guidToBytes, guidToString, readBufferLayout } from '../src/boot/partition-table.js';
import { SnapError } from '../src/model/errors.js';
import { makeTmpDir } from './helpers/tmp.js';

const MiB = 1024 * 1024;
const LINUX_GUID = '0fc63daf-8483-4772-8e79-3d69d8477de4';
const ESP_GUID = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';

/** Recognisable, position-dependent bytes (a shifted copy would not compare equal). */
function pattern(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

interface MbrPart {
  start: number;
  sectors: number;
  type?: number;
}

function mbrImage(sizeMiB: number, parts: MbrPart[], signature = 0x12345678): Buffer {
  const img = Buffer.alloc(sizeMiB * MiB);
  pattern(440, 1).copy(img, 0);
  img.writeUInt32LE(signature, 440);
  parts.forEach((p, i) => {
    const at = 446 + 16 * i;
    img[at + 4] = p.type ?? 0x83;
    img.writeUInt32LE(p.start, at + 8);
    img.writeUInt32LE(p.sectors, at + 12);
  });
  img[510] = 0x55;
  img[511] = 0xaa;
  const first = Math.min(...parts.map((p) => p.start)) * 512;
  if (first > 512) pattern(first - 512, 2).copy(img, 512);
  return img;
}

interface GptPart {
  first: number;
  last: number;
  type: string;
}

/** A GPT disk with protective MBR, primary and backup headers and entry arrays, valid CRCs. */
function gptImage(sizeMiB: number, parts: GptPart[], opts: { ss?: number; diskGuid?: string } = {}): Buffer {
  const ss = opts.ss ?? 512;
  const img = Buffer.alloc(sizeMiB * MiB);
  const sectors = img.length / ss;
  const entriesSectors = (128 * 128) / ss;
  pattern(440, 3).copy(img, 0);
  img[446 + 4] = 0xee;
  img.writeUInt32LE(1, 446 + 8);
  img.writeUInt32LE(Math.min(sectors - 1, 0xffffffff), 446 + 12);
  img[510] = 0x55;
  img[511] = 0xaa;
  const entries = Buffer.alloc(128 * 128);
  parts.forEach((p, i) => {
    const e = entries.subarray(i * 128, (i + 1) * 128);
    guidToBytes(p.type).copy(e, 0);
    guidToBytes(`00000000-0000-4000-8000-${(i + 1).toString(16).padStart(12, '0')}`).copy(e, 16);
    e.writeBigUInt64LE(BigInt(p.first), 32);
    e.writeBigUInt64LE(BigInt(p.last), 40);
    if (p.type === BIOS_BOOT_TYPE_GUID) pattern((p.last - p.first + 1) * ss, 4).copy(img, p.first * ss);
  });
  const firstUsable = 2 + entriesSectors;
  const lastUsable = sectors - 2 - entriesSectors;
  const header = (current: number, backup: number, entriesLba: number): Buffer => {
    const h = Buffer.alloc(ss);
    h.write('EFI PART', 0, 'latin1');
    h.writeUInt32LE(0x00010000, 8);
    h.writeUInt32LE(92, 12);
    h.writeBigUInt64LE(BigInt(current), 24);
    h.writeBigUInt64LE(BigInt(backup), 32);
    h.writeBigUInt64LE(BigInt(firstUsable), 40);
    h.writeBigUInt64LE(BigInt(lastUsable), 48);
    guidToBytes(opts.diskGuid ?? '11111111-2222-4333-8444-555555555555').copy(h, 56);
    h.writeBigUInt64LE(BigInt(entriesLba), 72);
    h.writeUInt32LE(128, 80);
    h.writeUInt32LE(128, 84);
    h.writeUInt32LE(crc32(entries), 88);
    h.writeUInt32LE(crc32(h.subarray(0, 92)), 16);
    return h;
  };
  header(1, sectors - 1, 2).copy(img, ss);
  entries.copy(img, 2 * ss);
  entries.copy(img, (sectors - 1 - entriesSectors) * ss);
  header(sectors - 1, 1, sectors - 1 - entriesSectors).copy(img, (sectors - 1) * ss);
  return img;
}

/** Rewrites entry `index` of a synthetic GPT (and fixes both CRCs), as a partitioning tool would. */
function editGptEntry(img: Buffer, index: number, edit: (entry: Buffer) => void, ss = 512): void {
  const entries = img.subarray(2 * ss, 2 * ss + 128 * 128);
  edit(entries.subarray(index * 128, (index + 1) * 128));
  const h = img.subarray(ss, 2 * ss);
  h.writeUInt32LE(crc32(entries), 88);
  h.writeUInt32LE(0, 16);
  h.writeUInt32LE(crc32(h.subarray(0, 92)), 16);
}

const MBR_PARTS: MbrPart[] = [
  { start: 2048, sectors: 16 * 2048 },
  { start: 18 * 2048, sectors: 8 * 2048 },
];
const GPT_PARTS: GptPart[] = [
  { first: 2048, last: 4095, type: BIOS_BOOT_TYPE_GUID },
  { first: 4096, last: 8191, type: ESP_GUID },
  { first: 8192, last: 16383, type: LINUX_GUID },
];

function layout(img: Buffer, ssHint = 512): DiskLayout {
  const r = readBufferLayout(img, ssHint);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.layout;
}

test('GUIDs read and write in GPT mixed-endian order', () => {
  const b = guidToBytes(BIOS_BOOT_TYPE_GUID);
  assert.equal(b.toString('latin1'), 'Hah!IdontNeedEFI');
  assert.equal(guidToString(b), BIOS_BOOT_TYPE_GUID);
});

test('MBR: partitions, the post-MBR gap up to the lowest partition start, 440-511 protected', () => {
  // Entries out of order: the gap ends at the LOWEST start, not at entry 1's.
  const l = layout(mbrImage(32, [MBR_PARTS[1]!, MBR_PARTS[0]!]));
  assert.equal(l.kind, 'mbr');
  assert.equal(l.sectorSize, 512);
  assert.deepEqual(l.partitions.map((p) => [p.number, p.start, p.type]), [[1, 18 * MiB, '83'], [2, MiB, '83']]);
  assert.equal(l.firstPartitionStart, MiB);
  assert.deepEqual(l.gap, { offset: 512, length: MiB - 512, source: 'post-mbr-gap' });
  assert.deepEqual(l.writable.map((r) => [r.start, r.end]), [[0, 440], [512, MiB]]);
  assert.deepEqual(l.protected.map((r) => [r.start, r.end]), [[440, 512]]);
});

test('MBR: an old-style first partition at sector 63 gives a 31 KiB gap; at sector 1 none', () => {
  assert.equal(layout(mbrImage(8, [{ start: 63, sectors: 2048 }])).gap.length, 62 * 512);
  const tight = layout(mbrImage(8, [{ start: 1, sectors: 2048 }]));
  assert.equal(tight.gap.length, 0);
  assert.deepEqual(tight.writable.map((r) => [r.start, r.end]), [[0, 440]]);
});

test('GPT: the BIOS boot partition is the boot loader area; header and entries are protected', () => {
  const l = layout(gptImage(16, GPT_PARTS));
  assert.equal(l.kind, 'gpt');
  assert.deepEqual(l.gap, { offset: MiB, length: MiB, source: 'bios-boot-partition' });
  assert.deepEqual(l.partitions.map((p) => p.type), [BIOS_BOOT_TYPE_GUID, ESP_GUID, LINUX_GUID]);
  assert.deepEqual(l.writable.map((r) => [r.start, r.end]), [[0, 440], [MiB, 2 * MiB]]);
  const prot = l.protected.map((r) => [r.start, r.end]);
  assert.deepEqual(prot.slice(0, 3), [[440, 512], [512, 1024], [1024, 1024 + 128 * 128]]);
  assert.ok(l.protected.some((r) => r.end === 16 * MiB && r.start <= 16 * MiB - 512 * 33), 'backup GPT protected');
});

test('GPT on a 4Kn disk is found at LBA 1 = byte 4096, also when the hint says 512', () => {
  const img = gptImage(16, [{ first: 256, last: 511, type: BIOS_BOOT_TYPE_GUID }, { first: 512, last: 1023, type: LINUX_GUID }], { ss: 4096 });
  for (const hint of [4096, 512]) {
    const l = layout(img, hint);
    assert.equal(l.sectorSize, 4096);
    assert.deepEqual(l.gap, { offset: MiB, length: MiB, source: 'bios-boot-partition' });
  }
});

test('GPT without a BIOS boot partition (UEFI only): boot code only, empty gap', () => {
  const l = layout(gptImage(16, GPT_PARTS.slice(1)));
  assert.deepEqual(l.gap, { offset: 0, length: 0, source: 'bios-boot-partition' });
  assert.deepEqual(l.writable.map((r) => [r.start, r.end]), [[0, 440]]);
});

test('fingerprint: changes with any partition entry or the disk identity, not with boot code or gap bytes', () => {
  const base = mbrImage(32, MBR_PARTS);
  const fp = layout(base).fingerprint;
  assert.match(fp, /^[0-9a-f]{64}$/);
  const mutate = (f: (img: Buffer) => void): string => {
    const img = Buffer.from(base);
    f(img);
    return layout(img).fingerprint;
  };
  assert.equal(mutate((img) => img.fill(0xcc, 0, 440)), fp, 'boot code is not part of it');
  assert.equal(mutate((img) => img.fill(0xdd, 512, MiB)), fp, 'the gap is not part of it');
  assert.notEqual(mutate((img) => img.writeUInt32LE(16 * 2048 + 8, 446 + 12)), fp, 'partition 1 resized');
  assert.notEqual(mutate((img) => (img[446 + 16 + 4] = 0x8e)), fp, 'partition 2 retyped');
  assert.notEqual(mutate((img) => (img[446] = 0x80)), fp, 'active flag moved');
  assert.notEqual(mutate((img) => img.writeUInt32LE(0xcafe, 440)), fp, 'disk signature rewritten');
  assert.notEqual(mutate((img) => { img[446 + 32 + 4] = 0x83; img.writeUInt32LE(26 * 2048, 446 + 40); img.writeUInt32LE(2048, 446 + 44); }), fp, 'partition added');

  const gpt = gptImage(16, GPT_PARTS);
  const gfp = layout(gpt).fingerprint;
  const gmutate = (f: (img: Buffer) => void): string => {
    const img = Buffer.from(gpt);
    f(img);
    return layout(img).fingerprint;
  };
  assert.equal(gmutate((img) => img.fill(0xcc, 0, 440)), gfp, 'boot code is not part of it');
  assert.equal(gmutate((img) => img.fill(0xdd, MiB, 2 * MiB)), gfp, 'BIOS boot partition content is not part of it');
  assert.notEqual(gmutate((img) => editGptEntry(img, 2, (e) => e.writeBigUInt64LE(12000n, 40))), gfp, 'partition 3 shrunk');
  assert.notEqual(gmutate((img) => editGptEntry(img, 3, (e) => { guidToBytes(LINUX_GUID).copy(e, 0); e.writeBigUInt64LE(20000n, 32); e.writeBigUInt64LE(21000n, 40); })), gfp, 'partition added');
  assert.notEqual(gmutate((img) => editGptEntry(img, 1, (e) => e.write('EFI', 56, 'utf16le'))), gfp, 'partition renamed');
  assert.notEqual(layout(gptImage(16, GPT_PARTS, { diskGuid: '99999999-2222-4333-8444-555555555555' })).fingerprint, gfp, 'another disk GUID');
  // An MBR and a GPT never share a fingerprint, whatever their bytes.
  assert.notEqual(gfp, fp);
});

test('layouts that are not a usable partition table give a reason, never a guess', () => {
  const cases: [string, () => Buffer, RegExp][] = [
    ['blank disk', () => Buffer.alloc(4 * MiB), /no 0x55AA/],
    ['MBR without partitions', () => { const b = Buffer.alloc(4 * MiB); b[510] = 0x55; b[511] = 0xaa; return b; }, /without partitions/],
    ['a FAT boot sector on the whole disk', () => { const b = mbrImage(4, [{ start: 2048, sectors: 2048 }]); b[446] = 0x3c; return b; }, /not an MBR.*status 0x3c/],
    ['partition starting at sector 0', () => mbrImage(4, [{ start: 0, sectors: 2048 }]), /starts at sector 0/],
    ['partition beyond the disk', () => mbrImage(4, [{ start: 2048, sectors: 99999 }]), /beyond the disk/],
    ['a post-MBR gap of 32 MiB', () => mbrImage(64, [{ start: 65536, sectors: 2048 }]), /over the 16777216-byte limit/],
    ['protective MBR without a GPT header', () => { const b = gptImage(16, GPT_PARTS); b.fill(0, 512, 1024); return b; }, /no "EFI PART"/],
    ['GPT header with a bad CRC', () => { const b = gptImage(16, GPT_PARTS); b[512 + 40] = b[512 + 40]! ^ 1; return b; }, /header CRC mismatch/],
    ['GPT entries with a bad CRC', () => { const b = gptImage(16, GPT_PARTS); b[1024 + 40] = b[1024 + 40]! ^ 1; return b; }, /entry array CRC mismatch/],
    ['GPT BIOS boot partition of 17 MiB', () => gptImage(64, [{ first: 2048, last: 2048 + 17 * 2048 - 1, type: BIOS_BOOT_TYPE_GUID }]), /BIOS boot partition \(1\) is 17825792 bytes/],
  ];
  for (const [name, make, reason] of cases) {
    const r = readBufferLayout(make());
    assert.equal(r.ok, false, name);
    if (!r.ok) assert.match(r.reason, reason, name);
  }
});

// ---- planner ----

const FP = 'a'.repeat(64);
const FP2 = 'b'.repeat(64);
const record = (over: Partial<BootRecord> = {}): BootRecord => ({
  device: '/dev/sda', kind: 'mbr', fingerprint: FP, boot_code: '1'.repeat(64), gap: '2'.repeat(64),
  gap_offset: 512, gap_length: MiB - 512, gap_source: 'post-mbr-gap', ...over,
});
const found = (fingerprint = FP, kind: 'mbr' | 'gpt' = 'mbr', device = '/dev/sdb') => ({ ok: true as const, disk: { device, kind, fingerprint } });

test('planner: writes only when the point has a boot area and the fingerprint matches', () => {
  const table: { name: string; record: BootRecord | null; now: Parameters<typeof planBootRestore>[1]; expect: BootPlan | RegExp }[] = [
    {
      name: 'same table (disk renamed sda -> sdb since): write boot code and gap to the disk found now',
      record: record(),
      now: found(),
      expect: {
        action: 'write', device: '/dev/sdb', fingerprint: FP,
        writes: [
          { offset: 0, length: 440, blob: '1'.repeat(64), what: 'boot code' },
          { offset: 512, length: MiB - 512, blob: '2'.repeat(64), what: 'post-MBR gap' },
        ],
      },
    },
    {
      name: 'GPT with BIOS boot partition',
      record: record({ kind: 'gpt', gap_offset: MiB, gap_length: MiB, gap_source: 'bios-boot-partition' }),
      now: found(FP, 'gpt'),
      expect: {
        action: 'write', device: '/dev/sdb', fingerprint: FP,
        writes: [
          { offset: 0, length: 440, blob: '1'.repeat(64), what: 'boot code' },
          { offset: MiB, length: MiB, blob: '2'.repeat(64), what: 'BIOS boot partition' },
        ],
      },
    },
    {
      name: 'GPT without BIOS boot partition: boot code only',
      record: record({ kind: 'gpt', gap_offset: 0, gap_length: 0, gap_source: 'bios-boot-partition' }),
      now: found(FP, 'gpt'),
      expect: { action: 'write', device: '/dev/sdb', fingerprint: FP, writes: [{ offset: 0, length: 440, blob: '1'.repeat(64), what: 'boot code' }] },
    },
    { name: 'fingerprint differs', record: record(), now: found(FP2), expect: /^partition table changed since the point \(fingerprint aaaaaaaaaaaa then, bbbbbbbbbbbb now on \/dev\/sdb\)$/ },
    { name: 'MBR then, GPT now', record: record(), now: found(FP, 'gpt'), expect: /^partition table changed since the point \(MBR then, GPT now/ },
    { name: 'no record', record: null, now: found(), expect: /^no boot area in this point$/ },
    { name: 'disk not found', record: record(), now: { ok: false, reason: '/boot is on md0' }, expect: /^boot disk not found: \/boot is on md0$/ },
    { name: '--no-boot wins over everything', record: null, now: NO_BOOT, expect: /^--no-boot$/ },
    { name: 'record with a gap over 440-511', record: record({ gap_offset: 400 }), now: found(), expect: /boot record is unusable \(bad gap_offset 400\)/ },
    { name: 'record with a huge gap', record: record({ gap_length: 64 * MiB }), now: found(), expect: /boot record is unusable \(bad gap_length/ },
    { name: 'record with a bad blob id', record: record({ boot_code: 'x' }), now: found(), expect: /boot record is unusable \(bad boot_code/ },
  ];
  for (const row of table) {
    const plan = planBootRestore(row.record, row.now);
    if (row.expect instanceof RegExp) {
      assert.equal(plan.action, 'skip', row.name);
      if (plan.action === 'skip') assert.match(plan.reason, row.expect, row.name);
    } else {
      assert.deepEqual(plan, row.expect, row.name);
    }
    // Plans are plain data: --json prints them as they are.
    assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan, row.name);
  }
});

test('describeBootPlan: one line for --dry-run and for a skip', () => {
  assert.equal(
    describeBootPlan(planBootRestore(record(), found())),
    'boot area: write boot code (bytes 0-439, 440 bytes) and post-MBR gap (bytes 512-1048575, 1048064 bytes) to /dev/sdb',
  );
  assert.equal(describeBootPlan(planBootRestore(null, found())), 'boot area: skipped because no boot area in this point');
  assert.equal(describeBootPlan(planBootRestore(record(), NO_BOOT)), 'boot area: skipped because --no-boot was given');
  for (const plan of [planBootRestore(record(), found(FP2)), planBootRestore(record(), { ok: false, reason: 'x' })]) {
    assert.doesNotMatch(describeBootPlan(plan), /\n/);
  }
});

// ---- the applier's guard ----

const w = (offset: number, length: number, what = 'test range'): BootWrite => ({ offset, length, blob: '0'.repeat(64), what });
const refused = (writes: BootWrite[], l: DiskLayout, why: RegExp): void =>
  assert.throws(() => checkBootWrites(writes, l, '/dev/x'), (e: unknown) => e instanceof SnapError && why.test(e.message), `expected ${why}`);

test('guard: boot code and gap pass; 440-511, GPT structures, past the first partition are refused', () => {
  const mbr = layout(mbrImage(32, MBR_PARTS));
  checkBootWrites([w(0, 440), w(512, MiB - 512)], mbr, '/dev/x');
  checkBootWrites([w(512, 4096)], mbr, '/dev/x');
  refused([w(0, 441)], mbr, /bytes 0-440\) would touch the disk signature and partition table/);
  refused([w(0, 512)], mbr, /would touch the disk signature/);
  refused([w(446, 16)], mbr, /would touch the disk signature/);
  refused([w(510, 2)], mbr, /would touch the disk signature/);
  refused([w(0, 440), w(512, MiB)], mbr, /bytes 512-1049087\) runs past the first partition's start at byte 1048576, as read now/);
  refused([w(2 * MiB, 512)], mbr, /runs past the first partition's start/);
  refused([w(512, 1024), w(1000, 100)], mbr, /overlap/);
  refused([w(0, 0)], mbr, /invalid range/);
  refused([w(-1, 10)], mbr, /invalid range/);
  refused([w(32 * MiB - 10, 20)], mbr, /beyond the disk/);

  const gpt = layout(gptImage(16, GPT_PARTS));
  checkBootWrites([w(0, 440), w(MiB, MiB)], gpt, '/dev/x');
  refused([w(512, 512)], gpt, /GPT header \(LBA 1\)/);
  refused([w(0, 440), w(512, MiB - 512)], gpt, /GPT header/);
  refused([w(2048, 512)], gpt, /GPT entry array \(LBA 2-33\)/);
  refused([w(34 * 512, 512)], gpt, /outside the areas a boot restore may write \(boot code 0-439, BIOS boot partition 1 1048576-2097151\)/);
  refused([w(MiB, MiB + 512)], gpt, /outside the areas/);
  refused([w(16 * MiB - 512, 512)], gpt, /backup GPT/);
});

// ---- capture, plan and apply on a disk image file (--boot-device FILE) ----

function readRange(file: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(length);
    fs.readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

function writeRange(file: string, offset: number, data: Buffer): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, data, 0, data.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

for (const kind of ['mbr', 'gpt'] as const) {
  test(`${kind} image file: capture, clobber, plan and apply restore the boot area byte-exact and nothing else`, async (t) => {
    const dir = makeTmpDir('boot-image-', t);
    const image = path.join(dir, 'disk.img');
    const original = kind === 'mbr' ? mbrImage(32, MBR_PARTS) : gptImage(16, GPT_PARTS);
    fs.writeFileSync(image, original);
    const l = layout(original);

    const disk = findBootDisk('/nonexistent-root', { bootDevice: image });
    assert.ok(disk.ok, disk.ok ? '' : disk.reason);
    assert.deepEqual(disk.disk, { device: image, kind, fingerprint: l.fingerprint });
    const capture = captureBootArea(disk.disk);
    assert.deepEqual(capture.bootCode, original.subarray(0, 440));
    assert.deepEqual(capture.gap, original.subarray(l.gap.offset, l.gap.offset + l.gap.length));
    assert.equal(capture.gapOffset, kind === 'mbr' ? 512 : MiB);
    assert.equal(capture.gapSource, kind === 'mbr' ? 'post-mbr-gap' : 'bios-boot-partition');
    const { record: rec, blobs } = bootRecordOf(capture);
    assert.equal(rec.boot_code, bootBlobId(original.subarray(0, 440)));
    const store = new Map(blobs.map((b) => [b.id, b.data]));

    // A broken upgrade: other boot code, another core.img.
    writeRange(image, 0, Buffer.alloc(440, 0xee));
    writeRange(image, l.gap.offset, Buffer.alloc(l.gap.length, 0xef));
    const now = findBootDisk('/', { bootDevice: image });
    const plan = planBootRestore(rec, now);
    assert.equal(plan.action, 'write', describeBootPlan(plan));
    if (plan.action !== 'write') return;
    await applyBootPlan(plan, async (id) => store.get(id) ?? Buffer.alloc(0));
    assert.ok(fs.readFileSync(image).equals(original), 'the image is byte-identical to before the clobbering');
  });
}

test('applier: a hand-made plan over 440-511 or past the first partition is refused and writes nothing', async (t) => {
  const dir = makeTmpDir('boot-guard-', t);
  const image = path.join(dir, 'disk.img');
  const original = mbrImage(8, MBR_PARTS.slice(0, 1).map((p) => ({ ...p, sectors: 2048 })));
  fs.writeFileSync(image, original);
  const blobs = new Map<string, Buffer>();
  const writeOf = (offset: number, length: number, what: string): BootWrite => {
    const data = pattern(length, offset);
    blobs.set(bootBlobId(data), data);
    return { offset, length, blob: bootBlobId(data), what };
  };
  const read = async (id: string): Promise<Buffer> => blobs.get(id)!;
  const plans: [BootPlan & { action: 'write' }, RegExp][] = [
    [{ action: 'write', device: image, writes: [writeOf(0, 512, 'boot code')] }, /would touch the disk signature and partition table/],
    [{ action: 'write', device: image, writes: [writeOf(0, 440, 'boot code'), writeOf(512, MiB, 'post-MBR gap')] }, /runs past the first partition's start at byte 1048576/],
    [{ action: 'write', device: image, writes: [writeOf(0, 440, 'boot code')], fingerprint: 'c'.repeat(64) }, /partition table changed after the plan was made/],
  ];
  for (const [plan, why] of plans) {
    await assert.rejects(applyBootPlan(plan, read), why);
    assert.ok(fs.readFileSync(image).equals(original), `nothing written for ${why}`);
  }
  // A damaged blob is found before anything is written.
  const good = writeOf(0, 440, 'boot code');
  await assert.rejects(applyBootPlan({ action: 'write', device: image, writes: [good] }, async () => Buffer.alloc(440)), /damaged/);
  assert.ok(fs.readFileSync(image).equals(original));
});

test('applier: the gap is checked against the first partition as read NOW, not as recorded', async (t) => {
  // The point was taken with the first partition at 1 MiB; since then it was moved to 256 KiB
  // (the fingerprint would skip this in the planner; here a plan without one reaches the guard).
  const dir = makeTmpDir('boot-moved-', t);
  const image = path.join(dir, 'disk.img');
  const before = mbrImage(8, [{ start: 2048, sectors: 4096 }]);
  fs.writeFileSync(image, before);
  const disk = findBootDisk('/', { bootDevice: image });
  assert.ok(disk.ok);
  const { record: rec, blobs } = bootRecordOf(captureBootArea(disk.disk));
  const store = new Map(blobs.map((b) => [b.id, b.data]));
  writeRange(image, 446 + 8, Buffer.from([0x00, 0x02, 0, 0])); // start LBA 512
  const plan = planBootRestore(rec, findBootDisk('/', { bootDevice: image }));
  assert.equal(plan.action, 'skip');
  assert.match(plan.action === 'skip' ? plan.reason : '', /partition table changed since the point/);
  const forced = planBootRestore(rec, { ok: true, disk: disk.disk });
  assert.equal(forced.action, 'write');
  if (forced.action !== 'write') return;
  const afterMove = fs.readFileSync(image);
  await assert.rejects(applyBootPlan({ ...forced, fingerprint: undefined }, async (id) => store.get(id)!), /runs past the first partition's start at byte 262144, as read now/);
  assert.ok(fs.readFileSync(image).equals(afterMove));
});

test('--boot-device: a missing path or a directory is a reason, not an exception', (t) => {
  const dir = makeTmpDir('boot-dev-', t);
  const missing = findBootDisk('/', { bootDevice: path.join(dir, 'nope') });
  assert.deepEqual(missing, { ok: false, reason: `--boot-device ${path.join(dir, 'nope')}: no such file or device` });
  const asDir = findBootDisk('/', { bootDevice: dir });
  assert.equal(asDir.ok, false);
  assert.match(asDir.ok ? '' : asDir.reason, /neither a block device nor a disk image file/);
  const blank = path.join(dir, 'blank.img');
  fs.writeFileSync(blank, Buffer.alloc(MiB));
  const r = findBootDisk('/', { bootDevice: blank });
  assert.deepEqual(r, { ok: false, reason: `${blank}: no partition table (no 0x55AA signature in sector 0)` });
});
