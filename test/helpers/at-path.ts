// at-path.ts - reach one entry of a tree by its relative path (bytes allowed, any length) for a
// test to mutate it: fn gets the parent directory's fd and the entry's last name, as every *at
// call wants. The parent's mtime is put back afterwards, so a mutation changes only what it means
// to change and a comparison can demand exactly the differences it expects.
import * as sys from '../../src/sys/index.js';
import { openDirPath } from './dir-fd.js';
import { toBytes, type Bytes } from './tree-spec.js';

const C = sys.constants;

export function withEntry<T>(root: string, rel: Bytes, fn: (dirfd: number, name: Buffer) => T): T {
  const bytes = toBytes(rel);
  const cut = bytes.lastIndexOf(0x2f);
  const name = cut < 0 ? bytes : bytes.subarray(cut + 1);
  const rootfd = openDirPath(root);
  try {
    const dirfd = cut < 0 ? rootfd : sys.safeOpenBeneath(rootfd, bytes.subarray(0, cut), C.O_RDONLY | C.O_DIRECTORY);
    try {
      const before = sys.fstat(dirfd);
      try {
        return fn(dirfd, name);
      } finally {
        const after = sys.fstat(dirfd);
        if (after.mtimeNs !== before.mtimeNs) sys.futimens(dirfd, null, before.mtimeNs);
      }
    } finally {
      if (dirfd !== rootfd) sys.close(dirfd);
    }
  } finally {
    sys.close(rootfd);
  }
}

/** Opens the entry itself (O_NOFOLLOW added) for the duration of fn. */
export function withEntryFd<T>(root: string, rel: Bytes, flags: number, fn: (fd: number) => T): T {
  return withEntry(root, rel, (dirfd, name) => {
    const fd = sys.openat(dirfd, name, flags | C.O_NOFOLLOW);
    try {
      return fn(fd);
    } finally {
      sys.close(fd);
    }
  });
}
