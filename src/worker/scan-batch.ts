// The directory task: scans its directories, each depth first into its subdirectories while the
// batch is small, so the pool sees one round trip per batch of directories instead of one per
// directory (a server has hundreds of thousands of small directories). What the batch leaves out is
// handed back as unscanned subdirectories (and task directories not reached), which the coordinator
// schedules as tasks again.
import { BlobSink } from './blob-sink.js';
import { scanDir, type ReadBudget, type ScannedDir } from './scan-dir.js';
import { OpenFiles } from '../repo/open-files.js';
import { addStats, emptyStats, ROOT_FAILED, ROOT_NOT_REACHED, type DirPart, type DirResult, type DirTask } from './protocol.js';
import type { WorkerContext } from './worker-context.js';

/** A batch stops descending once it has listed this many entries... */
export const BATCH_ENTRIES = 2048;
/** ...or read this many bytes of file content inline (the rest go to file tasks). */
export const BATCH_READ_BYTES = 8 * 1024 * 1024;
/** Previous trees decoded ahead of the walk, so their reads overlap the stat calls... */
const PREFETCH = 32;
/**
 * ...but no more than about this many bytes of them (their raw lengths, from the index): a task of
 * several directories of a thousand files each (the 1M-file tree) lists only two or three of them
 * before its batch is full, and reading 32 trees ahead decoded ~3 MB per task for nothing (no-change
 * snapshot at 1M files: +50 MiB peak RSS, +10% time).
 */
const PREFETCH_BYTES = 128 * 1024;
const NOT_READ: Promise<Buffer | null> = Promise.resolve(null);

interface Pending {
  relPath: Buffer;
  prevTreeId: Uint8Array | null;
  /** The parent's part and the index of this directory in its subdirs; -1 and the index in task.dirs for a task directory. */
  parent: number;
  sub: number;
  /**
   * NOT_READ (resolves to null) until its read is started, and for a directory without a previous
   * tree; one type in the field keeps V8's object shape stable.
   */
  prevTree: Promise<Buffer | null>;
  /** Raw bytes of the previous tree, once its read is started (counted in aheadBytes until scanned). */
  treeBytes: number;
}

export async function scanDirBatch(ctx: WorkerContext, task: DirTask): Promise<DirResult> {
  const open = new OpenFiles(); // tree packs, held until the batch ends
  try {
    return await scanDirs(ctx, task, open);
  } finally {
    open.close();
  }
}

async function scanDirs(ctx: WorkerContext, task: DirTask, open: OpenFiles): Promise<DirResult> {
  const sink = new BlobSink(ctx.readSlabs);
  const budget: ReadBudget = { bytes: BATCH_READ_BYTES };
  const stats = emptyStats();
  const warnings: string[] = [];
  const parts: DirPart[] = [];
  const roots = task.dirs.map(() => ROOT_NOT_REACHED);
  const entryLimit = Math.min(BATCH_ENTRIES, task.entryLimit ?? BATCH_ENTRIES);
  let listed = 0;
  // Previous trees are read ahead for the next PREFETCH directories to be scanned (PREFETCH_BYTES
  // at most), in one decompression call, so the reads overlap the stat calls; each directory
  // awaits only its own.
  const unread = (q: Pending): boolean => q.prevTree === NOT_READ && q.prevTreeId !== null;
  let aheadBytes = 0; // raw bytes of trees read ahead and not yet scanned
  const readAhead = (first: Pending | null): void => {
    const window: Pending[] = [];
    let bytes = 0;
    const add = (q: Pending): boolean => {
      q.treeBytes = ctx.treeSize(q.prevTreeId!);
      if (window.length > 0 && aheadBytes + bytes + q.treeBytes > PREFETCH_BYTES) return false;
      bytes += q.treeBytes;
      window.push(q);
      return true;
    };
    if (first && unread(first)) add(first);
    for (let i = stack.length - 1; i >= Math.max(0, stack.length - PREFETCH); i--) if (unread(stack[i]!) && !add(stack[i]!)) break;
    if (window.length === 0) return;
    aheadBytes += bytes;
    // Copies: a read ahead that is never awaited may finish after the parts' buffers have moved.
    const trees = ctx.readTrees(window.map((q) => Buffer.from(q.prevTreeId!)), open);
    window.forEach((q, i) => {
      q.prevTree = trees[i]!;
      q.prevTree.catch(() => undefined); // awaited when its turn comes; never unhandled meanwhile
    });
  };
  const readPrev = (p: Pending): Promise<Buffer | null> => {
    if (unread(p)) readAhead(p);
    aheadBytes -= p.treeBytes;
    // Start the next window while half of this one is still ahead.
    const half = Math.max(0, stack.length - PREFETCH / 2);
    for (let i = stack.length - 1; i >= half && aheadBytes < PREFETCH_BYTES / 2; i--) {
      if (unread(stack[i]!)) {
        readAhead(null);
        break;
      }
    }
    return p.prevTree;
  };
  // Task directories pushed last first, so that they are scanned in order.
  const stack: Pending[] = task.dirs.map((d, k): Pending => ({ relPath: Buffer.from(d.relPath), prevTreeId: d.prevTreeId, parent: -1, sub: k, prevTree: NOT_READ, treeBytes: 0 })).reverse();

  while (stack.length > 0) {
    const item = stack.pop()!;
    const isRoot = item.parent < 0;
    // The first directory is always scanned, so every task makes progress.
    if (parts.length > 0 && (listed >= entryLimit || budget.bytes <= 0)) break; // the rest stay unscanned
    let scanned: ScannedDir;
    try {
      scanned = await scanDir(ctx, item.relPath, await readPrev(item), sink, budget);
    } catch (err) {
      // A task of one directory reports its error. A task directory among several that fails is
      // handed back to be scanned alone (which then reports); a subdirectory that fails is left
      // unscanned, and its own task meets the same error with that directory's path. Nothing of
      // this attempt is counted: its stats were not merged.
      if (isRoot && task.dirs.length === 1) throw err;
      if (isRoot) roots[item.sub] = ROOT_FAILED;
      continue;
    }
    const index = parts.push(scanned.part) - 1;
    if (isRoot) roots[item.sub] = index;
    else parts[item.parent]!.subdirs[item.sub]!.part = index;
    listed += scanned.entries;
    addStats(stats, scanned.stats);
    warnings.push(...scanned.warnings);
    const subdirs = scanned.part.subdirs;
    // Pushed in reverse so that they are scanned in name order.
    for (let i = subdirs.length - 1; i >= 0; i--) {
      const s = subdirs[i]!;
      stack.push({ relPath: Buffer.concat([item.relPath, Buffer.from('/'), s.name]), prevTreeId: s.prevSubtree, parent: index, sub: i, prevTree: NOT_READ, treeBytes: 0 });
    }
  }
  stats.chunksReused += sink.reused;
  const { data, blobs } = await sink.finish();
  return { ok: true, roots, parts, data, blobs, stats, warnings };
}
