// Options for every worker thread the commands start (scan pool, writer thread).

/**
 * V8's default young generation (up to ~48 MiB per thread) mostly holds garbage between
 * scavenges; with four threads that is most of the process's RSS. 8 MiB keeps scavenges cheap.
 */
export const WORKER_HEAP_LIMITS = { maxYoungGenerationSizeMb: 8 };

/** The process's node options minus V8 heap flags (the launchers set those; workers refuse them). */
export function workerExecArgv(): string[] {
  return process.execArgv.filter((a) => !/^--(max|min)-(semi|old)-space-size/.test(a));
}
