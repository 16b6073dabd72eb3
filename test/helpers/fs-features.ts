// fs-features.ts - asks a directory's filesystem, by trying, whether it keeps everything the nasty
// tree needs (user/trusted/security xattrs, POSIX ACLs, chattr immutable, device nodes). Tests use
// the answer to fall back to a loop-mounted ext4 instead of failing on, say, a tmpfs /tmp.
import * as sys from '../../src/sys/index.js';
import { openDirPath } from './dir-fd.js';
import { aclXattr } from './xattr-blobs.js';

const C = sys.constants;
const PROBE = '.fs-feature-probe';

/** The features `dir`'s filesystem lacks (empty when it has them all). Leaves nothing behind. */
export function missingFeatures(dir: string): string[] {
  const missing: string[] = [];
  const dirfd = openDirPath(dir);
  try {
    const fd = sys.openat(dirfd, PROBE, C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o644);
    try {
      const attempts: Array<[string, () => void]> = [
        ['user xattrs', () => sys.fsetxattr(fd, 'user.probe', Buffer.from('1'))],
        ['trusted xattrs', () => sys.fsetxattr(fd, 'trusted.probe', Buffer.from('1'))],
        ['security xattrs', () => sys.fsetxattr(fd, 'security.probe', Buffer.from('1'))],
        ['POSIX ACLs', () => sys.fsetxattr(fd, 'system.posix_acl_access', aclXattr('u::rw-,u:1000:r--,g::r--,o::r--'))],
        ['chattr flags', () => {
          sys.setFlags(fd, (sys.getFlags(fd) | C.FS_IMMUTABLE_FL) >>> 0);
          sys.setFlags(fd, (sys.getFlags(fd) & ~C.FS_IMMUTABLE_FL) >>> 0);
        }],
      ];
      for (const [feature, attempt] of attempts) {
        try {
          attempt();
        } catch {
          missing.push(feature);
        }
      }
    } finally {
      sys.close(fd);
      sys.unlinkat(dirfd, PROBE);
    }
    try {
      sys.mknodat(dirfd, PROBE, C.S_IFCHR | 0o600, 1, 3);
      sys.unlinkat(dirfd, PROBE);
    } catch {
      missing.push('device nodes');
    }
  } finally {
    sys.close(dirfd);
  }
  return missing;
}
