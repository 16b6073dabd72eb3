// tree-spec.ts - the declarative description of a directory tree that tests build with
// createTree(dir, spec): every kind of inode a Linux server has, with all the metadata a restore
// must bring back. A spec is a nested object keyed by name; where a name is not valid UTF-8 (or
// simply reads better that way) a directory's entries may instead be an array of
// `{name: Buffer | string, ...node}`.
//
//   createTree(dir, {
//     etc: dir({ passwd: 'root:x:0:0::/root:/bin/sh\n', shadow: file('', { mode: 0o640, gid: 42 }) }),
//     bin: dir({ ping: file('ELF', { mode: 0o755, xattrs: { 'security.capability': capabilityXattr(...) } }) }),
//     odd: dir([{ name: Buffer.from([0x66, 0xff]), ...file('x') }]),
//     'passwd.link': hardlink('etc/passwd'),
//   });
//
// Unset metadata gets fixed defaults (mode 0644 / 0755, mtime DEFAULT_MTIME_NS, owner unchanged),
// so one spec built twice gives two trees that compare equal. The build order is in tree-create.ts.
import type { FilePattern } from './file-pattern.js';

export type Bytes = string | Buffer;
export type InodeFlag = 'immutable' | 'append' | 'nodump' | 'noatime';

/** 2023-11-14T22:13:20.123456789Z: odd nanoseconds, so a restore that rounds to µs shows up. */
export const DEFAULT_MTIME_NS = 1_700_000_000_123_456_789n;

export interface Meta {
  /** Permission bits including setuid 0o4000, setgid 0o2000 and sticky 0o1000 (never type bits). */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Nanoseconds since the epoch; may be negative (before 1970). */
  mtimeNs?: bigint;
  /** Left as the kernel set it unless given (nothing compares atime). */
  atimeNs?: bigint;
  /** Any namespace: user.*, trusted.*, security.* (capability, selinux), system.posix_acl_*. */
  xattrs?: Readonly<Record<string, Bytes>>;
  /**
   * setfacl short text with numeric ids ('u::rw-,u:1000:r--,g::r--,o::---'); a missing mask is
   * computed. The kernel derives the mode's rwx bits from it, so a `mode` given as well must agree.
   */
  acl?: string;
  /** Default ACL (directories only), same text form. */
  defaultAcl?: string;
  /** chattr flags, set after everything else in the whole tree. */
  flags?: readonly InodeFlag[];
}

export interface SparseChunk {
  offset: number;
  bytes: Bytes;
}

/**
 * Exactly one way to give content: `content` (literal), `size` + `pattern` (generated), or
 * `size` + `data` (sparse: ftruncate, then the chunks written at their offsets; holes stay holes).
 * `size` alone is a file that is one big hole.
 */
export interface FileSpec extends Meta {
  type: 'file';
  content?: Bytes;
  size?: number;
  pattern?: FilePattern;
  data?: readonly SparseChunk[];
}

export interface DirSpec extends Meta {
  type: 'dir';
  entries: Entries;
}

/** Symlinks have no mode of their own and no chattr flags; user.* xattrs are refused by Linux. */
export interface SymlinkSpec extends Pick<Meta, 'uid' | 'gid' | 'mtimeNs' | 'atimeNs' | 'xattrs'> {
  type: 'symlink';
  /** Stored verbatim; may dangle, be absolute, or be any bytes but NUL. */
  target: Bytes;
}

/** Another name for an inode made elsewhere in the spec (path from the tree root, '/'-separated). */
export interface HardlinkSpec {
  type: 'hardlink';
  link: Bytes;
}

export interface DeviceSpec extends Meta {
  type: 'char' | 'block';
  major: number;
  minor: number;
}

export interface SpecialSpec extends Meta {
  type: 'fifo' | 'socket';
}

export type NodeSpec = FileSpec | DirSpec | SymlinkSpec | HardlinkSpec | DeviceSpec | SpecialSpec;
/** A string or Buffer alone is a regular file with that content and default metadata. */
export type EntrySpec = NodeSpec | Bytes;
export type NamedEntrySpec = NodeSpec & { name: Bytes };
export type Entries = Readonly<Record<string, EntrySpec>> | readonly NamedEntrySpec[];
/** The root's entries, or dir(entries, meta) to give the root directory metadata too. */
export type TreeSpec = Entries | DirSpec;

export function file(content: Bytes = '', meta: Meta = {}): FileSpec {
  return { ...meta, type: 'file', content };
}

/** `size` bytes of `pattern` repeated (or seeded random bytes with `{seed}`). */
export function patternFile(size: number, pattern: FilePattern, meta: Meta = {}): FileSpec {
  return { ...meta, type: 'file', size, pattern };
}

/** A sparse file: only the given chunks are data, everything else a real hole. */
export function sparseFile(size: number, data: readonly SparseChunk[], meta: Meta = {}): FileSpec {
  return { ...meta, type: 'file', size, data };
}

export function dir(entries: Entries = {}, meta: Meta = {}): DirSpec {
  return { ...meta, type: 'dir', entries };
}

export type SymlinkMeta = Omit<SymlinkSpec, 'type' | 'target'>;

export function symlink(target: Bytes, meta: SymlinkMeta = {}): SymlinkSpec {
  return { ...meta, type: 'symlink', target };
}

export function hardlink(link: Bytes): HardlinkSpec {
  return { type: 'hardlink', link };
}

export function charDevice(major: number, minor: number, meta: Meta = {}): DeviceSpec {
  return { ...meta, type: 'char', major, minor };
}

export function blockDevice(major: number, minor: number, meta: Meta = {}): DeviceSpec {
  return { ...meta, type: 'block', major, minor };
}

export function fifo(meta: Meta = {}): SpecialSpec {
  return { ...meta, type: 'fifo' };
}

/** A socket inode made with mknod (no listener behind it), as a dead /run/*.sock looks. */
export function socket(meta: Meta = {}): SpecialSpec {
  return { ...meta, type: 'socket' };
}

/** The names of a chain of `depth` nested directories whose names are `nameLength` bytes each. */
export function deepChainNames(depth: number, nameLength: number): string[] {
  return Array.from({ length: depth }, (_, i) => `${String(i).padStart(3, '0')}-`.padEnd(nameLength, 'x'));
}

/**
 * Nested directories named by deepChainNames with `leaf` in the innermost one; with
 * depth * (nameLength + 1) > 4096 the leaf's path is longer than PATH_MAX.
 */
export function deepChain(depth: number, nameLength: number, leaf: Entries, meta: Meta = {}): Record<string, DirSpec> {
  const names = deepChainNames(depth, nameLength);
  let node = dir(leaf, meta);
  for (let i = names.length - 1; i > 0; i--) node = dir({ [names[i]!]: node }, meta);
  return { [names[0]!]: node };
}

/** A spec's entries as [name bytes, node] pairs, shorthand files expanded. */
export function entriesOf(entries: Entries): Array<[Buffer, NodeSpec]> {
  const pairs: Array<[Buffer, EntrySpec]> = Array.isArray(entries)
    ? (entries as readonly NamedEntrySpec[]).map((e) => [toBytes(e.name), e])
    : Object.entries(entries as Record<string, EntrySpec>).map(([name, e]) => [Buffer.from(name, 'utf8'), e]);
  return pairs.map(([name, e]) => [name, typeof e === 'string' || Buffer.isBuffer(e) ? file(e) : e]);
}

export function isDirSpec(spec: TreeSpec): spec is DirSpec {
  const s = spec as Partial<DirSpec>;
  return !Array.isArray(spec) && s.type === 'dir' && typeof s.entries === 'object' && s.entries !== null;
}

export function toBytes(value: Bytes): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

export { createTree, type CreateTreeOptions } from './tree-create.js';
