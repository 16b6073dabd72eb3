// One directory of the walk: list it, stat its entries relative to the directory's fd, keep the
// previous point's entry (its encoded bytes) when (type, size, mtime ns, ctime ns, inode) all
// match, and read changed files (open O_NOFOLLOW|O_NOATIME, metadata from fstat of the same fd)
// within the batch's byte budget; larger files are deferred to file tasks so a task's memory
// stays bounded.
import { constants as osConstants } from 'node:os';
import * as sys from '../sys/index.js';
import { type Entry, EntryFlag, EntryType, entryTypeFromMode } from '../model/entry.js';
import { decodeTree, decodeTreeEntry, EncodedEntries, encodeTreeKeeping } from '../repo/tree-codec.js';
import { nameEnd, type TreeLayout, treeLayout } from '../repo/tree-layout.js';
import { EMPTY_TREE_ID } from '../repo/empty-tree.js';
import type { BlobSink } from './blob-sink.js';
import { packChunks, type PreviousChunks } from './previous-chunks.js';
import { ID_BYTES, idHex } from '../model/blob-id.js';
import { entryFromStat, fsFlagsOfFd, xattrsAt, xattrsOfFd } from './entry-meta.js';
import { readFileEntry } from './read-file.js';
import { emptyStats, fileDataBytes, type DeferredFile, type DirPart, type SubdirRef, type TaskStats } from './protocol.js';
import { countKept, sameAsBefore, unchangedDir } from './unchanged-dir.js';
import { ListingStats } from './listing-stats.js';
import { STAT_BATCH, type WorkerContext } from './worker-context.js';

const { ENOENT } = osConstants.errno;
const F = sys.STAT_FIELDS;

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

/** The previous entry is this inode as it was (and its record is trusted: not Racy). */
function sameInode(prev: Entry | undefined, type: EntryType, st: sys.SlotStat): boolean {
  return (
    prev !== undefined &&
    !(prev.flags & EntryFlag.Racy) &&
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
  /** New and changed entries, encoded as they come (a directory may hold millions). */
  const added = new EncodedEntries();
  /** Subdirectories among them (their index in `added`), to be scanned next. */
  const subdirs: { name: Buffer; index: number; prevSubtree: Buffer | null }[] = [];
  const deferred: DeferredFile[] = [];
  /** Each deferred file's index in `added`. */
  const deferredAt: number[] = [];
  /** Entries of prevTree (by index) that the new tree holds as they were, bytes and all. */
  const kept: number[] = [];
  let layout: TreeLayout | null = null;
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
    layout = prevTree ? treeLayout(prevTree) : null;
    if (prevTree && layout) {
      const same = unchangedDir(ctx, dirfd, listing, prevTree, layout, dirPath);
      if (same) return same;
    }
    // Copied now, before the first await: the context's arrays are shared with the other task.
    // A larger directory is stat'ed again in batches (unchangedDir may have moved on to a later one).
    const listingStats = new ListingStats(dirfd, listing, listing.count <= STAT_BATCH ? { slots: ctx.statBatch, errnos: ctx.statErrnos } : null);
    const previous = previousEntries(prevTree, layout);
    for (let i = 0, o = 0; i < listing.count; i++) {
      const from = o;
      const end = listing.names.indexOf(0, o);
      const name = listing.names.subarray(o, end);
      o = end + 1;
      const latinName = name.toString('latin1');
      const path = `${dirPath}/${latinName}`;
      const s = listingStats.slot(i, from);
      if (s < 0) {
        if (-s === ENOENT) continue; // deleted since the listing
        throw sys.sysErrorOfErrno(-s, 'fstatat', name);
      }
      const type = entryTypeFromMode(listingStats.slotWords[(s + F.mode) * 2]!);
      if (type === null) {
        warnings.push(`skipped socket or unknown file type: ${Buffer.from(path, 'latin1').toString()}`);
        continue;
      }
      const isDir = type === EntryType.Dir;
      let verdict = ctx.rules.verdict(path, latinName, isDir);
      if (isDir && sys.unsignedSlot(listingStats.slots[s + F.dev]!) === ctx.repoDev && sys.unsignedSlot(listingStats.slots[s + F.ino]!) === ctx.repoIno) verdict = 'empty-dir';
      if (verdict === 'omit') continue;

      // An entry as before keeps its bytes: most entries of a changed directory did not change.
      const k = layout?.byName.get(latinName);
      if (k !== undefined && verdict === 'keep' && sameAsBefore(listingStats.slotBytes, s, type, prevTree!, layout!.typeAt[k]!)) {
        kept.push(k);
        countKept(stats, listingStats.slotWords, s, type);
        continue;
      }
      const st = sys.statFromSlots(listingStats.slots, s);
      const prev = previous(latinName);
      let entry: Entry;
      if (sameInode(prev, type, st)) {
        entry = { ...prev!, name };
      } else if (type === EntryType.File) {
        // A file read here gets its entry from the fstat of the fd it is read through.
        if (st.size <= BigInt(Math.min(INLINE_FILE_MAX, budget.bytes))) {
          const read = await readFileEntry(ctx, dirfd, name, path, sink, stats, warnings, previousFileChunks(prev), INLINE_FILE_MAX);
          if (read === 'gone') continue; // vanished or turned into something else: next run sees it
          if (read === 'defer') {
            entry = entryFromStat(name, type, st, ctx.racySince);
            entry.flags |= EntryFlag.Deferred; // grew past INLINE_FILE_MAX since the listing: read by file tasks
            deferred.push({ name, size: INLINE_FILE_MAX + 1, prevChunks: previousFileChunkIds(prev) });
            deferredAt.push(added.count);
          } else {
            entry = read;
            budget.bytes -= entry.size;
          }
        } else {
          entry = entryFromStat(name, type, st, ctx.racySince);
          entry.flags |= EntryFlag.Deferred;
          deferred.push({ name, size: Number(st.size), prevChunks: previousFileChunkIds(prev) });
          deferredAt.push(added.count);
        }
      } else {
        entry = entryFromStat(name, type, st, ctx.racySince);
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
          subdirs.push({ name: entry.name, index: added.count, prevSubtree: prev?.type === EntryType.Dir && !(prev.flags & EntryFlag.ContentsExcluded) ? prev.subtree : null });
        }
      } else {
        stats.files++;
        if (type === EntryType.File) {
          stats.bytesScanned += entry.size;
          stats.dataBytes += fileDataBytes(entry.size, Number(st.blocks), Number(st.nlink));
        }
      }
      added.add(entry);
    }
  } finally {
    sys.close(dirfd);
  }
  kept.sort((a, b) => a - b); // tree order
  const from = prevTree ?? NO_TREE;
  const at = layout?.entryAt;
  const { tree, addedAt, keptAt } = encodeTreeKeeping(from, at ? kept.map((k) => ({ start: at[k]!, end: at[k + 1]! })) : [], added);
  // Names are views of the listing's one buffer: copy the few that cross threads, or the whole
  // listing would cross with them. A directory's entry ends with its subtree id.
  const addedSubtreeAt = (i: number): number => addedAt[i]! + added.length(i) - ID_BYTES;
  const refs: SubdirRef[] = subdirs.map((d) => ({ name: new Uint8Array(d.name), prevSubtree: d.prevSubtree ? new Uint8Array(d.prevSubtree) : null, offset: addedSubtreeAt(d.index), part: -1 }));
  kept.forEach((k, i) => {
    const subtreeAt = layout!.subtreeAt[k]!;
    if (subtreeAt < 0) return;
    // Its previous id is what the kept bytes hold; the coordinator patches the new one in.
    const nameAt = keptAt[i]! + 2;
    const offset = keptAt[i]! + (subtreeAt - at![k]!);
    refs.push({ name: new Uint8Array(tree.subarray(nameAt, nameEnd(tree, keptAt[i]!))), prevSubtree: new Uint8Array(tree.subarray(offset, offset + ID_BYTES)), offset, part: -1 });
  });
  refs.sort((a, b) => a.offset - b.offset); // tree order, i.e. by name
  return { part: { tree, subdirs: refs, deferred: inTreeOrder(deferred, deferredAt, addedAt, listed), asBefore: false }, entries: listed, stats, warnings };
}

const NO_TREE = Buffer.alloc(0);

/**
 * The deferred files in the order of their entries in the tree (the coordinator matches the k-th
 * Deferred entry with the k-th of them). Their names are views of the listing's one buffer: when
 * they are a good part of the listing (a directory of many files) that buffer crosses threads
 * once instead of a buffer per name; a few are copied, or they would carry the whole listing.
 */
function inTreeOrder(deferred: DeferredFile[], deferredAt: number[], addedAt: Int32Array, listed: number): DeferredFile[] {
  const share = deferred.length * 4 >= listed;
  return deferred
    .map((_, j) => j)
    .sort((a, b) => addedAt[deferredAt[a]!]! - addedAt[deferredAt[b]!]!)
    .map((j) => (share ? deferred[j]! : { ...deferred[j]!, name: new Uint8Array(deferred[j]!.name) }));
}

/** The previous point's entry of a name, decoded when asked: most names of a changed directory are kept as bytes. */
function previousEntries(prevTree: Buffer | null, layout: TreeLayout | null): (latinName: string) => Entry | undefined {
  if (!prevTree) return () => undefined;
  if (layout) {
    return (latinName) => {
      const k = layout.byName.get(latinName);
      return k === undefined ? undefined : decodeTreeEntry(prevTree, layout.entryAt[k]!);
    };
  }
  // Bytes treeLayout could not parse: decodeTree names the damage (or, for a tree that decodes,
  // this is the path every changed directory took before entries were kept as bytes).
  const byName = new Map<string, Entry>();
  for (const e of decodeTree(prevTree)) byName.set(e.name.toString('latin1'), e);
  return (latinName) => byName.get(latinName);
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
