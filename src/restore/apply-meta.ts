// Applies an entry's metadata in the one safe order: lchown (it clears setuid/setgid and
// security.capability), chmod, xattrs incl. ACLs (after chmod, which rewrites an ACL mask),
// utimensat with ns, chattr flags last (immutable would block everything before it).
// `fd` is an open fd of the inode when there is one (files, dirs); else the entry is addressed as
// `name` relative to `dirfd` without following it (symlinks, devices, FIFOs).
import * as sys from '../sys/index.js';
import { type Entry, EntryType, RESTORABLE_FS_FLAGS } from '../model/entry.js';
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

function setXattr(t: MetaTarget, name: Buffer, value: Buffer): void {
  if (t.fd !== null) sys.fsetxattr(t.fd, name, value, 0);
  else sys.lsetxattr(sys.procFdPath(t.dirfd, t.name), name, value, 0);
}

export function applyMeta(t: MetaTarget, e: Entry, where: string, hooks: MetaHooks): void {
  if (t.fd !== null) sys.fchown(t.fd, e.uid, e.gid);
  else sys.fchownat(t.dirfd, t.name, e.uid, e.gid, C.AT_SYMLINK_NOFOLLOW);
  if (e.type !== EntryType.Symlink) {
    if (t.fd !== null) sys.fchmod(t.fd, e.mode & MODE_BITS);
    else sys.fchmodat(t.dirfd, t.name, e.mode & MODE_BITS);
  }
  for (const x of e.xattrs) {
    try {
      setXattr(t, x.name, x.value);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
        hooks.warning(`${where}: this filesystem does not take xattr ${x.name.toString('latin1')}; skipped`);
        continue;
      }
      throw err;
    }
  }
  if (t.fd !== null) sys.futimens(t.fd, e.mtimeNs, e.mtimeNs);
  else sys.utimensat(t.dirfd, t.name, e.mtimeNs, e.mtimeNs, C.AT_SYMLINK_NOFOLLOW);
  if (t.fd !== null && (e.type === EntryType.File || e.type === EntryType.Dir)) applyFlags(t.fd, e.fsFlags);
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
