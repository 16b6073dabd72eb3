// The directory task: scans its directory, then goes on depth first into the subdirectories while
// the batch is small, so the pool sees one round trip per batch of directories instead of one per
// directory (a server has hundreds of thousands of small directories). What the batch leaves out is
// handed back as unscanned subdirectories, which the coordinator schedules as tasks of their own.
import { BlobSink } from './blob-sink.js';
import { scanDir, type ReadBudget, type ScannedDir } from './scan-dir.js';
import { addStats, emptyStats, type DirPart, type DirResult, type DirTask } from './protocol.js';
import type { WorkerContext } from './worker-context.js';

/** A batch stops descending once it has listed this many entries... */
export const BATCH_ENTRIES = 2048;
/** ...or read this many bytes of file content inline (the rest go to file tasks). */
export const BATCH_READ_BYTES = 8 * 1024 * 1024;
/** Previous trees decoded ahead of the walk, so their reads overlap the stat calls. */
const PREFETCH = 32;
const NOT_READ: Promise<Buffer | null> = Promise.resolve(null);

interface Pending {
  relPath: Buffer;
  prevTreeId: Uint8Array | null;
  /** The parent's part and the index of this directory in its subdirs. */
  parent: number;
  sub: number;
  /**
   * NOT_READ (resolves to null) until its read is started, and for a directory without a previous
   * tree; one type in the field keeps V8's object shape stable.
   */
  prevTree: Promise<Buffer | null>;
}

export async function scanDirBatch(ctx: WorkerContext, task: DirTask): Promise<DirResult> {
  const sink = new BlobSink();
  const budget: ReadBudget = { bytes: BATCH_READ_BYTES };
  const stats = emptyStats();
  const warnings: string[] = [];
  const parts: DirPart[] = [];
  let listed = 0;
  // Previous trees are read ahead for the next PREFETCH directories to be scanned, in one
  // decompression call, so the reads overlap the stat calls; each directory awaits only its own.
  const unread = (q: Pending): boolean => q.prevTree === NOT_READ && q.prevTreeId !== null;
  const readAhead = (first: Pending | null): void => {
    const window: Pending[] = first && unread(first) ? [first] : [];
    for (let i = stack.length - 1; i >= Math.max(0, stack.length - PREFETCH); i--) if (unread(stack[i]!)) window.push(stack[i]!);
    if (window.length === 0) return;
    const trees = ctx.readTrees(window.map((q) => Buffer.from(q.prevTreeId!)));
    window.forEach((q, i) => {
      q.prevTree = trees[i]!;
      q.prevTree.catch(() => undefined); // awaited when its turn comes; never unhandled meanwhile
    });
  };
  const readPrev = (p: Pending): Promise<Buffer | null> => {
    if (unread(p)) readAhead(p);
    // Start the next window while half of this one is still ahead.
    const half = Math.max(0, stack.length - PREFETCH / 2);
    for (let i = stack.length - 1; i >= half; i--) {
      if (unread(stack[i]!)) {
        readAhead(null);
        break;
      }
    }
    return p.prevTree;
  };
  const stack: Pending[] = [{ relPath: Buffer.from(task.relPath), prevTreeId: task.prevTreeId, parent: -1, sub: -1, prevTree: NOT_READ }];

  while (stack.length > 0) {
    const item = stack.pop()!;
    const first = item.parent < 0;
    if (!first && (listed >= BATCH_ENTRIES || budget.bytes <= 0)) break; // the rest stay unscanned
    let scanned: ScannedDir;
    try {
      scanned = await scanDir(ctx, item.relPath, await readPrev(item), sink, budget);
    } catch (err) {
      // The task's own directory reports its error; a subdirectory that fails is left unscanned,
      // and its own task meets the same error with that directory's path (and nothing of this
      // attempt is counted: its stats were not merged).
      if (first) throw err;
      continue;
    }
    const index = parts.push(scanned.part) - 1;
    if (!first) parts[item.parent]!.subdirs[item.sub]!.part = index;
    listed += scanned.entries;
    addStats(stats, scanned.stats);
    warnings.push(...scanned.warnings);
    const subdirs = scanned.part.subdirs;
    // Pushed in reverse so that they are scanned in name order.
    for (let i = subdirs.length - 1; i >= 0; i--) {
      const s = subdirs[i]!;
      stack.push({ relPath: Buffer.concat([item.relPath, Buffer.from('/'), s.name]), prevTreeId: s.prevSubtree, parent: index, sub: i, prevTree: NOT_READ });
    }
  }
  stats.chunksReused += sink.reused;
  const { data, blobs } = await sink.finish();
  return { ok: true, parts, data, blobs, stats, warnings };
}
