// loop-fs.ts - a real, freshly made ext4/xfs/btrfs filesystem for one test: image file in a temp
// dir, mkfs, `losetup --find --show`, mount, run, then always umount, detach that exact loop device
// (never "all loops", other tests and the host may own some) and remove the image. Needs root,
// util-linux (losetup, mount) and e2fsprogs / xfsprogs / btrfs-progs for the chosen type.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { makeTmpDir, removeTmpDir } from './tmp.js';

export type LoopFsType = 'ext4' | 'xfs' | 'btrfs';

// -b 4096 for ext4: below 512 MiB mke2fs picks the "small" profile with 1 KiB blocks, which no
// server uses and which would make extent rounding differ from the other filesystems.
const MKFS: Record<LoopFsType, { command: string; args: string[]; minMiB: number }> = {
  ext4: { command: 'mkfs.ext4', args: ['-q', '-F', '-b', '4096'], minMiB: 16 },
  xfs: { command: 'mkfs.xfs', args: ['-q', '-f'], minMiB: 300 }, // xfsprogs >= 5.19 refuses smaller
  btrfs: { command: 'mkfs.btrfs', args: ['-q', '-f'], minMiB: 128 }, // mkfs.btrfs wants >= 109 MiB
};

const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Absolute path of an executable on PATH (or in the sbin dirs, often missing from PATH), or null. */
export function findCommand(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':').filter((d) => d !== ''), ...SBIN_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export function haveCommand(name: string): boolean {
  return findCommand(name) !== null;
}

/** Why withLoopFs(fsType) cannot run here, or null when it can: for `test(..., {skip})`. */
export function loopFsUnavailableReason(fsType: LoopFsType): string | null {
  if (!isRoot()) return 'loop filesystems need root';
  if (!fs.existsSync('/dev/loop-control')) return 'no /dev/loop-control (loop driver missing)';
  for (const command of ['losetup', 'mount', 'umount', MKFS[fsType].command]) {
    if (!haveCommand(command)) return `${command} not installed`;
  }
  const supported = fs.readFileSync('/proc/filesystems', 'utf8');
  if (!new RegExp(`\\s${fsType}\\n`).test(supported)) return `kernel has no ${fsType} support loaded`;
  return null;
}

function run(command: string, args: string[]): string {
  const exe = findCommand(command);
  if (exe === null) throw new Error(`${command}: not installed`);
  try {
    return execFileSync(exe, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    const e = error as { stderr?: string; status?: number };
    throw new Error(`${command} ${args.join(' ')} failed (status ${e.status}): ${(e.stderr ?? '').trim()}`, {
      cause: error,
    });
  }
}

/**
 * Makes a `fsType` filesystem of `sizeMiB` (raised to the type's minimum: 300 for xfs, 128 for
 * btrfs), mounts it and calls fn with the mount point. Everything is undone afterwards, also when
 * fn throws; a cleanup failure is thrown unless fn's own error is already on its way.
 * `mkfsArgs` go to mkfs before the image (e.g. ['-I', '128'] for ext4 with 1 s timestamps).
 */
export async function withLoopFs<T>(
  fsType: LoopFsType,
  sizeMiB: number,
  fn: (mountDir: string) => T | Promise<T>,
  mkfsArgs: readonly string[] = [],
): Promise<T> {
  const mkfs = MKFS[fsType];
  const work = makeTmpDir(`loopfs-${fsType}-`);
  const image = path.join(work, 'fs.img');
  const mountDir = path.join(work, 'mnt');
  let device: string | null = null;
  let mounted = false;
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    fs.mkdirSync(mountDir);
    fs.writeFileSync(image, '');
    fs.truncateSync(image, Math.max(sizeMiB, mkfs.minMiB) * 1024 * 1024);
    run(mkfs.command, [...mkfs.args, ...mkfsArgs, image]);
    device = run('losetup', ['--find', '--show', image]);
    if (!/^\/dev\/loop\d+$/.test(device)) throw new Error(`losetup gave '${device}', not a loop device`);
    run('mount', ['-t', fsType, device, mountDir]);
    mounted = true;
    outcome = { ok: true, value: await fn(mountDir) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const problems: unknown[] = [];
  if (mounted) await unmount(mountDir).catch((error: unknown) => problems.push(error));
  if (device !== null) {
    try {
      run('losetup', ['-d', device]);
    } catch (error) {
      problems.push(error);
    }
  }
  // Only once unmounted: removeTree would refuse the mount anyway, but the image must stay too.
  if (problems.length === 0) {
    try {
      removeTmpDir(work);
    } catch (error) {
      problems.push(error);
    }
  }
  if (problems.length > 0) {
    const where = `check \`findmnt ${mountDir}\` and \`losetup -a\``;
    const all = outcome.ok ? problems : [outcome.error, ...problems];
    throw new AggregateError(all, `withLoopFs(${fsType}) ${outcome.ok ? '' : 'failed and its '}cleanup failed; ${where}`);
  }
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** A just-closed fd can keep the fs busy for a moment (e.g. a worker thread's); retry briefly. */
async function unmount(mountDir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      run('umount', [mountDir]);
      return;
    } catch (error) {
      if (attempt >= 10) throw error;
      await sleep(100 * attempt);
    }
  }
}
