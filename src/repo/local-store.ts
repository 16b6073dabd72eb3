// The storage seam's local backend: immutable objects named by key ("packs/ab/<id>.pack"), put
// crash-safely, read whole or by range, listed and deleted. Nothing above this file knows that the
// repository is a directory, so an object-store backend can replace it (DESIGN: storage seam).
import fs from 'node:fs';
import path from 'node:path';
import { atomicWrite, commitTempFile, tempName } from './atomic-write.js';

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
      const buf = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const n = fs.readSync(fd, buf, done, length - done, offset + done);
        if (n === 0) break;
        done += n;
      }
      return done === length ? buf : buf.subarray(0, done);
    } finally {
      fs.closeSync(fd);
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
