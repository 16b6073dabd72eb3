// The piscina entry of the scan pool: one WorkerContext per thread (from workerData), then each
// task is a directory listing or a file segment. Expected per-path failures are returned as
// {ok: false} because Error.code does not survive the thread boundary.
import { workerData } from 'node:worker_threads';
import { errnoCode } from '../model/errors.js';
import { WorkerContext } from './worker-context.js';
import { scanDir } from './scan-dir.js';
import { scanFileSegment } from './scan-file.js';
import type { ScanResult, ScanTask, ScanWorkerInit } from './protocol.js';

let ctx: WorkerContext | null = null;

export default async function run(task: ScanTask): Promise<ScanResult> {
  ctx ??= new WorkerContext(workerData as ScanWorkerInit);
  try {
    return task.kind === 'dir' ? await scanDir(ctx, task) : await scanFileSegment(ctx, task);
  } catch (err) {
    return {
      ok: false,
      code: errnoCode(err) ?? 'EIO',
      path: Buffer.from(task.relPath).toString(),
      message: err instanceof Error ? err.message : String(err),
    };
  }
}
