// safeOpenBeneath: one table of opens run on both routes (openat2, and the component walk forced
// with forceFallback) must give identical answers: allowed opens stay inside ROOT, and every
// escape a hostile live tree offers ('..', absolute paths, symlinked directories, a symlinked
// leaf, absolute symlinks) fails with the same code. Then: paths past PATH_MAX take the walk,
// and a kernel answering ENOSYS switches this thread to the walk once and for all (last test).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';

import * as sys from '../src/sys/index.js';

const C = sys.constants;
const DIR = C.O_RDONLY | C.O_DIRECTORY;

interface Tree {
  base: string;
  root: string;
  rootfd: number;
  track(fd: number): number;
}

/**
 * base/outside            the file every escape would reach
 * base/root/top           regular file
 * base/root/a/b/file      "inside"
 * base/root/a/linkfile -> b/file    base/root/a/abs -> /etc
 * base/root/link -> a              base/root/escape -> ..
 */
function tree(t: TestContext): Tree {
  const base = fs.mkdtempSync(os.tmpdir() + '/sys-beneath-');
  const root = path.join(base, 'root');
  fs.writeFileSync(path.join(base, 'outside'), 'outside');
  fs.mkdirSync(path.join(root, 'a', 'b'), { recursive: true });
  fs.writeFileSync(path.join(root, 'top'), 'top');
  fs.writeFileSync(path.join(root, 'a', 'b', 'file'), 'inside');
  fs.symlinkSync('b/file', path.join(root, 'a', 'linkfile'));
  fs.symlinkSync('/etc', path.join(root, 'a', 'abs'));
  fs.symlinkSync('a', path.join(root, 'link'));
  fs.symlinkSync('..', path.join(root, 'escape'));
  const fds: number[] = [];
  const rootfd = sys.openPath(root, DIR | C.O_NOFOLLOW);
  fds.push(rootfd);
  t.after(() => {
    for (const fd of fds.reverse()) sys.close(fd);
    if (process.env.KEEP_TMP !== '1') fs.rmSync(base, { recursive: true, force: true });
  });
  return { base, root, rootfd, track: (fd) => (fds.push(fd), fd) };
}

function readAll(fd: number): string {
  return fs.readFileSync(`/proc/self/fd/${fd}`, 'utf8');
}

const refused: Array<[string, number, string]> = [
  ['../outside', C.O_RDONLY, 'EXDEV'],
  ['a/../../outside', C.O_RDONLY, 'EXDEV'],
  ['a/../top', C.O_RDONLY, 'EXDEV'], // stays inside, still refused: '..' never appears in a plan
  ['/etc/hostname', C.O_RDONLY, 'EXDEV'],
  ['link/b/file', C.O_RDONLY, 'ELOOP'],
  ['escape/outside', C.O_RDONLY, 'ELOOP'],
  ['a/abs/hostname', C.O_RDONLY, 'ELOOP'],
  ['a/linkfile', C.O_RDONLY, 'ELOOP'],
  ['a/linkfile', C.O_PATH, 'ELOOP'],
  ['a/linkfile', C.O_WRONLY | C.O_CREAT, 'ELOOP'],
  ['link', DIR, 'ELOOP'],
  ['top/x', C.O_RDONLY, 'ENOTDIR'],
  ['a/b/file/', C.O_RDONLY, 'ENOTDIR'],
  ['a/b/file', DIR, 'ENOTDIR'],
  ['a/missing/x', C.O_RDONLY, 'ENOENT'],
  ['a/b/missing', C.O_RDONLY, 'ENOENT'],
];

for (const forceFallback of [false, true]) {
  const route = forceFallback ? 'component walk' : 'openat2';
  const syscall = forceFallback ? 'openat' : 'openat2';
  const opts = { forceFallback };

  test(`${route}: opens and creates inside ROOT`, (t) => {
    const tr = tree(t);
    assert.equal(readAll(tr.track(sys.safeOpenBeneath(tr.rootfd, 'a/b/file', C.O_RDONLY, 0, opts))), 'inside');
    assert.equal(readAll(tr.track(sys.safeOpenBeneath(tr.rootfd, Buffer.from('a//b/./file'), C.O_RDONLY, 0, opts))), 'inside');
    const dir = tr.track(sys.safeOpenBeneath(tr.rootfd, 'a/b/', DIR, 0, opts));
    assert.deepEqual(sys.readdirAt(dir).map((e) => e.name.toString()), ['file']);
    const self = tr.track(sys.safeOpenBeneath(tr.rootfd, '.', DIR, 0, opts));
    assert.equal(sys.fstat(self).ino, sys.fstat(tr.rootfd).ino);
    const created = tr.track(sys.safeOpenBeneath(tr.rootfd, 'a/b/new', C.O_RDWR | C.O_CREAT | C.O_EXCL, 0o600, opts));
    sys.pwriteAll(created, Buffer.from('new'), 0);
    assert.equal(fs.readFileSync(path.join(tr.root, 'a', 'b', 'new'), 'utf8'), 'new');
    assert.equal(Number(sys.fstat(created).mode) & 0o777, 0o600);
    // A symlink leaf may be opened as itself, but only when the caller asks with O_NOFOLLOW.
    const link = tr.track(sys.safeOpenBeneath(tr.rootfd, 'a/linkfile', C.O_PATH | C.O_NOFOLLOW, 0, opts));
    assert.equal(Number(sys.fstat(link).mode) & C.S_IFMT, C.S_IFLNK);
  });

  test(`${route}: refuses every way out of ROOT with the openat2 error codes`, (t) => {
    const tr = tree(t);
    for (const [relPath, flags, code] of refused) {
      assert.throws(
        () => tr.track(sys.safeOpenBeneath(tr.rootfd, relPath, flags, 0o644, opts)),
        (error: unknown) => {
          assert.ok(sys.isSysError(error), String(error));
          assert.equal(error.code, code, `${relPath}: ${error.message}`);
          assert.equal(error.syscall, syscall);
          assert.equal(error.path, relPath, 'the error names the whole relative path');
          return true;
        },
        relPath,
      );
    }
    assert.equal(fs.readFileSync(path.join(tr.base, 'outside'), 'utf8'), 'outside');
    assert.deepEqual(fs.readdirSync(path.join(tr.root, 'a', 'b')), ['file'], 'nothing created through the link');
  });
}

/** Swaps the addon's openat2 for the duration of fn, recording calls. */
function withOpenat2(replacement: (...args: unknown[]) => number, fn: (calls: unknown[][]) => void): void {
  const original = sys.native.openat2;
  const calls: unknown[][] = [];
  sys.native.openat2 = ((...args: unknown[]) => {
    calls.push(args);
    return replacement(...args);
  }) as typeof original;
  try {
    fn(calls);
  } finally {
    sys.native.openat2 = original;
  }
}

test('paths of PATH_MAX bytes or more go straight to the walk (openat2 would say ENAMETOOLONG)', (t) => {
  const tr = tree(t);
  const component = 'p'.repeat(250);
  const dirs = [tr.rootfd]; // dirs[i] holds component i+1; fs.rmSync cannot remove this deep a tree
  try {
    for (let i = 0; i < 20; i++) {
      sys.mkdirat(dirs[i]!, component, 0o755);
      dirs.push(sys.openat(dirs[i]!, component, DIR | C.O_NOFOLLOW));
    }
    const deepest = dirs[dirs.length - 1]!;
    sys.close(sys.openat(deepest, 'leaf', C.O_WRONLY | C.O_CREAT, 0o644));
    const relPath = Array<string>(20).fill(component).concat('leaf').join('/');
    assert.ok(relPath.length > 4096);
    withOpenat2(
      () => assert.fail('openat2 must not be asked'),
      () => {
        const leaf = tr.track(sys.safeOpenBeneath(tr.rootfd, relPath, C.O_RDONLY));
        assert.equal(sys.fstat(leaf).ino, sys.fstatat(deepest, 'leaf').ino);
      },
    );
  } finally {
    const deepest = dirs[dirs.length - 1]!;
    try {
      sys.unlinkat(deepest, 'leaf');
    } catch {
      // not created: the test failed earlier
    }
    for (let i = dirs.length - 1; i > 0; i--) {
      sys.close(dirs[i]!);
      sys.unlinkat(dirs[i - 1]!, component, C.AT_REMOVEDIR);
    }
  }
  assert.equal(sys.native.openat2(tr.rootfd, 'a/b/file', C.O_RDONLY, 0, 0) > 0, true);
});

test('forceFallback never calls openat2', (t) => {
  const tr = tree(t);
  withOpenat2(
    () => assert.fail('openat2 must not be asked'),
    () => void tr.track(sys.safeOpenBeneath(tr.rootfd, 'a/b/file', C.O_RDONLY, 0, { forceFallback: true })),
  );
});

// Must stay last: it leaves this thread's module believing openat2 is missing.
test('ENOSYS from openat2 (old kernel, seccomp) falls back to the walk and is remembered', (t) => {
  const tr = tree(t);
  withOpenat2(
    () => {
      throw sys.sysError('ENOSYS', 'openat2');
    },
    (calls) => {
      assert.equal(readAll(tr.track(sys.safeOpenBeneath(tr.rootfd, 'a/b/file', C.O_RDONLY))), 'inside');
      assert.throws(() => sys.safeOpenBeneath(tr.rootfd, 'link/b/file', C.O_RDONLY), { code: 'ELOOP', syscall: 'openat' });
      assert.throws(() => sys.safeOpenBeneath(tr.rootfd, '../outside', C.O_RDONLY), { code: 'EXDEV', syscall: 'openat' });
      assert.equal(calls.length, 1, 'asked once, then remembered');
    },
  );
});
