// nasty-tree-spec.ts - one tree holding every hazard a snapshot/restore of a Linux server meets at
// once: all inode types, raw-byte and 255-byte names, setuid/setgid/sticky, foreign and huge ids,
// ns mtimes before 1970 and after 2038, xattrs of every namespace, v2 and v3 file capabilities,
// access and default ACLs, sparse files, hardlink groups (also of a symlink and a device),
// chattr flags, and optionally a path longer than PATH_MAX. Round-trip tests build it, snapshot,
// restore and compare; NASTY names the paths their mutations and assertions aim at.
import {
  blockDevice,
  charDevice,
  deepChain,
  deepChainNames,
  dir,
  fifo,
  file,
  hardlink,
  patternFile,
  socket,
  sparseFile,
  symlink,
  DEFAULT_MTIME_NS,
  type DirSpec,
  type EntrySpec,
} from './tree-spec.js';
import { aclModeBits, capabilityXattr, CAP } from './xattr-blobs.js';

export interface NastyTreeOptions {
  /** Include the chain of directories whose leaf path is longer than PATH_MAX (default true). */
  deep?: boolean;
}

const DEEP_DEPTH = 18;
const DEEP_NAME_LENGTH = 250; // 18 * 251 = 4518 bytes > PATH_MAX (4096)
const INVALID_UTF8 = Buffer.from([0x66, 0xff]);

/** Paths (from the tree root) of the entries tests aim at. */
export const NASTY = {
  passwd: 'etc/passwd',
  etcDir: 'etc',
  relSymlink: 'etc/localtime',
  absSymlink: 'etc/mtab',
  capV2: 'usr/bin/ping',
  capV3: 'usr/bin/newuidmap',
  setuid: 'usr/bin/su',
  setgid: 'usr/bin/wall',
  hardlinkFirst: 'usr/bin/python3.11',
  hardlinkSecond: 'usr/bin/python3',
  hardlinkThird: 'opt/python/bin/python',
  aliceNotes: 'home/alice/notes.txt',
  aclDir: 'srv/shared',
  aclFile: 'srv/shared/report.txt',
  sparse: 'var/lib/sparse.img',
  holeOnly: 'var/lib/hole-only.img',
  emptyDir: 'var/empty-dir',
  charDevice: 'dev/null',
  blockDevice: 'dev/loop7',
  fifo: 'run/initctl',
  socket: 'run/daemon.sock',
  immutable: 'flags/immutable.conf',
  appendOnly: 'flags/append.log',
  immutableDir: 'flags/frozen',
  /** 'names/f\xff' as raw bytes: a name that is not valid UTF-8. */
  invalidUtf8: Buffer.concat([Buffer.from('names/'), INVALID_UTF8]),
  /** The deep leaf file (only with deep: true). */
  deepLeaf: ['deep', ...deepChainNames(DEEP_DEPTH, DEEP_NAME_LENGTH), 'leaf'].join('/'),
} as const;

export const NASTY_SPARSE_SIZE = 8 * 1024 * 1024 + 123;

/** Distinct, odd-nanosecond times so a restore that shuffles or rounds them is caught. */
function at(n: number): bigint {
  return DEFAULT_MTIME_NS + BigInt(n) * 1_000_000_007n;
}

const SHARED_ACL = 'u::rwx,u:1000:rwx,g::r-x,g:100:rwx,m::rwx,o::r-x';

export function makeNastyTreeSpec(options: NastyTreeOptions = {}): DirSpec {
  const entries: Record<string, EntrySpec> = {
    etc: dir(
      {
        passwd: file('root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n', {
          mtimeNs: at(1),
        }),
        shadow: file('root:*:19000:0:99999:7:::\n', { mode: 0o640, gid: 42, mtimeNs: at(2) }),
        localtime: symlink('../usr/share/zoneinfo/Etc/UTC', { mtimeNs: at(3), xattrs: { 'trusted.link': 'tz' } }),
        mtab: symlink('/proc/self/mounts', {
          uid: 1000,
          gid: 1000,
          mtimeNs: at(4),
          xattrs: { 'security.selinux': 'system_u:object_r:etc_t:s0\0' },
        }),
      },
      { mtimeNs: at(5) },
    ),
    usr: dir({
      bin: dir({
        ping: file('\x7fELF ping', {
          mode: 0o755,
          mtimeNs: at(6),
          xattrs: { 'security.capability': capabilityXattr({ permitted: [CAP.NET_RAW], effective: true }) },
        }),
        newuidmap: file('\x7fELF newuidmap', {
          mode: 0o755,
          mtimeNs: at(7),
          xattrs: { 'security.capability': capabilityXattr({ permitted: [CAP.SETUID], effective: true, rootid: 100000 }) },
        }),
        bpftool: file('\x7fELF bpftool', {
          mode: 0o750,
          gid: 4_000_000_000,
          xattrs: {
            'security.capability': capabilityXattr({
              permitted: [CAP.BPF, CAP.CHECKPOINT_RESTORE, CAP.SYS_ADMIN], // bits in both 32-bit words
              inheritable: [CAP.NET_ADMIN],
            }),
          },
        }),
        su: file('\x7fELF su', { mode: 0o4755, mtimeNs: at(8) }),
        wall: file('\x7fELF wall', { mode: 0o2755, gid: 5, mtimeNs: at(9) }),
        everything: file('all special bits', { mode: 0o7751 }),
        'python3.11': patternFile(
          100_003,
          { seed: 7 },
          { mode: 0o755, mtimeNs: at(10), xattrs: { 'user.mime_type': 'application/x-executable' } },
        ),
        python3: hardlink('usr/bin/python3.11'),
      }),
    }),
    opt: dir({ python: dir({ bin: dir({ python: hardlink('usr/bin/python3.11') }) }) }),
    home: dir({
      alice: dir(
        {
          'notes.txt': file('remember the milk\n', {
            uid: 1000,
            gid: 1000,
            mode: 0o600,
            mtimeNs: at(11),
            xattrs: {
              'user.comment': 'hello',
              'user.binary': Buffer.from([0x00, 0x01, 0xff, 0xfe, 0x00]),
              'user.empty': '',
              'user.big': Buffer.alloc(2000, 0x5a),
              'trusted.overlay.opaque': 'y',
              'security.selinux': 'unconfined_u:object_r:user_home_t:s0\0',
            },
          }),
        },
        { uid: 1000, gid: 1000, mode: 0o700, mtimeNs: at(12) },
      ),
      nobody: dir({ 'owned-by-nobody': file('x', { uid: 65534, gid: 65534 }) }, { uid: 65534, gid: 65534 }),
    }),
    srv: dir({
      shared: dir(
        {
          'report.txt': file('quarterly\n', {
            mode: 0o664,
            gid: 100,
            acl: 'u::rw-,u:1000:rw-,g::r--,m::rw-,o::r--',
            mtimeNs: at(13),
          }),
          'masked.txt': file('masked\n', { mode: 0o640, acl: 'u::rw-,u:1001:rwx,g::r-x,m::r--,o::---' }),
        },
        { mode: 0o2000 | aclModeBits(SHARED_ACL), gid: 100, acl: SHARED_ACL, defaultAcl: SHARED_ACL, mtimeNs: at(14) },
      ),
    }),
    var: dir({
      lib: dir({
        'sparse.img': sparseFile(
          NASTY_SPARSE_SIZE,
          [
            { offset: 0, bytes: 'HEAD' },
            { offset: 1024 * 1024, bytes: Buffer.alloc(4096, 0xa5) },
            { offset: 5 * 1024 * 1024 + 100, bytes: 'x'.repeat(8000) }, // straddles block edges
            { offset: NASTY_SPARSE_SIZE - 10, bytes: 'TAIL_BYTES' },
          ],
          { mtimeNs: at(15) },
        ),
        'hole-only.img': sparseFile(3 * 1024 * 1024, [], { mtimeNs: at(16) }),
        'random.bin': patternFile(3 * 1024 * 1024 + 17, { seed: 42 }),
      }),
      'empty-file': file(''),
      'empty-dir': dir({}, { mtimeNs: at(17) }),
      'before-1970': file('old', { mtimeNs: -123_456_789_012_345_678n }),
      'after-2038': file('future', { mtimeNs: 4_102_444_800_987_654_321n }),
      'epoch': file('zero', { mtimeNs: 0n }),
    }),
    tmp: dir({}, { mode: 0o1777 }),
    dev: dir({
      null: charDevice(1, 3, { mode: 0o666, mtimeNs: at(18), xattrs: { 'trusted.dev': 'null' } }),
      loop7: blockDevice(7, 7, { mode: 0o660, gid: 6, mtimeNs: at(19) }),
      // Past the 8-bit major/minor of the old dev_t, yet what xfs can keep: it refuses (EINVAL)
      // a major above 511 or a minor above 2^18-1 (xfs_vn_mknod, sysv_valid_dev).
      'big-numbers': blockDevice(511, 262143, { mode: 0o600 }),
      'null-again': hardlink('dev/null'),
    }),
    run: dir({
      initctl: fifo({ mode: 0o600, mtimeNs: at(20) }),
      'daemon.sock': socket({ mode: 0o777, uid: 1000 }),
    }),
    links: dir({
      dangling: symlink('does/not/exist'),
      'binary-target': symlink(Buffer.from([0x74, 0xff, 0xfe, 0x2f, 0x61])),
      // 1023 bytes: the most xfs takes (XFS_SYMLINK_MAXLEN - 1), and far past ext4's
      // 60-byte in-inode "fast" symlinks, so the target sits in a block of its own there.
      long: symlink('a/'.repeat(510) + 'end'),
      'localtime-again': hardlink('etc/localtime'),
    }),
    names: dir([
      { name: INVALID_UTF8, ...file('invalid utf-8 name', { mtimeNs: at(21) }) },
      { name: Buffer.from([0xc3, 0x28]), ...file('truncated two-byte sequence') },
      { name: Buffer.alloc(255, 0xfe), ...file('255 bytes, none valid') },
      { name: 'n'.repeat(255), ...file('255 ascii bytes') },
      { name: 'é'.repeat(127) + 'x', ...dir({ inside: file('255 bytes of utf-8 name above') }) },
      { name: 'new\nline', ...file('') },
      { name: 'tab\there\r', ...file('') },
      { name: 'back\\slash', ...file('') },
      { name: ' leading and trailing ', ...file('') },
      { name: '-rf', ...file('') },
      { name: '*?[glob]', ...file('') },
      { name: '😀 emoji', ...file('') },
      { name: 'Case', ...file('upper') },
      { name: 'case', ...file('lower') },
      { name: '.hidden', ...file('') },
      { name: '...', ...file('three dots') },
    ]),
    flags: dir({
      'immutable.conf': file('frozen=1\n', { mtimeNs: at(22), flags: ['immutable'] }),
      'append.log': file('line 1\n', { flags: ['append'] }),
      'nodump-noatime': file('skip me\n', { flags: ['nodump', 'noatime'] }),
      frozen: dir({ inside: file('in a frozen dir') }, { flags: ['immutable'], mtimeNs: at(23) }),
    }),
  };
  if (options.deep !== false) {
    const leaf = { leaf: file('past PATH_MAX\n', { mtimeNs: at(24), xattrs: { 'user.deep': 'yes' } }) };
    entries.deep = dir({ ...deepChain(DEEP_DEPTH, DEEP_NAME_LENGTH, leaf), 'leaf-hardlink': hardlink(NASTY.deepLeaf) });
  }
  return dir(entries, { mode: 0o755, mtimeNs: at(0) });
}
