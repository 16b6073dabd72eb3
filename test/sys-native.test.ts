// Raw addon (native/): module shape, Node-style errors, the openat family, stat, readdirAt,
// renameat2, mknodat, utimensat, and the name hazards (invalid UTF-8, 255 bytes, > PATH_MAX).
// Every test works in its own mkdtemp dir (kept with KEEP_TMP=1), always through dir fds.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { findProjectRoot, native } from '../src/sys/native.js';
import { assertSysError, BAD_FD, createFile, DIR_FLAGS, scratch } from './helpers/sys-scratch.js';

const C = native.constants;


/** glibc's dev_t encoding, to check the split major/minor fields. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

function typeOf(st: { mode: bigint }): number {
  return Number(st.mode) & C.S_IFMT;
}

test('addon: exports every function and a frozen constants object matching fs.constants', () => {
  const names = [
    'lgetxattr', 'lsetxattr', 'llistxattr', 'lremovexattr', 'fgetxattr', 'fsetxattr', 'flistxattr',
    'fremovexattr', 'fstatat', 'fstat', 'readdirAt', 'openat', 'openat2', 'close', 'mkdirat', 'unlinkat',
    'symlinkat', 'readlinkat', 'linkat', 'fchownat', 'fchmodat', 'fchmod', 'fchown', 'renameat2',
    'mknodat', 'utimensat', 'futimens', 'lseekData', 'lseekHole', 'fallocate', 'ftruncate', 'fsync',
    'fdatasync', 'pwrite', 'flock', 'getFlags', 'setFlags',
  ];
  for (const name of names) assert.equal(typeof (native as unknown as Record<string, unknown>)[name], 'function', name);
  assert.ok(Object.isFrozen(native.constants));
  for (const key of ['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_CREAT', 'O_EXCL', 'O_TRUNC', 'O_DIRECTORY', 'O_NOFOLLOW',
    'O_NOATIME', 'S_IFMT', 'S_IFREG', 'S_IFDIR', 'S_IFLNK', 'S_IFCHR', 'S_IFBLK', 'S_IFIFO', 'S_IFSOCK'] as const) {
    assert.equal(C[key], (fs.constants as Record<string, number>)[key], key);
  }
  assert.equal(C.AT_FDCWD, -100);
  assert.equal(C.RESOLVE_BENEATH, 0x08);
  assert.equal(C.RENAME_EXCHANGE, 2);
  assert.equal(C.FS_APPEND_FL, 0x20);
  assert.equal(C.DT_REG, 8);
  assert.equal(C.LOCK_NB, 4);
});

test('addon: loads and works in several worker threads at once (context-aware, no shared state)', async () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const addonPath = path.join(findProjectRoot(here), 'native', 'build', 'Release', 'restore_native.node');
  const code = `
    const { parentPort } = require('node:worker_threads');
    const n = require(${JSON.stringify(addonPath)});
    let err; try { n.fstat(${BAD_FD}); } catch (e) { err = e.code; }
    parentPort.postMessage({ ino: String(n.fstatat(n.constants.AT_FDCWD, '/', 0).ino), err });`;
  const results = await Promise.all(
    [1, 2, 3, 4].map(
      () =>
        new Promise<{ ino: string; err: string }>((resolve, reject) => {
          const worker = new Worker(code, { eval: true });
          worker.once('message', (m: { ino: string; err: string }) => void worker.terminate().then(() => resolve(m)));
          worker.once('error', reject);
        }),
    ),
  );
  for (const r of results) assert.deepEqual(r, { ino: String(fs.statSync('/').ino), err: 'EBADF' });
});

test('errors: Node-style fields and message; Buffer paths shown as UTF-8', (t) => {
  const s = scratch(t);
  const missing = path.join(s.dir, 'missing');
  const e = assertSysError(() => native.lgetxattr(missing, 'user.x'), { code: 'ENOENT', syscall: 'lgetxattr', path: missing });
  assert.equal(e.errno, -2);
  assert.equal(e.message, `ENOENT: no such file or directory, lgetxattr '${missing}'`);
  assertSysError(() => native.lgetxattr(Buffer.from(missing), 'user.x'), { code: 'ENOENT', syscall: 'lgetxattr', path: missing });
});

test('errors: bad arguments are TypeError/RangeError with ERR_* codes, never a syscall on a truncated name', (t) => {
  const s = scratch(t);
  createFile(s, 'a');
  assert.throws(() => native.fstatat(s.dirfd, 'a\0b', 0), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => native.fstatat(s.dirfd, Buffer.from('a\0b'), 0), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => native.fstatat(s.dirfd, 42 as unknown as string, 0), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => native.fstat(-1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => native.fstat(1.5), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => native.futimens(s.dirfd, 1 as unknown as bigint, 1n), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => native.futimens(s.dirfd, 2n ** 64n, 1n), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => native.lseekData(s.dirfd, 2 ** 53), { code: 'ERR_OUT_OF_RANGE' });
});

test('openat/close: create, reopen, O_EXCL conflict; close of a bad fd is EBADF', (t) => {
  const s = scratch(t);
  const fd = native.openat(s.dirfd, 'f', C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_CLOEXEC, 0o600);
  assert.ok(Number.isInteger(fd) && fd > 2);
  native.close(fd);
  assertSysError(() => native.openat(s.dirfd, 'f', C.O_RDWR | C.O_CREAT | C.O_EXCL, 0o600), { code: 'EEXIST', syscall: 'openat', path: 'f' });
  assertSysError(() => native.openat(s.dirfd, 'nope', C.O_RDONLY, 0), { code: 'ENOENT', syscall: 'openat', path: 'nope' });
  assertSysError(() => native.close(BAD_FD), { code: 'EBADF', syscall: 'close' });
});

test('openat2: RESOLVE_BENEATH refuses ../x and absolute paths, RESOLVE_NO_SYMLINKS a symlink component', (t) => {
  const s = scratch(t);
  native.mkdirat(s.dirfd, 'sub', 0o755);
  const sub = s.track(native.openat(s.dirfd, 'sub', DIR_FLAGS, 0));
  createFile(s, 'x', 'outside');
  native.mkdirat(sub, 'd', 0o755);
  native.symlinkat('d', sub, 'link');
  const resolve = C.RESOLVE_BENEATH | C.RESOLVE_NO_SYMLINKS | C.RESOLVE_NO_MAGICLINKS;

  const fd = s.track(native.openat2(sub, 'd/new', C.O_RDWR | C.O_CREAT | C.O_CLOEXEC, 0o640, resolve));
  assert.equal(typeOf(native.fstat(fd)), C.S_IFREG);
  assertSysError(() => native.openat2(sub, '../x', C.O_RDONLY, 0, resolve), { code: 'EXDEV', syscall: 'openat2', path: '../x' });
  assertSysError(() => native.openat2(sub, s.dir + '/x', C.O_RDONLY, 0, C.RESOLVE_BENEATH), {
    code: 'EXDEV', syscall: 'openat2', path: s.dir + '/x',
  });
  assertSysError(() => native.openat2(sub, 'link/new', C.O_RDONLY, 0, resolve), { code: 'ELOOP', syscall: 'openat2', path: 'link/new' });
  // The kernel rejects a mode without O_CREAT: the wrapper drops it, the raw call must not hide it.
  assertSysError(() => native.openat2(sub, 'd/new', C.O_RDONLY, 0o644, resolve), { code: 'EINVAL', syscall: 'openat2', path: 'd/new' });
});

test('mkdirat/unlinkat: create and remove; EEXIST, ENOTEMPTY, ENOENT', (t) => {
  const s = scratch(t);
  native.mkdirat(s.dirfd, 'd', 0o750);
  assert.equal(typeOf(native.fstatat(s.dirfd, 'd', 0)), C.S_IFDIR);
  assertSysError(() => native.mkdirat(s.dirfd, 'd', 0o750), { code: 'EEXIST', syscall: 'mkdirat', path: 'd' });
  const d = s.track(native.openat(s.dirfd, 'd', DIR_FLAGS, 0));
  createFile({ ...s, dirfd: d }, 'f');
  assertSysError(() => native.unlinkat(s.dirfd, 'd', C.AT_REMOVEDIR), { code: 'ENOTEMPTY', syscall: 'unlinkat', path: 'd' });
  native.unlinkat(d, 'f', 0);
  native.unlinkat(s.dirfd, 'd', C.AT_REMOVEDIR);
  assertSysError(() => native.unlinkat(s.dirfd, 'd', C.AT_REMOVEDIR), { code: 'ENOENT', syscall: 'unlinkat', path: 'd' });
});

test('symlinkat/readlinkat: target bytes round-trip exactly (invalid UTF-8 too); EEXIST and EINVAL', (t) => {
  const s = scratch(t);
  const target = Buffer.from([0x2e, 0x2e, 0x2f, 0xff, 0xfe, 0x41]); // "../\xff\xfeA"
  native.symlinkat(target, s.dirfd, 'l');
  assert.deepEqual(native.readlinkat(s.dirfd, 'l'), target);
  const long = Buffer.alloc(4095, 0x61); // the longest target Linux stores
  native.symlinkat(long, s.dirfd, 'long');
  assert.deepEqual(native.readlinkat(s.dirfd, 'long'), long);
  assertSysError(() => native.symlinkat('x', s.dirfd, 'l'), { code: 'EEXIST', syscall: 'symlinkat', path: 'x', dest: 'l' });
  createFile(s, 'f');
  assertSysError(() => native.readlinkat(s.dirfd, 'f'), { code: 'EINVAL', syscall: 'readlinkat', path: 'f' });
});

test('linkat: a second name for the inode; ENOENT names both', (t) => {
  const s = scratch(t);
  createFile(s, 'a', 'x');
  native.linkat(s.dirfd, 'a', s.dirfd, 'b', 0);
  const a = native.fstatat(s.dirfd, 'a', 0);
  assert.equal(a.nlink, 2n);
  assert.equal(native.fstatat(s.dirfd, 'b', 0).ino, a.ino);
  assertSysError(() => native.linkat(s.dirfd, 'gone', s.dirfd, 'c', 0), { code: 'ENOENT', syscall: 'linkat', path: 'gone', dest: 'c' });
});

test('fchownat/fchmodat/fchmod/fchown: owner and mode change, symlink itself with AT_SYMLINK_NOFOLLOW', (t) => {
  const s = scratch(t);
  const fd = createFile(s, 'f');
  native.symlinkat('f', s.dirfd, 'l');
  native.fchownat(s.dirfd, 'l', 1234, 5678, C.AT_SYMLINK_NOFOLLOW);
  const link = native.fstatat(s.dirfd, 'l', C.AT_SYMLINK_NOFOLLOW);
  assert.deepEqual([link.uid, link.gid], [1234n, 5678n]);
  assert.deepEqual([native.fstat(fd).uid, native.fstat(fd).gid], [0n, 0n], 'the target must be untouched');
  native.fchownat(s.dirfd, 'f', 42, -1, 0);
  assert.deepEqual([native.fstat(fd).uid, native.fstat(fd).gid], [42n, 0n], '-1 keeps the gid');
  native.fchown(fd, 7, 8);
  assert.deepEqual([native.fstat(fd).uid, native.fstat(fd).gid], [7n, 8n]);
  native.fchmodat(s.dirfd, 'f', 0o4751);
  assert.equal(Number(native.fstat(fd).mode) & 0o7777, 0o4751);
  native.fchmod(fd, 0o600);
  assert.equal(Number(native.fstat(fd).mode) & 0o7777, 0o600);

  assertSysError(() => native.fchownat(s.dirfd, 'gone', 1, 1, 0), { code: 'ENOENT', syscall: 'fchownat', path: 'gone' });
  assertSysError(() => native.fchmodat(s.dirfd, 'gone', 0o644), { code: 'ENOENT', syscall: 'fchmodat', path: 'gone' });
  assertSysError(() => native.fchmod(BAD_FD, 0o644), { code: 'EBADF', syscall: 'fchmod' });
  assertSysError(() => native.fchown(BAD_FD, 1, 1), { code: 'EBADF', syscall: 'fchown' });
});

test('fstatat/fstat: bigint fields agree with fs.statSync; ENOENT and EBADF', (t) => {
  const s = scratch(t);
  const fd = createFile(s, 'f', 'hello');
  const st = native.fstatat(s.dirfd, 'f', C.AT_SYMLINK_NOFOLLOW);
  const ref = fs.statSync(path.join(s.dir, 'f'), { bigint: true });
  assert.equal(st.ino, ref.ino);
  assert.equal(st.dev, ref.dev);
  assert.equal(st.mode, ref.mode);
  assert.equal(st.size, 5n);
  assert.equal(st.nlink, 1n);
  assert.equal(st.mtimeNs, ref.mtimeNs);
  assert.equal(st.ctimeNs, ref.ctimeNs);
  assert.equal(st.atimeNs, ref.atimeNs);
  assert.equal(st.blksize, ref.blksize);
  assert.equal(st.blocks, ref.blocks);
  assert.equal(st.dev, makedev(st.devMajor, st.devMinor));
  assert.deepEqual(native.fstat(fd), st);
  const self = native.fstatat(fd, '', C.AT_EMPTY_PATH);
  assert.equal(self.ino, st.ino);
  assertSysError(() => native.fstatat(s.dirfd, 'gone', 0), { code: 'ENOENT', syscall: 'fstatat', path: 'gone' });
  assertSysError(() => native.fstat(BAD_FD), { code: 'EBADF', syscall: 'fstat' });
});

test('readdirAt: names and d_types, caller fd stays open and can be listed again; ENOTDIR', (t) => {
  const s = scratch(t);
  createFile(s, 'file');
  native.mkdirat(s.dirfd, 'dir', 0o755);
  native.symlinkat('file', s.dirfd, 'link');
  native.mknodat(s.dirfd, 'fifo', C.S_IFIFO | 0o644, 0, 0);
  const first = native.readdirAt(s.dirfd);
  const byName = new Map(first.map((e) => [e.name.toString(), e.type]));
  assert.deepEqual(
    [...byName.entries()].sort(),
    [['dir', C.DT_DIR], ['fifo', C.DT_FIFO], ['file', C.DT_REG], ['link', C.DT_LNK]],
  );
  assert.ok(first.every((e) => Buffer.isBuffer(e.name)));
  assert.equal(native.readdirAt(s.dirfd).length, 4, 'a second listing sees everything again');
  native.fstat(s.dirfd); // still open
  const fileFd = s.track(native.openat(s.dirfd, 'file', C.O_RDONLY, 0));
  assertSysError(() => native.readdirAt(fileFd), { code: 'ENOTDIR', syscall: 'fdopendir' });
  assertSysError(() => native.readdirAt(BAD_FD), { code: 'EBADF', syscall: 'fcntl' });
});

test('names: invalid UTF-8 name created by openat reads back byte-exact from readdirAt', (t) => {
  const s = scratch(t);
  const name = Buffer.from([0x66, 0xff, 0xfe]);
  createFile(s, name, 'data');
  const entries = native.readdirAt(s.dirfd);
  assert.equal(entries.length, 1);
  assert.deepEqual(entries[0]!.name, name);
  assert.equal(native.fstatat(s.dirfd, entries[0]!.name, 0).size, 4n);
  // The UTF-8 string form of these bytes is a different name (U+FFFD), which must not exist.
  assertSysError(() => native.fstatat(s.dirfd, name.toString('utf8'), 0), {
    code: 'ENOENT', syscall: 'fstatat', path: name.toString('utf8'),
  });
});

test('names: 255 bytes is the limit, 256 is ENAMETOOLONG', (t) => {
  const s = scratch(t);
  const max = Buffer.alloc(255, 0x6e);
  createFile(s, max);
  assert.deepEqual(native.readdirAt(s.dirfd)[0]!.name, max);
  const tooLong = 'n'.repeat(256);
  assertSysError(() => native.openat(s.dirfd, tooLong, C.O_RDWR | C.O_CREAT, 0o644), {
    code: 'ENAMETOOLONG', syscall: 'openat', path: tooLong,
  });
});

test('names: a path longer than PATH_MAX is built and used relative to dir fds', (t) => {
  const s = scratch(t);
  const component = 'd'.repeat(200);
  const depth = 25; // 25 * 201 bytes > 4096
  let fd = s.dirfd;
  for (let i = 0; i < depth; i++) {
    native.mkdirat(fd, component, 0o755);
    fd = s.track(native.openat(fd, component, DIR_FLAGS, 0));
  }
  const leaf = createFile({ ...s, dirfd: fd }, 'leaf', 'deep');
  native.fsetxattr(leaf, 'user.deep', Buffer.from('v'), 0);
  const fullPath = path.join(s.dir, ...Array<string>(depth).fill(component), 'leaf');
  assert.ok(fullPath.length > 4096);
  assertSysError(() => native.fstatat(C.AT_FDCWD, fullPath, 0), { code: 'ENAMETOOLONG', syscall: 'fstatat', path: fullPath });
  assert.equal(native.fstatat(fd, 'leaf', 0).size, 4n);
  assert.deepEqual(native.readdirAt(fd).map((e) => e.name.toString()), ['leaf']);
  // Path-only calls reach the entry through the dir fd's /proc magic link.
  assert.deepEqual(native.lgetxattr(`/proc/self/fd/${fd}/leaf`, 'user.deep'), Buffer.from('v'));
});

test('renameat2: plain rename, RENAME_NOREPLACE refuses with EEXIST, RENAME_EXCHANGE swaps', (t) => {
  const s = scratch(t);
  createFile(s, 'a', 'A');
  createFile(s, 'b', 'B');
  const inoA = native.fstatat(s.dirfd, 'a', 0).ino;
  const inoB = native.fstatat(s.dirfd, 'b', 0).ino;
  assertSysError(() => native.renameat2(s.dirfd, 'a', s.dirfd, 'b', C.RENAME_NOREPLACE), {
    code: 'EEXIST', syscall: 'renameat2', path: 'a', dest: 'b',
  });
  native.renameat2(s.dirfd, 'a', s.dirfd, 'b', C.RENAME_EXCHANGE);
  assert.equal(native.fstatat(s.dirfd, 'a', 0).ino, inoB);
  assert.equal(native.fstatat(s.dirfd, 'b', 0).ino, inoA);
  assert.equal(fs.readFileSync(path.join(s.dir, 'a'), 'utf8'), 'B');
  native.renameat2(s.dirfd, 'a', s.dirfd, 'c', 0);
  assert.equal(native.fstatat(s.dirfd, 'c', 0).ino, inoB);
  assertSysError(() => native.renameat2(s.dirfd, 'a', s.dirfd, 'd', C.RENAME_EXCHANGE), {
    code: 'ENOENT', syscall: 'renameat2', path: 'a', dest: 'd',
  });
});

test('mknodat: char and block devices keep major/minor (incl. 12/20-bit extremes), FIFO; EEXIST', (t) => {
  const s = scratch(t);
  const nodes: Array<[string, number, number, number]> = [
    ['chr', C.S_IFCHR | 0o600, 240, 7],
    ['blk', C.S_IFBLK | 0o660, 7, 200],
    ['wide', C.S_IFCHR | 0o600, 4095, 1048575],
  ];
  for (const [name, mode, major, minor] of nodes) {
    native.mknodat(s.dirfd, name, mode, major, minor);
    const st = native.fstatat(s.dirfd, name, C.AT_SYMLINK_NOFOLLOW);
    assert.equal(typeOf(st), mode & C.S_IFMT, name);
    assert.equal(Number(st.mode) & 0o777 & ~mode, 0, `${name}: no permission beyond the requested (umask applies)`);
    assert.deepEqual([st.rdevMajor, st.rdevMinor], [major, minor], name);
    assert.equal(st.rdev, makedev(major, minor), name);
  }
  native.mknodat(s.dirfd, 'fifo', C.S_IFIFO | 0o640, 0, 0);
  const fifo = native.fstatat(s.dirfd, 'fifo', 0);
  assert.equal(typeOf(fifo), C.S_IFIFO);
  assert.equal(fifo.rdev, 0n);
  assertSysError(() => native.mknodat(s.dirfd, 'chr', C.S_IFCHR | 0o600, 1, 3), { code: 'EEXIST', syscall: 'mknodat', path: 'chr' });
});

test('utimensat/futimens: ns precision on a file and on a symlink itself, pre-1970, UTIME_OMIT', (t) => {
  const s = scratch(t);
  const fd = createFile(s, 'f');
  native.symlinkat('f', s.dirfd, 'l');
  const atime = 1_700_000_000_123_456_789n;
  const mtime = 1_600_000_000_987_654_321n;
  native.utimensat(s.dirfd, 'f', atime, mtime, 0);
  let st = native.fstat(fd);
  assert.deepEqual([st.atimeNs, st.mtimeNs], [atime, mtime]);

  const linkTime = 1_500_000_000_000_000_001n;
  native.utimensat(s.dirfd, 'l', linkTime, linkTime, C.AT_SYMLINK_NOFOLLOW);
  const link = native.fstatat(s.dirfd, 'l', C.AT_SYMLINK_NOFOLLOW);
  assert.deepEqual([link.atimeNs, link.mtimeNs], [linkTime, linkTime]);
  assert.equal(native.fstat(fd).mtimeNs, mtime, 'the target keeps its own times');

  // 1969-12-31T23:59:59.999999999Z and 1930: tv_nsec must stay in 0..999999999 (floor division).
  for (const before1970 of [-1n, -1_262_304_000_000_000_001n]) {
    native.utimensat(s.dirfd, 'f', before1970, before1970, 0);
    st = native.fstat(fd);
    assert.deepEqual([st.atimeNs, st.mtimeNs], [before1970, before1970]);
  }
  native.futimens(fd, atime, null);
  st = native.fstat(fd);
  assert.deepEqual([st.atimeNs, st.mtimeNs], [atime, -1_262_304_000_000_000_001n], 'null leaves mtime alone');
  native.futimens(fd, atime, mtime);
  assert.equal(native.fstat(fd).mtimeNs, mtime);

  assertSysError(() => native.utimensat(s.dirfd, 'gone', 0n, 0n, 0), { code: 'ENOENT', syscall: 'utimensat', path: 'gone' });
  assertSysError(() => native.futimens(BAD_FD, 0n, 0n), { code: 'EBADF', syscall: 'futimens' });
});
