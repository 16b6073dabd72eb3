// Applies an entry's metadata in the one safe order: lchown (it clears setuid/setgid and
// security.capability), chmod, xattrs incl. ACLs (after chmod, which rewrites an ACL mask),
// utimensat with ns, chattr flags last (immutable would block everything before it).
// `fd` is an open fd of the inode when there is one (files, dirs); else the entry is addressed as
// `name` relative to `dirfd` without following it (symlinks, devices, FIFOs).
import fs from 'node:fs';
import * as sys from '../sys/index.js';
import { type Entry, EntryType, FS_MIRROR_XATTRS, RESTORABLE_FS_FLAGS } from '../model/entry.js';
import { errnoCode } from '../model/errors.js';

const C = sys.constants;
const MODE_BITS = 0o7777;

export interface MetaTarget {
  dirfd: number;
  name: Buffer;
  fd: number | null;
}

export interface MetaHooks {
  warning(message: string): void;
}

const NO_XATTRS = new Set(['ENOTSUP', 'EOPNOTSUPP']);

/** The inode's xattrs now, by name (latin1 keys: one char per byte). */
function currentXattrs(t: MetaTarget): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const p = t.fd === null ? sys.procFdPath(t.dirfd, t.name) : null;
  let names: Buffer[];
  try {
    names = p ? sys.llistxattr(p) : sys.flistxattr(t.fd!);
  } catch (err) {
    if (NO_XATTRS.has(errnoCode(err) ?? '')) return out;
    throw err;
  }
  for (const n of names) {
    try {
      out.set(n.toString('latin1'), p ? sys.lgetxattr(p, n) : sys.fgetxattr(t.fd!, n));
    } catch (err) {
      if (errnoCode(err) !== 'ENODATA') throw err;
    }
  }
  return out;
}

/** Makes the inode's xattrs exactly the entry's: removes the others, sets what differs. */
function applyXattrs(t: MetaTarget, e: Entry, where: string, hooks: MetaHooks): void {
  const current = currentXattrs(t);
  const p = t.fd === null ? sys.procFdPath(t.dirfd, t.name) : null;
  const wanted = new Set(e.xattrs.map((x) => x.name.toString('latin1')));
  for (const name of current.keys()) {
    if (wanted.has(name) || FS_MIRROR_XATTRS.has(name)) continue;
    const n = Buffer.from(name, 'latin1');
    if (p) sys.lremovexattr(p, n);
    else sys.fremovexattr(t.fd!, n);
  }
  for (const x of e.xattrs) {
    if (current.get(x.name.toString('latin1'))?.equals(x.value)) continue;
    try {
      if (p) sys.lsetxattr(p, x.name, x.value, 0);
      else sys.fsetxattr(t.fd!, x.name, x.value, 0);
    } catch (err) {
      if (!NO_XATTRS.has(errnoCode(err) ?? '')) throw err;
      hooks.warning(`${where}: this filesystem does not take xattr ${x.name.toString('latin1')}; skipped`);
    }
  }
}

/**
 * `withFlags: false` leaves chattr flags for later: a new inode under a temp name gets them only
 * after its rename, because an immutable or append-only inode can be neither renamed nor linked.
 */
export function applyMeta(t: MetaTarget, e: Entry, where: string, hooks: MetaHooks, withFlags = true): void {
  const stat = (): sys.NativeStat => (t.fd !== null ? sys.fstat(t.fd) : sys.fstatat(t.dirfd, t.name, C.AT_SYMLINK_NOFOLLOW));
  let st = stat();
  // Compared before set: a chown, even to the same owner, clears setuid/setgid and capabilities.
  if (Number(st.uid) !== e.uid || Number(st.gid) !== e.gid) {
    if (t.fd !== null) sys.fchown(t.fd, e.uid, e.gid);
    else sys.fchownat(t.dirfd, t.name, e.uid, e.gid, C.AT_SYMLINK_NOFOLLOW);
    st = stat();
  }
  if (e.type !== EntryType.Symlink && (Number(st.mode) & MODE_BITS) !== (e.mode & MODE_BITS)) {
    if (t.fd !== null) sys.fchmod(t.fd, e.mode & MODE_BITS);
    else chmodNoFollow(t, e.mode & MODE_BITS);
  }
  applyXattrs(t, e, where, hooks);
  // chown, chmod and xattrs change the ctime, never the mtime: the first stat's still holds.
  if (st.mtimeNs !== e.mtimeNs) {
    if (t.fd !== null) sys.futimens(t.fd, e.mtimeNs, e.mtimeNs);
    else sys.utimensat(t.dirfd, t.name, e.mtimeNs, e.mtimeNs, C.AT_SYMLINK_NOFOLLOW);
  }
  if (withFlags && t.fd !== null && (e.type === EntryType.File || e.type === EntryType.Dir)) applyFlags(t.fd, e.fsFlags);
}

/**
 * chmod of a device or FIFO by name. fchmodat() follows a symlink swapped in under that name, so
 * the inode is pinned first with O_PATH|O_NOFOLLOW, checked, and changed through its fd's
 * /proc/self/fd link (which names that inode, never a symlink's target).
 */
function chmodNoFollow(t: MetaTarget, mode: number): void {
  const fd = sys.openat(t.dirfd, t.name, C.O_PATH | C.O_NOFOLLOW);
  try {
    if ((Number(sys.fstat(fd).mode) & C.S_IFMT) === C.S_IFLNK) return; // symlinks have no mode
    fs.chmodSync(`/proc/self/fd/${fd}`, mode);
  } finally {
    sys.close(fd);
  }
}

/** Sets the restorable chattr bits to `flags`, leaving the filesystem's own bits alone. */
export function applyFlags(fd: number, flags: number): void {
  let current: number;
  try {
    current = sys.getFlags(fd);
  } catch (err) {
    if ((flags & RESTORABLE_FS_FLAGS) === 0) return; // no flags to set on a filesystem without them
    throw err;
  }
  const wanted = (current & ~RESTORABLE_FS_FLAGS) | (flags & RESTORABLE_FS_FLAGS);
  if (wanted !== current) sys.setFlags(fd, wanted);
}
