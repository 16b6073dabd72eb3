// inode-flags.ts - chattr flags (FS_IOC_GETFLAGS) as the helpers read them: 0 where a filesystem
// has no such ioctl, and the lsattr letters of the four a restore must keep, for messages.
import * as sys from '../../src/sys/index.js';

const C = sys.constants;

/** The flags a restore must bring back; others (FS_EXTENT_FL, FS_NOCOW_FL…) are the fs's own. */
export const RESTORABLE_FLAGS = C.FS_IMMUTABLE_FL | C.FS_APPEND_FL | C.FS_NODUMP_FL | C.FS_NOATIME_FL;
export const PROTECTING_FLAGS = C.FS_IMMUTABLE_FL | C.FS_APPEND_FL;

/** Errors meaning "this filesystem has no inode flags" (tmpfs before 6.0, overlay, proc…). */
export function isNoFlagsError(error: unknown): boolean {
  return sys.isSysError(error) && ['ENOTTY', 'EOPNOTSUPP', 'ENOTSUP', 'EINVAL'].includes(error.code);
}

/** Flags of an fd open on a regular file or directory, 0 where the filesystem has none. */
export function readFlags(fd: number): number {
  try {
    return sys.getFlags(fd);
  } catch (error) {
    if (isNoFlagsError(error)) return 0;
    throw error;
  }
}

/** 'ia (0x30)': lsattr letters of the restorable flags, then all bits in hex. */
export function formatFlags(flags: number): string {
  const letters: Array<[number, string]> = [
    [C.FS_IMMUTABLE_FL, 'i'],
    [C.FS_APPEND_FL, 'a'],
    [C.FS_NODUMP_FL, 'd'],
    [C.FS_NOATIME_FL, 'A'],
  ];
  const known = letters
    .filter(([bit]) => (flags & bit) !== 0)
    .map(([, letter]) => letter)
    .join('');
  return `${known || '-'} (0x${flags.toString(16)})`;
}
