// The file-group task: small changed files of one directory that its batch's read budget left
// over, read whole into one BlobSink (their small blobs share bundles). A file that grew past a
// whole read since it was listed is handed back to be read in segments by file tasks.
import * as sys from '../sys/index.js';
import { encodeTree } from '../repo/tree-codec.js';
import { BlobSink } from './blob-sink.js';
import { previousChunkSet } from './previous-chunks.js';
import { readFileEntry } from './read-file.js';
import { GROUP_FILE_MAX, emptyStats, type FileGroupResult, type FileGroupTask, type GroupedFile } from './protocol.js';
import type { WorkerContext } from './worker-context.js';

export async function scanFileGroup(ctx: WorkerContext, task: FileGroupTask): Promise<FileGroupResult> {
  const relDir = Buffer.from(task.relDir);
  const stats = emptyStats();
  const warnings: string[] = [];
  const sink = new BlobSink(ctx.readSlabs);
  const files: GroupedFile[] = [];
  const dirfd = ctx.openDir(relDir);
  try {
    for (const f of task.files) {
      const name = Buffer.from(f.name);
      const path = `${relDir.toString('latin1')}/${name.toString('latin1')}`;
      const read = await readFileEntry(ctx, dirfd, name, path, sink, stats, warnings, previousChunkSet(f.prevChunks), GROUP_FILE_MAX);
      files.push(typeof read === 'string' ? read : { entryTree: encodeTree([read]) });
    }
  } finally {
    sys.close(dirfd);
  }
  stats.chunksReused += sink.reused;
  const { data, blobs } = await sink.finish();
  return { ok: true, files, data, blobs, stats, warnings };
}
