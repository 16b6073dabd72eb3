// The directory task: list one directory, stat its entries relative to the directory's fd, reuse
// the previous point's entry when (type, size, mtime ns, ctime ns, inode) all match, and read
// changed files (open O_NOFOLLOW|O_NOATIME, metadata from fstat of the same fd) within a byte
// budget; larger files are deferred to file tasks so a task's memory stays bounded.
import * as sys from '../sys/index.js';
import type { NativeStat } from '../sys/index.js';
import { type Entry, EntryFlag, EntryType, entryTypeFromMode } from '../model/entry.js';
import { errnoCode } from '../model/errors.js';
import { decodeTree, encodeTree } from '../repo/tree-codec.js';
import { EMPTY_TREE_ID } from '../repo/empty-tree.js';
import { BlobSink } from './blob-sink.js';
import { dataExtents, readChunks } from './file-content.js';
import { entryFromStat, fsFlagsOfFd, identityOf, xattrsAt, xattrsOfFd } from './entry-meta.js';
import { MAX_READ_ATTEMPTS, type DeferredFile, type DirResult, type DirTask, type SubdirRef, type TaskStats } from './protocol.js';
import type { WorkerContext } from './worker-context.js';

/** Files up to this size are read inside the directory task... */
const INLINE_FILE_MAX = 8 * 1024 * 1024;
/** ...while the task has read less than this; the rest go to file tasks. */
const DIR_TASK_READ_BUDGET = 32 * 1024 * 1024;

export function emptyStats(): TaskStats {
  return { files: 0, dirs: 0, bytesScanned: 0, filesRead: 0, bytesRead: 0, changedWhileRead: 0 };
}

function sameInode(prev: Entry | undefined, type: EntryType, st: NativeStat): prev is Entry {
  return (
    prev !== undefined &&
    prev.type === type &&
    prev.ino === st.ino &&
    BigInt(prev.size) === (type === EntryType.File || type === EntryType.Symlink ? st.size : 0n) &&
    prev.mtimeNs === st.mtimeNs &&
    prev.ctimeNs === st.ctimeNs
  );
}

export async function scanDir(ctx: WorkerContext, task: DirTask): Promise<DirResult> {
  const relPath = Buffer.from(task.relPath);
  const stats = emptyStats();
  const warnings: string[] = [];
  const sink = new BlobSink();
  const prevByName = new Map<string, Entry>();
  if (task.prevTree) for (const e of decodeTree(Buffer.from(task.prevTree))) prevByName.set(e.name.toString('latin1'), e);

  const dirfd = ctx.openDir(relPath);
  const entries: Entry[] = [];
  const subdirs: SubdirRef[] = [];
  const deferred: DeferredFile[] = [];
  let budget = DIR_TASK_READ_BUDGET;
  try {
    for (const dent of sys.readdirAt(dirfd)) {
      const name = Buffer.from(dent.name);
      const latinName = name.toString('latin1');
      const path = `${relPath.toString('latin1')}/${latinName}`;
      let st: NativeStat;
      try {
        st = sys.fstatat(dirfd, name, sys.constants.AT_SYMLINK_NOFOLLOW);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue; // deleted since the listing
        throw err;
      }
      const type = entryTypeFromMode(Number(st.mode));
      if (type === null) {
        warnings.push(`skipped socket or unknown file type: ${Buffer.from(path, 'latin1').toString()}`);
        continue;
      }
      const isDir = type === EntryType.Dir;
      let verdict = ctx.rules.verdict(path, latinName, isDir);
      if (isDir && st.dev === ctx.repoDev && st.ino === ctx.repoIno) verdict = 'empty-dir';
      if (verdict === 'omit') continue;

      const prev = prevByName.get(latinName);
      let entry: Entry;
      if (sameInode(prev, type, st)) {
        entry = { ...prev, name };
      } else {
        entry = entryFromStat(name, type, st);
        if (type === EntryType.File) {
          if (st.size <= BigInt(Math.min(INLINE_FILE_MAX, budget))) {
            const read = await readFileEntry(ctx, dirfd, name, path, sink, stats, warnings);
            if (read === null) continue; // vanished or turned into something else: next run sees it
            entry = read;
            budget -= entry.size;
          } else {
            entry.flags |= EntryFlag.Deferred;
            deferred.push({ name, size: Number(st.size) });
          }
        } else {
          fillNonFileMeta(dirfd, entry);
        }
      }
      if (isDir) {
        stats.dirs++;
        if (verdict === 'empty-dir') {
          entry.flags |= EntryFlag.ContentsExcluded;
          entry.subtree = EMPTY_TREE_ID;
        } else {
          entry.flags &= ~EntryFlag.ContentsExcluded;
          entry.subtree = EMPTY_TREE_ID; // placeholder: the coordinator fills in the real id
          subdirs.push({ name, prevSubtree: prev?.type === EntryType.Dir && !(prev.flags & EntryFlag.ContentsExcluded) ? prev.subtree : null });
        }
      } else {
        stats.files++;
        if (type === EntryType.File) stats.bytesScanned += entry.size;
      }
      entries.push(entry);
    }
  } finally {
    sys.close(dirfd);
  }
  const { data, blobs } = sink.finish();
  return { ok: true, tree: encodeTree(entries), subdirs, deferred, data, blobs, stats, warnings };
}

/** Directories, symlinks, devices, FIFOs: xattrs, flags (dirs) and the symlink target. */
function fillNonFileMeta(dirfd: number, entry: Entry): void {
  if (entry.type === EntryType.Dir) {
    const C = sys.constants;
    const fd = sys.openat(dirfd, entry.name, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW | C.O_CLOEXEC, 0);
    try {
      entry.xattrs = xattrsOfFd(fd);
      entry.fsFlags = fsFlagsOfFd(fd);
    } finally {
      sys.close(fd);
    }
    return;
  }
  if (entry.type === EntryType.Symlink) entry.target = Buffer.from(sys.readlinkat(dirfd, entry.name));
  entry.xattrs = xattrsAt(dirfd, entry.name);
}

/**
 * Reads a file whole (it fits the task budget). Metadata comes from fstat of the fd that is read;
 * if the identity changes during the read it is read again, then kept flagged as changed.
 */
async function readFileEntry(
  ctx: WorkerContext,
  dirfd: number,
  name: Buffer,
  path: string,
  sink: BlobSink,
  stats: TaskStats,
  warnings: string[],
): Promise<Entry | null> {
  for (let attempt = 1; ; attempt++) {
    const fd = ctx.openFile(dirfd, name);
    if (fd === null) return null;
    try {
      const st = sys.fstat(fd);
      if (entryTypeFromMode(Number(st.mode)) !== EntryType.File) return null;
      const entry = entryFromStat(name, EntryType.File, st);
      entry.xattrs = xattrsOfFd(fd);
      entry.fsFlags = fsFlagsOfFd(fd);
      entry.extents = dataExtents(fd, { size: entry.size, blocks: Number(st.blocks) });
      if (entry.extents.length !== 1 || entry.extents[0]!.length !== entry.size) {
        if (entry.size > 0) entry.flags |= EntryFlag.Sparse;
      }
      const { chunks, bytesRead } = await readChunks(fd, entry.extents, entry.size, { extentIndex: 0, offsetInExtent: 0 }, Infinity, ctx.chunker, sink);
      entry.chunks = chunks;
      stats.filesRead++;
      stats.bytesRead += bytesRead;
      await ctx.afterRead(Buffer.from(path, 'latin1').toString());
      const after = sys.fstat(fd);
      if (identityOf(after) === identityOf(st)) return entry;
      if (attempt >= MAX_READ_ATTEMPTS) {
        entry.flags |= EntryFlag.ChangedWhileRead;
        stats.changedWhileRead++;
        warnings.push(`file changed while it was read ${attempt} times, stored as last read: ${Buffer.from(path, 'latin1').toString()}`);
        return entry;
      }
    } finally {
      sys.close(fd);
    }
  }
}
