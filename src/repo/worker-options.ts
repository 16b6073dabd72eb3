// Options for every worker thread the commands start (scan pool, writer thread).
import { SnapError } from '../model/errors.js';

/**
 * V8's default young generation (up to ~48 MiB per thread) mostly holds garbage between
 * scavenges; with four threads that is most of the process's RSS. 8 MiB keeps scavenges cheap.
 */
export const WORKER_HEAP_LIMITS = { maxYoungGenerationSizeMb: 8 };

/** The process's node options minus V8 heap flags (the launchers set those; workers refuse them). */
export function workerExecArgv(): string[] {
  return process.execArgv.filter((a) => !/^--(max|min)-(semi|old)-space-size/.test(a));
}

/**
 * The URL of a worker thread's entry module, given its path below src/ ("worker/scan-worker.js").
 * The commands run from bundles (dist/bundle/: one file per entry, all side by side; npm run
 * build:bundle), because four threads each loading ~40 modules cost ~0.1 s of CPU apiece on two
 * cores (docs/BENCHMARKS.md); tests and benchmarks import dist/src, where every entry is at its
 * source path. Which of the two is running is told by this module's own URL.
 */
export function workerEntry(srcPath: string): URL {
  const here = import.meta.url;
  if (here.endsWith('/repo/worker-options.js')) return new URL(`../${srcPath}`, here);
  return new URL(`./${srcPath.slice(srcPath.lastIndexOf('/') + 1)}`, here);
}

/**
 * A worker thread that failed to start or died, said in one line; `which` names it ("the writer
 * thread"). A missing module means a damaged or half-replaced installation (an upgrade removed
 * the version a running command had started from), which is said with what to do.
 */
export function threadFailure(which: string, err: unknown): SnapError {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const missing = code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
  return new SnapError('IO', `${which} failed: ${message}${missing ? ' (the installation is incomplete: run bin/install again)' : ''}`, { cause: err });
}
