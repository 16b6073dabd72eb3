// tree-create.ts - createTree(dir, spec): materialises a TreeSpec (tree-spec.ts) through directory
// fds, so raw-byte names and paths past PATH_MAX work. Must run as root for devices, ownership,
// trusted.* xattrs and chattr flags.
// Order, for the same reasons a restore has it (CONVENTIONS habit 6):
//   1. content: every inode and its bytes, depth first (writing later would strip
//      security.capability, and inheriting a default ACL must not happen);
//   2. hardlinks, once every target exists (linking changes the parent's mtime);
//   3. per entry, children before their directory: chown (clears setuid/setgid and
//      capabilities, so it comes first), chmod, xattrs, ACLs, then times;
//   4. chattr flags over the whole tree last (immutable would refuse everything above).
import fs from 'node:fs';

import * as sys from '../../src/sys/index.js';
import { openDirPath, splitRoot } from './dir-fd.js';
import { patternBytes } from './file-pattern.js';
import {
  DEFAULT_MTIME_NS,
  dir as dirSpec,
  entriesOf,
  isDirSpec,
  toBytes,
  type Entries,
  type FileSpec,
  type InodeFlag,
  type Meta,
  type NodeSpec,
  type SymlinkSpec,
  type TreeSpec,
} from './tree-spec.js';
import { aclModeBits, aclXattr } from './xattr-blobs.js';

const C = sys.constants;
const DIR_OPEN = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
const WRITE_CHUNK = 1 << 20;

export interface CreateTreeOptions {
  /** mtime for entries whose spec sets none; null leaves the time of creation. */
  defaultMtimeNs?: bigint | null;
}

interface PendingLink {
  parent: Buffer; // relative to the root; empty for the root itself
  name: Buffer;
  target: Buffer;
}

/**
 * Builds `spec` inside `dir` (created if missing; it should be empty). A DirSpec root also sets
 * the root directory's own metadata; otherwise only its mtime is set (to the default).
 */
export function createTree(dir: string, spec: TreeSpec, options: CreateTreeOptions = {}): void {
  const defaultMtimeNs = options.defaultMtimeNs === undefined ? DEFAULT_MTIME_NS : options.defaultMtimeNs;
  const root = isDirSpec(spec) ? spec : dirSpec(spec);
  fs.mkdirSync(dir, { recursive: true });
  const { parent, name: rootName } = splitRoot(dir);
  const parentfd = openDirPath(parent);
  try {
    const rootfd = sys.openat(parentfd, rootName, DIR_OPEN);
    try {
      const links: PendingLink[] = [];
      createEntries(rootfd, root.entries, Buffer.alloc(0), links);
      for (const link of links) createHardlink(rootfd, link);
      applyMetaTree(rootfd, root.entries, defaultMtimeNs);
      applyMeta(parentfd, rootName, root, defaultMtimeNs, true);
      applyFlagsTree(rootfd, root.entries);
    } finally {
      sys.close(rootfd);
    }
    applyFlags(parentfd, rootName, root);
  } finally {
    sys.close(parentfd);
  }
}

function joinRel(parent: Buffer, name: Buffer): Buffer {
  return parent.length === 0 ? name : Buffer.concat([parent, Buffer.from('/'), name]);
}

function createEntries(dirfd: number, entries: Entries, rel: Buffer, links: PendingLink[]): void {
  for (const [name, node] of entriesOf(entries)) {
    switch (node.type) {
      case 'file': {
        const fd = sys.openat(dirfd, name, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
        try {
          writeContent(fd, node, name);
        } finally {
          sys.close(fd);
        }
        break;
      }
      case 'dir': {
        sys.mkdirat(dirfd, name, 0o700);
        const fd = sys.openat(dirfd, name, DIR_OPEN);
        try {
          createEntries(fd, node.entries, joinRel(rel, name), links);
        } finally {
          sys.close(fd);
        }
        break;
      }
      case 'symlink':
        sys.symlinkat(toBytes(node.target), dirfd, name);
        break;
      case 'hardlink':
        links.push({ parent: rel, name, target: toBytes(node.link) });
        break;
      case 'char':
      case 'block':
        sys.mknodat(dirfd, name, (node.type === 'char' ? C.S_IFCHR : C.S_IFBLK) | 0o600, node.major, node.minor);
        break;
      case 'fifo':
        sys.mknodat(dirfd, name, C.S_IFIFO | 0o600);
        break;
      case 'socket':
        sys.mknodat(dirfd, name, C.S_IFSOCK | 0o600);
        break;
    }
  }
}

function writeContent(fd: number, spec: FileSpec, name: Buffer): void {
  const ways = [spec.content !== undefined, spec.pattern !== undefined, spec.data !== undefined].filter(Boolean).length;
  if (ways > 1) throw new Error(`spec for '${name}': give only one of content, pattern, data`);
  if (spec.content !== undefined) {
    const bytes = toBytes(spec.content);
    if (spec.size !== undefined && spec.size !== bytes.length) throw new Error(`spec for '${name}': size disagrees with content`);
    if (bytes.length > 0) sys.pwriteAll(fd, bytes, 0);
    return;
  }
  const size = spec.size ?? 0;
  if (spec.pattern !== undefined) {
    for (let offset = 0; offset < size; offset += WRITE_CHUNK) {
      sys.pwriteAll(fd, patternBytes(spec.pattern, offset, Math.min(WRITE_CHUNK, size - offset)), offset);
    }
    return;
  }
  sys.ftruncate(fd, size);
  for (const chunk of spec.data ?? []) {
    const bytes = toBytes(chunk.bytes);
    if (chunk.offset + bytes.length > size) {
      throw new Error(`spec for '${name}': data chunk at ${chunk.offset} ends past size ${size}`);
    }
    sys.pwriteAll(fd, bytes, chunk.offset);
  }
}

/** An O_PATH fd for a directory given relative to the root (the root itself for ''). */
function openRelDir(rootfd: number, rel: Buffer): number {
  if (rel.length === 0) return rootfd;
  return sys.safeOpenBeneath(rootfd, rel, C.O_PATH | C.O_DIRECTORY);
}

function createHardlink(rootfd: number, link: PendingLink): void {
  const cut = link.target.lastIndexOf(0x2f);
  const targetParent = cut < 0 ? Buffer.alloc(0) : link.target.subarray(0, cut);
  const targetName = cut < 0 ? link.target : link.target.subarray(cut + 1);
  const fromfd = openRelDir(rootfd, targetParent);
  try {
    const tofd = openRelDir(rootfd, link.parent);
    try {
      sys.linkat(fromfd, targetName, tofd, link.name, 0);
    } finally {
      if (tofd !== rootfd) sys.close(tofd);
    }
  } finally {
    if (fromfd !== rootfd) sys.close(fromfd);
  }
}

function applyMetaTree(dirfd: number, entries: Entries, defaultMtimeNs: bigint | null): void {
  for (const [name, node] of entriesOf(entries)) {
    if (node.type === 'hardlink') continue; // its inode gets metadata from the entry that made it
    if (node.type === 'dir') {
      const fd = sys.openat(dirfd, name, DIR_OPEN);
      try {
        applyMetaTree(fd, node.entries, defaultMtimeNs);
      } finally {
        sys.close(fd);
      }
    }
    applyMeta(dirfd, name, node, defaultMtimeNs, false);
  }
}

function applyMeta(
  dirfd: number,
  name: Buffer | string,
  node: Exclude<NodeSpec, { type: 'hardlink' }>,
  defaultMtimeNs: bigint | null,
  isRoot: boolean,
): void {
  const meta: Meta = node;
  if (node.type === 'symlink') rejectSymlinkMeta(node, name);
  if (meta.uid !== undefined || meta.gid !== undefined) sys.fchownat(dirfd, name, meta.uid ?? -1, meta.gid ?? -1);
  const mode = meta.mode ?? (isRoot ? undefined : node.type === 'dir' ? 0o755 : 0o644);
  // fchmodat follows symlinks; the entry was made by us and is known not to be one.
  if (node.type !== 'symlink' && mode !== undefined) sys.fchmodat(dirfd, name, mode);
  const xattrPath = sys.procFdPath(dirfd, name);
  for (const [xname, value] of Object.entries(meta.xattrs ?? {})) sys.lsetxattr(xattrPath, xname, toBytes(value));
  if (meta.acl !== undefined) {
    if (meta.mode !== undefined && (meta.mode & 0o777) !== aclModeBits(meta.acl)) {
      const implied = aclModeBits(meta.acl).toString(8);
      throw new Error(`spec for '${name}': mode ${meta.mode.toString(8)} disagrees with acl '${meta.acl}' (rwx ${implied})`);
    }
    sys.lsetxattr(xattrPath, 'system.posix_acl_access', aclXattr(meta.acl));
  }
  if (meta.defaultAcl !== undefined) {
    if (node.type !== 'dir') throw new Error(`spec for '${name}': a default ACL needs a directory`);
    sys.lsetxattr(xattrPath, 'system.posix_acl_default', aclXattr(meta.defaultAcl));
  }
  const mtimeNs = meta.mtimeNs ?? defaultMtimeNs;
  if (mtimeNs !== null || meta.atimeNs !== undefined) sys.utimensat(dirfd, name, meta.atimeNs ?? null, mtimeNs);
}

function rejectSymlinkMeta(node: SymlinkSpec, name: Buffer | string): void {
  const loose = node as SymlinkSpec & Meta;
  for (const key of ['mode', 'acl', 'defaultAcl', 'flags'] as const) {
    if (loose[key] !== undefined) throw new Error(`spec for symlink '${name}': Linux symlinks have no ${key}`);
  }
}

const FLAG_BITS: Record<InodeFlag, number> = {
  immutable: C.FS_IMMUTABLE_FL,
  append: C.FS_APPEND_FL,
  nodump: C.FS_NODUMP_FL,
  noatime: C.FS_NOATIME_FL,
};

function applyFlagsTree(dirfd: number, entries: Entries): void {
  for (const [name, node] of entriesOf(entries)) {
    if (node.type === 'dir') {
      const fd = sys.openat(dirfd, name, DIR_OPEN);
      try {
        applyFlagsTree(fd, node.entries);
      } finally {
        sys.close(fd);
      }
    }
    if (node.type !== 'hardlink' && node.type !== 'symlink') applyFlags(dirfd, name, node);
  }
}

function applyFlags(dirfd: number, name: Buffer | string, meta: Meta & { type: string }): void {
  if (meta.flags === undefined || meta.flags.length === 0) return;
  if (meta.type !== 'file' && meta.type !== 'dir') throw new Error(`spec for '${name}': chattr flags need a file or directory`);
  const wanted = meta.flags.reduce((bits, flag) => bits | FLAG_BITS[flag], 0);
  const fd = sys.openat(dirfd, name, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  try {
    sys.setFlags(fd, (sys.getFlags(fd) | wanted) >>> 0);
  } finally {
    sys.close(fd);
  }
}
