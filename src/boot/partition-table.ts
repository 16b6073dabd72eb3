// Partition table reading for the boot area: which bytes of a disk are boot code and boot loader
// (the only ones a boot restore may ever write), which are partition table structures (never
// written), and a fingerprint of the layout. Pure: it reads through a callback, so it is tested on
// synthetic buffers.
//
// Fingerprint (SHA-256, hex), decided so that it changes whenever a partition changes and never
// when only boot code or boot loader bytes change:
// - MBR: "mbr", the sector size, and bytes 440-511 (disk signature 440-443, the 2 reserved bytes,
//   the 4 primary entries, 0x55AA). The disk signature is included on purpose: it is part of the
//   disk's identity (PARTUUID=<signature>-NN in fstab), so boot code is not put back on another
//   disk that merely has the same layout. Logical partitions (EBR chain inside an extended
//   partition) are not included: they cannot move the first partition's start, which is all the
//   post-MBR gap depends on.
// - GPT: "gpt", the sector size, protective MBR bytes 440-511 (a hybrid MBR there is what a BIOS
//   boots from), and the header fields that define the layout: disk GUID, first/last usable LBA,
//   entries LBA, entry count and entry size, plus the raw entry array. Left out: the header and
//   entry array CRCs (derived from what is included) and the current/backup header LBAs (they
//   differ between the primary and backup copy and move when a disk image is grown, which changes
//   no partition).
import { createHash } from 'node:crypto';

import { crc32 } from './crc32.js';

export const BOOT_CODE_LENGTH = 440;
/** Bytes 440-511: disk signature, partition table, 0x55AA. Never stored as boot code, never written. */
export const MBR_TABLE_RANGE = { start: 440, end: 512 } as const;
/** The post-MBR gap starts after sector 0 as a 512-byte sector (also on 4Kn disks: byte 512 on). */
export const GAP_START = 512;
/**
 * GRUB's core.img needs ~30-200 KiB; a 1 MiB-aligned first partition gives a gap just under 1 MiB.
 * Anything far beyond that is not a boot loader area (e.g. a first partition placed at 1 GiB), so
 * copying it into every point would be waste and writing it back a risk: refuse over 16 MiB.
 */
export const MAX_GAP_BYTES = 16 * 1024 * 1024;
export const BIOS_BOOT_TYPE_GUID = '21686148-6449-6e6f-744e-656564454649';
/** 128 entries of 128 bytes is the norm (16 KiB); this bound only rejects garbage headers. */
const MAX_GPT_ENTRIES_BYTES = 1024 * 1024;
const PROTECTIVE_MBR_TYPE = 0xee;
const GPT_SIGNATURE = 'EFI PART';

export type GapSource = 'post-mbr-gap' | 'bios-boot-partition';

/** [start, end) in bytes. */
export interface ByteRange {
  start: number;
  end: number;
  what: string;
}

export interface PartitionExtent {
  /** 1-based: MBR primary slot or GPT entry index. */
  number: number;
  /** Bytes, [start, end). */
  start: number;
  end: number;
  /** MBR: the type byte as two hex digits; GPT: the type GUID, lower case. */
  type: string;
}

export interface DiskLayout {
  kind: 'mbr' | 'gpt';
  sectorSize: number;
  diskSize: number;
  fingerprint: string;
  partitions: PartitionExtent[];
  /** Byte offset of the lowest-starting partition. */
  firstPartitionStart: number;
  /** The boot loader area to keep; length 0 on a GPT disk without a BIOS boot partition. */
  gap: { offset: number; length: number; source: GapSource };
  /** The only ranges a boot restore may write: boot code, and the gap when it has a length. */
  writable: ByteRange[];
  /** Partition table structures: checked separately so a refusal names what it would have hit. */
  protected: ByteRange[];
}

export type LayoutResult = { ok: true; layout: DiskLayout } | { ok: false; reason: string };

/** Reads exactly `length` bytes at `offset` (the caller keeps offsets inside the disk). */
export type ReadAt = (offset: number, length: number) => Buffer;

/** Mixed-endian GUID text as GPT tools print it, lower case. */
export function guidToString(b: Uint8Array): string {
  const h = (i: number, n: number, le: boolean): string => {
    const bytes = Array.from(b.subarray(i, i + n));
    return (le ? bytes.reverse() : bytes).map((x) => x.toString(16).padStart(2, '0')).join('');
  };
  return `${h(0, 4, true)}-${h(4, 2, true)}-${h(6, 2, true)}-${h(8, 2, false)}-${h(10, 6, false)}`;
}

/** Inverse of guidToString (for tests and synthetic images). */
export function guidToBytes(guid: string): Buffer {
  const hex = guid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a GUID: ${guid}`);
  const b = Buffer.from(hex, 'hex');
  b.subarray(0, 4).reverse();
  b.subarray(4, 6).reverse();
  b.subarray(6, 8).reverse();
  return b;
}

function sha256Hex(parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** A u64 LBA as a number, or null when it could not be a byte offset we can handle. */
function lba(b: Buffer, at: number): number | null {
  const v = b.readBigUInt64LE(at);
  return v > BigInt(Number.MAX_SAFE_INTEGER) / 8192n ? null : Number(v);
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
const fail = (reason: string): LayoutResult => ({ ok: false, reason });

/**
 * The layout of the disk behind `read`. `sectorSizeHint` is the device's logical block size
 * (512 for image files); GPT is also probed at 512 and 4096 in case the hint is wrong.
 */
export function readDiskLayout(read: ReadAt, diskSize: number, sectorSizeHint = 512): LayoutResult {
  if (diskSize < 1024) return fail(`too small to hold a partition table (${diskSize} bytes)`);
  const s0 = read(0, 512);
  if (s0[510] !== 0x55 || s0[511] !== 0xaa) return fail('no partition table (no 0x55AA signature in sector 0)');
  const entries = [0, 1, 2, 3].map((i) => {
    const at = 446 + 16 * i;
    return { number: i + 1, status: s0[at]!, type: s0[at + 4]!, start: s0.readUInt32LE(at + 8), sectors: s0.readUInt32LE(at + 12) };
  });
  const badStatus = entries.find((e) => e.status !== 0 && e.status !== 0x80);
  if (badStatus) {
    return fail(`sector 0 is not an MBR (entry ${badStatus.number} has status 0x${hex2(badStatus.status)}; a filesystem boot sector?)`);
  }
  const used = entries.filter((e) => e.type !== 0 && e.sectors !== 0);
  if (used.length === 0) return fail('MBR without partitions');
  if (used.some((e) => e.type === PROTECTIVE_MBR_TYPE)) return readGpt(read, diskSize, sectorSizeHint, s0);
  return readMbr(s0, used, diskSize, sectorSizeHint);
}

function readMbr(s0: Buffer, used: { number: number; type: number; start: number; sectors: number }[], diskSize: number, ss: number): LayoutResult {
  const partitions: PartitionExtent[] = [];
  for (const e of used) {
    if (e.start === 0) return fail(`MBR partition ${e.number} starts at sector 0, over the MBR itself`);
    const p = { number: e.number, start: e.start * ss, end: (e.start + e.sectors) * ss, type: hex2(e.type) };
    if (p.end > diskSize) return fail(`MBR partition ${e.number} ends at byte ${p.end}, beyond the disk's ${diskSize} bytes`);
    partitions.push(p);
  }
  const first = Math.min(...partitions.map((p) => p.start));
  const gapLength = first - GAP_START;
  if (gapLength > MAX_GAP_BYTES) {
    return fail(`the post-MBR gap is ${gapLength} bytes (first partition at byte ${first}), over the ${MAX_GAP_BYTES}-byte limit for a boot loader area`);
  }
  const fingerprint = sha256Hex([Buffer.from('mbr\0'), u32(ss), s0.subarray(MBR_TABLE_RANGE.start, MBR_TABLE_RANGE.end)]);
  const writable: ByteRange[] = [{ start: 0, end: BOOT_CODE_LENGTH, what: 'boot code' }];
  if (gapLength > 0) writable.push({ start: GAP_START, end: first, what: 'post-MBR gap' });
  return {
    ok: true,
    layout: {
      kind: 'mbr',
      sectorSize: ss,
      diskSize,
      fingerprint,
      partitions,
      firstPartitionStart: first,
      gap: { offset: GAP_START, length: Math.max(gapLength, 0), source: 'post-mbr-gap' },
      writable,
      protected: [{ ...MBR_TABLE_RANGE, what: 'disk signature and partition table (bytes 440-511)' }],
    },
  };
}

function probeGptSectorSize(read: ReadAt, diskSize: number, hint: number): number | null {
  for (const ss of [...new Set([hint, 512, 4096])]) {
    if (diskSize < 3 * ss) continue;
    if (read(ss, 8).toString('latin1') === GPT_SIGNATURE) return ss;
  }
  return null;
}

function readGpt(read: ReadAt, diskSize: number, hint: number, s0: Buffer): LayoutResult {
  const ss = probeGptSectorSize(read, diskSize, hint);
  if (ss === null) return fail(`protective MBR (type 0xEE) but no "${GPT_SIGNATURE}" GPT header at LBA 1`);
  const head = read(ss, ss);
  const headerSize = head.readUInt32LE(12);
  if (headerSize < 92 || headerSize > ss) return fail(`GPT header size ${headerSize} is invalid`);
  const forCrc = Buffer.from(head.subarray(0, headerSize));
  forCrc.writeUInt32LE(0, 16);
  if (crc32(forCrc) !== head.readUInt32LE(16)) return fail('GPT header CRC mismatch (corrupt header)');
  const currentLba = lba(head, 24);
  const backupLba = lba(head, 32);
  const firstUsable = lba(head, 40);
  const lastUsable = lba(head, 48);
  const entriesLba = lba(head, 72);
  const count = head.readUInt32LE(80);
  const entrySize = head.readUInt32LE(84);
  const lastLba = Math.floor(diskSize / ss) - 1;
  if (currentLba !== 1) return fail(`GPT header at LBA 1 says it is at LBA ${currentLba}`);
  if (firstUsable === null || lastUsable === null || backupLba === null || entriesLba === null) return fail('GPT header has LBAs out of range');
  if (firstUsable > lastUsable || lastUsable > lastLba) return fail(`GPT usable LBAs ${firstUsable}-${lastUsable} do not fit the disk (last LBA ${lastLba})`);
  if (entrySize < 128 || entrySize % 8 !== 0) return fail(`GPT entry size ${entrySize} is invalid`);
  const entriesBytes = count * entrySize;
  if (count === 0 || entriesBytes > MAX_GPT_ENTRIES_BYTES) return fail(`GPT entry array of ${count} x ${entrySize} bytes is invalid`);
  const entriesStart = entriesLba * ss;
  const entriesEnd = entriesStart + Math.ceil(entriesBytes / ss) * ss;
  if (entriesLba < 2 || entriesEnd > diskSize) return fail(`GPT entry array at LBA ${entriesLba} is outside the disk`);
  const array = read(entriesStart, entriesBytes);
  if (crc32(array) !== head.readUInt32LE(88)) return fail('GPT entry array CRC mismatch (corrupt table)');

  const partitions: PartitionExtent[] = [];
  for (let i = 0; i < count; i++) {
    const e = array.subarray(i * entrySize, (i + 1) * entrySize);
    if (e.subarray(0, 16).every((x) => x === 0)) continue;
    const first = lba(e, 32);
    const last = lba(e, 40);
    if (first === null || last === null || first > last || first < firstUsable || last > lastUsable) {
      return fail(`GPT partition ${i + 1} lies outside the usable LBAs ${firstUsable}-${lastUsable}`);
    }
    partitions.push({ number: i + 1, start: first * ss, end: (last + 1) * ss, type: guidToString(e.subarray(0, 16)) });
  }
  if (partitions.length === 0) return fail('GPT without partitions');

  const prot: ByteRange[] = [
    { ...MBR_TABLE_RANGE, what: 'protective MBR partition table (bytes 440-511)' },
    { start: ss, end: 2 * ss, what: 'GPT header (LBA 1)' },
    { start: entriesStart, end: entriesEnd, what: `GPT entry array (LBA ${entriesLba}-${entriesEnd / ss - 1})` },
    // Backup entries and header normally fill the space after the last usable LBA.
    { start: (lastUsable + 1) * ss, end: diskSize, what: 'backup GPT (after the last usable LBA)' },
  ];
  if (backupLba <= lastLba) prot.push({ start: backupLba * ss, end: (backupLba + 1) * ss, what: `backup GPT header (LBA ${backupLba})` });

  const writable: ByteRange[] = [{ start: 0, end: BOOT_CODE_LENGTH, what: 'boot code' }];
  let gap = { offset: 0, length: 0, source: 'bios-boot-partition' as GapSource };
  // GRUB installs into the first BIOS boot partition it finds, in entry order; so do we.
  const biosBoot = partitions.find((p) => p.type === BIOS_BOOT_TYPE_GUID);
  if (biosBoot) {
    const length = biosBoot.end - biosBoot.start;
    if (length > MAX_GAP_BYTES) return fail(`the BIOS boot partition (${biosBoot.number}) is ${length} bytes, over the ${MAX_GAP_BYTES}-byte limit for a boot loader area`);
    const hit = prot.find((r) => biosBoot.start < r.end && r.start < biosBoot.end);
    if (hit) return fail(`the BIOS boot partition (${biosBoot.number}) overlaps the ${hit.what}`);
    gap = { offset: biosBoot.start, length, source: 'bios-boot-partition' };
    writable.push({ start: biosBoot.start, end: biosBoot.end, what: `BIOS boot partition ${biosBoot.number}` });
  }
  const fingerprint = sha256Hex([
    Buffer.from('gpt\0'),
    u32(ss),
    s0.subarray(MBR_TABLE_RANGE.start, MBR_TABLE_RANGE.end),
    head.subarray(56, 72), // disk GUID
    head.subarray(40, 56), // first and last usable LBA
    head.subarray(72, 88), // entries LBA, count, entry size
    array,
  ]);
  return {
    ok: true,
    layout: {
      kind: 'gpt',
      sectorSize: ss,
      diskSize,
      fingerprint,
      partitions,
      firstPartitionStart: Math.min(...partitions.map((p) => p.start)),
      gap,
      writable,
      protected: prot,
    },
  };
}

/** readDiskLayout over an in-memory disk image. */
export function readBufferLayout(image: Buffer, sectorSizeHint = 512): LayoutResult {
  return readDiskLayout(
    (offset, length) => {
      if (offset + length > image.length) throw new RangeError(`read past the end of the image (${offset}+${length})`);
      return image.subarray(offset, offset + length);
    },
    image.length,
    sectorSizeHint,
  );
}
