// Read-only file descriptors kept open across reads for one bounded piece of work (a scan batch),
// then closed together. Only for objects that never change once written (sealed packs): a cached
// descriptor of a replaced file would read the old one. A no-change snapshot of the bench tree
// opened a tree pack ~5,900 times for 1,600 batches (one open per read-ahead window); each open
// walks the repository path again.
import fs from 'node:fs';

/** Descriptors kept at once; the oldest is closed to make room. */
const MAX_OPEN = 16;

export class OpenFiles {
  private readonly fds = new Map<string, number>();

  /** A descriptor for `file` (opened read-only on first use). */
  fd(file: string): number {
    const known = this.fds.get(file);
    if (known !== undefined) return known;
    const fd = fs.openSync(file, 'r');
    if (this.fds.size >= MAX_OPEN) {
      const [oldest, oldFd] = this.fds.entries().next().value!;
      this.fds.delete(oldest);
      fs.closeSync(oldFd);
    }
    this.fds.set(file, fd);
    return fd;
  }

  /** How many descriptors are open (for tests). */
  get size(): number {
    return this.fds.size;
  }

  /** Closes every descriptor; the object may be used again afterwards. */
  close(): void {
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
  }
}
