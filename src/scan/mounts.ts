// Mount points below ROOT whose contents a snapshot must not hold: pseudo filesystems (the kernel's
// live state) and network or cluster filesystems (other machines' data). Read from
// /proc/self/mountinfo, which names each mount's type even for bind and nested mounts.
import fs from 'node:fs';

const SKIPPED_FS_TYPES = new Set([
  'proc', 'sysfs', 'tmpfs', 'devtmpfs', 'devpts', 'cgroup', 'cgroup2', 'pstore', 'securityfs', 'debugfs',
  'tracefs', 'configfs', 'fusectl', 'mqueue', 'hugetlbfs', 'bpf', 'autofs', 'binfmt_misc', 'efivarfs',
  'rpc_pipefs', 'nfsd', 'nsfs', 'ramfs', 'selinuxfs',
  'nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'ceph', 'glusterfs', 'fuse', 'fuseblk', 'afs', 'lustre', 'gfs2', 'ocfs2', '9p', 'sshfs',
]);

export interface MountInfo {
  mountPoint: string;
  fsType: string;
  source: string;
  majorMinor: string;
  root: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const r = right.split(' ');
    out.push({ majorMinor: f[2] ?? '', root: unescape(f[3] ?? ''), mountPoint: unescape(f[4] ?? ''), fsType: r[0] ?? '', source: unescape(r[1] ?? '') });
  }
  return out;
}

export function isSkippedFsType(fsType: string): boolean {
  return SKIPPED_FS_TYPES.has(fsType) || fsType.startsWith('fuse.') || fsType.startsWith('nfs');
}

/**
 * Paths, as seen from ROOT ("/proc"), of the skipped mounts strictly below `root`. Read and returned
 * as latin1 (one char per byte), like every path the walker compares.
 */
export function skippedMountsBelow(root: string, mountinfo = fs.readFileSync('/proc/self/mountinfo', 'latin1')): string[] {
  const base = root === '/' ? '' : Buffer.from(root.replace(/\/+$/, ''), 'utf8').toString('latin1');
  const out: string[] = [];
  for (const m of parseMountInfo(mountinfo)) {
    if (!isSkippedFsType(m.fsType)) continue;
    if (!m.mountPoint.startsWith(`${base}/`)) continue;
    out.push(m.mountPoint.slice(base.length));
  }
  return out;
}
