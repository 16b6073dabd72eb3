// One directory of the walk: list it, stat its entries relative to the directory's fd, reuse the
// previous point's entry when (type, size, mtime ns, ctime ns, inode) all match, and read changed
// files (open O_NOFOLLOW|O_NOATIME, metadata from fstat of the same fd) within the batch's byte
// budget; larger files are deferred to file tasks so a task's memory stays bounded.
import { constants as osConstants } from 'node:os';
import * as sys from '../sys/index.js';
import { type Entry, EntryFlag, EntryType, entryTypeFromMode } from '../model/entry.js';
import { decodeTree, encodeTreeWithOffsets } from '../repo/tree-codec.js';
import { EMPTY_TREE_ID } from '../repo/empty-tree.js';
import type { BlobSink } from './blob-sink.js';
import { packChunks, type PreviousChunks } from './previous-chunks.js';
import { idHex } from '../model/blob-id.js';
import { entryFromStat, fsFlagsOfFd, xattrsAt, xattrsOfFd } from './entry-meta.js';
import { readFileEntry } from './read-file.js';
import { emptyStats, fileDataBytes, type DeferredFile, type DirPart, type SubdirRef, type TaskStats } from './protocol.js';
import { unchangedDir } from './unchanged-dir.js';
import { ListingStats } from './listing-stats.js';
import { STAT_BATCH, type WorkerContext } from './worker-context.js';

const { ENOENT } = osConstants.errno;

/** Files up to this size are read inside the directory task, while its batch's budget lasts. */
const INLINE_FILE_MAX = 4 * 1024 * 1024;

/** What a batch may still read inline; shared by the directories of one batch. */
export interface ReadBudget {
  bytes: number;
}

/** One scanned directory: its part of the batch and what scanning it counted and said. */
export interface ScannedDir {
  part: DirPart;
  entries: number;
  stats: TaskStats;
  warnings: string[];
}

function sameInode(prev: Entry | undefined, type: EntryType, st: sys.SlotStat): boolean {
  return (
    prev !== undefined &&
    prev.type === type &&
    prev.ino === st.ino &&
    BigInt(prev.size) === (type === EntryType.File || type === EntryType.Symlink ? st.size : 0n) &&
    prev.mtimeNs === st.mtimeNs &&
    prev.ctimeNs === st.ctimeNs
  );
}

/**
 * Scans the directory at `relPath` (from ROOT) against its previous tree blob (read by the caller).
 * Content goes to `sink`; stats and warnings are returned, not merged, so a caller that drops a
 * failed directory counts nothing twice.
 */
export async function scanDir(ctx: WorkerContext, relPath: Buffer, prevTree: Buffer | null, sink: BlobSink, budget: ReadBudget): Promise<ScannedDir> {
  const stats = emptyStats();
  const warnings: string[] = [];

  const dirfd = ctx.openDir(relPath);
  const entries: Entry[] = [];
  const subdirs: { entry: Entry; prevSubtree: Buffer | null }[] = [];
  const deferred: DeferredFile[] = [];
  let listed = 0;
  try {
    // One buffer for all names and stats in batches (readdirPacked/ListingStats): this loop runs
    // for every file of the server.
    const listing = sys.readdirPacked(dirfd);
    listed = listing.count;
    const dirPath = relPath.toString('latin1');
    // The first STAT_BATCH entries are stat'ed here for both paths, so that a directory that
    // changed is not stat'ed twice (unchangedDir stats any further batches itself).
    const firstBatch = Math.min(listing.count, STAT_BATCH);
    if (firstBatch > 0) sys.fstatatMany(dirfd, listing, 0, firstBatch, sys.constants.AT_SYMLINK_NOFOLLOW, ctx.statBatch, ctx.statErrnos);
    if (prevTree) {
      const same = unchangedDir(ctx, dirfd, listing, prevTree, dirPath);
      if (same) return same;
    }
    // Copied now, before the first await: the context's arrays are shared with the other task.
    // A larger directory is stat'ed again in batches (unchangedDir may have moved on to a later one).
    const listingStats = new ListingStats(dirfd, listing, listing.count <= STAT_BATCH ? { slots: ctx.statBatch, errnos: ctx.statErrnos } : null);
    const prevByName = new Map<string, Entry>();
    if (prevTree) for (const e of decodeTree(prevTree)) prevByName.set(e.name.toString('latin1'), e);
    for (let i = 0, o = 0; i < listing.count; i++) {
      const from = o;
      const end = listing.names.indexOf(0, o);
      const name = listing.names.subarray(o, end);
      o = end + 1;
      const latinName = name.toString('latin1');
      const path = `${dirPath}/${latinName}`;
      const st = listingStats.stat(i, from);
      if (typeof st === 'number') {
        if (st === ENOENT) continue; // deleted since the listing
        throw sys.sysErrorOfErrno(st, 'fstatat', name);
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
        entry = { ...prev!, name };
      } else if (type === EntryType.File) {
        // A file read here gets its entry from the fstat of the fd it is read through.
        if (st.size <= BigInt(Math.min(INLINE_FILE_MAX, budget.bytes))) {
          const read = await readFileEntry(ctx, dirfd, name, path, sink, stats, warnings, previousFileChunks(prev), INLINE_FILE_MAX);
          if (read === 'gone') continue; // vanished or turned into something else: next run sees it
          if (read === 'defer') {
            entry = entryFromStat(name, type, st);
            entry.flags |= EntryFlag.Deferred; // grew past INLINE_FILE_MAX since the listing: read by file tasks
            deferred.push({ name: new Uint8Array(name), size: INLINE_FILE_MAX + 1, prevChunks: previousFileChunkIds(prev) });
          } else {
            entry = read;
            budget.bytes -= entry.size;
          }
        } else {
          entry = entryFromStat(name, type, st);
          entry.flags |= EntryFlag.Deferred;
          // Own buffers: they cross threads.
          deferred.push({ name: new Uint8Array(name), size: Number(st.size), prevChunks: previousFileChunkIds(prev) });
        }
      } else {
        entry = entryFromStat(name, type, st);
        fillNonFileMeta(dirfd, entry);
      }
      if (isDir) {
        stats.dirs++;
        if (verdict === 'empty-dir') {
          entry.flags |= EntryFlag.ContentsExcluded;
          entry.subtree = EMPTY_TREE_ID;
        } else {
          entry.flags &= ~EntryFlag.ContentsExcluded;
          entry.subtree = EMPTY_TREE_ID; // placeholder: the coordinator fills in the real id
          subdirs.push({ entry, prevSubtree: prev?.type === EntryType.Dir && !(prev.flags & EntryFlag.ContentsExcluded) ? prev.subtree : null });
        }
      } else {
        stats.files++;
        if (type === EntryType.File) {
          stats.bytesScanned += entry.size;
          stats.dataBytes += fileDataBytes(entry.size, Number(st.blocks), Number(st.nlink));
        }
      }
      entries.push(entry);
    }
  } finally {
    sys.close(dirfd);
  }
  const { tree, subtreeOffsets } = encodeTreeWithOffsets(entries);
  // Names are views of the listing's one buffer: copy the few that cross threads, or the whole
  // listing would be cloned once per name.
  const refs: SubdirRef[] = subdirs.map((d) => ({ name: new Uint8Array(d.entry.name), prevSubtree: d.prevSubtree ? new Uint8Array(d.prevSubtree) : null, offset: subtreeOffsets.get(d.entry)!, part: -1 }));
  return { part: { tree, subdirs: refs, deferred, asBefore: false }, entries: listed, stats, warnings };
}

/** The chunk ids of the same name's previous version, if it was a regular file. */
function previousFileChunks(prev: Entry | undefined): PreviousChunks | undefined {
  if (prev?.type !== EntryType.File || prev.chunks.length === 0) return undefined;
  return new Set(prev.chunks.map((c) => idHex(c.id)));
}

/** The same, packed to cross threads (for files read by file tasks). */
function previousFileChunkIds(prev: Entry | undefined): Uint8Array | null {
  return prev?.type === EntryType.File && prev.chunks.length > 0 ? packChunks(prev.chunks) : null;
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
