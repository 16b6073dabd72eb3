// open-beneath.ts - safeOpenBeneath (alias openBeneath): opens a relative path below a root
// directory fd so that neither a symlink (in any component, the last included) nor '..' nor an
// absolute path can lead outside the root - the guarantee a restore needs against a live tree
// that may contain hostile symlinks.
// Preferred: one openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS).
// Fallback (kernels before 5.6, seccomp filters answering ENOSYS, or paths of PATH_MAX bytes or
// more, which openat2 cannot take): walk one component at a time with openat(O_NOFOLLOW) and check
// each opened fd's type. Both routes give the same answers: '..' and absolute paths are refused
// up front with EXDEV (stricter than the kernel, which allows a '..' that stays inside), and a
// symlink anywhere fails with ELOOP — except a final one opened with O_PATH|O_NOFOLLOW, which,
// as with openat2, yields an fd for the link itself.
import { native, type PathArg } from './native.js';
import { isSysError, sysError } from './sys-error.js';
import { assertBits, assertFd, assertMode, assertPath, isDotOrDotDot, toBytes } from './validate.js';

const C = native.constants;
const SLASH = 0x2f;
const PATH_MAX = 4096;
const DOT = Buffer.from('.');
const RESOLVE_SAFE = C.RESOLVE_BENEATH | C.RESOLVE_NO_SYMLINKS | C.RESOLVE_NO_MAGICLINKS;

export interface SafeOpenOptions {
  /** Always use the component walk (tests, or to compare both routes). */
  forceFallback?: boolean;
}

// Per thread (each worker has its own module instance): once the kernel has said ENOSYS there is
// no point asking again for every file of a restore.
let openat2Unavailable = false;

function isCreating(flags: number): boolean {
  return (flags & C.O_CREAT) !== 0 || (flags & C.O_TMPFILE) === C.O_TMPFILE;
}

/** Non-empty components other than '.'; EXDEV for an absolute path or any '..'. */
function splitComponents(relPath: Buffer, syscall: string): Buffer[] {
  if (relPath[0] === SLASH) throw sysError('EXDEV', syscall, relPath);
  const components: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= relPath.length; i++) {
    if (i < relPath.length && relPath[i] !== SLASH) continue;
    const component = relPath.subarray(start, i);
    start = i + 1;
    if (component.length === 0 || (component.length === 1 && component[0] === 0x2e)) continue;
    if (isDotOrDotDot(component)) throw sysError('EXDEV', syscall, relPath);
    components.push(component);
  }
  return components;
}

/** Re-labels an error from one component with the whole relative path, keeping it as cause. */
function withWholePath(error: unknown, relPath: Buffer): unknown {
  if (!isSysError(error)) return error;
  try {
    const wrapped = sysError(error.code, error.syscall, relPath);
    (wrapped as Error & { cause?: unknown }).cause = error;
    return wrapped;
  } catch {
    return error; // a code Node does not know: keep the original
  }
}

function isSymlinkFd(fd: number): boolean {
  return (Number(native.fstat(fd).mode) & C.S_IFMT) === C.S_IFLNK;
}

/** Opens one intermediate component as an O_PATH directory fd, refusing symlinks. */
function openDirComponent(dirfd: number, name: Buffer, relPath: Buffer): number {
  const fd = native.openat(dirfd, name, C.O_PATH | C.O_NOFOLLOW | C.O_CLOEXEC, 0);
  const type = Number(native.fstat(fd).mode) & C.S_IFMT;
  if (type === C.S_IFDIR) return fd;
  native.close(fd);
  throw sysError(type === C.S_IFLNK ? 'ELOOP' : 'ENOTDIR', 'openat', relPath);
}

/**
 * Opens the last component with O_NOFOLLOW. With O_DIRECTORY the kernel reports a symlink leaf
 * as ENOTDIR; openat2 says ELOOP, so say ELOOP too (the lstat only picks the code: the open has
 * already failed, so a race here cannot let anything through).
 */
function openLast(dirfd: number, name: Buffer, flags: number, mode: number, relPath: Buffer): number {
  try {
    return native.openat(dirfd, name, flags, mode);
  } catch (error) {
    if (!isSysError(error, 'ENOTDIR') || (flags & C.O_DIRECTORY) === 0) throw error;
    let isLink = false;
    try {
      isLink = (Number(native.fstatat(dirfd, name, C.AT_SYMLINK_NOFOLLOW).mode) & C.S_IFMT) === C.S_IFLNK;
    } catch {
      // gone or unreadable: keep the original error
    }
    if (isLink) throw sysError('ELOOP', 'openat', relPath);
    throw error;
  }
}

function walkBeneath(rootfd: number, relPath: Buffer, components: Buffer[], flags: number, mode: number): number {
  const last = components.length > 0 ? components[components.length - 1]! : DOT;
  let dirfd = rootfd;
  try {
    for (let i = 0; i < components.length - 1; i++) {
      const next = openDirComponent(dirfd, components[i]!, relPath);
      if (dirfd !== rootfd) native.close(dirfd);
      dirfd = next;
    }
    let finalFlags = flags | C.O_NOFOLLOW | C.O_CLOEXEC;
    if (relPath[relPath.length - 1] === SLASH) finalFlags |= C.O_DIRECTORY;
    const fd = openLast(dirfd, last, finalFlags, isCreating(flags) ? mode : 0, relPath);
    // O_PATH|O_NOFOLLOW opens a symlink itself; only the caller's own O_NOFOLLOW may ask for that.
    if ((flags & C.O_PATH) !== 0 && (flags & C.O_NOFOLLOW) === 0 && isSymlinkFd(fd)) {
      native.close(fd);
      throw sysError('ELOOP', 'openat', relPath);
    }
    return fd;
  } catch (error) {
    throw withWholePath(error, relPath);
  } finally {
    if (dirfd !== rootfd) native.close(dirfd);
  }
}

/**
 * Opens `relPath` (one or more components, '/'-separated bytes) below `rootfd` and returns the
 * new fd (O_CLOEXEC). `mode` is used only when creating. Errors are system errors with the whole
 * relPath as `path`: EXDEV for '..' or an absolute path, ELOOP for a symlink, ENOENT, ENOTDIR…
 */
export function safeOpenBeneath(
  rootfd: number,
  relPath: PathArg,
  flags: number,
  mode = 0,
  options: SafeOpenOptions = {},
): number {
  assertFd(rootfd, 'rootfd');
  assertPath(relPath, 'relPath');
  assertBits(flags, 'flags');
  assertMode(mode);
  const bytes = toBytes(relPath);
  const walk = options.forceFallback === true || openat2Unavailable || bytes.length >= PATH_MAX;
  const components = splitComponents(bytes, walk ? 'openat' : 'openat2');
  if (!walk) {
    try {
      return native.openat2(rootfd, bytes, flags | C.O_CLOEXEC, isCreating(flags) ? mode : 0, RESOLVE_SAFE);
    } catch (error) {
      if (!isSysError(error, 'ENOSYS')) throw error;
      openat2Unavailable = true;
    }
  }
  return walkBeneath(rootfd, bytes, components, flags, mode);
}

/** Same function; the name the scan worker (src/worker/worker-context.ts) imports. */
export const openBeneath = safeOpenBeneath;
