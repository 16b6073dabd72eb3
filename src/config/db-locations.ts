// /cluster/database_locations: one absolute directory per line as seen from ROOT, `#` comments.
// These directories have their own backup tool: never snapshotted, never touched by restore.
import fs from 'node:fs';
import path from 'node:path';
import { SnapError, errnoCode } from '../model/errors.js';

export function parseDbLocations(text: string, file: string): string[] {
  const out: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    if (!line.startsWith('/')) {
      throw new SnapError('CONFIG', `${file} line ${i + 1}: database location must be an absolute path, got '${line}'`);
    }
    const norm = path.posix.normalize(line).replace(/\/+$/, '') || '/';
    if (norm === '/') throw new SnapError('CONFIG', `${file} line ${i + 1}: '/' cannot be a database location`);
    out.push(norm);
  });
  return out;
}

/** A missing file means no database locations, unless it was named explicitly. */
export function loadDbLocations(file: string, explicit: boolean): string[] {
  try {
    return parseDbLocations(fs.readFileSync(file, 'utf8'), file);
  } catch (err) {
    if (!explicit && errnoCode(err) === 'ENOENT') return [];
    if (err instanceof SnapError) throw err;
    throw new SnapError('CONFIG', `cannot read database locations file ${file}: ${(err as Error).message}`, { path: file });
  }
}
