// proc-fd-path.ts - names an entry of an open directory through /proc/self/fd, for the calls that
// only take a path (l*xattr). Also re-exported from native.ts, where the scan worker imports it.
import type { PathArg } from './native.js';
import { assertFd, assertName, toBytes } from './validate.js';

const PROC_FD_PREFIX = '/proc/self/fd/';

/**
 * `/proc/self/fd/<dirfd>/<name>` as bytes. The kernel resolves the magic link to the directory the
 * fd holds, so an l*xattr call on this path reaches `name` inside dirfd however deep (past
 * PATH_MAX) or renamed that directory is, and without following `name` if it is a symlink.
 * Needs /proc mounted; fds are process-wide, so it works from worker threads too.
 */
export function procFdPath(dirfd: number, name: PathArg): Buffer {
  assertFd(dirfd, 'dirfd');
  assertName(name);
  return Buffer.concat([Buffer.from(`${PROC_FD_PREFIX}${dirfd}/`, 'latin1'), toBytes(name)]);
}
