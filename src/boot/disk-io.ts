// Positional I/O on a boot disk: a block device or a disk image file. Sizes come from fstat for
// images and from /sys/dev/block/MAJ:MIN for devices (fstat says 0 for a block device), so no
// ioctl is needed. Reads and writes loop until complete: a short transfer is never taken as done.
import fs from 'node:fs';

import { SnapError } from '../model/errors.js';
import { type LayoutResult, readDiskLayout } from './partition-table.js';

export interface OpenDisk {
  fd: number;
  path: string;
  size: number;
  isBlockDevice: boolean;
  /** Logical block size: from sysfs for devices, 512 for images. */
  sectorSize: number;
}

/** gnu_dev_major / gnu_dev_minor on a 64-bit dev_t. */
export function majorMinor(rdev: bigint): string {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

function readSysNumber(file: string): number | null {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(n) && n >= 0 ? n : null;
  } catch {
    return null;
  }
}

export function ioError(message: string, file: string, cause: unknown): SnapError {
  const why = cause instanceof Error ? `: ${cause.message}` : '';
  return new SnapError('IO', `${message}${why}`, { path: file, cause });
}

/** Opens a boot disk read-only and learns its size and sector size. Throws SnapError('IO'). */
export function openDiskForRead(file: string): OpenDisk {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY);
  } catch (error) {
    throw ioError(`cannot open boot disk ${file}`, file, error);
  }
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    if (st.isFile()) return { fd, path: file, size: Number(st.size), isBlockDevice: false, sectorSize: 512 };
    if (!st.isBlockDevice()) throw new SnapError('IO', `${file} is neither a block device nor a disk image file`, { path: file });
    const sys = `/sys/dev/block/${majorMinor(st.rdev)}`;
    const sectors = readSysNumber(`${sys}/size`);
    if (sectors === null) throw new SnapError('IO', `cannot read the size of ${file} from ${sys}/size`, { path: file });
    if (sectors === 0) throw new SnapError('IO', `${file} has size 0 (no medium?)`, { path: file });
    return { fd, path: file, size: sectors * 512, isBlockDevice: true, sectorSize: readSysNumber(`${sys}/queue/logical_block_size`) || 512 };
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

export function readExact(disk: OpenDisk, offset: number, length: number): Buffer {
  if (offset < 0 || offset + length > disk.size) {
    throw new SnapError('IO', `read of ${length} bytes at ${offset} is outside ${disk.path} (${disk.size} bytes)`, { path: disk.path });
  }
  const buf = Buffer.alloc(length);
  let done = 0;
  try {
    while (done < length) {
      const n = fs.readSync(disk.fd, buf, done, length - done, offset + done);
      if (n === 0) throw new Error(`unexpected end of data at byte ${offset + done}`);
      done += n;
    }
  } catch (error) {
    if (error instanceof SnapError) throw error;
    throw ioError(`cannot read ${disk.path}`, disk.path, error);
  }
  return buf;
}

export function writeExact(fd: number, file: string, data: Buffer, offset: number): void {
  let done = 0;
  try {
    while (done < data.length) {
      const n = fs.writeSync(fd, data, done, data.length - done, offset + done);
      if (n === 0) throw new Error(`no progress writing at byte ${offset + done}`);
      done += n;
    }
  } catch (error) {
    throw ioError(`cannot write ${file}`, file, error);
  }
}

export function layoutOf(disk: OpenDisk): LayoutResult {
  return readDiskLayout((offset, length) => readExact(disk, offset, length), disk.size, disk.sectorSize);
}

export function closeDisk(disk: OpenDisk): void {
  fs.closeSync(disk.fd);
}
