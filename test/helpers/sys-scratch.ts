// sys-scratch.ts - scratch directories for the native addon's tests, reached only through dir
// fds (so invalid UTF-8 names and paths past PATH_MAX can be cleaned up), and the assertion that
// a call threw a Node-style system error with exactly the expected fields.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import type { TestContext } from 'node:test';
import { native, type NativeError, type PathArg } from '../../src/sys/native.js';

const C = native.constants;
export const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW | C.O_CLOEXEC;
/** Far above any fd this process has open. */
export const BAD_FD = 0x3ffffff0;

export interface Scratch {
  dir: string;
  dirfd: number;
  track(fd: number): number;
}

/** Removes a tree through dir fds: works for invalid UTF-8 names and paths past PATH_MAX. */
export function removeTreeAt(dirfd: number, name: PathArg): void {
  const st = native.fstatat(dirfd, name, C.AT_SYMLINK_NOFOLLOW);
  if ((Number(st.mode) & C.S_IFMT) !== C.S_IFDIR) {
    native.unlinkat(dirfd, name, 0);
    return;
  }
  const fd = native.openat(dirfd, name, DIR_FLAGS, 0);
  try {
    for (const entry of native.readdirAt(fd)) removeTreeAt(fd, entry.name);
  } finally {
    native.close(fd);
  }
  native.unlinkat(dirfd, name, C.AT_REMOVEDIR);
}

export function scratch(t: TestContext, prefix = 'sys-native-'): Scratch {
  const dir = fs.mkdtempSync(`${os.tmpdir()}/${prefix}`);
  const fds: number[] = [];
  const dirfd = native.openat(C.AT_FDCWD, dir, DIR_FLAGS, 0);
  t.after(() => {
    for (const fd of fds.reverse()) native.close(fd);
    if (process.env.KEEP_TMP === '1') return;
    removeTreeAt(C.AT_FDCWD, dir);
  });
  fds.push(dirfd);
  return { dir, dirfd, track: (fd) => (fds.push(fd), fd) };
}

export function createFile(s: Scratch, name: PathArg, content = ''): number {
  const fd = s.track(native.openat(s.dirfd, name, C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_CLOEXEC, 0o644));
  if (content.length > 0) native.pwrite(fd, Buffer.from(content), 0);
  return fd;
}

/** Asserts fn throws a Node-style system error with exactly these fields. */
export function assertSysError(
  fn: () => unknown,
  expected: { code: string; syscall: string; path?: string; dest?: string },
): NativeError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof Error, `expected ${expected.code} from ${expected.syscall}, got no Error`);
  const e = caught as NativeError;
  assert.equal(e.code, expected.code, e.message);
  assert.equal(e.errno, -(os.constants.errno as Record<string, number>)[expected.code]!);
  assert.equal(e.syscall, expected.syscall);
  assert.equal(e.path, expected.path);
  assert.equal(e.dest, expected.dest);
  const where = expected.path === undefined ? '' : ` '${expected.path}'` + (expected.dest === undefined ? '' : ` -> '${expected.dest}'`);
  assert.match(e.message, new RegExp(`^${expected.code}: [a-z].*, ${expected.syscall}`));
  assert.ok(e.message.endsWith(`${expected.syscall}${where}`), e.message);
  return e;
}
