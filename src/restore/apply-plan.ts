// Runs a restore plan on the live tree under ROOT. Every path is opened beneath the ROOT fd with
// no symlink followed (safeOpenBeneath), every change is made relative to its parent's fd, and
// content goes to a temp file in the same directory that is renamed over the old name — running
// processes keep their old inode and a killed restore never leaves a half-written file under a
// real name. Errors that mean "already as wanted" (ENOENT on delete, EEXIST on mkdir of a
// directory) are accepted, which is what lets an interrupted restore converge when run again.
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as sys from '../sys/index.js';
import { type Entry, EntryType, LOCKING_FS_FLAGS } from '../model/entry.js';
import { SnapError, errnoCode } from '../model/errors.js';
/** Where file content comes from: verified blobs by id. */
export interface ContentSource {
  /** The blob's content, used (written) before the next read: its buffer may be freed then. */
  read(id: Buffer): Promise<Buffer>;
}
import { applyFlags, applyMeta, type MetaHooks } from './apply-meta.js';
import type { PlanOp } from './plan-types.js';

const C = sys.constants;
const DEV_TYPE_BITS: Partial<Record<EntryType, number>> = {
  [EntryType.CharDev]: C.S_IFCHR,
  [EntryType.BlockDev]: C.S_IFBLK,
  [EntryType.Fifo]: C.S_IFIFO,
};

export interface ApplyStats {
  ops: number;
  bytesWritten: number;
  filesWritten: number;
}

function split(path: Buffer): { parent: Buffer; name: Buffer } {
  const i = path.lastIndexOf(0x2f);
  return { parent: path.subarray(0, Math.max(0, i)), name: path.subarray(i + 1) };
}

/** Never fill the disk: this much stays free beyond what a file needs (at most 1% of the fs). */
const RESTORE_RESERVE_BYTES = 64 * 1024 * 1024;

function formatMiB(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Free space is asked of a directory's filesystem again after this many bytes or files. */
const ROOM_RECHECK_BYTES = 8 * 1024 * 1024;
const ROOM_RECHECK_FILES = 256;

/** What a directory's filesystem had free when last asked, less what this restore wrote since. */
interface Room {
  free: number;
  reserve: number;
  bytes: number;
  files: number;
}

/**
 * The space a directory's filesystem has for this restore (a separate /var or /boot counts on its
 * own); null when it cannot be asked (no /proc: a restore must still be possible). Free means
 * available to unprivileged users: ext4's root reserve stays for the running system.
 */
function roomOf(dirfd: number): Room | null {
  let s: fs.StatsFs;
  try {
    s = fs.statfsSync(`/proc/self/fd/${dirfd}`); // the directory the fd holds, however it is reached
  } catch {
    return null;
  }
  return { free: s.bavail * s.bsize, reserve: Math.min(RESTORE_RESERVE_BYTES, Math.floor(s.blocks * s.bsize * 0.01)), bytes: 0, files: 0 };
}

/**
 * Refuses to write a file its filesystem has no room for, before the temp file exists; the old
 * version still takes its space until the rename, so the whole new size is needed. What the last
 * answer said is counted down by each file written, and the filesystem is asked again after
 * ROOM_RECHECK_BYTES or ROOM_RECHECK_FILES (a statfs per small file was ~3% of a restore's time).
 */
function takeRoom(room: Room, e: Entry, where: string): void {
  const need = e.extents.reduce((n, x) => n + x.length, 0); // holes take no space
  if (need + room.reserve > room.free) {
    throw new SnapError(
      'DISK_FULL',
      `it needs ${formatMiB(need)} but its filesystem has only ${formatMiB(room.free)} free (${formatMiB(room.reserve)} are kept free): stopped before filling the disk; ` +
        'what was restored before it stays; free space there and run the same restore again, or restore the pre-restore point to go back',
      { path: where },
    );
  }
  room.free -= need;
  room.bytes += need;
  room.files++;
}

export class PlanApplier {
  readonly stats: ApplyStats = { ops: 0, bytesWritten: 0, filesWritten: 0 };
  /**
   * A directory fd on each filesystem this restore changed, by device: a server's /boot or /var
   * is often a filesystem of its own below ROOT, and `sync -f ROOT` would leave its files in the
   * page cache.
   */
  private readonly changedFilesystems = new Map<bigint, number>();
  /** The directory last written in; `room` is its filesystem's space (takeRoom), asked lazily. */
  private cachedDir: { path: string; fd: number; room: Room | null | undefined } | null = null;
  /** Temp names: one random part per restore and a counter (O_EXCL still refuses a clash). */
  private readonly tempPrefix = `.rp-restore-${randomBytes(6).toString('hex')}-`;
  private temps = 0;

  constructor(
    private readonly rootFd: number,
    private readonly reader: ContentSource,
    private readonly hooks: MetaHooks,
  ) {}

  /** An fd of the directory at `path` (from ROOT), opened beneath ROOT without symlinks. */
  private dir(path: Buffer): number {
    const key = path.toString('latin1');
    if (this.cachedDir?.path === key) return this.cachedDir.fd;
    this.dropCache();
    const rel = path.length === 0 ? Buffer.from('.') : path.subarray(1);
    const fd = sys.safeOpenBeneath(this.rootFd, rel, C.O_RDONLY | C.O_DIRECTORY);
    this.cachedDir = { path: key, fd, room: undefined };
    this.noteFilesystem(fd);
    return fd;
  }

  /** Remembers the filesystem of `dirfd` (a directory about to change) for syncWritten. */
  private noteFilesystem(dirfd: number): void {
    const dev = sys.fstat(dirfd).dev;
    if (!this.changedFilesystems.has(dev)) this.changedFilesystems.set(dev, sys.safeOpenBeneath(dirfd, Buffer.from('.'), C.O_RDONLY | C.O_DIRECTORY));
  }

  /**
   * Writes out every filesystem the restore changed (syncfs): restored files must be on disk
   * before the admin reboots into them, and a reboot from a rescue system may not sync.
   */
  syncWritten(): void {
    for (const fd of this.changedFilesystems.values()) sys.syncfs(fd);
  }

  /** Refuses `e` when the filesystem of the directory just opened (dir()) has no room for it. */
  private ensureRoom(dirfd: number, e: Entry, where: string): void {
    const cached = this.cachedDir;
    if (!cached || cached.fd !== dirfd) {
      const room = roomOf(dirfd); // not the cached directory: asked each time
      if (room) takeRoom(room, e, where);
      return;
    }
    if (cached.room === undefined || (cached.room && (cached.room.bytes >= ROOM_RECHECK_BYTES || cached.room.files >= ROOM_RECHECK_FILES))) cached.room = roomOf(dirfd);
    if (cached.room) takeRoom(cached.room, e, where);
  }

  private dropCache(): void {
    if (this.cachedDir) sys.close(this.cachedDir.fd);
    this.cachedDir = null;
  }

  close(): void {
    this.dropCache();
    for (const fd of this.changedFilesystems.values()) sys.close(fd);
    this.changedFilesystems.clear();
  }

  /** Runs one op; a failure names the path it was for (and stops the restore). */
  async apply(op: PlanOp): Promise<void> {
    this.stats.ops++;
    const where = op.path.length === 0 ? '/' : op.path.toString();
    try {
      await this.run(op, where);
    } catch (err) {
      const message = `restoring ${where} failed: ${err instanceof Error ? err.message : String(err)}`;
      throw err instanceof SnapError ? new SnapError(err.code, message, { path: where, cause: err }) : new SnapError('IO', message, { path: where, cause: err });
    }
  }

  private async run(op: PlanOp, where: string): Promise<void> {
    switch (op.op) {
      case 'mkdir':
        return this.mkdir(op.path);
      case 'create':
      case 'replace':
        return this.putInode(op.path, op.entry, where);
      case 'link':
        return this.link(op.path, op.to);
      case 'meta':
        return this.meta(op.path, op.entry, where);
      case 'delete':
        return this.remove(op.path, op.live, where);
      case 'unlock':
        return this.unlock(op.path, op.live);
      case 'parent-mtime':
        return this.withOpen(op.path, EntryType.Dir, (fd) => sys.futimens(fd, op.live.mtimeNs, op.live.mtimeNs));
    }
  }

  private mkdir(path: Buffer): void {
    const { parent, name } = split(path);
    const dirfd = this.dir(parent);
    try {
      sys.mkdirat(dirfd, name, 0o700);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      const st = sys.fstatat(dirfd, name, C.AT_SYMLINK_NOFOLLOW);
      if ((Number(st.mode) & C.S_IFMT) !== C.S_IFDIR) throw err;
    }
  }

  /** Opens the inode at `path` (never through a symlink) and runs `fn` on its fd. */
  private withOpen(path: Buffer, type: EntryType, fn: (fd: number) => void): void {
    if (path.length === 0) return fn(this.dir(path));
    const { parent, name } = split(path);
    const flags = type === EntryType.Dir ? C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW : C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;
    const fd = sys.openat(this.dir(parent), name, flags);
    try {
      if (type === EntryType.Dir) this.noteFilesystem(fd); // a mount point: its root changes
      fn(fd);
    } finally {
      sys.close(fd);
    }
  }

  private meta(path: Buffer, e: Entry, where: string): void {
    if (e.type === EntryType.Dir || e.type === EntryType.File) {
      if (e.type === EntryType.Dir) this.dropCache(); // its fd may be cached; reopen after
      return this.withOpen(path, e.type, (fd) => applyMeta({ dirfd: fd, name: Buffer.from('.'), fd }, e, where, this.hooks));
    }
    const { parent, name } = split(path);
    applyMeta({ dirfd: this.dir(parent), name, fd: null }, e, where, this.hooks);
  }

  private tempName(): Buffer {
    return Buffer.from(`${this.tempPrefix}${++this.temps}.tmp`);
  }

  /** Makes the inode under a temp name in the same directory, then renames it over `path`. */
  private async putInode(path: Buffer, e: Entry, where: string): Promise<void> {
    const { parent, name } = split(path);
    const dirfd = this.dir(parent);
    const tmp = this.tempName();
    let fd: number | null = null;
    try {
      if (e.type === EntryType.File) fd = await this.writeFile(dirfd, tmp, e, where);
      else if (e.type === EntryType.Symlink) {
        sys.symlinkat(e.target ?? Buffer.alloc(0), dirfd, tmp);
        applyMeta({ dirfd, name: tmp, fd: null }, e, where, this.hooks);
      } else {
        sys.mknodat(dirfd, tmp, DEV_TYPE_BITS[e.type]! | 0o600, e.rdevMajor, e.rdevMinor);
        applyMeta({ dirfd, name: tmp, fd: null }, e, where, this.hooks);
      }
      sys.renameat2(dirfd, tmp, dirfd, name, 0);
      if (fd !== null) applyFlags(fd, e.fsFlags);
    } catch (err) {
      try {
        sys.unlinkat(dirfd, tmp, 0);
      } catch {
        // the temp name may not exist yet; a leftover is deleted by the next restore's plan
      }
      throw err;
    } finally {
      if (fd !== null) sys.close(fd);
    }
  }

  /** Writes a file's content and metadata (flags excepted) under `tmp`; returns its open fd. */
  private async writeFile(dirfd: number, tmp: Buffer, e: Entry, where: string): Promise<number> {
    this.ensureRoom(dirfd, e, where);
    const fd = sys.openat(dirfd, tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    try {
      let chunk = 0;
      let end = 0;
      for (const ext of e.extents) {
        let pos = ext.offset;
        while (pos < ext.offset + ext.length) {
          const ref = e.chunks[chunk++];
          if (!ref) throw new SnapError('REPO_CORRUPT', `${where}: the point's content list is shorter than the file`);
          // read() verifies the blob's SHA-256: content that fails it is never written.
          const data = await this.reader.read(ref.id);
          // Also what a freed buffer would look like (empty): a file is never written short.
          if (data.length !== ref.length) throw new SnapError('REPO_CORRUPT', `${where}: a chunk of ${ref.length} bytes read back as ${data.length}`);
          sys.pwriteAll(fd, data, pos);
          pos += data.length;
          this.stats.bytesWritten += data.length;
        }
        end = pos;
      }
      if (end !== e.size) sys.ftruncate(fd, e.size); // a hole at the end (the temp file is new)
      applyMeta({ dirfd, name: tmp, fd }, e, where, this.hooks, false);
      this.stats.filesWritten++;
      return fd;
    } catch (err) {
      sys.close(fd);
      throw err;
    }
  }

  /** Links `path` to the inode restored at `to`, lifting its immutable/append-only meanwhile. */
  private link(path: Buffer, to: Buffer): void {
    const src = split(to);
    const { parent, name } = split(path);
    const dirfd = this.dir(parent);
    const srcfd = sys.safeOpenBeneath(this.rootFd, src.parent.length === 0 ? Buffer.from('.') : src.parent.subarray(1), C.O_RDONLY | C.O_DIRECTORY);
    const tmp = this.tempName();
    let locked: { fd: number; flags: number } | null = null;
    try {
      const st = sys.fstatat(srcfd, src.name, C.AT_SYMLINK_NOFOLLOW);
      if ((Number(st.mode) & C.S_IFMT) === C.S_IFREG) {
        const fd = sys.openat(srcfd, src.name, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
        const flags = safeFlags(fd);
        if (flags & LOCKING_FS_FLAGS) {
          applyFlags(fd, flags & ~LOCKING_FS_FLAGS);
          locked = { fd, flags };
        } else sys.close(fd);
      }
      sys.linkat(srcfd, src.name, dirfd, tmp, 0);
      sys.renameat2(dirfd, tmp, dirfd, name, 0);
    } finally {
      if (locked) {
        applyFlags(locked.fd, locked.flags);
        sys.close(locked.fd);
      }
      sys.close(srcfd);
    }
  }

  private remove(path: Buffer, live: Entry, where: string): void {
    const { parent, name } = split(path);
    if (live.type === EntryType.Dir) this.dropCache();
    const dirfd = this.dir(parent);
    try {
      sys.unlinkat(dirfd, name, live.type === EntryType.Dir ? C.AT_REMOVEDIR : 0);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EBUSY') {
        this.hooks.warning(`${where}: left in place, it holds files that are not removed (excluded, a mount, or created during the restore)`);
        return;
      }
      throw err;
    }
  }

  private unlock(path: Buffer, live: Entry): void {
    if (live.type !== EntryType.File && live.type !== EntryType.Dir) return;
    try {
      this.withOpen(path, live.type, (fd) => applyFlags(fd, sys.getFlags(fd) & ~LOCKING_FS_FLAGS));
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
}

function safeFlags(fd: number): number {
  try {
    return sys.getFlags(fd);
  } catch {
    return 0; // a filesystem without chattr flags
  }
}

/** Opens ROOT for a restore (the one path resolved from the process's root). */
export function openRoot(root: string): number {
  return fs.openSync(root, C.O_RDONLY | C.O_DIRECTORY | C.O_CLOEXEC);
}
