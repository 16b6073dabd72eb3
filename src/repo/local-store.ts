// The storage seam's local backend: immutable objects named by key ("packs/ab/<id>.pack"), put
// crash-safely, read whole or by range, listed and deleted. Nothing above this file knows that the
// repository is a directory, so an object-store backend can replace it (DESIGN: storage seam).
import fs from 'node:fs';
import path from 'node:path';
import { atomicWrite, commitTempFile, tempName } from './atomic-write.js';
import type { OpenFiles } from './open-files.js';

/** getRanges reads across gaps up to this size rather than issue another read. */
const RANGE_GAP = 64 * 1024;
/** ... but never more than this at once. */
const RANGE_SPAN_MAX = 4 * 1024 * 1024;

/** `length` bytes at `offset`, fewer if the file ends first. */
function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, offset + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

export class LocalStore {
  readonly tmpDir: string;

  constructor(readonly dir: string) {
    this.tmpDir = path.join(dir, 'tmp');
  }

  path(key: string): string {
    return path.join(this.dir, key);
  }

  /** A fresh file name in the staging area, for writers that stream (packs). */
  stagingPath(suffix = ''): string {
    return tempName(this.tmpDir, suffix);
  }

  /** Commits a staged, fsynced file under `key`; a content-named key that exists is left as is. */
  putStaged(staged: string, key: string): void {
    if (fs.existsSync(this.path(key))) {
      fs.rmSync(staged, { force: true });
      return;
    }
    commitTempFile(staged, this.path(key));
  }

  put(key: string, data: Uint8Array | string): void {
    const target = this.path(key);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    atomicWrite(target, data, this.tmpDir);
  }

  get(key: string): Buffer {
    return fs.readFileSync(this.path(key));
  }

  getRange(key: string, offset: number, length: number): Buffer {
    const fd = fs.openSync(this.path(key), 'r');
    try {
      return readAt(fd, offset, length);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Several ranges of one object, opened once; ranges at most RANGE_GAP apart are read with one
   * pread (a scan batch's trees lie side by side in a tree pack: one open and read instead of one
   * each). The buffers come back in the order asked; a range past the end comes back short.
   * With `open`, the object's descriptor is taken from (and left in) that cache: only for objects
   * that never change (sealed packs).
   */
  getRanges(key: string, ranges: readonly { offset: number; length: number }[], open?: OpenFiles): Buffer[] {
    const out = new Array<Buffer>(ranges.length);
    const order = ranges.map((_, i) => i).sort((a, b) => ranges[a]!.offset - ranges[b]!.offset);
    const fd = open ? open.fd(this.path(key)) : fs.openSync(this.path(key), 'r');
    try {
      for (let i = 0; i < order.length; ) {
        const start = ranges[order[i]!]!.offset;
        let end = start + ranges[order[i]!]!.length;
        let j = i + 1;
        for (; j < order.length; j++) {
          const r = ranges[order[j]!]!;
          const next = Math.max(end, r.offset + r.length);
          if (r.offset - end > RANGE_GAP || next - start > RANGE_SPAN_MAX) break;
          end = next;
        }
        const span = readAt(fd, start, end - start);
        for (; i < j; i++) {
          const r = ranges[order[i]!]!;
          out[order[i]!] = span.subarray(r.offset - start, r.offset - start + r.length);
        }
      }
      return out;
    } finally {
      if (!open) fs.closeSync(fd);
    }
  }

  exists(key: string): boolean {
    return fs.existsSync(this.path(key));
  }

  size(key: string): number {
    return fs.statSync(this.path(key)).size;
  }

  /** Keys below `prefix` (a folder key such as "points" or "packs"), recursively, sorted. */
  list(prefix: string): string[] {
    const out: string[] = [];
    const walk = (rel: string): void => {
      let names: fs.Dirent[];
      try {
        names = fs.readdirSync(this.path(rel), { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const d of names) {
        const key = `${rel}/${d.name}`;
        if (d.isDirectory()) walk(key);
        else if (d.isFile() && !d.name.endsWith('.tmp')) out.push(key);
      }
    };
    walk(prefix);
    return out.sort();
  }

  delete(key: string): void {
    fs.rmSync(this.path(key), { force: true });
  }

  /** Removes what a killed writer left in the staging area. Call only while holding the lock. */
  clearStaging(): void {
    fs.mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    for (const name of fs.readdirSync(this.tmpDir)) fs.rmSync(path.join(this.tmpDir, name), { force: true, recursive: true });
  }

  /** Total bytes of all objects (for retention and the seed's "Current backup dir size"). */
  totalBytes(): number {
    let total = 0;
    for (const top of ['packs', 'index', 'points']) for (const key of this.list(top)) total += this.size(key);
    return total;
  }
}
