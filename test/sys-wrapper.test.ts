// src/sys wrappers: every wrapper's success path and error path (bad arguments refused before any
// syscall, kernel errors passed through), the single-component name rule, O_CLOEXEC and no-follow
// defaults, procFdPath, getFlags refusing non-files, sysError matching the addon's errors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';

import * as sys from '../src/sys/index.js';
import { procFdPath as procFdPathFromNativeTs } from '../src/sys/native.js';

const C = sys.constants;
const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
const BAD_FD = 0x3ffffff0;

interface Scratch {
  dir: string;
  rootfd: number;
  track(fd: number): number;
}

function scratch(t: TestContext): Scratch {
  const dir = fs.mkdtempSync(os.tmpdir() + '/sys-wrapper-');
  const fds: number[] = [];
  const rootfd = sys.openPath(dir, DIR_FLAGS);
  fds.push(rootfd);
  t.after(() => {
    for (const fd of fds.reverse()) sys.close(fd);
    if (process.env.KEEP_TMP !== '1') fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, rootfd, track: (fd) => (fds.push(fd), fd) };
}

function typeOf(st: sys.NativeStat): number {
  return Number(st.mode) & C.S_IFMT;
}

function expectSys(fn: () => unknown, code: string, syscall: string, p?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(sys.isSysError(error), String(error));
    assert.equal(error.code, code, error.message);
    assert.equal(error.syscall, syscall, error.message);
    assert.equal(error.path, p);
    assert.equal(error.errno, -(os.constants.errno as Record<string, number>)[code]!);
    return true;
  });
}

test('names: *at wrappers take exactly one component, refused before any syscall', (t) => {
  const s = scratch(t);
  const bad: Array<[unknown, string]> = [
    ['a/b', 'ERR_INVALID_ARG_VALUE'],
    [Buffer.from('a/b'), 'ERR_INVALID_ARG_VALUE'],
    ['/etc', 'ERR_INVALID_ARG_VALUE'],
    ['', 'ERR_INVALID_ARG_VALUE'],
    [Buffer.alloc(0), 'ERR_INVALID_ARG_VALUE'],
    ['.', 'ERR_INVALID_ARG_VALUE'],
    ['..', 'ERR_INVALID_ARG_VALUE'],
    [Buffer.from('..'), 'ERR_INVALID_ARG_VALUE'],
    ['a\0b', 'ERR_INVALID_ARG_VALUE'],
    [42, 'ERR_INVALID_ARG_TYPE'],
    [null, 'ERR_INVALID_ARG_TYPE'],
  ];
  for (const [value, code] of bad) {
    const name = value as string;
    const calls: Array<() => unknown> = [
      () => sys.openat(s.rootfd, name, C.O_RDONLY),
      () => sys.mkdirat(s.rootfd, name, 0o755),
      () => sys.unlinkat(s.rootfd, name),
      () => sys.symlinkat('t', s.rootfd, name),
      () => sys.readlinkat(s.rootfd, name),
      () => sys.linkat(s.rootfd, 'x', s.rootfd, name),
      () => sys.fchownat(s.rootfd, name, 0, 0),
      () => sys.fchmodat(s.rootfd, name, 0o644),
      () => sys.fstatat(s.rootfd, name),
      () => sys.renameat2(s.rootfd, name, s.rootfd, 'x'),
      () => sys.renameat2(s.rootfd, 'x', s.rootfd, name),
      () => sys.mknodat(s.rootfd, name, C.S_IFIFO | 0o600),
      () => sys.utimensat(s.rootfd, name, 0n, 0n),
      () => sys.procFdPath(s.rootfd, name),
    ];
    for (const call of calls) assert.throws(call, { code }, `${String(value)}: ${call.toString()}`);
  }
  assert.deepEqual(sys.readdirAt(s.rootfd), [], 'nothing was created');
  // Names are otherwise free bytes: '...', a leading dot, invalid UTF-8.
  for (const name of ['...', '.hidden', Buffer.from([0x66, 0xff])]) sys.mkdirat(s.rootfd, name, 0o700);
  assert.equal(sys.readdirAt(s.rootfd).length, 3);
});

test('numbers and types: fds, AT_FDCWD only where a dirfd is meant, modes, ids, offsets, bigint times', (t) => {
  const s = scratch(t);
  const range = { code: 'ERR_OUT_OF_RANGE' };
  const type = { code: 'ERR_INVALID_ARG_TYPE' };
  assert.throws(() => sys.fstat(-1), range);
  assert.throws(() => sys.fstat(C.AT_FDCWD), range, 'AT_FDCWD is not an fd');
  assert.throws(() => sys.fstat(1.5), range);
  assert.throws(() => sys.fstat('3' as unknown as number), type);
  assert.throws(() => sys.readdirAt(C.AT_FDCWD), range);
  assert.throws(() => sys.procFdPath(C.AT_FDCWD, 'x'), range);
  assert.throws(() => sys.fstatat(-5, 'x'), range);
  assert.throws(() => sys.mkdirat(s.rootfd, 'd', 0o10000), range, 'type bits are not a mode');
  assert.throws(() => sys.openat(s.rootfd, 'f', 1.5), range);
  assert.throws(() => sys.fchownat(s.rootfd, 'f', -2, 0), range);
  assert.throws(() => sys.fchown(s.rootfd, 0, 2 ** 32), range);
  assert.throws(() => sys.lseekData(s.rootfd, -1), range);
  assert.throws(() => sys.lseekHole(s.rootfd, 2 ** 53), range);
  assert.throws(() => sys.utimensat(s.rootfd, 'f', 1 as unknown as bigint, 0n), type);
  assert.throws(() => sys.futimens(s.rootfd, 2n ** 63n, 0n), range);
  assert.throws(() => sys.pwrite(s.rootfd, 'text' as unknown as Buffer, 0), type);
  assert.throws(() => sys.lsetxattr(s.dir, 'user.x', 'v' as unknown as Buffer), type);
  assert.throws(() => sys.lgetxattr(s.dir, ''), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => sys.safeOpenBeneath(s.rootfd, '', C.O_RDONLY), { code: 'ERR_INVALID_ARG_VALUE' });
  // Times outside int64 nanoseconds would wrap silently in C.
  assert.throws(() => sys.native.futimens(s.rootfd, -(2n ** 63n) - 1n, 0n), range);
});

test('every fd the wrappers open is close-on-exec', (t) => {
  const s = scratch(t);
  const cloexec = (fd: number): boolean => {
    const flags = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    return (parseInt(flags ?? '0', 8) & C.O_CLOEXEC) !== 0;
  };
  assert.ok(cloexec(s.rootfd));
  assert.ok(cloexec(s.track(sys.openat(s.rootfd, 'f', C.O_RDWR | C.O_CREAT, 0o600))));
  assert.ok(cloexec(s.track(sys.openat2(s.rootfd, 'f', C.O_RDONLY, 0o644, C.RESOLVE_BENEATH))), 'mode dropped: no EINVAL');
  assert.ok(cloexec(s.track(sys.safeOpenBeneath(s.rootfd, 'f', C.O_RDONLY))));
  assert.ok(cloexec(s.track(sys.safeOpenBeneath(s.rootfd, 'f', C.O_RDONLY, 0, { forceFallback: true }))));
});

test('defaults: fstatat, fchownat and utimensat act on a symlink itself unless told otherwise', (t) => {
  const s = scratch(t);
  s.track(sys.openat(s.rootfd, 'target', C.O_RDWR | C.O_CREAT, 0o644));
  sys.symlinkat('target', s.rootfd, 'link');
  assert.equal(typeOf(sys.fstatat(s.rootfd, 'link')), C.S_IFLNK);
  assert.equal(typeOf(sys.fstatat(s.rootfd, 'link', 0)), C.S_IFREG);
  sys.fchownat(s.rootfd, 'link', 4321, 4321);
  sys.utimensat(s.rootfd, 'link', 5n, 7_000_000_001n);
  const link = sys.fstatat(s.rootfd, 'link');
  const target = sys.fstatat(s.rootfd, 'target');
  assert.deepEqual([link.uid, link.mtimeNs, link.atimeNs], [4321n, 7_000_000_001n, 5n]);
  assert.equal(target.uid, 0n);
  assert.notEqual(target.mtimeNs, 7_000_000_001n);
});

test('procFdPath: /proc/self/fd/<dirfd>/<name> bytes that reach the entry, never its link target', (t) => {
  const s = scratch(t);
  const name = Buffer.from([0x6c, 0xff]);
  sys.symlinkat('/etc/hostname', s.rootfd, name);
  const p = sys.procFdPath(s.rootfd, name);
  assert.deepEqual(p, Buffer.concat([Buffer.from(`/proc/self/fd/${s.rootfd}/`), name]));
  assert.equal(procFdPathFromNativeTs, sys.procFdPath);
  sys.lsetxattr(p, 'trusted.mark', Buffer.from('on the link'));
  assert.deepEqual(sys.lgetxattr(p, 'trusted.mark'), Buffer.from('on the link'));
  assert.deepEqual(sys.llistxattr(p).map(String), ['trusted.mark']);
  sys.lremovexattr(p, 'trusted.mark');
  expectSys(() => sys.lgetxattr(sys.procFdPath(s.rootfd, 'gone'), 'trusted.mark'), 'ENOENT', 'lgetxattr', `/proc/self/fd/${s.rootfd}/gone`);
});

test('sysError builds the same error the addon throws; isSysError tells them from argument errors', (t) => {
  const s = scratch(t);
  let fromKernel: unknown;
  try {
    sys.native.openat2(s.rootfd, '../x', C.O_RDONLY, 0, C.RESOLVE_BENEATH);
  } catch (error) {
    fromKernel = error;
  }
  if (!sys.isSysError(fromKernel, 'EXDEV')) return assert.fail(String(fromKernel));
  const built = sys.sysError('EXDEV', 'openat2', Buffer.from('../x'));
  for (const key of ['message', 'code', 'errno', 'syscall', 'path'] as const) assert.equal(built[key], fromKernel[key], key);
  assert.equal(sys.sysError('ENOENT', 'renameat2', 'a', 'b').message, "ENOENT: no such file or directory, renameat2 'a' -> 'b'");
  assert.equal(sys.isSysError(new TypeError('x')), false);
  assert.throws(() => sys.sysError('ENOTANERRNO', 'x'), TypeError);
});

test('getFlags/setFlags refuse anything but regular files and directories (the ioctl would reach a driver)', (t) => {
  const s = scratch(t);
  sys.mknodat(s.rootfd, 'fifo', C.S_IFIFO | 0o600);
  const fifo = s.track(sys.openat(s.rootfd, 'fifo', C.O_RDONLY | C.O_NONBLOCK));
  expectSys(() => sys.getFlags(fifo), 'EOPNOTSUPP', 'ioctl');
  expectSys(() => sys.setFlags(fifo, 0), 'EOPNOTSUPP', 'ioctl');
  expectSys(() => sys.getFlags(BAD_FD), 'EBADF', 'fstat');
  // With the caller's own st_mode of the fd, the check uses it instead of a second fstat.
  const fifoMode = Number(sys.fstat(fifo).mode);
  expectSys(() => sys.getFlags(fifo, fifoMode), 'EOPNOTSUPP', 'ioctl');
  assert.throws(() => sys.getFlags(fifo, -1), RangeError);
  assert.throws(() => sys.getFlags(fifo, 1.5), RangeError);
});

test('getFlags with the fd\'s own mode answers as without it', (t) => {
  const s = scratch(t);
  fs.writeFileSync(path.join(s.dir, 'f'), 'x');
  const fd = s.track(sys.openat(s.rootfd, 'f', C.O_RDONLY));
  let flags: number;
  try {
    flags = sys.getFlags(fd);
  } catch (err) {
    if (['ENOTTY', 'EOPNOTSUPP', 'EINVAL'].includes((err as { code?: string }).code ?? '')) return t.skip('no inode flags on this filesystem');
    throw err;
  }
  assert.equal(sys.getFlags(fd, Number(sys.fstat(fd).mode)), flags);
  sys.mkdirat(s.rootfd, 'd', 0o755);
  const dir = s.track(sys.openat(s.rootfd, 'd', C.O_RDONLY | C.O_DIRECTORY));
  assert.equal(sys.getFlags(dir, Number(sys.fstat(dir).mode)), sys.getFlags(dir));
});

test('each wrapper: success path, then the kernel error passed through unchanged', (t) => {
  const s = scratch(t);
  const r = s.rootfd;
  // Directory entries
  sys.mkdirat(r, 'd', 0o755);
  expectSys(() => sys.mkdirat(r, 'd', 0o755), 'EEXIST', 'mkdirat', 'd');
  const d = s.track(sys.openat(r, 'd', DIR_FLAGS));
  expectSys(() => sys.openat(r, 'nope', C.O_RDONLY), 'ENOENT', 'openat', 'nope');
  expectSys(() => sys.openPath(path.join(s.dir, 'nope'), C.O_RDONLY), 'ENOENT', 'openat', path.join(s.dir, 'nope'));
  const f = s.track(sys.openat2(r, 'd/f', C.O_RDWR | C.O_CREAT | C.O_EXCL, 0o600, C.RESOLVE_BENEATH));
  expectSys(() => sys.openat2(r, 'd/f', C.O_RDWR | C.O_CREAT | C.O_EXCL, 0o600, C.RESOLVE_BENEATH), 'EEXIST', 'openat2', 'd/f');
  sys.symlinkat('f', d, 'l');
  expectSys(() => sys.symlinkat('f', d, 'l'), 'EEXIST', 'symlinkat', 'f');
  assert.deepEqual(sys.readlinkat(d, 'l'), Buffer.from('f'));
  expectSys(() => sys.readlinkat(d, 'f'), 'EINVAL', 'readlinkat', 'f');
  sys.linkat(d, 'f', d, 'f2');
  expectSys(() => sys.linkat(d, 'f', d, 'f2'), 'EEXIST', 'linkat', 'f');
  sys.renameat2(d, 'f2', d, 'f3', C.RENAME_NOREPLACE);
  expectSys(() => sys.renameat2(d, 'f', d, 'f3', C.RENAME_NOREPLACE), 'EEXIST', 'renameat2', 'f');
  sys.mknodat(d, 'chr', C.S_IFCHR | 0o600, 1, 3);
  assert.deepEqual([sys.fstatat(d, 'chr').rdevMajor, sys.fstatat(d, 'chr').rdevMinor], [1, 3]);
  expectSys(() => sys.mknodat(d, 'chr', C.S_IFCHR | 0o600, 1, 3), 'EEXIST', 'mknodat', 'chr');
  sys.unlinkat(d, 'chr');
  expectSys(() => sys.unlinkat(d, 'chr'), 'ENOENT', 'unlinkat', 'chr');
  assert.deepEqual(sys.readdirAt(d).map((e) => e.name.toString()).sort(), ['f', 'f3', 'l']);
  expectSys(() => sys.readdirAt(f), 'ENOTDIR', 'fdopendir');
  // Owner, mode, times
  sys.fchownat(d, 'f', 11, 12);
  sys.fchown(f, 13, -1);
  sys.fchmodat(d, 'f', 0o640);
  sys.fchmod(f, 0o604);
  sys.utimensat(d, 'f', 1n, 2n);
  sys.futimens(f, null, 3n);
  const st = sys.fstat(f);
  assert.deepEqual([st.uid, st.gid, Number(st.mode) & 0o7777, st.atimeNs, st.mtimeNs], [13n, 12n, 0o604, 1n, 3n]);
  assert.equal(sys.fstatat(d, 'f').ino, st.ino);
  expectSys(() => sys.fchownat(d, 'gone', 1, 1), 'ENOENT', 'fchownat', 'gone');
  expectSys(() => sys.fchmodat(d, 'gone', 0o600), 'ENOENT', 'fchmodat', 'gone');
  expectSys(() => sys.utimensat(d, 'gone', 1n, 1n), 'ENOENT', 'utimensat', 'gone');
  expectSys(() => sys.fstatat(d, 'gone'), 'ENOENT', 'fstatat', 'gone');
  for (const call of [() => sys.fstat(BAD_FD), () => sys.fchown(BAD_FD, 1, 1), () => sys.fchmod(BAD_FD, 0o600),
    () => sys.futimens(BAD_FD, 1n, 1n), () => sys.close(BAD_FD)]) {
    assert.throws(call, { code: 'EBADF' });
  }
  // Content, space, sync, seek, locks
  sys.pwriteAll(f, Buffer.alloc(10_000, 7), 4096);
  assert.equal(sys.pwrite(f, Buffer.from('x'), 0), 1);
  sys.fsync(f);
  sys.fdatasync(f);
  assert.equal(sys.lseekData(f, 0), 0);
  assert.equal(sys.lseekHole(f, 0) > 0, true);
  sys.fallocate(f, 0, 0, 65536);
  sys.ftruncate(f, 100);
  assert.equal(sys.fstat(f).size, 100n);
  sys.flock(f, C.LOCK_EX | C.LOCK_NB);
  const f2 = s.track(sys.openat(d, 'f', C.O_RDONLY));
  expectSys(() => sys.flock(f2, C.LOCK_EX | C.LOCK_NB), 'EAGAIN', 'flock');
  sys.flock(f, C.LOCK_UN);
  for (const call of [() => sys.pwrite(BAD_FD, Buffer.from('x'), 0), () => sys.pwriteAll(BAD_FD, Buffer.from('x'), 0),
    () => sys.fsync(BAD_FD), () => sys.fdatasync(BAD_FD), () => sys.lseekData(BAD_FD, 0), () => sys.lseekHole(BAD_FD, 0),
    () => sys.fallocate(BAD_FD, 0, 0, 1), () => sys.ftruncate(BAD_FD, 0), () => sys.flock(BAD_FD, C.LOCK_UN)]) {
    assert.throws(call, { code: 'EBADF' });
  }
  // Flags (tolerating filesystems without them; the native test covers setting them)
  try {
    sys.setFlags(f, sys.getFlags(f));
  } catch (error) {
    assert.ok(sys.isSysError(error) && ['ENOTTY', 'EOPNOTSUPP'].includes(error.code), String(error));
  }
  // xattrs by fd and by path
  sys.fsetxattr(f, 'trusted.w', Buffer.from('1'), C.XATTR_CREATE);
  expectSys(() => sys.fsetxattr(f, 'trusted.w', Buffer.from('1'), C.XATTR_CREATE), 'EEXIST', 'fsetxattr');
  assert.deepEqual(sys.fgetxattr(f, 'trusted.w'), Buffer.from('1'));
  assert.deepEqual(sys.flistxattr(f).map(String), ['trusted.w']);
  sys.fremovexattr(f, 'trusted.w');
  expectSys(() => sys.fgetxattr(f, 'trusted.w'), 'ENODATA', 'fgetxattr');
  expectSys(() => sys.fremovexattr(f, 'trusted.w'), 'ENODATA', 'fremovexattr');
  expectSys(() => sys.flistxattr(BAD_FD), 'EBADF', 'flistxattr');
  const fp = path.join(s.dir, 'd', 'f');
  sys.lsetxattr(fp, 'trusted.p', Buffer.from('2'));
  assert.deepEqual(sys.lgetxattr(fp, 'trusted.p'), Buffer.from('2'));
  expectSys(() => sys.lsetxattr(fp, 'trusted.q', Buffer.from('2'), C.XATTR_REPLACE), 'ENODATA', 'lsetxattr', fp);
  expectSys(() => sys.lremovexattr(fp, 'trusted.q'), 'ENODATA', 'lremovexattr', fp);
  expectSys(() => sys.llistxattr(fp + '.gone'), 'ENOENT', 'llistxattr', fp + '.gone');
});

test('linkat AT_EMPTY_PATH gives an O_TMPFILE file its name (the atomic-create path)', (t) => {
  const s = scratch(t);
  const tmp = s.track(sys.safeOpenBeneath(s.rootfd, '.', C.O_TMPFILE | C.O_RDWR, 0o600));
  sys.pwriteAll(tmp, Buffer.from('complete'), 0);
  sys.linkat(tmp, '', s.rootfd, 'final', C.AT_EMPTY_PATH);
  assert.equal(fs.readFileSync(path.join(s.dir, 'final'), 'utf8'), 'complete');
  expectSys(() => sys.linkat(tmp, '', s.rootfd, 'final', C.AT_EMPTY_PATH), 'EEXIST', 'linkat', '');
  assert.throws(() => sys.linkat(tmp, '', s.rootfd, 'other'), { code: 'ERR_INVALID_ARG_VALUE' }, "'' needs AT_EMPTY_PATH");
});
