// One restore, start to end, under the repository lock: a pre-restore point of the current state
// (so the admin can roll forward), then plan = diff(that point, the target point) and apply.
// A dry run scans the live tree without storing anything and prints the plan instead.
import path from 'node:path';
import * as sys from '../sys/index.js';
import { idFromHex } from '../model/blob-id.js';
import { applyBootPlan, describeBootPlan, findBootDisk, NO_BOOT, planBootRestore, type BootPlan, type BootRecord } from '../boot/index.js';
import { SnapError } from '../model/errors.js';
import { Repository } from '../repo/repository.js';
import { acquireRepoLock } from '../repo/repo-lock.js';
import { RepoWriter } from '../repo/repo-writer.js';
import { decodeTree } from '../repo/tree-codec.js';
import type { PointRecord } from '../repo/point-record.js';
import { BUILTIN_EXCLUDES, ExclusionRules, toLatin1 } from '../scan/exclusions.js';
import { skippedMountsBelow } from '../scan/mounts.js';
import { checkRoot, ensureRoom, insideRoot, scanToPoint } from '../scan/take-snapshot.js';
import { defaultMinFree } from '../retention/apply-retention.js';
import type { ScanHooks } from '../scan/coordinator.js';
import { PlanApplier, openRoot, type ApplyStats } from './apply-plan.js';
import { planRestore } from './plan-restore.js';
import { countOp, describeOp, type PlanOp, type PlanSummary } from './plan-types.js';
import { ContentPrefetch } from './content-prefetch.js';
import { readAhead } from './read-ahead.js';

/**
 * Plan steps made ahead of the one being applied (each holds its entry: ~1 KB), so that the
 * content of the next files can be asked for while this one is written.
 */
const PLAN_READ_AHEAD = 1024;

export interface RestoreOptions {
  root: string;
  repoDir: string;
  target: PointRecord;
  /** The current configuration's exclusions and database locations. */
  excludes: string[];
  dbLocations: string[];
  paths: Buffer[];
  dryRun: boolean;
  minFree?: number | null;
  waitSeconds?: number;
  /** Boot area: `false` for --no-boot; else the disk (--boot-device) or the one found for ROOT. */
  boot?: false | { bootDevice?: string };
  /** Testing only: the pre-restore point's SnapshotOptions.testRacyMarginMs. */
  testRacyMarginMs?: number;
  hooks: ScanHooks & { op?(op: PlanOp, line: string | null): void; boot?(line: string): void };
}

export interface RestoreResult {
  summary: PlanSummary;
  boot: BootPlan | null;
  preRestore: PointRecord | null;
  applied: ApplyStats | null;
}

/** What a restore must leave alone: the target point's exclusions and the current ones. */
export function restoreRules(root: string, repoDir: string, target: PointRecord, excludes: string[], dbLocations: string[]): ExclusionRules {
  const patterns = [...new Set([...BUILTIN_EXCLUDES, ...target.excludes, ...excludes])];
  const emptyDirs = [...target.db_locations, ...dbLocations].map(toLatin1);
  emptyDirs.push(...skippedMountsBelow(root));
  const repoInRoot = insideRoot(root, repoDir);
  if (repoInRoot) emptyDirs.push(toLatin1(repoInRoot));
  return new ExclusionRules(patterns, emptyDirs);
}

/** A full restore also plans the boot area; a --path restore never touches it. */
function planBoot(root: string, opts: RestoreOptions): BootPlan | null {
  if (opts.paths.length > 0) return null;
  const now = opts.boot === false ? NO_BOOT : findBootDisk(root, { bootDevice: opts.boot?.bootDevice });
  const plan = planBootRestore(opts.target.boot as BootRecord | null, now);
  opts.hooks.boot?.(describeBootPlan(plan));
  return plan;
}

export async function restorePoint(opts: RestoreOptions): Promise<RestoreResult> {
  const root = checkRoot(opts.root);
  const repoDir = path.resolve(opts.repoDir);
  const repo = Repository.open(repoDir, { create: false });
  const lock = await acquireRepoLock(repoDir, 'restore', opts.waitSeconds);
  const minFree = opts.minFree ?? defaultMinFree(repoDir);
  let writer: RepoWriter | null = null;
  try {
    if (!opts.dryRun) {
      repo.store.clearStaging();
      await ensureRoom(repo, { root, repoDir, excludes: opts.excludes, dbLocations: opts.dbLocations, note: 'pre-restore', hooks: opts.hooks }, minFree, new Date());
    }
    const w = new RepoWriter({ repoDir, dryRun: opts.dryRun, minFree, readsContent: true });
    writer = w;
    const pre = await scanToPoint(repo, w, { root, repoDir, excludes: opts.excludes, dbLocations: opts.dbLocations, note: 'pre-restore', hooks: opts.hooks, testRacyMarginMs: opts.testRacyMarginMs }, !opts.dryRun);
    const topOf = async (p: PointRecord) => {
      const top = decodeTree(await w.get(idFromHex(p.root)));
      if (!top[0]?.subtree) throw new SnapError('REPO_CORRUPT', `point ${p.id} has no root entry`);
      return top[0];
    };
    const plan = planRestore({
      source: { tree: async (id) => decodeTree(await w.get(id)) },
      liveRoot: await topOf(pre.point),
      targetRoot: await topOf(opts.target),
      rules: restoreRules(root, repoDir, opts.target, opts.excludes, opts.dbLocations),
      paths: opts.paths,
    });
    const summary: PlanSummary = { added: 0, changed: 0, deleted: 0 };
    if (opts.dryRun) {
      for await (const op of plan) {
        countOp(summary, op);
        opts.hooks.op?.(op, describeOp(op));
      }
      return { summary, boot: planBoot(root, opts), preRestore: null, applied: null };
    }
    const rootFd = openRoot(root);
    const content = new ContentPrefetch(w);
    const applier = new PlanApplier(rootFd, content, opts.hooks);
    try {
      for await (const op of readAhead(plan, PLAN_READ_AHEAD, (op) => content.want(op))) {
        await applier.apply(op);
        countOp(summary, op);
        opts.hooks.op?.(op, describeOp(op));
      }
      // On disk before the boot code that loads them is written, and before the admin reboots.
      applier.syncWritten();
    } finally {
      applier.close();
      sys.close(rootFd);
    }
    // The boot area after the files: GRUB's core.img must match the /boot/grub just restored.
    const boot = planBoot(root, opts);
    if (boot?.action === 'write') await applyBootPlan(boot, (hex) => w.get(idFromHex(hex)));
    return { summary, boot, preRestore: pre.point, applied: applier.stats };
  } catch (err) {
    await writer?.abort();
    throw err;
  } finally {
    await writer?.close();
    lock.release();
  }
}
