// Reads one changed regular file whole, for the tasks that read many small files (a directory
// batch, a group of files its budget left over): metadata from fstat of the fd that is read, the
// content into the task's BlobSink, re-read if it changes meanwhile.
import * as sys from '../sys/index.js';
import { type Entry, EntryFlag, EntryType, entryTypeFromMode } from '../model/entry.js';
import type { BlobSink } from './blob-sink.js';
import type { PreviousChunks } from './previous-chunks.js';
import { dataExtents, readChunks } from './file-content.js';
import { entryFromStat, fsFlagsOfFd, xattrsOfFd } from './entry-meta.js';
import { MAX_READ_ATTEMPTS, type TaskStats } from './protocol.js';
import type { WorkerContext } from './worker-context.js';

/**
 * Reads a file whole (it fits the task budget). Metadata comes from fstat of the fd that is read;
 * if the identity changes during the read it is read again, then kept flagged as changed. 'defer':
 * it is larger than `maxSize` now (it grew since it was listed), so a task's memory stays bounded;
 * 'gone': it vanished or is no longer a regular file (the next run sees what it became).
 */
export async function readFileEntry(
  ctx: WorkerContext,
  dirfd: number,
  name: Buffer,
  path: string,
  sink: BlobSink,
  stats: TaskStats,
  warnings: string[],
  previous: PreviousChunks | undefined,
  maxSize: number,
): Promise<Entry | 'defer' | 'gone'> {
  for (let attempt = 1; ; attempt++) {
    const fd = ctx.openFile(dirfd, name);
    if (fd === null) return 'gone';
    try {
      const st = ctx.fstat(fd);
      if (entryTypeFromMode(Number(st.mode)) !== EntryType.File) return 'gone';
      if (Number(st.size) > maxSize) return 'defer';
      const entry = entryFromStat(name, EntryType.File, st, ctx.racySince);
      entry.xattrs = xattrsOfFd(fd);
      entry.fsFlags = fsFlagsOfFd(fd, entry.mode);
      entry.extents = dataExtents(fd, { size: entry.size, blocks: Number(st.blocks) });
      if (entry.extents.length !== 1 || entry.extents[0]!.length !== entry.size) {
        if (entry.size > 0) entry.flags |= EntryFlag.Sparse;
      }
      const { chunks, bytesRead } = await readChunks(fd, entry.extents, entry.size, { extentIndex: 0, offsetInExtent: 0 }, Infinity, ctx.chunker, sink, previous);
      entry.chunks = chunks;
      stats.filesRead++;
      stats.bytesRead += bytesRead;
      if (ctx.hasReadHook) await ctx.afterRead(Buffer.from(path, 'latin1').toString());
      if (ctx.unchangedSince(fd, st)) return entry;
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
