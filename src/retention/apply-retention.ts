// Runs retention on a repository (under its lock): asks the policy for the next point to remove,
// removes its point file (one unlink: works on a full disk), reclaims space, measures, repeats.
import fs from 'node:fs';
import type { Repository } from '../repo/repository.js';
import type { PointRecord } from '../repo/point-record.js';
import { fsyncDir } from '../repo/atomic-write.js';
import { collectGarbage } from './prune.js';
import { nextRemoval, nextRemovalForSpace, type RetentionConfig, type RetentionPoint } from './retention-policy.js';

export interface RetentionHooks {
  removed(point: PointRecord, reason: string): void;
  kept(reason: string): void;
  warning(message: string): void;
}

export interface RetentionResult {
  removed: PointRecord[];
}

function asPolicyPoints(points: PointRecord[]): RetentionPoint[] {
  return points.map((p) => ({ id: p.id, timeMs: Number(BigInt(p.time_ns) / 1000000n) }));
}

export function freeBytes(dir: string): number {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

/** min_free when the config does not set it: the smaller of 5% of the filesystem and 2 GiB. */
export function defaultMinFree(dir: string): number {
  const s = fs.statfsSync(dir);
  return Math.min(Math.floor(s.blocks * s.bsize * 0.05), 2 * 1024 ** 3);
}

async function removePoint(repo: Repository, point: PointRecord, minFree: number, hooks: RetentionHooks): Promise<void> {
  repo.store.delete(`points/${point.id}.json`);
  fsyncDir(repo.store.path('points'));
  await collectGarbage(repo, { minFree, warning: hooks.warning });
}

/**
 * "The size of the snapshotted data" for max_size_ratio: the newest point's data_bytes (holes and
 * extra hard links not counted); points written before that field existed give bytes_scanned.
 */
function snapshottedDataBytes(point: PointRecord): number {
  return point.stats.data_bytes ?? point.stats.bytes_scanned;
}

/** After a snapshot: keep the repository within max_size_ratio x the data, as the seed says. */
export async function applyRetention(repo: Repository, cfg: RetentionConfig, minFree: number, now: Date, hooks: RetentionHooks): Promise<RetentionResult> {
  const removed: PointRecord[] = [];
  for (;;) {
    const { points } = repo.points();
    const newest = points.at(-1);
    if (!newest) break;
    const dataBytes = snapshottedDataBytes(newest);
    const decision = nextRemoval(asPolicyPoints(points), repo.store.totalBytes(), dataBytes, now.getTime(), cfg);
    if (!decision.remove) {
      if (removed.length > 0 || repo.store.totalBytes() > cfg.maxSizeRatio * dataBytes) hooks.kept(decision.reason);
      break;
    }
    const point = points.find((p) => p.id === decision.remove!.id)!;
    await removePoint(repo, point, minFree, hooks);
    removed.push(point);
    hooks.removed(point, decision.reason);
  }
  return { removed };
}

/** Before writing: make room for `neededBytes` free by removing what retention allows. */
export async function makeRoom(repo: Repository, cfg: RetentionConfig, minFree: number, neededBytes: number, now: Date, hooks: RetentionHooks): Promise<RetentionResult> {
  const removed: PointRecord[] = [];
  for (;;) {
    const { points } = repo.points();
    const decision = nextRemovalForSpace(asPolicyPoints(points), freeBytes(repo.dir), neededBytes, now.getTime(), cfg);
    if (!decision.remove) break;
    const point = points.find((p) => p.id === decision.remove!.id)!;
    await removePoint(repo, point, minFree, hooks);
    removed.push(point);
    hooks.removed(point, decision.reason);
  }
  return { removed };
}
