// Raw addon calls on open fds: SEEK_DATA/SEEK_HOLE on sparse files, fallocate and hole punching,
// ftruncate/pwrite/fsync/fdatasync, flock between two open file descriptions, and inode flags.
// Flags need a filesystem that has them: when the scratch fs answers ENOTTY/EOPNOTSUPP (old
// tmpfs), or SYS_TEST_FORCE_LOOP=1, the test makes a 16 MiB ext4 image, loop-mounts it inside
// its temp dir and always unmounts it and detaches exactly the loop device it attached.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';

import { BAD_FD, scratch as sharedScratch } from './helpers/sys-scratch.js';
import { native, type NativeError } from '../src/sys/native.js';

const C = native.constants;
const MiB = 1024 * 1024;

interface Scratch {
  dir: string;
  dirfd: number;
  open(name: string, flags?: number): number;
}

function scratch(t: TestContext): Scratch {
  const s = sharedScratch(t, 'sys-io-');
  return { dir: s.dir, dirfd: s.dirfd, open: (name, flags = C.O_RDWR | C.O_CREAT) => s.track(native.openat(s.dirfd, name, flags | C.O_CLOEXEC, 0o644)) };
}

function assertSysError(fn: () => unknown, expected: { code: string; syscall: string }): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof Error, `expected ${expected.code}`);
  const e = caught as NativeError;
  assert.equal(e.code, expected.code, e.message);
  assert.equal(e.errno, -(os.constants.errno as Record<string, number>)[expected.code]!);
  assert.equal(e.syscall, expected.syscall);
  assert.equal(e.path, undefined);
  assert.match(e.message, new RegExp(`^${expected.code}: .+, ${expected.syscall}$`));
}

test('lseekData/lseekHole: walk the extents of a sparse file; -1 past the data; offsets > 4 GiB', (t) => {
  const s = scratch(t);
  const fd = s.open('sparse');
  native.ftruncate(fd, 16 * MiB);
  const block = Buffer.alloc(4096, 0xab);
  assert.equal(native.pwrite(fd, block, 0), 4096);
  assert.equal(native.pwrite(fd, block, 8 * MiB), 4096);
  native.fsync(fd);

  assert.equal(native.lseekData(fd, 0), 0);
  const hole = native.lseekHole(fd, 0);
  assert.ok(hole >= 4096 && hole <= 8 * MiB, `first hole at ${hole}`);
  assert.equal(native.lseekData(fd, hole), 8 * MiB);
  const hole2 = native.lseekHole(fd, 8 * MiB);
  assert.ok(hole2 >= 8 * MiB + 4096 && hole2 <= 16 * MiB, `second hole at ${hole2}`);
  assert.equal(native.lseekData(fd, 12 * MiB), -1, 'no data after the second extent: ENXIO -> -1');
  assert.equal(native.lseekHole(fd, 12 * MiB), 12 * MiB);
  assert.equal(native.lseekHole(fd, 16 * MiB), -1, 'at EOF: ENXIO -> -1');
  assert.equal(native.lseekData(fd, 20 * MiB), -1);

  // Offsets beyond 32 bits survive the number <-> off_t round trip.
  const far = 2 ** 40 + 8192;
  native.ftruncate(fd, far + 4096);
  assert.equal(native.pwrite(fd, block, far), 4096);
  assert.equal(native.lseekData(fd, 12 * MiB), far);
  assert.equal(native.lseekHole(fd, far), far + 4096);

  assertSysError(() => native.lseekData(BAD_FD, 0), { code: 'EBADF', syscall: 'lseek' });
  assertSysError(() => native.lseekHole(BAD_FD, 0), { code: 'EBADF', syscall: 'lseek' });
});

test('fallocate: allocates, and PUNCH_HOLE|KEEP_SIZE frees blocks without changing the size', (t) => {
  const s = scratch(t);
  const fd = s.open('f');
  native.fallocate(fd, 0, 0, 2 * MiB);
  assert.equal(native.fstat(fd).size, BigInt(2 * MiB));
  native.pwrite(fd, Buffer.alloc(2 * MiB, 1), 0);
  native.fsync(fd);
  const before = native.fstat(fd).blocks;
  assert.ok(before >= BigInt((2 * MiB) / 512), `blocks ${before}`);
  native.fallocate(fd, C.FALLOC_FL_PUNCH_HOLE | C.FALLOC_FL_KEEP_SIZE, MiB / 2, MiB);
  const after = native.fstat(fd);
  assert.ok(after.blocks < before, `blocks ${before} -> ${after.blocks}`);
  assert.equal(after.size, BigInt(2 * MiB));
  assert.equal(native.lseekHole(fd, 0), MiB / 2);

  // The kernel only punches holes together with KEEP_SIZE.
  assertSysError(() => native.fallocate(fd, C.FALLOC_FL_PUNCH_HOLE, 0, 4096), { code: 'EOPNOTSUPP', syscall: 'fallocate' });
  assertSysError(() => native.fallocate(BAD_FD, 0, 0, 4096), { code: 'EBADF', syscall: 'fallocate' });
});

test('ftruncate/pwrite/fsync/fdatasync: write at offsets and sync; EBADF on a read-only or bad fd', (t) => {
  const s = scratch(t);
  const fd = s.open('f');
  assert.equal(native.pwrite(fd, Buffer.from('world'), 6), 5);
  assert.equal(native.pwrite(fd, new Uint8Array([0x68, 0x69]), 0), 2);
  native.fsync(fd);
  native.fdatasync(fd);
  assert.deepEqual(fs.readFileSync(path.join(s.dir, 'f')), Buffer.from('hi\0\0\0\0world'));
  native.ftruncate(fd, 2);
  assert.equal(fs.readFileSync(path.join(s.dir, 'f'), 'utf8'), 'hi');
  assert.equal(native.pwrite(fd, Buffer.alloc(0), 0), 0);

  const ro = s.open('f', C.O_RDONLY);
  assertSysError(() => native.pwrite(ro, Buffer.from('x'), 0), { code: 'EBADF', syscall: 'pwrite' });
  assertSysError(() => native.ftruncate(ro, 0), { code: 'EINVAL', syscall: 'ftruncate' });
  assertSysError(() => native.fsync(BAD_FD), { code: 'EBADF', syscall: 'fsync' });
  assertSysError(() => native.fdatasync(BAD_FD), { code: 'EBADF', syscall: 'fdatasync' });
  assertSysError(() => native.ftruncate(BAD_FD, 0), { code: 'EBADF', syscall: 'ftruncate' });
});

test('flock: a second open file description cannot take LOCK_EX|LOCK_NB (EAGAIN) until LOCK_UN', (t) => {
  const s = scratch(t);
  const first = s.open('lock');
  const second = s.open('lock', C.O_RDWR);
  native.flock(first, C.LOCK_EX | C.LOCK_NB);
  assertSysError(() => native.flock(second, C.LOCK_EX | C.LOCK_NB), { code: 'EAGAIN', syscall: 'flock' });
  assertSysError(() => native.flock(second, C.LOCK_SH | C.LOCK_NB), { code: 'EAGAIN', syscall: 'flock' });
  native.flock(first, C.LOCK_UN);
  native.flock(second, C.LOCK_EX | C.LOCK_NB);
  native.flock(second, C.LOCK_UN);
  native.flock(first, C.LOCK_SH);
  native.flock(second, C.LOCK_SH | C.LOCK_NB); // shared locks coexist
  assertSysError(() => native.flock(BAD_FD, C.LOCK_EX), { code: 'EBADF', syscall: 'flock' });
});

function flagsUnsupported(error: unknown): boolean {
  return ['ENOTTY', 'EOPNOTSUPP', 'EINVAL'].includes((error as NativeError).code);
}

/** Runs fn(dir) on a filesystem with inode flags: the scratch dir, else a loop-mounted ext4. */
function withFlagsFs(t: TestContext, s: Scratch, fn: (dir: string) => void): void {
  if (process.env.SYS_TEST_FORCE_LOOP !== '1') {
    const probe = s.open('probe', C.O_RDONLY | C.O_CREAT);
    try {
      native.getFlags(probe);
      return fn(s.dir);
    } catch (error) {
      if (!flagsUnsupported(error)) throw error;
    }
  }
  const image = path.join(s.dir, 'flags.img');
  const mnt = path.join(s.dir, 'mnt');
  fs.mkdirSync(mnt);
  fs.writeFileSync(image, '');
  fs.truncateSync(image, 16 * MiB);
  execFileSync('mkfs.ext4', ['-q', '-F', image, '16M'], { stdio: 'pipe' });
  const device = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
  assert.match(device, /^\/dev\/loop\d+$/);
  t.diagnostic(`inode flags tested on ${device} (ext4 image) mounted at ${mnt}`);
  try {
    execFileSync('mount', ['-t', 'ext4', device, mnt], { stdio: 'pipe' });
    try {
      fn(mnt);
    } finally {
      execFileSync('umount', [mnt], { stdio: 'pipe' });
    }
  } finally {
    execFileSync('losetup', ['-d', device], { stdio: 'pipe' });
  }
}

test('getFlags/setFlags: FS_APPEND_FL is set, enforced, and cleared again; EBADF', (t) => {
  const s = scratch(t);
  withFlagsFs(t, s, (dir) => {
    const file = path.join(dir, 'append-only');
    fs.writeFileSync(file, 'log\n');
    const fd = native.openat(C.AT_FDCWD, file, C.O_RDONLY | C.O_CLOEXEC, 0);
    try {
      const original = native.getFlags(fd);
      assert.equal(original & C.FS_APPEND_FL, 0);
      native.setFlags(fd, original | C.FS_APPEND_FL);
      try {
        assert.equal(native.getFlags(fd) & C.FS_APPEND_FL, C.FS_APPEND_FL);
        assert.throws(() => fs.writeFileSync(file, 'overwrite'), { code: 'EPERM' });
        fs.appendFileSync(file, 'more\n');
      } finally {
        native.setFlags(fd, original); // otherwise the file cannot be deleted
      }
      assert.equal(native.getFlags(fd) & C.FS_APPEND_FL, 0);
      assert.equal(fs.readFileSync(file, 'utf8'), 'log\nmore\n');
      const opath = native.openat(C.AT_FDCWD, file, C.O_PATH | C.O_CLOEXEC, 0);
      try {
        assertSysError(() => native.getFlags(opath), { code: 'EBADF', syscall: 'ioctl' });
      } finally {
        native.close(opath);
      }
    } finally {
      native.close(fd);
    }
  });
  assertSysError(() => native.getFlags(BAD_FD), { code: 'EBADF', syscall: 'ioctl' });
  assertSysError(() => native.setFlags(BAD_FD, 0), { code: 'EBADF', syscall: 'ioctl' });
});
