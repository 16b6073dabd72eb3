// The installer: copies the built program (the commands' bundles in dist/bundle, the native
// addon, the production packages of package-lock.json) into
// PREFIX/cluster/lib/restore-points/<version>, switches the `current` symlink to it in one rename,
// and writes PREFIX/cluster/bin/system_snapshot and system_restore.
// A running command keeps the files it started with: a version directory is removed only after
// the switch, and only when no running process has its native code mapped (a command loads its
// worker threads' code from it later, an interactive system_restore only after 'yes'). The
// checkout can be deleted afterwards. The configuration is written only when there is none.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SnapError, errnoCode } from '../model/errors.js';

export interface InstallOptions {
  /** The checkout that was built (`npm ci`). */
  source: string;
  /** "/" for a real install; a directory for a staged one (a test, an image build). */
  prefix: string;
  /** The node binary the commands run with (an absolute path: cron's PATH is short). */
  nodePath: string;
}

export interface InstallResult {
  version: string;
  libDir: string;
  commands: string[];
  configWritten: boolean;
  removedVersions: string[];
  /** Older versions a running command still uses: a later install removes them. */
  keptVersions: { version: string; pids: number[] }[];
}

export const COMMANDS = ['system_snapshot', 'system_restore'] as const;
const NATIVE_ADDON = 'native/build/Release/restore_native.node';

/** The wrappers' second line says this; uninstall removes only files that do. */
const WRAPPER_MARK = 'Installed by restore-points';

/** Node flags the launchers in bin/ give on their shebang line, kept here for the wrappers. */
const NODE_FLAGS = '--max-semi-space-size=4';

const SAMPLE_CONFIG = `# Restore points (system_snapshot / system_restore). key = value; # starts a comment.
# Every key is optional; the values shown are the built-in defaults.
#snapshot_dir = /root/snapshots
# The repository may not exceed this x the snapshotted data (the files' data on disk: holes of
# sparse files and extra hard links are not counted); old points are removed to keep it so:
#max_size_ratio = 1.5
#min_snapshots = 2
#protect_seconds = 86400
#database_locations = /cluster/database_locations
# Keep this much free on the repository's filesystem (default: 5% of it, at most 2G):
#min_free = 2G
# Extra exclusions, one pattern per line (see the contract for the pattern forms):
#exclude = /srv/cache/*
`;

interface LockPackage {
  dev?: boolean;
  version?: string;
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new SnapError('IO', `cannot read ${file}: ${(err as Error).message}; run the installer from a checkout after \`npm ci\``, { path: file });
  }
}

/** node_modules/... directories the program needs at run time (not the dev-only ones). */
export function productionPackages(source: string): string[] {
  const lock = readJson<{ packages?: Record<string, LockPackage> }>(path.join(source, 'package-lock.json'));
  return Object.entries(lock.packages ?? {})
    .filter(([key, pkg]) => key.startsWith('node_modules/') && !pkg.dev)
    .map(([key]) => key)
    .filter((key) => fs.existsSync(path.join(source, key))) // optional packages of other platforms
    .sort();
}

/**
 * A node-gyp build directory's makefiles, object files and config (which name the checkout): only
 * build/Release/*.node is loaded at run time. `rel` is relative to the copied package.
 */
export function isBuildLeftover(rel: string): boolean {
  const parts = rel.split(path.sep);
  if (parts[0] !== 'build') return false;
  if (parts.length === 1) return false;
  if (parts[1] !== 'Release') return true;
  return parts.length > 3 || (parts.length === 3 && !parts[2]!.endsWith('.node'));
}

function checkBuilt(source: string): void {
  for (const rel of [...COMMANDS.map((c) => `bin/${c}`), 'dist/bundle/snapshot-command.js', 'dist/bundle/restore-command.js', NATIVE_ADDON]) {
    if (!fs.existsSync(path.join(source, rel))) {
      throw new SnapError('USAGE', `${path.join(source, rel)} is missing: run \`npm ci\` in ${source} before installing`);
    }
  }
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `file` whole or not at all (temp file, fsync, rename, fsync dir). */
function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeFileSync(fd, text);
    fs.fchmodSync(fd, mode);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

/** Points `link` at `target` in one rename, replacing whatever link was there. */
function swapSymlink(link: string, target: string): void {
  const tmp = `${link}.tmp-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, link);
  fsyncDir(path.dirname(link));
}

/**
 * Version directories below `lib` that running processes have files of mapped, with their pids:
 * every command maps its native addons when it starts, and loads more code (its threads') from
 * the same directory later. A process that cannot be read (gone meanwhile) is skipped.
 */
export function versionsInUse(lib: string): Map<string, number[]> {
  const base = `${fs.realpathSync(lib)}/`;
  const used = new Map<string, number[]>();
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let maps: string;
    try {
      maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
    } catch {
      continue;
    }
    const seen = new Set<string>();
    for (const line of maps.split('\n')) {
      const at = line.indexOf(base);
      if (at < 0) continue;
      const name = line.slice(at + base.length).split('/')[0]!;
      if (name === '' || seen.has(name)) continue;
      seen.add(name);
      used.set(name, [...(used.get(name) ?? []), Number(pid)]);
    }
  }
  return used;
}

function wrapper(nodePath: string, command: string): string {
  // A tiny sh script, not a symlink: it finds the program beside itself (so a copy of the /cluster
  // tree on a rescue stick runs too) and names the node binary the installer used, because cron's
  // PATH is short; a rescue system without that binary uses the node on its PATH.
  return [
    '#!/bin/sh',
    `# ${WRAPPER_MARK} (bin/install): runs ../lib/restore-points/current/bin/${command}.`,
    'self=$(readlink -f "$0") || exit 1',
    'lib=${self%/bin/*}/lib/restore-points/current',
    `node='${nodePath}'`,
    '[ -x "$node" ] || node=node',
    `exec "$node" ${NODE_FLAGS} "$lib/bin/${command}" "$@"`,
    '',
  ].join('\n');
}

function quotedForSh(p: string, what: string): string {
  if (p.includes("'") || p.includes('\n')) throw new SnapError('USAGE', `${what} ${JSON.stringify(p)} contains a quote or newline; use a plainer path`);
  return p;
}

export function install(opts: InstallOptions): InstallResult {
  const source = path.resolve(opts.source);
  const prefix = path.resolve(opts.prefix);
  if (!path.isAbsolute(opts.nodePath) || !fs.existsSync(opts.nodePath)) throw new SnapError('USAGE', `node binary ${opts.nodePath} not found`);
  checkBuilt(source);
  const pkg = readJson<{ version?: string }>(path.join(source, 'package.json'));
  // The install time to the millisecond: two installs never share a directory name.
  const version = `${pkg.version ?? '0.0.0'}-${new Date().toISOString().replace(/[-:.Z]/g, '')}`;
  const lib = path.join(prefix, 'cluster/lib/restore-points');
  const binDir = path.join(prefix, 'cluster/bin');
  fs.mkdirSync(lib, { recursive: true, mode: 0o755 });
  fs.mkdirSync(binDir, { recursive: true, mode: 0o755 });

  // 1. The new version, staged under a name no launcher uses, then renamed into place.
  const staged = path.join(lib, `.staging-${process.pid}`);
  fs.rmSync(staged, { recursive: true, force: true });
  try {
    const copy = (rel: string): void => {
      const from = path.join(source, rel);
      fs.cpSync(from, path.join(staged, rel), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true, filter: (p) => !isBuildLeftover(path.relative(from, p)) });
    };
    for (const rel of ['package.json', 'package-lock.json', 'dist/bundle', NATIVE_ADDON, ...COMMANDS.map((c) => `bin/${c}`)]) copy(rel);
    for (const rel of productionPackages(source)) copy(rel);
    // Durable before anything points at it: a crash after the switch must not leave `current`
    // naming files whose data never reached the disk.
    execFileSync('sync', ['-f', staged]);
    fs.renameSync(staged, path.join(lib, version));
  } catch (err) {
    fs.rmSync(staged, { recursive: true, force: true });
    if (err instanceof SnapError) throw err;
    throw new SnapError('IO', `cannot copy the program into ${lib}: ${(err as Error).message}; nothing was switched`, { cause: err });
  }
  fsyncDir(lib);

  // 2. Switch: `current` points at the new version; the wrappers only ever name `current`.
  swapSymlink(path.join(lib, 'current'), version);
  const commands: string[] = [];
  for (const c of COMMANDS) {
    const target = path.join(binDir, c);
    writeAtomic(target, wrapper(quotedForSh(opts.nodePath, 'node path'), c), 0o755);
    commands.push(target);
  }

  // 3. Older versions go only now, when nothing points at them any more, and only those no
  // running command uses: one that started from it (an interactive restore waiting for 'yes')
  // still starts its threads from there. A later install removes it.
  const removedVersions: string[] = [];
  const keptVersions: InstallResult['keptVersions'] = [];
  const inUse = versionsInUse(lib);
  for (const name of fs.readdirSync(lib)) {
    if (name === version || name === 'current' || name.startsWith('.staging-')) continue;
    const pids = inUse.get(name);
    if (pids) {
      keptVersions.push({ version: name, pids });
      continue;
    }
    fs.rmSync(path.join(lib, name), { recursive: true, force: true });
    removedVersions.push(name);
  }

  // 4. A commented configuration, only where there is none: an admin's settings are never touched.
  const config = path.join(prefix, 'cluster/system_snapshots.conf');
  let configWritten = false;
  try {
    fs.writeFileSync(config, SAMPLE_CONFIG, { flag: 'wx', mode: 0o644 });
    configWritten = true;
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw new SnapError('IO', `cannot write ${config}: ${(err as Error).message}`, { path: config });
  }
  return { version, libDir: path.join(lib, version), commands, configWritten, removedVersions, keptVersions };
}

/**
 * Removes the commands and the program; the configuration and every repository stay. Refused
 * while a running command uses the program (it loads its threads' code from it later).
 */
export function uninstall(prefixDir: string): string[] {
  const prefix = path.resolve(prefixDir);
  const removed: string[] = [];
  const lib = path.join(prefix, 'cluster/lib/restore-points');
  if (fs.existsSync(lib)) {
    const pids = [...versionsInUse(lib).values()].flat();
    if (pids.length > 0) throw new SnapError('USAGE', `running commands use the installed program (pid ${pids.join(', ')}): uninstall once they have ended; nothing removed`);
  }
  for (const c of COMMANDS) {
    const p = path.join(prefix, 'cluster/bin', c);
    const text = fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : '';
    if (text === '') continue;
    if (!text.includes(WRAPPER_MARK)) throw new SnapError('USAGE', `${p} was not written by this installer; left alone, nothing removed`);
  }
  for (const c of COMMANDS) {
    const p = path.join(prefix, 'cluster/bin', c);
    if (fs.existsSync(p)) {
      fs.rmSync(p);
      removed.push(p);
    }
  }
  if (fs.existsSync(lib)) {
    fs.rmSync(lib, { recursive: true, force: true });
    removed.push(lib);
  }
  return removed;
}
