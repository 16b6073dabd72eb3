// The repository lock: flock(LOCK_EX) on REPO/lock for a writer's whole run. flock dies with its
// process, so a kill -9 never leaves a stale lock; the file's text (pid, operation, start) only
// serves the "another X is running" message.
import fs from 'node:fs';
import path from 'node:path';
import * as sys from '../sys/index.js';
import { SnapError, errnoCode } from '../model/errors.js';

export interface RepoLock {
  release(): void;
}

export function acquireRepoLock(repoDir: string, operation: string): RepoLock {
  const file = path.join(repoDir, 'lock');
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    sys.flock(fd, sys.constants.LOCK_EX | sys.constants.LOCK_NB);
  } catch (err) {
    const holder = fs.readFileSync(fd, 'utf8').trim();
    fs.closeSync(fd);
    if (errnoCode(err) === 'EAGAIN' || errnoCode(err) === 'EWOULDBLOCK') {
      const m = /^(\S+) (\d+) (\S+)$/.exec(holder);
      const who = m ? `another ${m[1]} is running (pid ${m[2]}, since ${m[3]})` : 'another operation is running';
      throw new SnapError('REPO_LOCKED', `${who}: repository ${repoDir} is locked`);
    }
    throw err;
  }
  fs.ftruncateSync(fd, 0);
  fs.writeSync(fd, `${operation} ${process.pid} ${new Date().toISOString()}\n`, 0);
  return {
    release(): void {
      try {
        fs.ftruncateSync(fd, 0);
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}
