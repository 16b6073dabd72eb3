// createTree must build exactly what a spec says, or every test built on it proves nothing: the
// xattr blobs it encodes itself are byte-identical to what setfacl/setcap write, the hazards
// (holes, PATH_MAX, raw names, links, devices, flags, ns times) really exist on disk, specs that
// contradict themselves are refused, and removeTree gets rid of all of it. Runs as root.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { test } from 'node:test';

import * as sys from '../src/sys/index.js';
import { withEntry, withEntryFd } from './helpers/at-path.js';
import { dataRegions } from './helpers/file-extents.js';
import { patternBytes } from './helpers/file-pattern.js';
import { findCommand } from './helpers/loop-fs.js';
import { makeNastyTreeSpec, NASTY, NASTY_SPARSE_SIZE } from './helpers/nasty-tree-spec.js';
import { makeTmpDir, removeTree } from './helpers/tmp.js';
import { createTree, dir, file, sparseFile, symlink, DEFAULT_MTIME_NS, type Meta } from './helpers/tree-spec.js';
import { aclXattr, CAP, capabilityXattr } from './helpers/xattr-blobs.js';

const C = sys.constants;
const setfacl = findCommand('setfacl');
const setcap = findCommand('setcap');

function xattrOf(root: string, rel: string, name: string): Buffer {
  return withEntry(root, rel, (dirfd, entry) => sys.lgetxattr(sys.procFdPath(dirfd, entry), name));
}

const noSetfacl = setfacl === null ? 'setfacl (Debian package acl) not installed' : false;
const noSetcap = setcap === null ? 'setcap (Debian package libcap2-bin) not installed' : false;

test('aclXattr encodes ACLs byte for byte as setfacl does', { skip: noSetfacl }, (t) => {
  const root = makeTmpDir('helpers-tree-', t);
  createTree(root, { f: file('x'), d: dir() });
  execFileSync(setfacl!, ['-m', 'u:1000:rw,g:100:r', `${root}/f`]);
  execFileSync(setfacl!, ['-d', '-m', 'u:1000:rwx', `${root}/d`]);
  assert.deepEqual(xattrOf(root, 'f', 'system.posix_acl_access'), aclXattr('u::rw-,u:1000:rw-,g::r--,g:100:r--,m::rw-,o::r--'));
  assert.deepEqual(xattrOf(root, 'd', 'system.posix_acl_default'), aclXattr('u::rwx,u:1000:rwx,g::r-x,o::r-x'));
});

test('capabilityXattr encodes v2 and v3 file capabilities as setcap does', { skip: noSetcap }, (t) => {
  const root = makeTmpDir('helpers-tree-', t);
  createTree(root, { v2: file('x'), mixed: file('x'), v3: file('x') });
  execFileSync(setcap!, ['cap_net_raw+ep', `${root}/v2`]);
  execFileSync(setcap!, ['cap_net_admin=i cap_sys_admin,cap_bpf+p', `${root}/mixed`]);
  execFileSync(setcap!, ['-n', '100000', 'cap_setuid+ep', `${root}/v3`]);
  const expected = {
    v2: capabilityXattr({ permitted: [CAP.NET_RAW], effective: true }),
    mixed: capabilityXattr({ permitted: [CAP.SYS_ADMIN, CAP.BPF], inheritable: [CAP.NET_ADMIN] }),
    v3: capabilityXattr({ permitted: [CAP.SETUID], effective: true, rootid: 100000 }),
  };
  for (const [name, blob] of Object.entries(expected)) {
    assert.deepEqual(xattrOf(root, name, 'security.capability'), blob, name);
  }
});

test('the nasty tree has real holes, a path past PATH_MAX, raw names, links, devices, flags and ns times', (t) => {
  const root = makeTmpDir('helpers-tree-', t);
  createTree(root, makeNastyTreeSpec());
  withEntryFd(root, NASTY.sparse, C.O_RDONLY, (fd) => {
    const st = sys.fstat(fd);
    assert.equal(st.size, BigInt(NASTY_SPARSE_SIZE));
    assert.ok(st.blocks * 512n < 64n * 1024n, `only ${st.blocks} blocks expected to be allocated`);
    assert.equal(dataRegions(fd, NASTY_SPARSE_SIZE).length, 4);
  });
  assert.ok(Buffer.byteLength(NASTY.deepLeaf) > 4096);
  const leaf = withEntry(root, NASTY.deepLeaf, (dirfd, name) => sys.fstatat(dirfd, name));
  const other = withEntry(root, 'deep/leaf-hardlink', (dirfd, name) => sys.fstatat(dirfd, name));
  assert.equal(leaf.ino, other.ino);
  const python = [NASTY.hardlinkFirst, NASTY.hardlinkSecond, NASTY.hardlinkThird].map((p) =>
    withEntry(root, p, (dirfd, name) => sys.fstatat(dirfd, name)),
  );
  assert.deepEqual(new Set(python.map((st) => st.ino)).size, 1);
  assert.equal(python[0]!.nlink, 3n);
  withEntry(root, NASTY.invalidUtf8, (dirfd, name) => assert.equal(sys.fstatat(dirfd, name).size, 18n));
  const dev = withEntry(root, NASTY.blockDevice, (dirfd, name) => sys.fstatat(dirfd, name));
  assert.equal(Number(dev.mode) & C.S_IFMT, C.S_IFBLK);
  assert.deepEqual([dev.rdevMajor, dev.rdevMinor, Number(dev.mode) & 0o7777, dev.gid], [7, 7, 0o660, 6n]);
  withEntryFd(root, NASTY.immutable, C.O_RDONLY, (fd) => assert.notEqual(sys.getFlags(fd) & C.FS_IMMUTABLE_FL, 0));
  const su = withEntry(root, NASTY.setuid, (dirfd, name) => sys.fstatat(dirfd, name));
  assert.equal(Number(su.mode) & 0o7777, 0o4755);
  const mtab = withEntry(root, NASTY.absSymlink, (dirfd, name) => sys.fstatat(dirfd, name));
  assert.deepEqual([mtab.uid, mtab.mtimeNs % 1000n], [1000n, (DEFAULT_MTIME_NS + 4n * 1_000_000_007n) % 1000n]);
  assert.equal(fs.statSync(root, { bigint: true }).mtimeNs, DEFAULT_MTIME_NS);
});

test('specs that contradict themselves or Linux are refused', (t) => {
  const root = makeTmpDir('helpers-tree-', t);
  const cases: Array<[string, Parameters<typeof createTree>[1], RegExp]> = [
    ['mode vs acl', { f: file('x', { mode: 0o644, acl: 'u::rw-,u:1000:rwx,g::r--,o::r--' }) }, /disagrees with acl/],
    ['symlink mode', { l: symlink('t', { mode: 0o600 } as Meta) }, /symlinks have no mode/],
    ['chunk past size', { s: sparseFile(10, [{ offset: 8, bytes: 'abc' }]) }, /ends past size/],
    ['two contents', { f: { type: 'file', content: 'x', pattern: 'y', size: 1 } }, /only one of/],
    ['default acl on a file', { f: file('x', { defaultAcl: 'u::rwx,g::r-x,o::r-x' }) }, /needs a directory/],
  ];
  for (const [name, spec, message] of cases) {
    assert.throws(() => createTree(`${root}/${name}`, spec), message, name);
  }
});

test('removeTree removes immutable, append-only and PATH_MAX-deep entries', (t) => {
  const root = makeTmpDir('helpers-tree-', t);
  createTree(`${root}/nasty`, makeNastyTreeSpec());
  removeTree(`${root}/nasty`);
  assert.deepEqual(fs.readdirSync(root), []);
});

test('generated content: any window equals the same range of the whole', () => {
  for (const pattern of ['abc', Buffer.from([0, 1, 2, 3, 4]), { seed: 42 }]) {
    const whole = patternBytes(pattern, 0, 5000);
    assert.deepEqual(patternBytes(pattern, 1234, 3000), whole.subarray(1234, 4234));
  }
  assert.notDeepEqual(patternBytes({ seed: 1 }, 0, 64), patternBytes({ seed: 2 }, 0, 64));
});
