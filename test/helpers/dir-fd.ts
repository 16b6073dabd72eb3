// dir-fd.ts - the one place helpers open a directory by a whole path (a temp dir, a mount point).
// sys.openat takes single names only; below this fd everything goes through *at calls.
import fs from 'node:fs';
import path from 'node:path';

/** An fd (O_RDONLY|O_DIRECTORY, close-on-exec as libuv always sets) for an existing directory. */
export function openDirPath(dirPath: string): number {
  return fs.openSync(dirPath, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
}

/** The parent directory's fd and the last component, so the entry itself is reached by *at calls. */
export function splitRoot(dirPath: string): { parent: string; name: string } {
  const abs = path.resolve(dirPath);
  if (abs === '/') throw new Error('a tree root must not be / itself');
  return { parent: path.dirname(abs), name: path.basename(abs) };
}
