// Runs the real commands (bin/system_snapshot, bin/system_restore) as a user would, with the
// /cluster defaults pointed away from this machine's files.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SNAPSHOT_BIN = path.join(PROJECT_ROOT, 'bin/system_snapshot');
export const RESTORE_BIN = path.join(PROJECT_ROOT, 'bin/system_restore');

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Options every test passes so no real /cluster file is read and this machine's own disk is never
 * looked at for a boot area (boot tests name their disk images with --boot-device). Tests make
 * their trees just before a snapshot, and with the built-in racy margin (RACY_MARGIN_MS) the next
 * snapshot would read again every inode changed within 3 s of the first: the margin is 0 here,
 * so only what changes after a snapshot starts is racy. test/snapshot-racy.test.ts runs without it.
 */
export function isolated(extra: string[] = []): string[] {
  return ['--config', '/dev/null', '--db-locations', '/dev/null', '--no-boot', '--test-racy-margin-ms', '0', ...extra];
}

/** How a run ended, for assertion messages: its exit status and stderr (which names a signal). */
export function outcome(r: CliResult): string {
  return `exit ${r.status ?? 'none'}: ${r.stderr}`;
}

export function runCli(bin: string, args: string[], input?: string): CliResult {
  const r = spawnSync(bin, args, { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
  // A command ended by a signal writes nothing about it: the signal is added to stderr, which is
  // what the assertions show (`assert.equal(r.status, 0, r.stderr)`).
  const stderr = r.signal ? `${r.stderr}[ended by ${r.signal}]\n` : r.stderr;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr };
}

export function snapshot(root: string, repo: string, extra: string[] = []): CliResult {
  return runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, ...isolated(extra)]);
}

/** A snapshot that must succeed; returns its --json result. */
export function snapshotJson(root: string, repo: string, extra: string[] = []): Record<string, unknown> & {
  id: string;
  files: number;
  bytes_scanned: number;
  bytes_added: number;
  files_read: number;
  repo_bytes: number;
  changed_while_read: number;
  chunks_reused: number;
  warnings: string[];
} {
  const r = snapshot(root, repo, ['--json', '--quiet', ...extra]);
  if (r.status !== 0) throw new Error(`system_snapshot failed (${outcome(r)})`);
  return JSON.parse(r.stdout) as ReturnType<typeof snapshotJson>;
}

export function listPoints(repo: string): { number: number; id: string; time: string; note: string }[] {
  const r = runCli(RESTORE_BIN, ['--repo', repo, '--list', '--json', '--config', '/dev/null']);
  if (r.status !== 0) throw new Error(`system_restore --list failed (${outcome(r)})`);
  return JSON.parse(r.stdout) as { number: number; id: string; time: string; note: string }[];
}

export function restoreInto(repo: string, point: string | number, target: string, extra: string[] = []): CliResult {
  return runCli(RESTORE_BIN, ['--repo', repo, '--root', target, '--point', String(point), '--yes', ...isolated(extra)]);
}

export function spawnCli(bin: string, args: string[]): ChildProcess {
  return spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}
