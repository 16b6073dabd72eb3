// system_snapshot --check [--read-data]: the integrity report, exit 1 when anything is wrong.
import { Repository } from '../repo/repository.js';
import { acquireRepoLock } from '../repo/repo-lock.js';
import { checkRepository } from '../repo/check-repo.js';

export async function checkMain(repoDir: string, readData: boolean, waitSeconds: number, json: boolean): Promise<number> {
  const repo = Repository.open(repoDir, { create: false });
  // Under the lock: a snapshot writing meanwhile would show as orphan packs.
  const lock = await acquireRepoLock(repoDir, 'check', waitSeconds);
  try {
    const r = await checkRepository(repo, readData);
    if (json) {
      process.stdout.write(`${JSON.stringify(r)}\n`);
    } else {
      for (const p of r.problems) process.stdout.write(`damaged: ${p}\n`);
      for (const a of r.affected) process.stdout.write(`affected: ${a}\n`);
      const what = `${r.packs} packs, ${r.blobs} blobs, ${r.points} restore points${readData ? ', all data read' : ''}`;
      process.stdout.write(r.problems.length === 0 && r.affected.length === 0 ? `check: ${what}: no problems found\n` : `check: ${what}: ${r.problems.length} problems, ${r.affected.length} affected paths\n`);
    }
    return r.problems.length === 0 && r.affected.length === 0 ? 0 : 1;
  } finally {
    lock.release();
  }
}
