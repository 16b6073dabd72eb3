// One directory entry with every field a Linux inode has that a restore needs. Names, symlink
// targets and xattr names are bytes (Buffer) end to end: no string round trip may mangle them.

export enum EntryType {
  File = 1,
  Dir = 2,
  Symlink = 3,
  CharDev = 4,
  BlockDev = 5,
  Fifo = 6,
}

export const EntryFlag = {
  /** Directory recorded empty on purpose (exclusion, pseudo fs, repository, database). */
  ContentsExcluded: 1,
  /** File has holes; `extents` lists its data regions. */
  Sparse: 2,
  /** File kept changing while it was read; the stored copy may not be consistent. */
  ChangedWhileRead: 4,
  /** Scan-internal: content still being read by a file task; never in a committed tree. */
  Deferred: 8,
  /**
   * Its ctime was within RACY_MARGIN_MS of its snapshot's start (or later): a change right after
   * it was read may have left every stat field as recorded (timestamps are as coarse as a clock
   * tick, or a second on some filesystems), so the next snapshot does not trust the stat and
   * reads the entry again.
   */
  Racy: 16,
} as const;

/**
 * chattr flags a restore sets: sync (S), immutable (i), append-only (a), nodump (d), noatime (A),
 * dirsync (D). Others are the filesystem's own (extents, inline data, encryption...) or must be
 * set before content exists (nocow, compression); they are recorded but never applied.
 */
export const RESTORABLE_FS_FLAGS = 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x10000;
/** Immutable and append-only: they must be lifted before an inode (or a directory's entries) change. */
export const LOCKING_FS_FLAGS = 0x10 | 0x20;

/**
 * xfs shows a file's ACLs to root a second time as these trusted.* names. They repeat
 * system.posix_acl_* (restored, which recreates them on xfs) and mean nothing on other
 * filesystems, so they are neither recorded nor restored nor removed.
 */
export const FS_MIRROR_XATTRS: ReadonlySet<string> = new Set(['trusted.SGI_ACL_FILE', 'trusted.SGI_ACL_DEFAULT']);

export interface Xattr {
  name: Buffer;
  value: Buffer;
}

export interface ChunkRef {
  id: Buffer;
  length: number;
}

export interface Extent {
  offset: number;
  length: number;
}

export interface Entry {
  name: Buffer;
  type: EntryType;
  flags: number;
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  dev: bigint;
  nlink: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  fsFlags: number;
  xattrs: Xattr[];
  /** File: data extents (one 0..size extent for a dense file; empty for an empty file). */
  extents: Extent[];
  /** File: content chunks covering the extents in order. */
  chunks: ChunkRef[];
  /** Dir: id of its tree blob. */
  subtree: Buffer | null;
  /** Symlink: target bytes. */
  target: Buffer | null;
}

export function entryTypeFromMode(mode: number): EntryType | null {
  switch (mode & 0o170000) {
    case 0o100000:
      return EntryType.File;
    case 0o040000:
      return EntryType.Dir;
    case 0o120000:
      return EntryType.Symlink;
    case 0o020000:
      return EntryType.CharDev;
    case 0o060000:
      return EntryType.BlockDev;
    case 0o010000:
      return EntryType.Fifo;
    default:
      return null; // sockets and unknown types are not restorable
  }
}
