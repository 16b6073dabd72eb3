// Allocation-free scan calls: readdirPacked (one Buffer of NUL-terminated names + one Uint8Array of
// d_types) against readdirAt, fstatatInto/fstatInto (a caller-owned BigInt64Array, STAT_FIELDS
// layout) against fstatat/fstat field by field, their Node-style errors and argument checks, and
// the src/sys wrappers (forEachPackedName views, cheap validation that still refuses bad names).
// Every test works in its own mkdtemp dir (kept with KEEP_TMP=1), always through dir fds.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';

import * as sys from '../src/sys/index.js';
import { assertSysError, BAD_FD, createFile, DIR_FLAGS, scratch } from './helpers/sys-scratch.js';
import { native, STAT_FIELD_COUNT, STAT_FIELDS, type NativeStat, type PackedDir, type PathArg } from '../src/sys/native.js';

const C = native.constants;
const isRoot = process.getuid?.() === 0;


/** Decodes a packed listing by hand (independently of forEachPackedName). */
function unpack(packed: PackedDir): Array<{ name: Buffer; type: number }> {
  const out: Array<{ name: Buffer; type: number }> = [];
  let start = 0;
  for (let i = 0; i < packed.count; i++) {
    const end = packed.names.indexOf(0, start);
    assert.ok(end >= start, `entry ${i} is NUL-terminated`);
    out.push({ name: Buffer.from(packed.names.subarray(start, end)), type: packed.types[i]! });
    start = end + 1;
  }
  assert.equal(start, packed.names.length, 'no bytes after the last terminator');
  return out;
}

function byName(a: { name: Buffer }, b: { name: Buffer }): number {
  return Buffer.compare(a.name, b.name);
}

/** The BigInt64Array image fstatatInto must produce for a fstatat/fstat object. */
function expectedFields(st: NativeStat): bigint[] {
  const out = new Array<bigint>(STAT_FIELD_COUNT);
  out[STAT_FIELDS.dev] = st.dev;
  out[STAT_FIELDS.ino] = st.ino;
  out[STAT_FIELDS.mode] = st.mode;
  out[STAT_FIELDS.nlink] = st.nlink;
  out[STAT_FIELDS.uid] = st.uid;
  out[STAT_FIELDS.gid] = st.gid;
  out[STAT_FIELDS.rdev] = st.rdev;
  out[STAT_FIELDS.size] = st.size;
  out[STAT_FIELDS.blocks] = st.blocks;
  out[STAT_FIELDS.atimeNs] = st.atimeNs;
  out[STAT_FIELDS.mtimeNs] = st.mtimeNs;
  out[STAT_FIELDS.ctimeNs] = st.ctimeNs;
  out[STAT_FIELDS.blksize] = st.blksize;
  out[STAT_FIELDS.rdevMajor] = BigInt(st.rdevMajor);
  out[STAT_FIELDS.rdevMinor] = BigInt(st.rdevMinor);
  return out;
}

/** fstatatInto (raw and wrapped) agrees with fstatat for every field; returns the array. */
function checkAgainstFstatat(dirfd: number, name: PathArg, flags: number): BigInt64Array {
  const out = new BigInt64Array(STAT_FIELD_COUNT).fill(-7n);
  assert.equal(native.fstatatInto(dirfd, name, flags, out), undefined);
  // atime can only move forwards between the two calls (nothing here reads the files' data).
  const ref = native.fstatat(dirfd, name, flags);
  assert.deepEqual([...out], expectedFields(ref), `fstatatInto ${String(name)}`);
  const viaWrapper = new BigInt64Array(STAT_FIELD_COUNT + 3).fill(-7n);
  sys.fstatatInto(dirfd, name, flags, viaWrapper);
  assert.deepEqual([...viaWrapper.subarray(0, STAT_FIELD_COUNT)], expectedFields(ref), `sys.fstatatInto ${String(name)}`);
  assert.deepEqual([...viaWrapper.subarray(STAT_FIELD_COUNT)], [-7n, -7n, -7n], 'slots past 15 untouched');
  return out;
}

test('addon and src/sys export the scan calls and the STAT_FIELDS layout', () => {
  for (const name of ['readdirPacked', 'fstatatInto', 'fstatInto', 'fstatatMany'] as const) {
    assert.equal(typeof native[name], 'function', name);
    assert.equal(typeof sys[name], 'function', `sys.${name}`);
  }
  assert.equal(typeof sys.forEachPackedName, 'function');
  assert.deepEqual(sys.STAT_FIELDS, {
    dev: 0, ino: 1, mode: 2, nlink: 3, uid: 4, gid: 5, rdev: 6, size: 7, blocks: 8,
    atimeNs: 9, mtimeNs: 10, ctimeNs: 11, blksize: 12, rdevMajor: 13, rdevMinor: 14,
  });
  assert.ok(Object.isFrozen(sys.STAT_FIELDS));
  assert.equal(sys.STAT_FIELD_COUNT, 15);
});

test('readdirPacked: same listing as readdirAt for 300 entries (invalid UTF-8, 255 bytes, every type)', (t) => {
  const s = scratch(t, 'sys-native-fast-');
  const specials: Array<[Buffer, number]> = [
    [Buffer.from('file'), C.DT_REG],
    [Buffer.from('dir'), C.DT_DIR],
    [Buffer.from('link'), C.DT_LNK],
    [Buffer.from('fifo'), C.DT_FIFO],
    [Buffer.from([0x66, 0xff, 0xfe]), C.DT_REG],
    [Buffer.from([0xc3, 0x28, 0x80, 0x2e]), C.DT_DIR],
    [Buffer.alloc(255, 0x6e), C.DT_REG],
    [Buffer.from('.hidden'), C.DT_REG],
    [Buffer.from('..x'), C.DT_REG],
  ];
  createFile(s, 'file', 'data');
  native.mkdirat(s.dirfd, 'dir', 0o755);
  native.symlinkat('file', s.dirfd, 'link');
  native.mknodat(s.dirfd, 'fifo', C.S_IFIFO | 0o644, 0, 0);
  createFile(s, specials[4]![0]);
  native.mkdirat(s.dirfd, specials[5]![0], 0o755);
  createFile(s, specials[6]![0]);
  createFile(s, '.hidden');
  createFile(s, '..x');
  for (let i = specials.length; i < 300; i++) {
    native.close(native.openat(s.dirfd, `e${i}-${'x'.repeat(i % 40)}`, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_CLOEXEC, 0o644));
  }

  const packed = native.readdirPacked(s.dirfd);
  assert.equal(packed.count, 300);
  assert.ok(Buffer.isBuffer(packed.names));
  assert.ok(packed.types instanceof Uint8Array);
  assert.equal(packed.types.length, 300);
  const entries = unpack(packed);
  const reference = native.readdirAt(s.dirfd);
  assert.deepEqual(entries.slice().sort(byName), reference.slice().sort(byName));
  assert.equal(packed.names.length, reference.reduce((n, e) => n + e.name.length + 1, 0));
  const types = new Map(entries.map((e) => [e.name.toString('latin1'), e.type]));
  for (const [name, type] of specials) assert.equal(types.get(name.toString('latin1')), type, name.toString('latin1'));

  // The caller's fd stays open and a second listing (wrapper this time) sees everything again.
  native.fstat(s.dirfd);
  const again = sys.readdirPacked(s.dirfd);
  assert.deepEqual(unpack(again).sort(byName), entries.slice().sort(byName));
});

test('readdirPacked: empty directory; ENOTDIR and EBADF (named by the failing syscall); wrapper refuses bad fds', (t) => {
  const s = scratch(t, 'sys-native-fast-');
  native.mkdirat(s.dirfd, 'empty', 0o755);
  const emptyFd = s.track(native.openat(s.dirfd, 'empty', DIR_FLAGS, 0));
  const empty = native.readdirPacked(emptyFd);
  assert.equal(empty.count, 0);
  assert.equal(empty.names.length, 0);
  assert.equal(empty.types.length, 0);
  let calls = 0;
  sys.forEachPackedName(empty, () => calls++);
  assert.equal(calls, 0);

  createFile(s, 'file');
  const fileFd = s.track(native.openat(s.dirfd, 'file', C.O_RDONLY | C.O_CLOEXEC, 0));
  assertSysError(() => native.readdirPacked(fileFd), { code: 'ENOTDIR', syscall: 'getdents64' });
  assertSysError(() => native.readdirPacked(BAD_FD), { code: 'EBADF', syscall: 'lseek' });
  assertSysError(() => sys.readdirPacked(BAD_FD), { code: 'EBADF', syscall: 'lseek' });
  assert.throws(() => sys.readdirPacked(-1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => sys.readdirPacked(C.AT_FDCWD), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => sys.readdirPacked(1.5), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => sys.readdirPacked('3' as unknown as number), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => native.readdirPacked(-1), { code: 'ERR_OUT_OF_RANGE' });
});

test('forEachPackedName: in order, subarray views of names, usable as fstatatInto names', (t) => {
  const s = scratch(t, 'sys-native-fast-');
  createFile(s, 'a', '1');
  createFile(s, Buffer.from([0x62, 0xff]), '22');
  native.mkdirat(s.dirfd, 'c', 0o755);
  const packed = sys.readdirPacked(s.dirfd);
  const seen: Array<{ name: Buffer; type: number }> = [];
  const out = new BigInt64Array(STAT_FIELD_COUNT);
  sys.forEachPackedName(packed, (name, type, index) => {
    assert.equal(index, seen.length);
    assert.equal(name.buffer, packed.names.buffer, 'a view, not a copy');
    sys.fstatatInto(s.dirfd, name, C.AT_SYMLINK_NOFOLLOW, out);
    assert.equal(Number(out[STAT_FIELDS.mode]) & C.S_IFMT, type === C.DT_DIR ? C.S_IFDIR : C.S_IFREG);
    seen.push({ name: Buffer.from(name), type });
  });
  assert.deepEqual(seen, unpack(packed));
  assert.throws(
    () => sys.forEachPackedName({ names: Buffer.from('abc'), types: new Uint8Array(1), count: 1 }, () => {}),
    RangeError,
    'an unterminated name is refused, not read past the end',
  );
});

test('fstatatInto/fstatInto: field by field equal to fstatat/fstat (file, dir, symlink, fd)', (t) => {
  const s = scratch(t, 'sys-native-fast-');
  const fd = createFile(s, 'file', 'hello world');
  native.mkdirat(s.dirfd, 'dir', 0o750);
  native.symlinkat('file', s.dirfd, 'link');

  const file = checkAgainstFstatat(s.dirfd, 'file', C.AT_SYMLINK_NOFOLLOW);
  assert.equal(file[STAT_FIELDS.size], 11n);
  assert.equal(Number(file[STAT_FIELDS.mode]) & C.S_IFMT, C.S_IFREG);
  const ref = fs.lstatSync(`${s.dir}/file`, { bigint: true });
  assert.equal(file[STAT_FIELDS.ino], ref.ino);
  assert.equal(file[STAT_FIELDS.dev], ref.dev);
  assert.equal(file[STAT_FIELDS.mtimeNs], ref.mtimeNs);

  const dir = checkAgainstFstatat(s.dirfd, Buffer.from('dir'), C.AT_SYMLINK_NOFOLLOW);
  assert.equal(Number(dir[STAT_FIELDS.mode]) & C.S_IFMT, C.S_IFDIR);

  const link = checkAgainstFstatat(s.dirfd, 'link', C.AT_SYMLINK_NOFOLLOW);
  assert.equal(Number(link[STAT_FIELDS.mode]) & C.S_IFMT, C.S_IFLNK);
  assert.equal(link[STAT_FIELDS.size], 4n, 'the link itself: its target is 4 bytes');
  const followed = checkAgainstFstatat(s.dirfd, 'link', 0);
  assert.equal(followed[STAT_FIELDS.ino], file[STAT_FIELDS.ino], 'flags 0 follows the link');

  const viaFd = new BigInt64Array(STAT_FIELD_COUNT);
  assert.equal(native.fstatInto(fd, viaFd), undefined);
  assert.deepEqual([...viaFd], expectedFields(native.fstat(fd)));
  const wrapped = new BigInt64Array(STAT_FIELD_COUNT);
  sys.fstatInto(fd, wrapped);
  assert.deepEqual([...wrapped], [...viaFd]);
  assert.equal(viaFd[STAT_FIELDS.ino], file[STAT_FIELDS.ino]);

  // A Buffer view is read for its own length only, not up to the next NUL of its backing memory.
  const longer = Buffer.from('fileXYZ');
  const view = longer.subarray(0, 4);
  const out = new BigInt64Array(STAT_FIELD_COUNT);
  sys.fstatatInto(s.dirfd, view, C.AT_SYMLINK_NOFOLLOW, out);
  assert.equal(out[STAT_FIELDS.ino], file[STAT_FIELDS.ino]);
});

test('fstatatInto: char device keeps major/minor (incl. 12/20-bit extremes)', { skip: !isRoot && 'mknod needs root' }, (t) => {
  const s = scratch(t, 'sys-native-fast-');
  const nodes: Array<[string, number, number, number]> = [
    ['chr', C.S_IFCHR | 0o600, 240, 7],
    ['wide', C.S_IFCHR | 0o600, 4095, 1048575],
    ['blk', C.S_IFBLK | 0o600, 7, 200],
  ];
  for (const [name, mode, major, minor] of nodes) {
    native.mknodat(s.dirfd, name, mode, major, minor);
    const out = checkAgainstFstatat(s.dirfd, name, C.AT_SYMLINK_NOFOLLOW);
    assert.equal(Number(out[STAT_FIELDS.mode]) & C.S_IFMT, mode & C.S_IFMT, name);
    assert.deepEqual([out[STAT_FIELDS.rdevMajor], out[STAT_FIELDS.rdevMinor]], [BigInt(major), BigInt(minor)], name);
    assert.equal(out[STAT_FIELDS.rdev], native.fstatat(s.dirfd, name, C.AT_SYMLINK_NOFOLLOW).rdev);
  }
});

test('fstatatInto: ns times from utimensat, including before 1970 (negative)', (t) => {
  const s = scratch(t, 'sys-native-fast-');
  const fd = createFile(s, 'f');
  const atime = 1_700_000_000_123_456_789n;
  const cases = [1_600_000_000_987_654_321n, -1n, -1_262_304_000_000_000_001n, -999_999_999n];
  for (const mtime of cases) {
    native.utimensat(s.dirfd, 'f', atime, mtime, 0);
    const out = checkAgainstFstatat(s.dirfd, 'f', C.AT_SYMLINK_NOFOLLOW);
    assert.equal(out[STAT_FIELDS.mtimeNs], mtime);
    assert.equal(out[STAT_FIELDS.atimeNs], atime);
    const viaFd = new BigInt64Array(STAT_FIELD_COUNT);
    native.fstatInto(fd, viaFd);
    assert.equal(viaFd[STAT_FIELDS.mtimeNs], mtime);
  }
});

test('fstatatInto/fstatInto: Node-style errors (ENOENT with path, EBADF), long and non-ASCII names', (t) => {
  const s = scratch(t, 'sys-native-fast-');
  const out = new BigInt64Array(STAT_FIELD_COUNT).fill(-7n);
  assertSysError(() => native.fstatatInto(s.dirfd, 'gone', 0, out), { code: 'ENOENT', syscall: 'fstatat', path: 'gone' });
  assertSysError(() => sys.fstatatInto(s.dirfd, 'gone', 0, out), { code: 'ENOENT', syscall: 'fstatat', path: 'gone' });
  assertSysError(() => sys.fstatatInto(s.dirfd, Buffer.from('gone'), 0, out), { code: 'ENOENT', syscall: 'fstatat', path: 'gone' });
  assert.deepEqual([...out], new Array(STAT_FIELD_COUNT).fill(-7n), 'out untouched on failure');
  assertSysError(() => native.fstatatInto(BAD_FD, 'x', 0, out), { code: 'EBADF', syscall: 'fstatat', path: 'x' });
  assertSysError(() => native.fstatInto(BAD_FD, out), { code: 'EBADF', syscall: 'fstat' });
  assertSysError(() => sys.fstatInto(BAD_FD, out), { code: 'EBADF', syscall: 'fstat' });

  // Names longer than the addon's stack buffer (string and Buffer) take the heap path intact.
  const long = 'L'.repeat(3000);
  assertSysError(() => native.fstatatInto(s.dirfd, long, 0, out), { code: 'ENAMETOOLONG', syscall: 'fstatat', path: long });
  assertSysError(() => native.fstatatInto(s.dirfd, Buffer.from(long), 0, out), { code: 'ENAMETOOLONG', syscall: 'fstatat', path: long });
  const edge = 'é'.repeat(510) + 'z'; // 1021 UTF-8 bytes: right at the stack buffer's edge
  assertSysError(() => native.fstatatInto(s.dirfd, edge, 0, out), { code: 'ENAMETOOLONG', syscall: 'fstatat', path: edge });
  const cut = 'é'.repeat(600); // 1200 bytes: the first encoding attempt stops mid-way
  assertSysError(() => native.fstatatInto(s.dirfd, cut, 0, out), { code: 'ENAMETOOLONG', syscall: 'fstatat', path: cut });
  const accented = 'ünïcødé-名前';
  createFile(s, accented, 'abc');
  const viaString = checkAgainstFstatat(s.dirfd, accented, C.AT_SYMLINK_NOFOLLOW);
  assert.equal(viaString[STAT_FIELDS.size], 3n);
  const viaBuffer = new BigInt64Array(STAT_FIELD_COUNT);
  native.fstatatInto(s.dirfd, Buffer.from(accented), C.AT_SYMLINK_NOFOLLOW, viaBuffer);
  assert.equal(viaBuffer[STAT_FIELDS.ino], viaString[STAT_FIELDS.ino]);
});

test('fstatatInto/fstatInto: a too-short or wrongly typed array is a TypeError before any syscall', (t) => {
  const s = scratch(t, 'sys-native-fast-');
  createFile(s, 'f');
  const fd = s.track(native.openat(s.dirfd, 'f', C.O_RDONLY | C.O_CLOEXEC, 0));
  const short = new BigInt64Array(STAT_FIELD_COUNT - 1);
  for (const call of [
    () => native.fstatatInto(s.dirfd, 'f', 0, short),
    () => sys.fstatatInto(s.dirfd, 'f', 0, short),
    () => native.fstatInto(fd, short),
    () => sys.fstatInto(fd, short),
    () => native.fstatatInto(s.dirfd, 'f', 0, new BigInt64Array(new ArrayBuffer(8 * 20), 8 * 6)),
  ]) {
    assert.throws(call, { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
  }
  // The length is checked before the syscall: even a missing file reports the array first.
  assert.throws(() => native.fstatatInto(s.dirfd, 'gone', 0, short), { name: 'TypeError' });
  for (const bad of [new Float64Array(15), new BigUint64Array(15), new Uint8Array(120), [0n, 0n], null, undefined]) {
    assert.throws(() => native.fstatatInto(s.dirfd, 'f', 0, bad as unknown as BigInt64Array), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => sys.fstatatInto(s.dirfd, 'f', 0, bad as unknown as BigInt64Array), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => native.fstatInto(fd, bad as unknown as BigInt64Array), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => sys.fstatInto(fd, bad as unknown as BigInt64Array), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  }
  // An array at a non-zero offset into its buffer is filled at that offset.
  const backing = new BigInt64Array(STAT_FIELD_COUNT + 2).fill(-7n);
  native.fstatatInto(s.dirfd, 'f', 0, backing.subarray(1, 1 + STAT_FIELD_COUNT));
  assert.equal(backing[0], -7n);
  assert.equal(backing[STAT_FIELD_COUNT + 1], -7n);
  assert.equal(backing[1 + STAT_FIELDS.ino], native.fstatat(s.dirfd, 'f', 0).ino);
});

test('fstatatInto wrapper: cheap checks refuse what assertName/assertFd/assertBits refuse', (t) => {
  const s = scratch(t, 'sys-native-fast-');
  createFile(s, 'f');
  const out = new BigInt64Array(STAT_FIELD_COUNT);
  const badNames: Array<[unknown, string]> = [
    ['a/b', 'ERR_INVALID_ARG_VALUE'],
    [Buffer.from('a/b'), 'ERR_INVALID_ARG_VALUE'],
    ['', 'ERR_INVALID_ARG_VALUE'],
    [Buffer.alloc(0), 'ERR_INVALID_ARG_VALUE'],
    ['.', 'ERR_INVALID_ARG_VALUE'],
    ['..', 'ERR_INVALID_ARG_VALUE'],
    [Buffer.from('.'), 'ERR_INVALID_ARG_VALUE'],
    [Buffer.from('..'), 'ERR_INVALID_ARG_VALUE'],
    ['a\0b', 'ERR_INVALID_ARG_VALUE'],
    [Buffer.from('a\0b'), 'ERR_INVALID_ARG_VALUE'],
    [42, 'ERR_INVALID_ARG_TYPE'],
    [new Uint8Array([0x66]), 'ERR_INVALID_ARG_TYPE'],
  ];
  for (const [name, code] of badNames) {
    assert.throws(() => sys.fstatatInto(s.dirfd, name as PathArg, 0, out), { code }, String(name));
  }
  assert.throws(() => native.fstatatInto(s.dirfd, 'a\0b', 0, out), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => native.fstatatInto(s.dirfd, Buffer.from('a\0b'), 0, out), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => native.fstatatInto(s.dirfd, 42 as unknown as string, 0, out), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  for (const dirfd of [-1, C.AT_FDCWD, 1.5, 2 ** 31, NaN]) {
    assert.throws(() => sys.fstatatInto(dirfd, 'f', 0, out), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }, String(dirfd));
  }
  assert.throws(() => sys.fstatatInto('3' as unknown as number, 'f', 0, out), { code: 'ERR_INVALID_ARG_TYPE' });
  for (const flags of [-1, 0.5, 2 ** 32]) {
    assert.throws(() => sys.fstatatInto(s.dirfd, 'f', flags, out), { code: 'ERR_OUT_OF_RANGE' }, String(flags));
  }
  assert.throws(() => sys.fstatatInto(s.dirfd, 'f', '0' as unknown as number, out), { code: 'ERR_INVALID_ARG_TYPE' });
  for (const fd of [-1, 1.5, C.AT_FDCWD]) assert.throws(() => sys.fstatInto(fd, out), { code: 'ERR_OUT_OF_RANGE' });
  // Names that only look suspicious are fine.
  for (const name of ['.f', '..f', 'f.', Buffer.from('...')]) {
    assertSysError(() => sys.fstatatInto(s.dirfd, name, 0, out), { code: 'ENOENT', syscall: 'fstatat', path: name.toString() });
  }
});

test('fstatatMany: each entry of a listing as fstatatInto gives it, from any start, with per-entry errnos', (t) => {
  const s = scratch(t, 'sys-native-fast-');
  createFile(s, 'file', 'hello world');
  createFile(s, Buffer.from([0x62, 0xff]), '22');
  native.mkdirat(s.dirfd, 'dir', 0o750);
  native.symlinkat('file', s.dirfd, 'link');
  createFile(s, 'doomed', 'x');
  const listing = sys.readdirPacked(s.dirfd);
  const entries = unpack(listing);
  assert.equal(entries.length, 5);
  const F = STAT_FIELD_COUNT;
  const out = new BigInt64Array(F * 6).fill(-7n);
  const errnos = new Int32Array(6).fill(-1);
  sys.fstatatMany(s.dirfd, listing, 0, 5, C.AT_SYMLINK_NOFOLLOW, out, errnos);
  entries.forEach((e, i) => {
    assert.equal(errnos[i], 0, e.name.toString('latin1'));
    assert.deepEqual([...out.subarray(i * F, (i + 1) * F)], expectedFields(native.fstatat(s.dirfd, e.name, C.AT_SYMLINK_NOFOLLOW)), e.name.toString('latin1'));
  });
  assert.deepEqual([...out.subarray(5 * F)], Array(F).fill(-7n), 'slots past count untouched');
  assert.equal(errnos[5], -1);

  // From the third entry on, after one of them is gone: its errno, the others filled.
  const start = entries[0]!.name.length + 1 + entries[1]!.name.length + 1;
  native.unlinkat(s.dirfd, 'doomed', 0);
  const gone = entries.findIndex((e) => e.name.toString() === 'doomed');
  out.fill(-7n);
  errnos.fill(-1);
  sys.fstatatMany(s.dirfd, listing, start, 3, C.AT_SYMLINK_NOFOLLOW, out, errnos);
  for (let k = 0; k < 3; k++) {
    const e = entries[2 + k]!;
    if (2 + k === gone) {
      assert.equal(errnos[k], 2, 'ENOENT');
      assert.deepEqual([...out.subarray(k * F, (k + 1) * F)], Array(F).fill(-7n), 'a failed entry leaves its slots');
      continue;
    }
    assert.equal(errnos[k], 0);
    assert.equal(out[k * F + STAT_FIELDS.ino], native.fstatat(s.dirfd, e.name, C.AT_SYMLINK_NOFOLLOW).ino, e.name.toString('latin1'));
  }
  // flags 0 follows the link.
  const linkAt = entries.findIndex((e) => e.name.toString() === 'link');
  const fileAt = entries.findIndex((e) => e.name.toString() === 'file');
  sys.fstatatMany(s.dirfd, listing, 0, 5, 0, out, errnos);
  assert.equal(out[linkAt * F + STAT_FIELDS.ino], out[fileAt * F + STAT_FIELDS.ino]);
  sys.fstatatMany(s.dirfd, listing, 0, 0, 0, out, errnos); // nothing to do is fine
});

test('fstatatMany: refuses names that are not one component, short arrays and bad arguments', (t) => {
  const s = scratch(t, 'sys-native-fast-');
  createFile(s, 'a', '1');
  const F = STAT_FIELD_COUNT;
  const out = new BigInt64Array(F * 2);
  const errnos = new Int32Array(2);
  const listing = (names: string, count: number): PackedDir => ({ names: Buffer.from(names, 'latin1'), types: new Uint8Array(count), count });
  for (const names of ['../a\0', 'x/a\0', '.\0', '..\0', '\0', 'a']) {
    assert.throws(() => sys.fstatatMany(s.dirfd, listing(names, 1), 0, 1, 0, out, errnos), { code: 'ERR_INVALID_ARG_VALUE' }, JSON.stringify(names));
  }
  assert.throws(() => sys.fstatatMany(s.dirfd, listing('a\0a\0a\0', 3), 0, 3, 0, out, errnos), { code: 'ERR_INVALID_ARG_VALUE' }, 'out holds two');
  assert.throws(() => sys.fstatatMany(s.dirfd, listing('a\0', 1), 3, 1, 0, out, errnos), { code: 'ERR_OUT_OF_RANGE' }, 'start past the names');
  assert.throws(() => sys.fstatatMany(s.dirfd, listing('a\0', 1), 2, 1, 0, out, errnos), { code: 'ERR_INVALID_ARG_VALUE' }, 'no name left at the end');
  assert.throws(() => sys.fstatatMany(s.dirfd, listing('a\0', 1), 0, -1, 0, out, errnos), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => sys.fstatatMany(s.dirfd, listing('a\0', 1), 0, 1, 0, new BigUint64Array(F) as unknown as BigInt64Array, errnos), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => sys.fstatatMany(s.dirfd, listing('a\0', 1), 0, 1, 0, out, new Uint32Array(1) as unknown as Int32Array), { code: 'ERR_INVALID_ARG_TYPE' });
  sys.fstatatMany(BAD_FD, listing('a\0', 1), 0, 1, 0, out, errnos);
  assert.equal(errnos[0], 9, 'EBADF is an entry\'s errno too');
  sys.fstatatMany(s.dirfd, listing('a\0', 1), 0, 1, 0, out, errnos);
  assert.equal(errnos[0], 0);
});

test('statFromSlots: the object fstat gives, from slot 0 or an fstatatMany entry; dev/ino/rdev unsigned', (t) => {
  const s = scratch(t, 'sys-native-fast-');
  const fd = createFile(s, 'file', 'hello world');
  native.mkdirat(s.dirfd, 'dir', 0o750);
  const { devMajor: _dM, devMinor: _dm, ...expected } = native.fstat(fd);
  const slots = new BigInt64Array(STAT_FIELD_COUNT);
  sys.fstatInto(fd, slots);
  assert.deepEqual(sys.statFromSlots(slots), expected);

  const listing = sys.readdirPacked(s.dirfd);
  const F = STAT_FIELD_COUNT;
  const many = new BigInt64Array(F * 2);
  sys.fstatatMany(s.dirfd, listing, 0, 2, C.AT_SYMLINK_NOFOLLOW, many, new Int32Array(2));
  unpack(listing).forEach((e, i) => {
    const { devMajor: _a, devMinor: _b, ...want } = native.fstatat(s.dirfd, e.name, C.AT_SYMLINK_NOFOLLOW);
    assert.deepEqual(sys.statFromSlots(many, i * F), want, e.name.toString('latin1'));
  });

  // The kernel's unsigned 64-bit fields come back unsigned even with the top bit set.
  slots[STAT_FIELDS.ino] = -2n;
  slots[STAT_FIELDS.dev] = -1n;
  slots[STAT_FIELDS.rdev] = -3n;
  const big = sys.statFromSlots(slots);
  assert.equal(big.ino, 2n ** 64n - 2n);
  assert.equal(big.dev, 2n ** 64n - 1n);
  assert.equal(big.rdev, 2n ** 64n - 3n);
  assert.equal(big.size, 11n, 'signed fields as they are');
});
