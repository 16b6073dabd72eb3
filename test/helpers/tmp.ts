// tmp.ts - one temp dir per test, removed afterwards unless KEEP_TMP=1. Removal goes through
// directory fds (deep paths, odd names), clears chattr immutable/append first (or unlink would
// fail with EPERM), and refuses to descend into another filesystem, so a test that forgot to
// unmount something loses the test, not the mounted data.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { debuglog } from 'node:util';

import * as sys from '../../src/sys/index.js';
import { openDirPath, splitRoot } from './dir-fd.js';
import { isNoFlagsError, PROTECTING_FLAGS } from './inode-flags.js';

const C = sys.constants;
const DIR_OPEN = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
const log = debuglog('test-tmp');

export function keepTmp(): boolean {
  return process.env.KEEP_TMP === '1';
}

/** Anything with node:test's `after` (a TestContext or the suite). */
export interface AfterHook {
  after(fn: () => void | Promise<void>): void;
}

/**
 * A new directory under os.tmpdir(). With `t`, it is removed when that test ends (unless
 * KEEP_TMP=1, then its path is logged with NODE_DEBUG=test-tmp and reported as a diagnostic).
 */
export function makeTmpDir(prefix = 'helpers-', t?: AfterHook & { diagnostic?(msg: string): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t?.after(() => {
    if (keepTmp()) t.diagnostic?.(`KEEP_TMP: kept ${dir}`);
    removeTmpDir(dir);
  });
  return dir;
}

/** Runs fn with a fresh temp dir and removes it afterwards, whatever fn did. */
export async function withTmpDir<T>(fn: (dir: string) => T | Promise<T>, prefix = 'helpers-'): Promise<T> {
  const dir = makeTmpDir(prefix);
  try {
    return await fn(dir);
  } finally {
    removeTmpDir(dir);
  }
}

/** Removes a temp dir (see removeTree), or only logs it when KEEP_TMP=1. */
export function removeTmpDir(dir: string): void {
  if (keepTmp()) {
    log('KEEP_TMP: kept %s', dir);
    return;
  }
  removeTree(dir);
}

/**
 * rm -rf that works on anything createTree can make. Throws, leaving the rest in place, on
 * finding a mount point inside (an entry on another device).
 */
export function removeTree(target: string): void {
  const { parent, name } = splitRoot(target);
  const abs = path.join(parent, name);
  const parentfd = openDirPath(parent);
  try {
    let st: sys.NativeStat;
    try {
      st = sys.fstatat(parentfd, name);
    } catch (error) {
      if (sys.isSysError(error, 'ENOENT')) return;
      throw error;
    }
    removeAt(parentfd, name, st.dev, abs);
  } finally {
    sys.close(parentfd);
  }
}

function clearProtectingFlags(dirfd: number, name: Buffer | string, isDir: boolean): void {
  const fd = sys.openat(dirfd, name, (isDir ? DIR_OPEN : C.O_RDONLY | C.O_NOFOLLOW) | C.O_NONBLOCK);
  try {
    const flags = sys.getFlags(fd);
    if ((flags & PROTECTING_FLAGS) !== 0) sys.setFlags(fd, (flags & ~PROTECTING_FLAGS) >>> 0);
  } catch (error) {
    if (!isNoFlagsError(error)) throw error;
  } finally {
    sys.close(fd);
  }
}

function removeAt(dirfd: number, name: Buffer | string, dev: bigint, where: string): void {
  const st = sys.fstatat(dirfd, name);
  if (st.dev !== dev) throw new Error(`removeTree: ${where} is on another filesystem (a mount?); not removing it`);
  const type = Number(st.mode) & C.S_IFMT;
  if (type === C.S_IFREG || type === C.S_IFDIR) clearProtectingFlags(dirfd, name, type === C.S_IFDIR);
  if (type !== C.S_IFDIR) {
    sys.unlinkat(dirfd, name);
    return;
  }
  const fd = sys.openat(dirfd, name, DIR_OPEN);
  try {
    for (const entry of sys.readdirAt(fd)) removeAt(fd, entry.name, dev, `${where}/…`);
  } finally {
    sys.close(fd);
  }
  sys.unlinkat(dirfd, name, C.AT_REMOVEDIR);
}
