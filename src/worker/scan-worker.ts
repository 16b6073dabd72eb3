// The piscina entry of the scan pool: one WorkerContext per thread (from workerData), then each
// task is a batch of directories, a group of small files or a file segment. Expected per-path failures are returned as
// {ok: false} because Error.code does not survive the thread boundary.
import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { errnoCode } from '../model/errors.js';
import { wholeArrayBuffer } from '../sys/index.js';
import { WorkerContext } from './worker-context.js';
import { scanDirBatch } from './scan-batch.js';
import { scanFileSegment } from './scan-file.js';
import { scanFileGroup } from './scan-file-group.js';
import type { ScanResult, ScanTask, ScanWorkerInit } from './protocol.js';

let ctx: WorkerContext | null = null;

// Runs when piscina loads this module, before the thread reports ready (once it waits for tasks it
// blocks in Atomics.wait and runs nothing else). A failure here is left for the first task to
// meet and report with its path.
// The tree index is not loaded here but by the first task that needs it: a thread may still be
// starting when a short walk ends and the pool is destroyed, and a thread terminated inside
// xxhash-addon (which verifies the index files) takes the whole process down: its calls do not
// check napi_unwrap's status, which fails under termination. That was a restore into an empty
// directory ending in SIGSEGV once in ~70 runs; a task is always awaited before the pool goes.
try {
  ctx = new WorkerContext(workerData as ScanWorkerInit);
} catch {
  // reported by the first task that needs what failed
}

/**
 * The result's big buffers are moved to the main thread, not cloned: a first snapshot sends about
 * the repository's size through here. Only buffers a view owns whole are moved; moving a view of
 * Node's shared pool would detach that pool under every other Buffer in this thread.
 */
function moved(result: ScanResult): ScanResult {
  if (!result.ok) return result;
  const buffers = new Set<ArrayBuffer>();
  const views = 'parts' in result ? [result.data, ...result.parts.map((p) => p.tree)] : 'files' in result ? [result.data] : [result.data, result.entryTree];
  for (const view of views) {
    const ab = view && wholeArrayBuffer(view);
    if (ab) buffers.add(ab);
  }
  return move({ [transferableSymbol]: [...buffers], [valueSymbol]: result } as never) as unknown as ScanResult;
}

export default async function run(task: ScanTask): Promise<ScanResult> {
  ctx ??= new WorkerContext(workerData as ScanWorkerInit);
  try {
    return moved(task.kind === 'dir' ? await scanDirBatch(ctx, task) : task.kind === 'files' ? await scanFileGroup(ctx, task) : await scanFileSegment(ctx, task));
  } catch (err) {
    return {
      ok: false,
      code: errnoCode(err) ?? 'EIO',
      path: Buffer.from(task.kind === 'files' ? task.relDir : task.kind === 'dir' ? task.dirs[0]!.relPath : task.relPath).toString(),
      message: err instanceof Error ? err.message : String(err),
    };
  }
}
