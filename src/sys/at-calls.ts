// at-calls.ts - validated wrappers for the calls that name an entry relative to a directory fd
// (the *at family, readdirAt, renameat2, mknodat, utimensat), and the allocation-free scan calls
// (readdirPacked, fstatatInto, fstatInto) the snapshot walker runs once per file.
// Invariants: every `name` is one component (assertName), so a call only reaches an entry directly
// inside `dirfd`; fds are opened O_CLOEXEC (as libuv does) so child processes never inherit them;
// calls that can choose default to NOT following a final symlink — a restore must never act on
// a symlink's target. fchmodat cannot choose (Linux has no flag): see its comment.
import {
  native,
  STAT_FIELD_COUNT,
  STAT_FIELDS,
  type NativeDirEntry,
  type NativeStat,
  type PackedDir,
  type PathArg,
} from './native.js';
import {
  assertBigInt,
  assertBits,
  assertDirFd,
  assertFd,
  assertId,
  assertMode,
  assertName,
  assertPath,
} from './validate.js';

const C = native.constants;

function checkDirFd(dirfd: unknown, what = 'dirfd'): asserts dirfd is number {
  assertDirFd(dirfd, C.AT_FDCWD, what);
}

/** A name, or '' when AT_EMPTY_PATH asks the call to act on dirfd itself. */
function checkNameOrEmpty(name: unknown, flags: number, what = 'name'): asserts name is PathArg {
  if ((flags & C.AT_EMPTY_PATH) !== 0 && (name === '' || (Buffer.isBuffer(name) && name.length === 0))) {
    return;
  }
  assertName(name, what);
}

function checkTime(value: unknown, what: string): asserts value is bigint | null {
  if (value !== null) assertBigInt(value, what);
}

/** Opens one entry of `dirfd`. O_CLOEXEC is always added; mode only matters with O_CREAT/O_TMPFILE. */
export function openat(dirfd: number, name: PathArg, flags: number, mode = 0): number {
  checkDirFd(dirfd);
  assertName(name);
  assertBits(flags, 'flags');
  assertMode(mode);
  return native.openat(dirfd, name, flags | C.O_CLOEXEC, mode);
}

/**
 * Opens a whole path (absolute, or relative to the cwd): only for starting points named by the
 * user or config (ROOT, the repository), never for entries inside a tree, because intermediate
 * symlinks ARE followed here. O_CLOEXEC is always added.
 */
export function openPath(path: PathArg, flags: number, mode = 0): number {
  assertPath(path);
  assertBits(flags, 'flags');
  assertMode(mode);
  return native.openat(C.AT_FDCWD, path, flags | C.O_CLOEXEC, mode);
}

/**
 * Raw openat2 for a multi-component relative path; prefer safeOpenBeneath, which picks the resolve
 * flags and has a fallback. mode is dropped unless creating (the kernel rejects it with EINVAL).
 */
export function openat2(dirfd: number, path: PathArg, flags: number, mode: number, resolve: number): number {
  checkDirFd(dirfd);
  assertPath(path);
  assertBits(flags, 'flags');
  assertMode(mode);
  assertBits(resolve, 'resolve');
  const creating = (flags & C.O_CREAT) !== 0 || (flags & C.O_TMPFILE) === C.O_TMPFILE;
  return native.openat2(dirfd, path, flags | C.O_CLOEXEC, creating ? mode : 0, resolve);
}

export function mkdirat(dirfd: number, name: PathArg, mode: number): void {
  checkDirFd(dirfd);
  assertName(name);
  assertMode(mode);
  native.mkdirat(dirfd, name, mode);
}

/** flags: 0 for a non-directory, AT_REMOVEDIR for an empty directory. */
export function unlinkat(dirfd: number, name: PathArg, flags = 0): void {
  checkDirFd(dirfd);
  assertName(name);
  assertBits(flags, 'flags');
  native.unlinkat(dirfd, name, flags);
}

/** Creates symlink `name` in dirfd pointing at `target` (any non-empty bytes, stored verbatim). */
export function symlinkat(target: PathArg, dirfd: number, name: PathArg): void {
  assertPath(target, 'target');
  checkDirFd(dirfd);
  assertName(name);
  native.symlinkat(target, dirfd, name);
}

/** The symlink's target bytes, exactly as stored. */
export function readlinkat(dirfd: number, name: PathArg): Buffer {
  checkDirFd(dirfd);
  assertName(name);
  return native.readlinkat(dirfd, name);
}

/**
 * Hard link. flags 0 links a symlink itself (never its target); AT_EMPTY_PATH with oldname ''
 * links the file open as olddirfd (how an O_TMPFILE file gets its name).
 */
export function linkat(olddirfd: number, oldname: PathArg, newdirfd: number, newname: PathArg, flags = 0): void {
  checkDirFd(olddirfd, 'olddirfd');
  assertBits(flags, 'flags');
  checkNameOrEmpty(oldname, flags, 'oldname');
  checkDirFd(newdirfd, 'newdirfd');
  assertName(newname, 'newname');
  native.linkat(olddirfd, oldname, newdirfd, newname, flags);
}

/** Changes ownership; by default of a symlink itself (AT_SYMLINK_NOFOLLOW). -1 keeps an id. */
export function fchownat(dirfd: number, name: PathArg, uid: number, gid: number, flags = C.AT_SYMLINK_NOFOLLOW): void {
  checkDirFd(dirfd);
  assertBits(flags, 'flags');
  checkNameOrEmpty(name, flags);
  assertId(uid, 'uid');
  assertId(gid, 'gid');
  native.fchownat(dirfd, name, uid, gid, flags);
}

/**
 * chmod of an entry. HAZARD: Linux fchmodat(2) always follows a final symlink. Only call it on an
 * entry just created or verified as not a symlink; otherwise open it (O_NOFOLLOW) and use fchmod.
 */
export function fchmodat(dirfd: number, name: PathArg, mode: number): void {
  checkDirFd(dirfd);
  assertName(name);
  assertMode(mode);
  native.fchmodat(dirfd, name, mode);
}

/** Stats an entry; by default the symlink itself (AT_SYMLINK_NOFOLLOW). */
export function fstatat(dirfd: number, name: PathArg, flags = C.AT_SYMLINK_NOFOLLOW): NativeStat {
  checkDirFd(dirfd);
  assertBits(flags, 'flags');
  checkNameOrEmpty(name, flags);
  return native.fstatat(dirfd, name, flags);
}

/** All entries of an open (not O_PATH) directory fd except '.' and '..'; the fd stays open. */
export function readdirAt(dirfd: number): NativeDirEntry[] {
  assertFd(dirfd, 'dirfd');
  return native.readdirAt(dirfd);
}

/** flags: 0, RENAME_NOREPLACE (fail with EEXIST) or RENAME_EXCHANGE (swap atomically). */
export function renameat2(olddirfd: number, oldname: PathArg, newdirfd: number, newname: PathArg, flags = 0): void {
  checkDirFd(olddirfd, 'olddirfd');
  assertName(oldname, 'oldname');
  checkDirFd(newdirfd, 'newdirfd');
  assertName(newname, 'newname');
  assertBits(flags, 'flags');
  native.renameat2(olddirfd, oldname, newdirfd, newname, flags);
}

/** mode carries the type (S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK) and the permission bits. */
export function mknodat(dirfd: number, name: PathArg, mode: number, major = 0, minor = 0): void {
  checkDirFd(dirfd);
  assertName(name);
  assertBits(mode, 'mode');
  assertBits(major, 'major');
  assertBits(minor, 'minor');
  native.mknodat(dirfd, name, mode, major, minor);
}

/** Sets times in ns since the epoch (null keeps one); by default on a symlink itself. */
export function utimensat(
  dirfd: number,
  name: PathArg,
  atimeNs: bigint | null,
  mtimeNs: bigint | null,
  flags = C.AT_SYMLINK_NOFOLLOW,
): void {
  checkDirFd(dirfd);
  assertBits(flags, 'flags');
  checkNameOrEmpty(name, flags);
  checkTime(atimeNs, 'atimeNs');
  checkTime(mtimeNs, 'mtimeNs');
  native.utimensat(dirfd, name, atimeNs, mtimeNs, flags);
}


// ---- Scan hot path: one call per file of a server, so the checks below allocate nothing. ----
// Each fast check accepts exactly what the general assert* accepts; only when it fails does the
// general assert run, to throw its usual ERR_INVALID_ARG_* error.

const SLASH = 0x2f;
const DOT = 0x2e;

/** assertName's rule without the Buffer.from a string costs there. */
function isNameFast(name: unknown): boolean {
  if (typeof name === 'string') {
    return name.length > 0 && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
  }
  if (!Buffer.isBuffer(name)) return false;
  const n = name.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const b = name[i];
    if (b === SLASH || b === 0) return false;
  }
  return !(name[0] === DOT && (n === 1 || (n === 2 && name[1] === DOT)));
}

function isFdFast(fd: unknown): boolean {
  return typeof fd === 'number' && (fd | 0) === fd && fd >= 0;
}

function checkStatOut(out: unknown): asserts out is BigInt64Array {
  if (out instanceof BigInt64Array && out.length >= STAT_FIELD_COUNT) return;
  const error = new TypeError(
    out instanceof BigInt64Array
      ? `out must have at least ${STAT_FIELD_COUNT} elements, got ${out.length}`
      : 'out must be a BigInt64Array',
  ) as TypeError & { code: string };
  error.code = out instanceof BigInt64Array ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE';
  throw error;
}

/**
 * readdirAt's listing packed into one Buffer of NUL-terminated names plus one Uint8Array of
 * d_types (same entries, same order; '.' and '..' skipped; the fd stays open).
 */
export function readdirPacked(dirfd: number): PackedDir {
  if (!isFdFast(dirfd)) assertFd(dirfd, 'dirfd');
  return native.readdirPacked(dirfd);
}

/**
 * Calls fn for every entry of a readdirPacked result, in order. `name` is a subarray VIEW of
 * packed.names (no copy): Buffer.from(name) it to keep it apart from the listing's memory.
 */
export function forEachPackedName(
  packed: PackedDir,
  fn: (name: Buffer, type: number, index: number) => void,
): void {
  const { names, types, count } = packed;
  const end = names.length;
  let start = 0;
  for (let i = 0; i < count; i++) {
    let stop = start;
    while (stop < end && names[stop] !== 0) stop++;
    if (stop === end) throw new RangeError(`forEachPackedName: names ends inside entry ${i} of ${count}`);
    fn(names.subarray(start, stop), types[i]!, i);
    start = stop + 1;
  }
}

/**
 * fstatat into a caller-owned BigInt64Array (length >= STAT_FIELD_COUNT, slots STAT_FIELDS):
 * allocates nothing, so one array can serve a whole walk. dirfd must be an open fd (no AT_FDCWD);
 * name one component (a Buffer is used in place). flags is explicit: pass AT_SYMLINK_NOFOLLOW
 * to stat a symlink itself.
 */
export function fstatatInto(dirfd: number, name: PathArg, flags: number, out: BigInt64Array): void {
  if (!isFdFast(dirfd)) assertFd(dirfd, 'dirfd');
  if (!isNameFast(name)) assertName(name);
  if (typeof flags !== 'number' || flags >>> 0 !== flags) assertBits(flags, 'flags');
  checkStatOut(out);
  native.fstatatInto(dirfd, name, flags, out);
}

/**
 * fstatatInto for `count` entries of a readdirPacked listing at once, from byte `start` of
 * listing.names (an entry's first byte): entry i's fields go to out[i * STAT_FIELD_COUNT ...] and 0
 * to errnos[i], or its errno (ENOENT: gone since the listing) to errnos[i]. One native call for
 * them all; per-entry failures are data, not exceptions. The names are the listing's own (one
 * component each, checked natively).
 */
export function fstatatMany(dirfd: number, listing: PackedDir, start: number, count: number, flags: number, out: BigInt64Array, errnos: Int32Array): void {
  if (!isFdFast(dirfd)) assertFd(dirfd, 'dirfd');
  native.fstatatMany(dirfd, listing.names, start, count, flags, out, errnos);
}

/** fstat into a caller-owned BigInt64Array; see fstatatInto. */
export function fstatInto(fd: number, out: BigInt64Array): void {
  if (!isFdFast(fd)) assertFd(fd);
  checkStatOut(out);
  native.fstatInto(fd, out);
}

/** An unsigned kernel field (dev, ino, rdev) from its slot; asUintN only for the rare top-bit-set value. */
export function unsignedSlot(value: bigint): bigint {
  return value < 0n ? BigInt.asUintN(64, value) : value;
}

/** A stat read out of fstatatInto/fstatInto slots: every field but the split device numbers. */
export type SlotStat = Omit<NativeStat, 'devMajor' | 'devMinor'>;

const F = STAT_FIELDS;

/**
 * The fields of slots filled by fstatatInto/fstatInto (or one entry of fstatatMany, at `base`) as
 * an object. A JS literal of one shape: building it costs a fraction of what native.fstat's object
 * does (each of its properties is set through N-API, which looks the key up in V8's string table).
 */
export function statFromSlots(v: BigInt64Array, base = 0): SlotStat {
  return {
    dev: unsignedSlot(v[base + F.dev]!),
    ino: unsignedSlot(v[base + F.ino]!),
    mode: v[base + F.mode]!,
    nlink: v[base + F.nlink]!,
    uid: v[base + F.uid]!,
    gid: v[base + F.gid]!,
    rdev: unsignedSlot(v[base + F.rdev]!),
    size: v[base + F.size]!,
    blksize: v[base + F.blksize]!,
    blocks: v[base + F.blocks]!,
    atimeNs: v[base + F.atimeNs]!,
    mtimeNs: v[base + F.mtimeNs]!,
    ctimeNs: v[base + F.ctimeNs]!,
    rdevMajor: Number(v[base + F.rdevMajor]),
    rdevMinor: Number(v[base + F.rdevMinor]),
  };
}
