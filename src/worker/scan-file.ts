// The file task: reads one large changed file in segments of SEGMENT_BYTES, so no task holds more
// than a segment of data. Each segment re-opens the file and checks that it is the same inode with
// the same size and times as in the first segment; if not, the coordinator starts it over.
import * as sys from '../sys/index.js';
import { EntryFlag, EntryType, entryTypeFromMode } from '../model/entry.js';
import { encodeTree } from '../repo/tree-codec.js';
import { BlobSink } from './blob-sink.js';
import { previousChunkSet } from './previous-chunks.js';
import { dataExtents, readChunks } from './file-content.js';
import { entryFromStat, fsFlagsOfFd, identityOf, xattrsOfFd } from './entry-meta.js';
import { MAX_READ_ATTEMPTS, SEGMENT_BYTES, emptyStats, type FileResult, type FileTask } from './protocol.js';
import type { WorkerContext } from './worker-context.js';


export async function scanFileSegment(ctx: WorkerContext, task: FileTask): Promise<FileResult> {
  const relPath = Buffer.from(task.relPath);
  const slash = relPath.lastIndexOf(0x2f);
  const name = relPath.subarray(slash + 1);
  const stats = emptyStats();
  const warnings: string[] = [];
  const sink = new BlobSink(ctx.readSlabs);
  const gone = (): FileResult => ({ ok: true, chunks: [], data: new Uint8Array(0), blobs: [], entryTree: null, resume: null, restart: false, changed: false, stats, warnings });

  const dirfd = ctx.openDir(relPath.subarray(0, slash));
  let fd: number | null;
  try {
    fd = ctx.openFile(dirfd, name);
  } finally {
    sys.close(dirfd);
  }
  if (fd === null) return { ...gone(), restart: true };
  try {
    const st = ctx.fstat(fd);
    if (entryTypeFromMode(Number(st.mode)) !== EntryType.File) return { ...gone(), restart: true };
    let entryTree: Uint8Array | null = null;
    let resume = task.resume;
    if (resume === null) {
      const entry = entryFromStat(Buffer.from(name), EntryType.File, st, ctx.racySince);
      entry.xattrs = xattrsOfFd(fd);
      entry.fsFlags = fsFlagsOfFd(fd, entry.mode);
      entry.extents = dataExtents(fd, { size: entry.size, blocks: Number(st.blocks) });
      if (entry.size > 0 && (entry.extents.length !== 1 || entry.extents[0]!.length !== entry.size)) entry.flags |= EntryFlag.Sparse;
      entryTree = encodeTree([entry]);
      resume = { extents: entry.extents, extentIndex: 0, offsetInExtent: 0, identity: identityOf(st) };
      stats.filesRead++;
    }
    let changed = false;
    if (identityOf(st) !== resume.identity) {
      // Changed between segments: start over while attempts remain, else keep reading what is there.
      if (task.attempt + 1 < MAX_READ_ATTEMPTS) return { ...gone(), restart: true };
      changed = true;
      resume = { ...resume, identity: identityOf(st) };
    }
    const { chunks, next, bytesRead } = await readChunks(fd, resume.extents, Number(st.size), resume, SEGMENT_BYTES, ctx.chunker, sink, previousChunkSet(task.prevChunks));
    stats.bytesRead += bytesRead;
    if (ctx.hasReadHook) await ctx.afterRead(relPath.toString());
    stats.chunksReused += sink.reused;
    const { data, blobs } = await sink.finish();
    const result: FileResult = {
      ok: true,
      chunks,
      data,
      blobs,
      entryTree,
      resume: next ? { ...resume, ...next } : null,
      restart: false,
      changed,
      stats,
      warnings,
    };
    const after = identityOf(ctx.fstat(fd));
    if (after !== resume.identity) {
      if (task.attempt + 1 < MAX_READ_ATTEMPTS) return { ...result, restart: true };
      result.changed = true;
      if (result.resume) result.resume.identity = after;
    }
    return result; // the coordinator counts and reports a changed file once, when it is done
  } finally {
    sys.close(fd);
  }
}
