// tree-compare.ts - compareTrees(a, b): every way tree b (say, a restore) differs from tree a (the
// original), as a flat list a test can assert on. Both trees are walked side by side through
// directory fds with names as bytes, so paths past PATH_MAX and names that are not UTF-8 work;
// nothing ever follows a symlink. Checked per path: presence, type, mode (type + 12 bits), owner,
// mtime in ns, every xattr (ACLs and capabilities included), chattr flags; size, bytes, holes
// and allocation for files; target bytes for symlinks; major/minor for devices; and, over the
// whole tree, that the paths sharing an inode are the same sets in both.
import assert from 'node:assert/strict';
import fs from 'node:fs';

import * as sys from '../../src/sys/index.js';
import { openDirPath, splitRoot } from './dir-fd.js';
import {
  dataRegions,
  firstContentDifference,
  formatRegions,
  regionsEqual,
  roundRegions,
} from './file-extents.js';
import { formatFlags, readFlags, RESTORABLE_FLAGS } from './inode-flags.js';
import { printablePath, printableValue } from './printable.js';

const C = sys.constants;
const DIR_OPEN = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
const FILE_OPEN = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;

export interface Difference {
  /** Printable path relative to the tree roots ('.' for the roots themselves). */
  path: string;
  /** 'missing', 'type', 'mode', 'uid', 'gid', 'mtime', 'xattr:<name>', 'flags', 'size', 'content',
   *  'sparseness', 'blocks', 'target', 'rdev' or 'hardlinks'. */
  what: string;
  a: string;
  b: string;
}

export interface CompareOptions {
  /** Skip a path (and, for a directory, all below it); gets the printable path and its bytes. */
  ignore?: (path: string, bytes: Buffer) => boolean;
  /** Leave out the root directories' own metadata (default false: compared like any directory). */
  ignoreRootMeta?: boolean;
  /** Compare directory mtimes (default true). */
  mtimeOfDirs?: boolean;
  /** Skip an xattr by name (on top of FS_MIRROR_XATTRS, unless compareFsMirrorXattrs). */
  ignoreXattr?: (name: string) => boolean;
  /** Compare FS_MIRROR_XATTRS too (default false: they only repeat system.posix_acl_*). */
  compareFsMirrorXattrs?: boolean;
  /** Compare data regions and allocation (default true). */
  checkSparseness?: boolean;
  /** Block size data regions are rounded to before comparing (default 4096). */
  extentGranularity?: number;
  /** How many bytes more b may have allocated than a (default 64 KiB: metadata, preallocation). */
  allocationSlackBytes?: number;
  /** chattr bits compared (default RESTORABLE_FLAGS: immutable, append, nodump, noatime). */
  flagsMask?: number;
}

/**
 * Names a filesystem lists on its own: xfs keeps ACLs as these trusted.* attributes and shows
 * them to root beside system.posix_acl_access/default (same ACL, other encoding). Comparing them
 * would fail every xfs-vs-other comparison while the ACL itself is still compared.
 */
export const FS_MIRROR_XATTRS: ReadonlySet<string> = new Set(['trusted.SGI_ACL_FILE', 'trusted.SGI_ACL_DEFAULT']);

interface Entry {
  dirfd: number;
  name: Buffer | string;
  st: sys.NativeStat;
}

interface Walk {
  opts: CompareOptions;
  diffs: Difference[];
  /** Per tree: inode key -> paths, for inodes with more than one link. */
  inodes: [Map<string, string[]>, Map<string, string[]>];
  /** Non-directories present in both trees with the same type, in walk order. */
  shared: string[];
}

export function compareTrees(a: string, b: string, opts: CompareOptions = {}): Difference[] {
  const walk: Walk = { opts, diffs: [], inodes: [new Map(), new Map()], shared: [] };
  const roots = [splitRoot(a), splitRoot(b)];
  const parents: number[] = [];
  const fds: number[] = [];
  try {
    for (const root of roots) parents.push(openDirPath(root.parent));
    for (const [i, root] of roots.entries()) fds.push(sys.openat(parents[i]!, root.name, DIR_OPEN));
    if (opts.ignoreRootMeta !== true) {
      const side = (i: number): Entry => {
        const name = roots[i]!.name;
        return { dirfd: parents[i]!, name, st: sys.fstatat(parents[i]!, name) };
      };
      compareMeta(walk, '.', side(0), side(1), true);
      compareFlags(walk, '.', fds[0]!, fds[1]!);
    }
    compareDirs(walk, fds[0]!, fds[1]!, Buffer.alloc(0));
    compareHardlinkGroups(walk);
  } finally {
    for (const fd of [...fds, ...parents]) sys.close(fd);
  }
  return walk.diffs;
}

/** Throws an AssertionError listing the differences (the first 50) when there are any. */
export function assertTreesEqual(a: string, b: string, opts: CompareOptions = {}): void {
  const diffs = compareTrees(a, b, opts);
  if (diffs.length === 0) return;
  const lines = diffs.slice(0, 50).map((d) => `  ${d.path}: ${d.what}: a=${d.a} b=${d.b}`);
  if (diffs.length > 50) lines.push(`  … and ${diffs.length - 50} more`);
  throw new assert.AssertionError({
    message: `trees differ in ${diffs.length} way(s):\n${lines.join('\n')}\n(a = ${a}, b = ${b})`,
  });
}

function diff(walk: Walk, p: string, what: string, a: string, b: string): void {
  walk.diffs.push({ path: p, what, a, b });
}

function sortedNames(dirfd: number): Buffer[] {
  return sys
    .readdirAt(dirfd)
    .map((e) => e.name)
    .sort(Buffer.compare);
}

function joinRel(parent: Buffer, name: Buffer): Buffer {
  return parent.length === 0 ? name : Buffer.concat([parent, Buffer.from('/'), name]);
}

function typeOf(st: sys.NativeStat): number {
  return Number(st.mode) & C.S_IFMT;
}

function typeName(type: number): string {
  const names: Record<number, string> = {
    [C.S_IFREG]: 'file',
    [C.S_IFDIR]: 'dir',
    [C.S_IFLNK]: 'symlink',
    [C.S_IFCHR]: 'char',
    [C.S_IFBLK]: 'block',
    [C.S_IFIFO]: 'fifo',
    [C.S_IFSOCK]: 'socket',
  };
  return names[type] ?? `type 0o${type.toString(8)}`;
}

function compareDirs(walk: Walk, fdA: number, fdB: number, rel: Buffer): void {
  const namesA = sortedNames(fdA);
  const namesB = sortedNames(fdB);
  let i = 0;
  let j = 0;
  while (i < namesA.length || j < namesB.length) {
    const order = i >= namesA.length ? 1 : j >= namesB.length ? -1 : Buffer.compare(namesA[i]!, namesB[j]!);
    const name = order <= 0 ? namesA[i]! : namesB[j]!;
    const relPath = joinRel(rel, name);
    const p = printablePath(relPath);
    if (walk.opts.ignore?.(p, relPath) !== true) {
      if (order === 0) {
        const entryA = { dirfd: fdA, name, st: sys.fstatat(fdA, name) };
        compareEntry(walk, p, relPath, entryA, { dirfd: fdB, name, st: sys.fstatat(fdB, name) });
      } else {
        const side = order < 0 ? 0 : 1;
        diff(walk, p, 'missing', side === 0 ? 'present' : 'absent', side === 0 ? 'absent' : 'present');
        recordInodes(walk, side, side === 0 ? fdA : fdB, name, relPath);
      }
    }
    if (order <= 0) i++;
    if (order >= 0) j++;
  }
}

function noteInode(walk: Walk, side: 0 | 1, st: sys.NativeStat, p: string): void {
  if (typeOf(st) === C.S_IFDIR || st.nlink < 2n) return;
  const key = `${st.dev}:${st.ino}`;
  const paths = walk.inodes[side].get(key);
  if (paths === undefined) walk.inodes[side].set(key, [p]);
  else paths.push(p);
}

/** Records the inodes of a subtree that exists in one tree only (its hardlinks still count). */
function recordInodes(walk: Walk, side: 0 | 1, dirfd: number, name: Buffer, relPath: Buffer): void {
  const p = printablePath(relPath);
  if (walk.opts.ignore?.(p, relPath) === true) return;
  const st = sys.fstatat(dirfd, name);
  noteInode(walk, side, st, p);
  if (typeOf(st) !== C.S_IFDIR) return;
  const fd = sys.openat(dirfd, name, DIR_OPEN);
  try {
    for (const child of sortedNames(fd)) recordInodes(walk, side, fd, child, joinRel(relPath, child));
  } finally {
    sys.close(fd);
  }
}

function compareEntry(walk: Walk, p: string, relPath: Buffer, a: Entry, b: Entry): void {
  noteInode(walk, 0, a.st, p);
  noteInode(walk, 1, b.st, p);
  const type = typeOf(a.st);
  if (type !== typeOf(b.st)) {
    diff(walk, p, 'type', typeName(type), typeName(typeOf(b.st)));
    for (const [side, e] of [a, b].entries()) {
      if (typeOf(e.st) !== C.S_IFDIR) continue;
      const fd = sys.openat(e.dirfd, e.name, DIR_OPEN);
      try {
        for (const child of sortedNames(fd)) recordInodes(walk, side as 0 | 1, fd, child, joinRel(relPath, child));
      } finally {
        sys.close(fd);
      }
    }
    return;
  }
  if (type !== C.S_IFDIR) walk.shared.push(p);
  compareMeta(walk, p, a, b, type === C.S_IFDIR);
  switch (type) {
    case C.S_IFREG:
      compareRegular(walk, p, a, b);
      break;
    case C.S_IFDIR: {
      const fdA = sys.openat(a.dirfd, a.name, DIR_OPEN);
      try {
        const fdB = sys.openat(b.dirfd, b.name, DIR_OPEN);
        try {
          compareFlags(walk, p, fdA, fdB);
          compareDirs(walk, fdA, fdB, relPath);
        } finally {
          sys.close(fdB);
        }
      } finally {
        sys.close(fdA);
      }
      break;
    }
    case C.S_IFLNK: {
      const targetA = sys.readlinkat(a.dirfd, a.name);
      const targetB = sys.readlinkat(b.dirfd, b.name);
      if (!targetA.equals(targetB)) diff(walk, p, 'target', printablePath(targetA), printablePath(targetB));
      break;
    }
    case C.S_IFCHR:
    case C.S_IFBLK:
      if (a.st.rdevMajor !== b.st.rdevMajor || a.st.rdevMinor !== b.st.rdevMinor) {
        diff(walk, p, 'rdev', `${a.st.rdevMajor}:${a.st.rdevMinor}`, `${b.st.rdevMajor}:${b.st.rdevMinor}`);
      }
      break;
  }
}

function compareMeta(walk: Walk, p: string, a: Entry, b: Entry, isDir: boolean): void {
  if (a.st.mode !== b.st.mode) diff(walk, p, 'mode', a.st.mode.toString(8), b.st.mode.toString(8));
  if (a.st.uid !== b.st.uid) diff(walk, p, 'uid', String(a.st.uid), String(b.st.uid));
  if (a.st.gid !== b.st.gid) diff(walk, p, 'gid', String(a.st.gid), String(b.st.gid));
  if ((!isDir || walk.opts.mtimeOfDirs !== false) && a.st.mtimeNs !== b.st.mtimeNs) {
    diff(walk, p, 'mtime', String(a.st.mtimeNs), String(b.st.mtimeNs));
  }
  compareXattrs(walk, p, a, b);
}

function readXattrs(e: Entry, opts: CompareOptions): Map<string, Buffer> {
  const where = sys.procFdPath(e.dirfd, e.name);
  const values = new Map<string, Buffer>();
  for (const name of sys.llistxattr(where)) {
    const shown = printablePath(name);
    if (opts.compareFsMirrorXattrs !== true && FS_MIRROR_XATTRS.has(shown)) continue;
    if (opts.ignoreXattr?.(shown) === true) continue;
    values.set(shown, sys.lgetxattr(where, name));
  }
  return values;
}

function compareXattrs(walk: Walk, p: string, a: Entry, b: Entry): void {
  const xa = readXattrs(a, walk.opts);
  const xb = readXattrs(b, walk.opts);
  const names = [...new Set([...xa.keys(), ...xb.keys()])].sort();
  for (const name of names) {
    const va = xa.get(name);
    const vb = xb.get(name);
    if (va !== undefined && vb !== undefined && va.equals(vb)) continue;
    const show = (v: Buffer | undefined): string => (v === undefined ? '(absent)' : printableValue(v));
    diff(walk, p, `xattr:${name}`, show(va), show(vb));
  }
}

function compareFlags(walk: Walk, p: string, fdA: number, fdB: number): void {
  const mask = walk.opts.flagsMask ?? RESTORABLE_FLAGS;
  const fa = (readFlags(fdA) & mask) >>> 0;
  const fb = (readFlags(fdB) & mask) >>> 0;
  if (fa !== fb) diff(walk, p, 'flags', formatFlags(fa), formatFlags(fb));
}

function compareRegular(walk: Walk, p: string, a: Entry, b: Entry): void {
  const fdA = sys.openat(a.dirfd, a.name, FILE_OPEN);
  try {
    const fdB = sys.openat(b.dirfd, b.name, FILE_OPEN);
    try {
      compareFlags(walk, p, fdA, fdB);
      const size = Number(a.st.size);
      if (a.st.size !== b.st.size) {
        diff(walk, p, 'size', String(a.st.size), String(b.st.size));
        return;
      }
      const regionsA = dataRegions(fdA, size);
      const regionsB = dataRegions(fdB, size);
      if (walk.opts.checkSparseness !== false) {
        const granularity = walk.opts.extentGranularity ?? 4096;
        const roundedA = roundRegions(regionsA, granularity, size);
        const roundedB = roundRegions(regionsB, granularity, size);
        if (!regionsEqual(roundedA, roundedB)) diff(walk, p, 'sparseness', formatRegions(roundedA), formatRegions(roundedB));
        const allocA = a.st.blocks * 512n;
        const allocB = b.st.blocks * 512n;
        if (allocB > allocA + BigInt(walk.opts.allocationSlackBytes ?? 65536)) {
          diff(walk, p, 'blocks', `${allocA} bytes allocated`, `${allocB} bytes allocated`);
        }
      }
      const at = firstContentDifference(fdA, fdB, regionsA, regionsB);
      if (at >= 0) diff(walk, p, 'content', byteAt(fdA, at), byteAt(fdB, at));
    } finally {
      sys.close(fdB);
    }
  } finally {
    sys.close(fdA);
  }
}

/** 'byte 17 = 0x52': where two files first differ, as each side has it. */
function byteAt(fd: number, offset: number): string {
  const one = Buffer.alloc(1);
  const n = fs.readSync(fd, one, 0, 1, offset);
  return `byte ${offset} = ${n === 1 ? `0x${one[0]!.toString(16).padStart(2, '0')}` : 'EOF'}`;
}

function compareHardlinkGroups(walk: Walk): void {
  const groupOf = walk.inodes.map((inodes) => {
    const byPath = new Map<string, string>();
    for (const paths of inodes.values()) {
      const group = [...paths].sort().join(' + ');
      for (const p of paths) byPath.set(p, group);
    }
    return byPath;
  });
  for (const p of walk.shared) {
    const ga = groupOf[0]!.get(p) ?? p;
    const gb = groupOf[1]!.get(p) ?? p;
    if (ga !== gb) diff(walk, p, 'hardlinks', ga, gb);
  }
}
