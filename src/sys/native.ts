// native.ts - loads the C++ addon (native/, built by `npm run build:native`) and declares its
// exact shape. Nothing here validates: callers go through the wrappers in this folder (index.ts).
// The addon is loaded once per thread (main and each worker); it has no shared state.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A path or name: a string is encoded as UTF-8, a Buffer is passed to the kernel byte for byte. */
export type PathArg = Buffer | string;

/** fstat/fstatat result. Every kernel field is a bigint; the split device numbers are numbers. */
export interface NativeStat {
  dev: bigint;
  ino: bigint;
  mode: bigint;
  nlink: bigint;
  uid: bigint;
  gid: bigint;
  rdev: bigint;
  size: bigint;
  blksize: bigint;
  blocks: bigint;
  /** Nanoseconds since the epoch (negative before 1970). */
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  rdevMajor: number;
  rdevMinor: number;
  devMajor: number;
  devMinor: number;
}

/** One readdirAt entry: the raw name bytes and the d_type (constants.DT_*; DT_UNKNOWN possible). */
export interface NativeDirEntry {
  name: Buffer;
  type: number;
}

/**
 * readdirPacked result: the listing of readdirAt in three values. `names` holds every name
 * followed by a 0 byte (names never contain NUL), in the same order as `types` (d_type per entry,
 * constants.DT_*; DT_UNKNOWN possible). Iterate with forEachPackedName.
 */
export interface PackedDir {
  names: Buffer;
  types: Uint8Array;
  count: number;
}

/**
 * Slots of the BigInt64Array that fstatatInto/fstatInto fill (layout fixed by native/src/stat.cc).
 * Times are ns since the epoch (negative before 1970). dev, ino and rdev are unsigned in the
 * kernel and stored as their 64-bit pattern: BigInt.asUintN(64, out[STAT_FIELDS.ino]) for the
 * (theoretical) values >= 2^63.
 */
export const STAT_FIELDS = Object.freeze({
  dev: 0,
  ino: 1,
  mode: 2,
  nlink: 3,
  uid: 4,
  gid: 5,
  rdev: 6,
  size: 7,
  blocks: 8,
  atimeNs: 9,
  mtimeNs: 10,
  ctimeNs: 11,
  blksize: 12,
  rdevMajor: 13,
  rdevMinor: 14,
} as const);

/** Minimum length of the array passed to fstatatInto/fstatInto. */
export const STAT_FIELD_COUNT = 15;

/** Error thrown by every native call: a Node-style system error. */
export interface NativeError extends Error {
  code: string;
  /** Negative errno, as Node reports it (ENOENT is -2). */
  errno: number;
  syscall: string;
  path?: string;
  dest?: string;
  /** Set by the *xattr calls. */
  xattrName?: string;
}

export interface NativeConstants {
  readonly AT_FDCWD: number;
  readonly AT_SYMLINK_NOFOLLOW: number;
  readonly AT_REMOVEDIR: number;
  readonly AT_EMPTY_PATH: number;
  readonly AT_SYMLINK_FOLLOW: number;
  readonly O_RDONLY: number;
  readonly O_WRONLY: number;
  readonly O_RDWR: number;
  readonly O_CREAT: number;
  readonly O_EXCL: number;
  readonly O_TRUNC: number;
  readonly O_APPEND: number;
  readonly O_NONBLOCK: number;
  readonly O_PATH: number;
  readonly O_DIRECTORY: number;
  readonly O_NOFOLLOW: number;
  readonly O_NOATIME: number;
  readonly O_CLOEXEC: number;
  readonly O_TMPFILE: number;
  readonly RESOLVE_BENEATH: number;
  readonly RESOLVE_NO_SYMLINKS: number;
  readonly RESOLVE_NO_MAGICLINKS: number;
  readonly RESOLVE_NO_XDEV: number;
  readonly RESOLVE_IN_ROOT: number;
  readonly RENAME_NOREPLACE: number;
  readonly RENAME_EXCHANGE: number;
  readonly XATTR_CREATE: number;
  readonly XATTR_REPLACE: number;
  readonly FALLOC_FL_KEEP_SIZE: number;
  readonly FALLOC_FL_PUNCH_HOLE: number;
  readonly FALLOC_FL_ZERO_RANGE: number;
  readonly LOCK_SH: number;
  readonly LOCK_EX: number;
  readonly LOCK_NB: number;
  readonly LOCK_UN: number;
  readonly FS_IMMUTABLE_FL: number;
  readonly FS_APPEND_FL: number;
  readonly FS_NODUMP_FL: number;
  readonly FS_NOATIME_FL: number;
  readonly S_IFMT: number;
  readonly S_IFREG: number;
  readonly S_IFDIR: number;
  readonly S_IFLNK: number;
  readonly S_IFCHR: number;
  readonly S_IFBLK: number;
  readonly S_IFIFO: number;
  readonly S_IFSOCK: number;
  readonly DT_UNKNOWN: number;
  readonly DT_FIFO: number;
  readonly DT_CHR: number;
  readonly DT_DIR: number;
  readonly DT_BLK: number;
  readonly DT_REG: number;
  readonly DT_LNK: number;
  readonly DT_SOCK: number;
}

export interface NativeAddon {
  // xattr.cc (l*: by path, never following a final symlink; f*: by fd)
  lgetxattr(path: PathArg, name: PathArg): Buffer;
  lsetxattr(path: PathArg, name: PathArg, value: Uint8Array, flags: number): undefined;
  llistxattr(path: PathArg): Buffer[];
  lremovexattr(path: PathArg, name: PathArg): undefined;
  fgetxattr(fd: number, name: PathArg): Buffer;
  fsetxattr(fd: number, name: PathArg, value: Uint8Array, flags: number): undefined;
  flistxattr(fd: number): Buffer[];
  fremovexattr(fd: number, name: PathArg): undefined;
  // stat.cc
  fstatat(dirfd: number, name: PathArg, flags: number): NativeStat;
  fstat(fd: number): NativeStat;
  /** Fills out[0..14] (STAT_FIELDS); TypeError unless out is a BigInt64Array of length >= 15. */
  fstatatInto(dirfd: number, name: PathArg, flags: number, out: BigInt64Array): undefined;
  fstatInto(fd: number, out: BigInt64Array): undefined;
  /**
   * fstatat of `count` names of a readdirPacked listing from byte `start` of `names`: entry i's
   * fields into out[i*15 ..], 0 into errnos[i]; or its errno into errnos[i] (slots untouched).
   */
  fstatatMany(dirfd: number, names: Buffer, start: number, count: number, flags: number, out: BigInt64Array, errnos: Int32Array): undefined;
  // dir.cc
  readdirAt(dirfd: number): NativeDirEntry[];
  readdirPacked(dirfd: number): PackedDir;
  /** mallopt(M_ARENA_MAX, n); true when glibc took it. */
  limitMallocArenas(n: number): boolean;
  /** Detaches `ab` (its memory is freed now); returns the bytes it held. */
  releaseArrayBuffer(ab: ArrayBuffer): number;
  // open.cc
  openat(dirfd: number, name: PathArg, flags: number, mode: number): number;
  openat2(dirfd: number, path: PathArg, flags: number, mode: number, resolve: number): number;
  close(fd: number): undefined;
  mkdirat(dirfd: number, name: PathArg, mode: number): undefined;
  unlinkat(dirfd: number, name: PathArg, flags: number): undefined;
  symlinkat(target: PathArg, dirfd: number, name: PathArg): undefined;
  readlinkat(dirfd: number, name: PathArg): Buffer;
  linkat(olddirfd: number, oldname: PathArg, newdirfd: number, newname: PathArg, flags: number): undefined;
  fchownat(dirfd: number, name: PathArg, uid: number, gid: number, flags: number): undefined;
  fchmodat(dirfd: number, name: PathArg, mode: number): undefined;
  fchmod(fd: number, mode: number): undefined;
  fchown(fd: number, uid: number, gid: number): undefined;
  // rename.cc
  renameat2(olddirfd: number, oldname: PathArg, newdirfd: number, newname: PathArg, flags: number): undefined;
  // mknod.cc
  mknodat(dirfd: number, name: PathArg, mode: number, major: number, minor: number): undefined;
  // utimens.cc (null leaves that time unchanged: UTIME_OMIT)
  utimensat(dirfd: number, name: PathArg, atimeNs: bigint | null, mtimeNs: bigint | null, flags: number): undefined;
  futimens(fd: number, atimeNs: bigint | null, mtimeNs: bigint | null): undefined;
  // seek.cc (-1 when there is no further data/hole: ENXIO)
  lseekData(fd: number, offset: number): number;
  lseekHole(fd: number, offset: number): number;
  // falloc.cc
  fallocate(fd: number, mode: number, offset: number, len: number): undefined;
  ftruncate(fd: number, len: number): undefined;
  fsync(fd: number): undefined;
  fdatasync(fd: number): undefined;
  /** syncfs(2): the filesystem holding fd's inode written out. */
  syncfs(fd: number): undefined;
  pwrite(fd: number, buffer: Uint8Array, offset: number): number;
  // flock.cc
  flock(fd: number, operation: number): undefined;
  // flags.cc
  getFlags(fd: number): number;
  setFlags(fd: number, flags: number): undefined;

  readonly constants: NativeConstants;
}

const ADDON_RELATIVE = path.join('native', 'build', 'Release', 'restore_native.node');

/**
 * The project root is the nearest ancestor holding native/binding.gyp (a checkout) or the built
 * addon itself (an installed copy, which has no sources). Walking up (instead of a fixed
 * '../../..') keeps this right from src/sys (ts-node style runs) and dist/src/sys alike.
 */
export function findProjectRoot(startDir: string): string {
  let dir = startDir;
  for (;;) {
    if (existsSync(path.join(dir, 'native', 'binding.gyp')) || existsSync(path.join(dir, ADDON_RELATIVE))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`restore_native: no native/binding.gyp or ${ADDON_RELATIVE} above ${startDir}; is the project intact?`);
    }
    dir = parent;
  }
}

function loadAddon(): NativeAddon {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const addonPath = path.join(findProjectRoot(here), ADDON_RELATIVE);
  if (!existsSync(addonPath)) {
    throw new Error(`restore_native: ${addonPath} is missing; run \`npm run build:native\``);
  }
  const require = createRequire(import.meta.url);
  return require(addonPath) as NativeAddon;
}

export const native: NativeAddon = loadAddon();

export { procFdPath } from './proc-fd-path.js';
