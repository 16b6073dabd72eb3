// The repository lock: flock(LOCK_EX) on REPO/lock for a writer's whole run. flock dies with its
// process, so a kill -9 never leaves a stale lock; the file's text (pid, operation, start) only
// serves the "another X is running" message.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import * as sys from '../sys/index.js';
import { SnapError, errnoCode } from '../model/errors.js';

export interface RepoLock {
  release(): void;
}

/**
 * Takes the lock, waiting up to `waitSeconds` for another holder to finish. The lock file's text
 * only names the holder for the message; the flock itself is what excludes.
 */
export async function acquireRepoLock(repoDir: string, operation: string, waitSeconds = 0): Promise<RepoLock> {
  const file = path.join(repoDir, 'lock');
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    try {
      sys.flock(fd, sys.constants.LOCK_EX | sys.constants.LOCK_NB);
      break;
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') {
        fs.closeSync(fd);
        throw err;
      }
      if (Date.now() >= deadline) {
        const holder = fs.readFileSync(file, 'utf8').trim();
        fs.closeSync(fd);
        const m = /^(\S+) (\d+) (\S+)$/.exec(holder);
        const who = m ? `another ${m[1]} is running (pid ${m[2]}, since ${m[3]})` : 'another operation is running';
        throw new SnapError('REPO_LOCKED', `${who}; repository ${repoDir} is locked${waitSeconds > 0 ? ` (waited ${waitSeconds} s)` : ' (use --wait SECONDS to wait for it)'}`);
      }
      await sleep(100);
    }
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
