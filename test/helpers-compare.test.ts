// The tree comparer must itself be trusted before any round-trip test leans on it: two builds of
// the nasty tree compare equal, and each kind of loss a restore can commit, done to one copy,
// is reported as exactly the difference it is (no more, no less). Runs as root.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test, type TestContext } from 'node:test';

import * as sys from '../src/sys/index.js';
import { withEntry, withEntryFd } from './helpers/at-path.js';
import { missingFeatures } from './helpers/fs-features.js';
import { withLoopFs } from './helpers/loop-fs.js';
import { makeNastyTreeSpec, NASTY, NASTY_SPARSE_SIZE } from './helpers/nasty-tree-spec.js';
import { printablePath } from './helpers/printable.js';
import { makeTmpDir } from './helpers/tmp.js';
import { assertTreesEqual, compareTrees, type CompareOptions } from './helpers/tree-compare.js';
import { createTree, dir, file } from './helpers/tree-spec.js';

const C = sys.constants;

/**
 * Runs fn in a fresh directory on a filesystem that keeps everything the nasty tree has: the temp
 * dir when its filesystem can (ext4 /tmp here), else a loop-mounted ext4.
 */
async function onCapableFs(t: TestContext, fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = makeTmpDir('helpers-compare-', t);
  const missing = missingFeatures(dir);
  if (missing.length === 0) return fn(dir);
  t.diagnostic(`temp dir lacks ${missing.join(', ')}: using a loop-mounted ext4`);
  await withLoopFs('ext4', 64, fn);
}

/** Two builds of the nasty tree: a (the original) and b (the copy a test mutates). */
function buildPair(root: string, deep = false): { a: string; b: string } {
  const a = `${root}/a`;
  const b = `${root}/b`;
  createTree(a, makeNastyTreeSpec({ deep }));
  createTree(b, makeNastyTreeSpec({ deep }));
  return { a, b };
}

type Expected = Array<{ path: string | Buffer; what: string }>;

/** The comparer reports exactly `expected` (by path and what), in any order. */
function assertReports(a: string, b: string, expected: Expected, opts?: CompareOptions): void {
  const key = (d: { path: string; what: string }): string => `${d.path} :: ${d.what}`;
  const got = compareTrees(a, b, opts).map(key).sort();
  const want = expected
    .map((e) => key({ path: typeof e.path === 'string' ? e.path : printablePath(e.path), what: e.what }))
    .sort();
  assert.deepEqual(got, want);
}

function removeXattr(root: string, rel: string, name: string): void {
  withEntry(root, rel, (dirfd, entry) => sys.lremovexattr(sys.procFdPath(dirfd, entry), name));
}

function shiftMtime(root: string, rel: string, deltaNs: bigint): void {
  withEntry(root, rel, (dirfd, entry) => {
    sys.utimensat(dirfd, entry, null, sys.fstatat(dirfd, entry).mtimeNs + deltaNs);
  });
}

/** Puts an independent copy (same bytes, mode, owner, xattrs, mtime) where a hardlink was. */
function replaceLinkWithCopy(root: string, rel: string): void {
  withEntry(root, rel, (dirfd, name) => {
    const st = sys.fstatat(dirfd, name);
    const content = Buffer.alloc(Number(st.size));
    const from = sys.openat(dirfd, name, C.O_RDONLY);
    let xattrs: Array<readonly [Buffer, Buffer]>;
    try {
      xattrs = sys.flistxattr(from).map((x) => [x, sys.fgetxattr(from, x)] as const);
      readAll(from, content);
    } finally {
      sys.close(from);
    }
    sys.unlinkat(dirfd, name);
    const to = sys.openat(dirfd, name, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600);
    try {
      sys.pwriteAll(to, content, 0);
      sys.fchown(to, Number(st.uid), Number(st.gid));
      sys.fchmod(to, Number(st.mode) & 0o7777);
      for (const [x, value] of xattrs) sys.fsetxattr(to, x, value);
      sys.futimens(to, null, st.mtimeNs);
    } finally {
      sys.close(to);
    }
  });
}

/** node:fs reads any fd the addon opened; the files read here are a few MiB at most. */
function readAll(fd: number, into: Buffer): void {
  let done = 0;
  while (done < into.length) {
    const n = fs.readSync(fd, into, done, into.length - done, done);
    if (n === 0) throw new Error(`unexpected EOF at ${done}`);
    done += n;
  }
}

interface Mutation {
  name: string;
  mutate(b: string): void;
  expect: Expected;
}

const mutations: Mutation[] = [
  {
    name: 'a lost user xattr',
    mutate: (b) => removeXattr(b, NASTY.aliceNotes, 'user.comment'),
    expect: [{ path: NASTY.aliceNotes, what: 'xattr:user.comment' }],
  },
  {
    name: 'a lost security.capability',
    mutate: (b) => removeXattr(b, NASTY.capV2, 'security.capability'),
    expect: [{ path: NASTY.capV2, what: 'xattr:security.capability' }],
  },
  {
    name: 'a lost access ACL',
    mutate: (b) => removeXattr(b, NASTY.aclFile, 'system.posix_acl_access'),
    expect: [{ path: NASTY.aclFile, what: 'xattr:system.posix_acl_access' }],
  },
  {
    name: 'a lost default ACL',
    mutate: (b) => removeXattr(b, NASTY.aclDir, 'system.posix_acl_default'),
    expect: [{ path: NASTY.aclDir, what: 'xattr:system.posix_acl_default' }],
  },
  {
    name: 'lost sparseness (same bytes written densely)',
    mutate: (b) =>
      withEntryFd(b, NASTY.sparse, C.O_RDWR, (fd) => {
        const st = sys.fstat(fd);
        const bytes = Buffer.alloc(NASTY_SPARSE_SIZE);
        readAll(fd, bytes);
        sys.pwriteAll(fd, bytes, 0);
        sys.fsync(fd);
        sys.futimens(fd, null, st.mtimeNs);
      }),
    expect: [
      { path: NASTY.sparse, what: 'sparseness' },
      { path: NASTY.sparse, what: 'blocks' },
    ],
  },
  {
    name: 'a file mtime off by 1 ns',
    mutate: (b) => shiftMtime(b, NASTY.passwd, 1n),
    expect: [{ path: NASTY.passwd, what: 'mtime' }],
  },
  {
    name: 'a directory mtime off by 1 ns',
    mutate: (b) => shiftMtime(b, NASTY.etcDir, -1n),
    expect: [{ path: NASTY.etcDir, what: 'mtime' }],
  },
  {
    name: 'a symlink mtime off by 1 ns',
    mutate: (b) => shiftMtime(b, NASTY.absSymlink, 1n),
    expect: [{ path: NASTY.absSymlink, what: 'mtime' }],
  },
  {
    name: 'a broken hardlink group (one link replaced by a copy)',
    mutate: (b) => replaceLinkWithCopy(b, NASTY.hardlinkSecond),
    expect: [NASTY.hardlinkFirst, NASTY.hardlinkSecond, NASTY.hardlinkThird].map((path) => ({ path, what: 'hardlinks' })),
  },
  {
    name: 'a wrong device number',
    mutate: (b) =>
      withEntry(b, NASTY.blockDevice, (dirfd, name) => {
        const st = sys.fstatat(dirfd, name);
        sys.unlinkat(dirfd, name);
        sys.mknodat(dirfd, name, C.S_IFBLK | 0o600, st.rdevMajor, st.rdevMinor + 1);
        sys.fchownat(dirfd, name, Number(st.uid), Number(st.gid));
        sys.fchmodat(dirfd, name, Number(st.mode) & 0o7777);
        sys.utimensat(dirfd, name, null, st.mtimeNs);
      }),
    expect: [{ path: NASTY.blockDevice, what: 'rdev' }],
  },
  {
    name: 'a mangled name (invalid UTF-8 turned into U+FFFD)',
    mutate: (b) =>
      withEntry(b, NASTY.invalidUtf8, (dirfd, name) => {
        sys.renameat2(dirfd, name, dirfd, Buffer.from(name.toString('utf8'), 'utf8'));
      }),
    expect: [
      { path: NASTY.invalidUtf8, what: 'missing' },
      { path: 'names/f\u{fffd}', what: 'missing' },
    ],
  },
  {
    name: 'a dropped setuid bit',
    mutate: (b) =>
      withEntry(b, NASTY.setuid, (dirfd, name) => {
        sys.fchmodat(dirfd, name, Number(sys.fstatat(dirfd, name).mode) & 0o3777);
      }),
    expect: [{ path: NASTY.setuid, what: 'mode' }],
  },
  {
    name: 'a changed uid',
    mutate: (b) => withEntry(b, NASTY.aliceNotes, (dirfd, name) => sys.fchownat(dirfd, name, 1001, -1)),
    expect: [{ path: NASTY.aliceNotes, what: 'uid' }],
  },
  {
    name: 'a changed symlink target',
    mutate: (b) =>
      withEntry(b, 'links/dangling', (dirfd, name) => {
        const st = sys.fstatat(dirfd, name);
        sys.unlinkat(dirfd, name);
        sys.symlinkat('does/not/exisT', dirfd, name);
        sys.utimensat(dirfd, name, null, st.mtimeNs);
      }),
    expect: [{ path: 'links/dangling', what: 'target' }],
  },
  {
    name: 'a lost immutable flag',
    mutate: (b) =>
      withEntryFd(b, NASTY.immutable, C.O_RDONLY, (fd) => sys.setFlags(fd, (sys.getFlags(fd) & ~C.FS_IMMUTABLE_FL) >>> 0)),
    expect: [{ path: NASTY.immutable, what: 'flags' }],
  },
  {
    name: 'a lost append-only flag',
    mutate: (b) =>
      withEntryFd(b, NASTY.appendOnly, C.O_RDONLY, (fd) => sys.setFlags(fd, (sys.getFlags(fd) & ~C.FS_APPEND_FL) >>> 0)),
    expect: [{ path: NASTY.appendOnly, what: 'flags' }],
  },
  {
    name: 'changed content of the same size',
    mutate: (b) =>
      withEntryFd(b, NASTY.passwd, C.O_WRONLY, (fd) => {
        const st = sys.fstat(fd);
        sys.pwriteAll(fd, Buffer.from('R'), 0); // 'root:' -> 'Root:'
        sys.futimens(fd, null, st.mtimeNs);
      }),
    expect: [{ path: NASTY.passwd, what: 'content' }],
  },
  {
    name: 'a FIFO turned into a regular file',
    mutate: (b) =>
      withEntry(b, NASTY.fifo, (dirfd, name) => {
        sys.unlinkat(dirfd, name);
        sys.close(sys.openat(dirfd, name, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600));
      }),
    expect: [{ path: NASTY.fifo, what: 'type' }],
  },
];

test('two builds of the nasty tree (with the PATH_MAX-deep part) compare equal', async (t) => {
  await onCapableFs(t, (root) => {
    const { a, b } = buildPair(root, true);
    assert.deepEqual(compareTrees(a, b), []);
    assertTreesEqual(a, b);
  });
});

for (const m of mutations) {
  test(`catches ${m.name}`, async (t) => {
    await onCapableFs(t, (root) => {
      const { a, b } = buildPair(root);
      assertReports(a, b, []);
      m.mutate(b);
      assertReports(a, b, m.expect);
    });
  });
}

test('catches changed content past PATH_MAX (and on both names of its inode)', async (t) => {
  await onCapableFs(t, (root) => {
    const { a, b } = buildPair(root, true);
    withEntryFd(b, NASTY.deepLeaf, C.O_WRONLY, (fd) => {
      const st = sys.fstat(fd);
      sys.pwriteAll(fd, Buffer.from('P'), 0);
      sys.futimens(fd, null, st.mtimeNs);
    });
    assertReports(a, b, [
      { path: NASTY.deepLeaf, what: 'content' },
      { path: 'deep/leaf-hardlink', what: 'content' },
    ]);
  });
});

test('assertTreesEqual throws an AssertionError naming each difference', async (t) => {
  await onCapableFs(t, (root) => {
    const { a, b } = buildPair(root);
    shiftMtime(b, NASTY.passwd, 1n);
    removeXattr(b, NASTY.capV2, 'security.capability');
    assert.throws(
      () => assertTreesEqual(a, b),
      (error: unknown) =>
        error instanceof assert.AssertionError &&
        /2 way\(s\)/.test(error.message) &&
        error.message.includes(`${NASTY.passwd}: mtime`) &&
        error.message.includes(`${NASTY.capV2}: xattr:security.capability`),
    );
  });
});

test('options: ignore skips a subtree, mtimeOfDirs and ignoreRootMeta leave those out', async (t) => {
  await onCapableFs(t, (root) => {
    const a = `${root}/a`;
    const b = `${root}/b`;
    createTree(a, dir({ repo: dir({ pack: file('1') }), kept: file('same') }, { mode: 0o750 }));
    createTree(b, dir({ repo: dir({ pack: file('2'), extra: file('') }), kept: file('same') }, { mode: 0o755 }));
    const ignoreRepo = { ignore: (p: string) => p === 'repo' };
    assertReports(a, b, [{ path: '.', what: 'mode' }], ignoreRepo);
    assertReports(a, b, [], { ...ignoreRepo, ignoreRootMeta: true });
    shiftMtime(b, 'repo', 5n);
    assertReports(a, b, [{ path: 'repo/pack', what: 'content' }, { path: 'repo/extra', what: 'missing' }], {
      ignoreRootMeta: true,
      mtimeOfDirs: false,
    });
  });
});

test('xfs ACL mirrors (trusted.SGI_ACL_*) are skipped unless asked for; ignoreXattr skips by name', async (t) => {
  await onCapableFs(t, (root) => {
    const a = `${root}/a`;
    const b = `${root}/b`;
    createTree(a, { f: file('x') });
    createTree(b, { f: file('x', { xattrs: { 'trusted.SGI_ACL_FILE': 'mirror', 'user.extra': '1' } }) });
    assertReports(a, b, [{ path: 'f', what: 'xattr:user.extra' }]);
    assertReports(a, b, [], { ignoreXattr: (name) => name.startsWith('user.') });
    assertReports(
      a,
      b,
      [
        { path: 'f', what: 'xattr:trusted.SGI_ACL_FILE' },
        { path: 'f', what: 'xattr:user.extra' },
      ],
      { compareFsMirrorXattrs: true },
    );
  });
});

test('printablePath escapes invalid UTF-8, controls and backslash, keeps valid UTF-8', () => {
  assert.equal(printablePath(Buffer.from([0x66, 0xff])), 'f\\xff');
  assert.equal(printablePath(Buffer.from('f\u{fffd}')), 'f\u{fffd}');
  assert.equal(printablePath(Buffer.from('a\nb\\c')), 'a\\x0ab\\x5cc');
  assert.equal(printablePath(Buffer.from([0xc3, 0x28, 0xe2, 0x82])), '\\xc3(\\xe2\\x82');
  assert.equal(printablePath(Buffer.from('é😀')), 'é😀');
  assert.equal(printablePath(Buffer.from([0xed, 0xa0, 0x80])), '\\xed\\xa0\\x80'); // a UTF-16 surrogate
});
