// Crash-safe file writes: temp file, fsync, rename, fsync the directory. Every repository file that
// is not a pack goes through atomicWrite(); packs use the same steps in PackWriter.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function tempName(dir: string, suffix = ''): string {
  return path.join(dir, `.${randomBytes(8).toString('hex')}${suffix}.tmp`);
}

/** Writes `data` to `target` so that a crash leaves either the old state or the whole new file. */
export function atomicWrite(target: string, data: Uint8Array | string, tmpDir = path.dirname(target)): void {
  const tmp = tempName(tmpDir);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(path.dirname(target));
}

/** Moves an already fsynced temp file into place (put-if-absent for content-named objects). */
export function commitTempFile(tmp: string, target: string): void {
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
  fs.renameSync(tmp, target);
  fsyncDir(path.dirname(target));
}
