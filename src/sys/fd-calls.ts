// fd-calls.ts - validated wrappers for calls on an already open fd: close, fstat, times, mode and
// owner, sparse-file seeking, space management, durability, positional writes, locks and inode
// flags. Offsets and lengths are JS numbers, so they are limited to 2^53-1 bytes (8 PiB).
import { native, STAT_FIELD_COUNT, STAT_FIELDS, type NativeStat } from './native.js';
import { sysError } from './sys-error.js';
import { assertBigInt, assertBits, assertBuffer, assertFd, assertId, assertMode, assertOffset } from './validate.js';

const C = native.constants;

export function close(fd: number): void {
  assertFd(fd);
  native.close(fd);
}

export function fstat(fd: number): NativeStat {
  assertFd(fd);
  return native.fstat(fd);
}

/** Sets times in ns since the epoch; null keeps that time. */
export function futimens(fd: number, atimeNs: bigint | null, mtimeNs: bigint | null): void {
  assertFd(fd);
  if (atimeNs !== null) assertBigInt(atimeNs, 'atimeNs');
  if (mtimeNs !== null) assertBigInt(mtimeNs, 'mtimeNs');
  native.futimens(fd, atimeNs, mtimeNs);
}

export function fchmod(fd: number, mode: number): void {
  assertFd(fd);
  assertMode(mode);
  native.fchmod(fd, mode);
}

/** -1 keeps an id. Note the kernel clears setuid/setgid and security.capability on chown. */
export function fchown(fd: number, uid: number, gid: number): void {
  assertFd(fd);
  assertId(uid, 'uid');
  assertId(gid, 'gid');
  native.fchown(fd, uid, gid);
}

/** Start of the next data region at or after offset, or -1 if there is none. */
export function lseekData(fd: number, offset: number): number {
  assertFd(fd);
  assertOffset(offset, 'offset');
  return native.lseekData(fd, offset);
}

/** Start of the next hole at or after offset (EOF counts as a hole), or -1 past EOF. */
export function lseekHole(fd: number, offset: number): number {
  assertFd(fd);
  assertOffset(offset, 'offset');
  return native.lseekHole(fd, offset);
}

/** mode 0 allocates; FALLOC_FL_PUNCH_HOLE must be combined with FALLOC_FL_KEEP_SIZE. */
export function fallocate(fd: number, mode: number, offset: number, len: number): void {
  assertFd(fd);
  assertBits(mode, 'mode');
  assertOffset(offset, 'offset');
  assertOffset(len, 'len');
  native.fallocate(fd, mode, offset, len);
}

export function ftruncate(fd: number, len: number): void {
  assertFd(fd);
  assertOffset(len, 'len');
  native.ftruncate(fd, len);
}

export function fsync(fd: number): void {
  assertFd(fd);
  native.fsync(fd);
}

export function fdatasync(fd: number): void {
  assertFd(fd);
  native.fdatasync(fd);
}

/** Writes out the filesystem that holds `fd`'s inode (syncfs(2), as `sync -f`). */
export function syncfs(fd: number): void {
  assertFd(fd);
  native.syncfs(fd);
}

/** One pwrite(2): may write fewer bytes than given (use pwriteAll to write everything). */
export function pwrite(fd: number, buffer: Uint8Array, offset: number): number {
  assertFd(fd);
  assertBuffer(buffer, 'buffer');
  assertOffset(offset, 'offset');
  return native.pwrite(fd, buffer, offset);
}

/** Writes all of buffer at offset, continuing after short writes. */
export function pwriteAll(fd: number, buffer: Uint8Array, offset: number): void {
  assertBuffer(buffer, 'buffer');
  let done = 0;
  while (done < buffer.length) {
    const n = pwrite(fd, buffer.subarray(done), offset + done);
    if (n === 0) throw sysError('EIO', 'pwrite');
    done += n;
  }
}

/** LOCK_SH/LOCK_EX (| LOCK_NB) or LOCK_UN. A LOCK_NB conflict throws code 'EAGAIN'. */
export function flock(fd: number, operation: number): void {
  assertFd(fd);
  assertBits(operation, 'operation');
  native.flock(fd, operation);
}

/** Scratch for assertFlagsTarget's fstat: read back at once, so one array serves every call. */
const typeSlots = new BigInt64Array(STAT_FIELD_COUNT);

/**
 * FS_IOC_* ioctls go to whatever driver backs the fd; on a device node that number may mean
 * something else entirely. Like chattr/lsattr (e2fsprogs), only regular files and directories
 * are asked; anything else is EOPNOTSUPP.
 */
function assertFlagsTarget(fd: number, syscall: string, modeOfFd?: number): void {
  let mode = modeOfFd;
  if (mode === undefined) {
    // fstatInto, not fstat: a snapshot reads every file's flags, and fstat's object costs more.
    native.fstatInto(fd, typeSlots);
    mode = Number(typeSlots[STAT_FIELDS.mode]);
  }
  const type = mode & C.S_IFMT;
  if (type !== C.S_IFREG && type !== C.S_IFDIR) throw sysError('EOPNOTSUPP', syscall);
}

/**
 * Inode flags (FS_*_FL) of a regular file or directory opened for reading (not O_PATH).
 * `modeOfFd`: st_mode from the caller's own fstat of this same fd, when it has one (a snapshot
 * reading a file has just made it): the type check then needs no second fstat.
 */
export function getFlags(fd: number, modeOfFd?: number): number {
  assertFd(fd);
  if (modeOfFd !== undefined) assertBits(modeOfFd, 'modeOfFd');
  assertFlagsTarget(fd, 'ioctl', modeOfFd);
  return native.getFlags(fd);
}

/** Setting FS_IMMUTABLE_FL/FS_APPEND_FL needs CAP_LINUX_IMMUTABLE; set them last in a restore. */
export function setFlags(fd: number, flags: number): void {
  assertFd(fd);
  assertBits(flags, 'flags');
  assertFlagsTarget(fd, 'ioctl');
  native.setFlags(fd, flags);
}
