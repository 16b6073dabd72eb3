// Raw addon xattr calls: user.*, trusted.* and security.* (incl. security.capability) namespaces,
// byte-exact Buffer names, l* calls never following a symlink, fd variants, and values/name lists
// larger than the first 4 KiB read buffer (the ERANGE retry path). ext4 keeps all xattrs of an
// inode in one block, so the large-value test mounts a small tmpfs when the scratch fs refuses;
// it is unmounted in a finally block.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';

import { BAD_FD, scratch as sharedScratch } from './helpers/sys-scratch.js';
import { native, type NativeError, type PathArg } from '../src/sys/native.js';

const C = native.constants;

interface Scratch {
  dir: string;
  dirfd: number;
  file(name: string): { path: string; fd: number };
}

function scratch(t: TestContext): Scratch {
  const s = sharedScratch(t, 'sys-xattr-');
  return {
    dir: s.dir,
    dirfd: s.dirfd,
    file: (name) => ({ path: path.join(s.dir, name), fd: s.track(native.openat(s.dirfd, name, C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_CLOEXEC, 0o644)) }),
  };
}

function sysErrorOf(fn: () => unknown): NativeError {
  try {
    fn();
  } catch (error) {
    return error as NativeError;
  }
  assert.fail('expected a system error');
}

function assertSysError(
  fn: () => unknown,
  expected: { code: string; syscall: string; path?: string; xattrName?: string },
): void {
  const e = sysErrorOf(fn);
  assert.ok(e instanceof Error);
  assert.equal(e.code, expected.code, e.message);
  assert.equal(e.errno, -(os.constants.errno as Record<string, number>)[expected.code]!);
  assert.equal(e.syscall, expected.syscall);
  assert.equal(e.path, expected.path);
  assert.equal(e.xattrName, expected.xattrName);
  const where = expected.path === undefined ? '' : ` '${expected.path}'`;
  assert.match(e.message, new RegExp(`^${expected.code}: .+, ${expected.syscall}`));
  assert.ok(e.message.endsWith(`${expected.syscall}${where}`), e.message);
}

/** Whether the filesystem under `p` takes user.* xattrs (tmpfs before Linux 6.6 does not). */
function supportsUserXattrs(p: PathArg): boolean {
  try {
    native.lsetxattr(p, 'user.probe', Buffer.from('1'), 0);
    native.lremovexattr(p, 'user.probe');
    return true;
  } catch (error) {
    if ((error as NativeError).code === 'EOPNOTSUPP') return false;
    throw error;
  }
}

function sortedNames(names: Buffer[]): string[] {
  return names.map((n) => n.toString('latin1')).sort();
}

test('user.*: set/get/list/remove by path; XATTR_CREATE/XATTR_REPLACE; ENODATA and ENOENT', (t) => {
  const s = scratch(t);
  const { path: p } = s.file('f');
  if (!supportsUserXattrs(p)) return t.skip('filesystem has no user.* xattrs');
  native.lsetxattr(p, 'user.a', Buffer.from('one'), 0);
  native.lsetxattr(Buffer.from(p), Buffer.from('user.empty'), Buffer.alloc(0), C.XATTR_CREATE);
  assert.deepEqual(native.lgetxattr(p, 'user.a'), Buffer.from('one'));
  assert.deepEqual(native.lgetxattr(p, 'user.empty'), Buffer.alloc(0));
  native.lsetxattr(p, 'user.a', Buffer.from('two'), C.XATTR_REPLACE);
  assert.deepEqual(native.lgetxattr(p, 'user.a'), Buffer.from('two'));
  assert.deepEqual(sortedNames(native.llistxattr(p)), ['user.a', 'user.empty']);
  assert.ok(native.llistxattr(p).every((n) => Buffer.isBuffer(n) && !n.includes(0)));
  native.lremovexattr(p, 'user.a');
  assert.deepEqual(sortedNames(native.llistxattr(p)), ['user.empty']);

  assertSysError(() => native.lgetxattr(p, 'user.a'), { code: 'ENODATA', syscall: 'lgetxattr', path: p, xattrName: 'user.a' });
  assertSysError(() => native.lsetxattr(p, 'user.empty', Buffer.from('x'), C.XATTR_CREATE), {
    code: 'EEXIST', syscall: 'lsetxattr', path: p, xattrName: 'user.empty',
  });
  assertSysError(() => native.lsetxattr(p, 'user.none', Buffer.from('x'), C.XATTR_REPLACE), {
    code: 'ENODATA', syscall: 'lsetxattr', path: p, xattrName: 'user.none',
  });
  assertSysError(() => native.lremovexattr(p, 'user.none'), { code: 'ENODATA', syscall: 'lremovexattr', path: p, xattrName: 'user.none' });
  const gone = path.join(s.dir, 'gone');
  assertSysError(() => native.llistxattr(gone), { code: 'ENOENT', syscall: 'llistxattr', path: gone });
  assertSysError(() => native.lgetxattr(gone, 'user.a'), { code: 'ENOENT', syscall: 'lgetxattr', path: gone, xattrName: 'user.a' });
});

test('user.*: names are bytes: an invalid UTF-8 name and binary value round-trip exactly', (t) => {
  const s = scratch(t);
  const { path: p } = s.file('f');
  if (!supportsUserXattrs(p)) return t.skip('filesystem has no user.* xattrs');
  const name = Buffer.concat([Buffer.from('user.'), Buffer.from([0xff, 0xfe, 0x80])]);
  const value = Buffer.from([0, 1, 2, 0, 255]);
  native.lsetxattr(p, name, value, 0);
  assert.deepEqual(native.llistxattr(p), [name]);
  assert.deepEqual(native.lgetxattr(p, name), value);
});

test('l* calls act on a symlink itself: trusted.* lands on the link, user.* is EPERM', (t) => {
  const s = scratch(t);
  const { path: target } = s.file('f');
  native.symlinkat('f', s.dirfd, 'l');
  const link = path.join(s.dir, 'l');
  native.lsetxattr(link, 'trusted.on-link', Buffer.from('L'), 0);
  assert.deepEqual(native.lgetxattr(link, 'trusted.on-link'), Buffer.from('L'));
  assert.deepEqual(native.llistxattr(target), [], 'the target must not see it');
  if (supportsUserXattrs(target)) {
    assertSysError(() => native.lsetxattr(link, 'user.x', Buffer.from('x'), 0), {
      code: 'EPERM', syscall: 'lsetxattr', path: link, xattrName: 'user.x',
    });
  }
});

test('trusted.*: set/get/list/remove', (t) => {
  const s = scratch(t);
  const { path: p } = s.file('f');
  native.lsetxattr(p, 'trusted.restore-test', Buffer.from('y'), 0);
  assert.deepEqual(native.lgetxattr(p, 'trusted.restore-test'), Buffer.from('y'));
  assert.ok(sortedNames(native.llistxattr(p)).includes('trusted.restore-test'));
  native.lremovexattr(p, 'trusted.restore-test');
  assertSysError(() => native.lgetxattr(p, 'trusted.restore-test'), {
    code: 'ENODATA', syscall: 'lgetxattr', path: p, xattrName: 'trusted.restore-test',
  });
});

/** VFS_CAP_REVISION_2 blob: magic | effective, then (permitted, inheritable) for caps 0-31, 32-63. */
function capabilityV2(permittedLow: number, effective: boolean): Buffer {
  const blob = Buffer.alloc(20);
  blob.writeUInt32LE(0x02000000 | (effective ? 1 : 0), 0);
  blob.writeUInt32LE(permittedLow, 4);
  return blob;
}

const CAP_NET_RAW = 13;

test('security.capability: a v2 blob written with lsetxattr is what getcap reports', (t) => {
  const s = scratch(t);
  const { path: p } = s.file('ping');
  const blob = capabilityV2(1 << CAP_NET_RAW, true);
  native.lsetxattr(p, 'security.capability', blob, 0);
  assert.deepEqual(native.lgetxattr(p, 'security.capability'), blob);
  assert.ok(sortedNames(native.llistxattr(p)).includes('security.capability'));
  try {
    assert.match(execFileSync('getcap', [p], { encoding: 'utf8' }), /cap_net_raw[=+]ep/);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // getcap not installed
  }
  // fchown clears capabilities (why a restore sets xattrs after chown).
  native.fchownat(s.dirfd, 'ping', 0, 0, 0);
  assertSysError(() => native.lgetxattr(p, 'security.capability'), {
    code: 'ENODATA', syscall: 'lgetxattr', path: p, xattrName: 'security.capability',
  });
});

test('security.capability: set by setcap(8), read back by lgetxattr', (t) => {
  const s = scratch(t);
  const { path: p } = s.file('ping');
  try {
    execFileSync('setcap', ['cap_net_raw+ep', p], { stdio: 'pipe' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return t.skip('setcap not installed (libcap2-bin)');
    throw error;
  }
  const blob = native.lgetxattr(p, 'security.capability');
  const magic = blob.readUInt32LE(0);
  assert.ok([0x02000001, 0x03000001].includes(magic), `unexpected magic ${magic.toString(16)}`);
  assert.equal(blob.readUInt32LE(4), 1 << CAP_NET_RAW);
  native.lremovexattr(p, 'security.capability');
  assert.deepEqual(native.llistxattr(p), []);
});

test('fd variants: fsetxattr/fgetxattr/flistxattr/fremovexattr; EBADF and ENODATA', (t) => {
  const s = scratch(t);
  const { fd } = s.file('f');
  native.fsetxattr(fd, 'trusted.fd', Buffer.from('via fd'), C.XATTR_CREATE);
  assert.deepEqual(native.fgetxattr(fd, Buffer.from('trusted.fd')), Buffer.from('via fd'));
  assert.deepEqual(sortedNames(native.flistxattr(fd)), ['trusted.fd']);
  native.fremovexattr(fd, 'trusted.fd');
  assert.deepEqual(native.flistxattr(fd), []);

  assertSysError(() => native.fgetxattr(fd, 'trusted.fd'), { code: 'ENODATA', syscall: 'fgetxattr', xattrName: 'trusted.fd' });
  assertSysError(() => native.fremovexattr(fd, 'trusted.fd'), { code: 'ENODATA', syscall: 'fremovexattr', xattrName: 'trusted.fd' });
  assertSysError(() => native.fgetxattr(BAD_FD, 'trusted.fd'), { code: 'EBADF', syscall: 'fgetxattr', xattrName: 'trusted.fd' });
  assertSysError(() => native.fsetxattr(BAD_FD, 'trusted.fd', Buffer.from('x'), 0), {
    code: 'EBADF', syscall: 'fsetxattr', xattrName: 'trusted.fd',
  });
  assertSysError(() => native.flistxattr(BAD_FD), { code: 'EBADF', syscall: 'flistxattr' });
  assert.throws(() => native.fsetxattr(fd, 'trusted.fd', 'str' as unknown as Buffer, 0), { code: 'ERR_INVALID_ARG_TYPE' });
});

/** Runs fn in a directory that holds xattr values > 4 KiB: the scratch dir, else a tmpfs on it. */
function withLargeXattrDir(s: Scratch, fn: (dir: string) => void): void {
  const probe = s.file('probe').path;
  let fits = process.env.SYS_TEST_FORCE_TMPFS !== '1';
  try {
    if (fits) native.lsetxattr(probe, 'trusted.big', Buffer.alloc(65536, 1), 0);
  } catch (error) {
    if (!['ENOSPC', 'E2BIG', 'EOPNOTSUPP'].includes((error as NativeError).code)) throw error;
    fits = false;
  }
  if (fits) return fn(s.dir);
  const mnt = path.join(s.dir, 'tmpfs');
  fs.mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', mnt]);
  try {
    fn(mnt);
  } finally {
    execFileSync('umount', [mnt]);
  }
}

test('large values (> 4 KiB, up to XATTR_SIZE_MAX) and long name lists take the ERANGE retry path', (t) => {
  const s = scratch(t);
  withLargeXattrDir(s, (dir) => {
    const p = path.join(dir, 'big');
    fs.writeFileSync(p, '');
    const fd = native.openat(C.AT_FDCWD, p, C.O_RDONLY | C.O_CLOEXEC, 0);
    try {
      for (const size of [4095, 4096, 4097, 10_000, 65536]) {
        const value = Buffer.alloc(size);
        for (let i = 0; i < size; i++) value[i] = (i * 7 + size) & 0xff;
        native.lsetxattr(p, 'trusted.big', value, 0);
        assert.deepEqual(native.lgetxattr(p, 'trusted.big'), value, `lgetxattr ${size}`);
        assert.deepEqual(native.fgetxattr(fd, 'trusted.big'), value, `fgetxattr ${size}`);
      }
      const names: string[] = [];
      for (let i = 0; i < 300; i++) names.push(`trusted.name-${String(i).padStart(4, '0')}-${'x'.repeat(20)}`);
      for (const name of names) native.fsetxattr(fd, name, Buffer.from('v'), 0);
      const expected = [...names, 'trusted.big'].sort();
      assert.ok(expected.join('\0').length > 8192);
      assert.deepEqual(sortedNames(native.llistxattr(p)), expected);
      assert.deepEqual(sortedNames(native.flistxattr(fd)), expected);
    } finally {
      native.close(fd);
    }
  });
});
