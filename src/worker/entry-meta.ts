// Builds an Entry's metadata from a stat and the inode's xattrs and chattr flags. xattrs are read
// through the open fd when there is one (files, dirs), else relative to the directory fd via
// /proc/self/fd (symlinks, devices, FIFOs), so paths longer than PATH_MAX work.
import * as sys from '../sys/index.js';
import type { SlotStat } from '../sys/index.js';
import { type Entry, EntryFlag, EntryType, FS_MIRROR_XATTRS, type Xattr } from '../model/entry.js';
import { errnoCode } from '../model/errors.js';

const NO_XATTR_SUPPORT = new Set(['ENOTSUP', 'EOPNOTSUPP', 'ENODATA']);
const NO_FLAGS_SUPPORT = new Set(['ENOTTY', 'ENOTSUP', 'EOPNOTSUPP', 'EINVAL', 'ENOSYS']);

/**
 * `racySince`: the scan's racy limit (ScanWorkerInit.racySinceNs): an inode whose ctime is that or
 * later is flagged Racy, and the next snapshot reads it again.
 */
export function entryFromStat(name: Buffer, type: EntryType, st: SlotStat, racySince: bigint): Entry {
  const isDev = type === EntryType.CharDev || type === EntryType.BlockDev;
  return {
    name,
    type,
    flags: st.ctimeNs >= racySince ? EntryFlag.Racy : 0,
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    ino: st.ino,
    dev: st.dev,
    nlink: Number(st.nlink),
    size: type === EntryType.File || type === EntryType.Symlink ? Number(st.size) : 0,
    rdevMajor: isDev ? st.rdevMajor : 0,
    rdevMinor: isDev ? st.rdevMinor : 0,
    fsFlags: 0,
    xattrs: [],
    extents: [],
    chunks: [],
    subtree: null,
    target: null,
  };
}

function collectXattrs(list: () => Buffer[], get: (name: Buffer) => Buffer): Xattr[] {
  let names: Buffer[];
  try {
    names = list();
  } catch (err) {
    if (NO_XATTR_SUPPORT.has(errnoCode(err) ?? '')) return [];
    throw err;
  }
  const out: Xattr[] = [];
  for (const name of names) {
    if (FS_MIRROR_XATTRS.has(name.toString('latin1'))) continue;
    try {
      out.push({ name: Buffer.from(name), value: Buffer.from(get(name)) });
    } catch (err) {
      if (errnoCode(err) === 'ENODATA') continue; // removed between list and get
      throw err;
    }
  }
  return out.sort((a, b) => Buffer.compare(a.name, b.name));
}

export function xattrsOfFd(fd: number): Xattr[] {
  return collectXattrs(
    () => sys.flistxattr(fd),
    (n) => sys.fgetxattr(fd, n),
  );
}

export function xattrsAt(dirfd: number, name: Buffer): Xattr[] {
  const p = sys.procFdPath(dirfd, name);
  return collectXattrs(
    () => sys.llistxattr(p),
    (n) => sys.lgetxattr(p, n),
  );
}

/**
 * chattr flags (immutable, append-only, ...); 0 where the filesystem has none. `modeOfFd`: st_mode
 * of the caller's fstat of this fd, if it has one (see sys.getFlags).
 */
export function fsFlagsOfFd(fd: number, modeOfFd?: number): number {
  try {
    return sys.getFlags(fd, modeOfFd);
  } catch (err) {
    if (NO_FLAGS_SUPPORT.has(errnoCode(err) ?? '')) return 0;
    throw err;
  }
}

/** The (ino, size, mtime, ctime) tuple that says a file did not change between two stats. */
export function identityOf(st: SlotStat): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

const F = sys.STAT_FIELDS;

/**
 * Whether stat slots (fstatInto) show `st`'s identity, as identityOf compares it: read in place,
 * without a stat object or strings (every file read is checked so once it has been read).
 */
export function slotsHaveIdentity(slots: BigInt64Array, st: SlotStat): boolean {
  return sys.unsignedSlot(slots[F.ino]!) === st.ino && slots[F.size] === st.size && slots[F.mtimeNs] === st.mtimeNs && slots[F.ctimeNs] === st.ctimeNs;
}
