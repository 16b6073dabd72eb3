// One restore point, start to end: checks, lock, the walk, ROOT's own entry, then the point file as
// the very last write. Any failure before that leaves no point (the writer's staged pack is
// dropped; sealed packs are orphans for prune). Prints nothing: progress goes through hooks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as sys from '../sys/index.js';
import { type Entry, EntryType } from '../model/entry.js';
import { BlobKind, idFromHex, idHex } from '../model/blob-id.js';
import { bootRecordOf, captureBootArea, findBootDisk, type BootRecord } from '../boot/index.js';
import { SnapError, errnoCode } from '../model/errors.js';
import { Repository } from '../repo/repository.js';
import { acquireRepoLock } from '../repo/repo-lock.js';
import { applyRetention, defaultMinFree, freeBytes, makeRoom, type RetentionHooks } from '../retention/apply-retention.js';
import type { RetentionConfig } from '../retention/retention-policy.js';
import { RepoWriter } from '../repo/repo-writer.js';
import { decodeTree, encodeTree } from '../repo/tree-codec.js';
import { isoWithOffset, newPointId, type PointRecord } from '../repo/point-record.js';
import { entryFromStat, fsFlagsOfFd, xattrsOfFd } from '../worker/entry-meta.js';
import { RACY_MARGIN_MS } from '../worker/protocol.js';
import { Coordinator, type ScanHooks, type ScanTotals } from './coordinator.js';
import { BUILTIN_EXCLUDES, toLatin1 } from './exclusions.js';
import { skippedMountsBelow } from './mounts.js';

export interface SnapshotOptions {
  root: string;
  repoDir: string;
  excludes: string[];
  dbLocations: string[];
  note: string;
  hooks: ScanHooks;
  now?: () => Date;
  /** Testing only: delay after each file read, to widen race windows. */
  testReadDelayMs?: number;
  /**
   * Testing only: RACY_MARGIN_MS instead (0: only inodes changed after the start are Racy, so a
   * test's tree made just before a snapshot is trusted by the next one).
   */
  testRacyMarginMs?: number;
  testReadSignal?: string;
  threads?: number;
  /** Retention after the point is committed; none when absent (restore's pre-restore point). */
  retention?: RetentionConfig;
  retentionHooks?: RetentionHooks;
  /** Bytes to keep free on the repository's filesystem; null = min(5% of it, 2 GiB). */
  minFree?: number | null;
  waitSeconds?: number;
  /** Told as soon as the point is committed (before retention runs). */
  committed?(point: PointRecord): void;
  /** Boot area: `false` for --no-boot; else the disk to read (--boot-device) or found from ROOT. */
  boot?: false | { bootDevice?: string };
  /** Why the boot area was not saved (no boot disk found, unreadable...). */
  bootSkipped?(reason: string): void;
}

export interface SnapshotResult {
  point: PointRecord;
  totals: ScanTotals;
  pruned: PointRecord[];
}

const noRetentionHooks: RetentionHooks = { removed: () => undefined, kept: () => undefined, warning: () => undefined };

/**
 * Makes sure the run can start without crossing min_free: removes what retention allows when the
 * last run's growth would not fit, and refuses to start when even min_free is not there.
 */
export async function ensureRoom(repo: Repository, opts: SnapshotOptions, minFree: number, now: Date): Promise<PointRecord[]> {
  const expected = repo.points().points.at(-1)?.stats.bytes_added ?? 0;
  let removed: PointRecord[] = [];
  if (freeBytes(repo.dir) < minFree + expected && opts.retention) {
    removed = (await makeRoom(repo, opts.retention, minFree, minFree + expected, now, opts.retentionHooks ?? noRetentionHooks)).removed;
  }
  const free = freeBytes(repo.dir);
  if (free < minFree) {
    throw new SnapError(
      'DISK_FULL',
      `only ${free} bytes free on the filesystem of ${repo.dir}; ${minFree} must stay free (min_free) and no restore point may be removed to make room: nothing was written`,
    );
  }
  return removed;
}

/** The name of the single entry of a point's top tree: ROOT itself, with its own metadata. */
export const ROOT_ENTRY_NAME = Buffer.from('.');

export function checkRoot(root: string): string {
  const abs = path.resolve(root);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch (err) {
    throw new SnapError('ROOT_MISSING', `root ${abs} does not exist (${errnoCode(err) ?? 'error'})`, { path: abs });
  }
  if (!st.isDirectory()) throw new SnapError('ROOT_MISSING', `root ${abs} is not a directory`, { path: abs });
  return abs;
}

/** ROOT's path from ROOT of `p` when `p` lies strictly inside ROOT ("/root/snapshots"), else null. */
export function insideRoot(root: string, p: string): string | null {
  const rel = path.relative(root, p);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  return `/${rel}`;
}

function rootEntry(root: string, subtree: Buffer, racySince: bigint): Entry {
  const C = sys.constants;
  const fd = fs.openSync(root, C.O_RDONLY | C.O_DIRECTORY | C.O_CLOEXEC);
  try {
    const entry = entryFromStat(ROOT_ENTRY_NAME, EntryType.Dir, sys.fstat(fd), racySince);
    entry.xattrs = xattrsOfFd(fd);
    entry.fsFlags = fsFlagsOfFd(fd);
    entry.subtree = subtree;
    return entry;
  } finally {
    sys.close(fd);
  }
}

/**
 * The boot area (boot code, post-MBR gap or BIOS boot partition) of the disk that holds ROOT's
 * /boot, stored as `boot` blobs in the same point as /boot's files. A disk that cannot be found or
 * read is not an error: the point has no boot area and the reason is told.
 */
async function captureBoot(root: string, opts: SnapshotOptions, coordinator: Coordinator): Promise<BootRecord | null> {
  if (opts.boot === false) return null;
  const found = findBootDisk(root, { bootDevice: opts.boot?.bootDevice });
  if (!found.ok) {
    if (opts.boot?.bootDevice) throw new SnapError('USAGE', `--boot-device ${opts.boot.bootDevice}: ${found.reason}`);
    opts.bootSkipped?.(found.reason);
    return null;
  }
  let captured;
  try {
    captured = bootRecordOf(captureBootArea(found.disk));
  } catch (err) {
    if (opts.boot?.bootDevice) throw err; // asked for by name: its failure is the run's
    opts.bootSkipped?.(`cannot read the boot area of ${found.disk.device}: ${(err as Error).message}`);
    return null;
  }
  for (const b of captured.blobs) await coordinator.putRaw(b.data, BlobKind.Boot);
  return captured.record;
}

/** Takes a point under its own lock and writer, then applies retention. */
export async function takeSnapshot(opts: SnapshotOptions): Promise<SnapshotResult> {
  const root = checkRoot(opts.root);
  const repoDir = path.resolve(opts.repoDir);
  const repo = Repository.open(repoDir, { create: true });
  const lock = await acquireRepoLock(repoDir, 'snapshot', opts.waitSeconds);
  let writer: RepoWriter | null = null;
  try {
    repo.store.clearStaging();
    const minFree = opts.minFree ?? defaultMinFree(repoDir);
    const pruned = await ensureRoom(repo, opts, minFree, (opts.now ?? (() => new Date()))());
    writer = new RepoWriter({ repoDir, minFree });
    const result = await scanToPoint(repo, writer, { ...opts, root }, true);
    await writer.close();
    writer = null;
    opts.committed?.(result.point);
    if (opts.retention) {
      const r = await applyRetention(repo, opts.retention, minFree, (opts.now ?? (() => new Date()))(), opts.retentionHooks ?? noRetentionHooks);
      pruned.push(...r.removed);
    }
    return { ...result, pruned };
  } catch (err) {
    await writer?.abort();
    throw err;
  } finally {
    await writer?.close();
    lock.release();
  }
}

/**
 * The walk and the point record, for a caller that holds the lock and owns the writer (restore
 * takes its pre-restore point this way, and a dry run scans with `commit` false).
 */
export async function scanToPoint(repo: Repository, writer: RepoWriter, opts: SnapshotOptions, commit: boolean): Promise<SnapshotResult> {
  const now = opts.now ?? (() => new Date());
  const root = opts.root;
  const { points } = repo.points();
  const repoStat = fs.statSync(repo.dir, { bigint: true });
  const repoInRoot = insideRoot(root, repo.dir);
  const emptyDirs = [...opts.dbLocations.map(toLatin1), ...skippedMountsBelow(root)];
  if (repoInRoot) emptyDirs.push(toLatin1(repoInRoot));
  const patterns = [...BUILTIN_EXCLUDES, ...opts.excludes];
  // The real clock (not opts.now), read before any thread can read the tree: see RACY_MARGIN_MS.
  const racySince = (BigInt(Date.now()) - BigInt(opts.testRacyMarginMs ?? RACY_MARGIN_MS)) * 1_000_000n;

  // The pool is started first, so its threads boot (~0.2 s of module loading each) while the
  // previous root tree is read.
  const coordinator = new Coordinator(
    { root, patterns, emptyDirs, repoDir: repo.dir, repoDev: String(repoStat.dev), repoIno: String(repoStat.ino), chunker: repo.config.chunker, racySinceNs: String(racySince), testReadDelayMs: opts.testReadDelayMs, testReadSignal: opts.testReadSignal },
    writer,
    opts.hooks,
    opts.threads,
  );
  // The newest point of the same ROOT is the one to compare with (a rescue restore's pre-restore
  // point of /mnt/sysimage must not make the next snapshot of / read everything again).
  const prev = points.filter((p) => p.root_path === root).at(-1) ?? points.at(-1);
  let prevRootTree: Buffer | null = null;
  if (prev) {
    try {
      // Read here, not through the writer thread: the scan would wait for that thread to boot
      // and load its index (~0.3 s on the bench repository). A committed point's tree is in a
      // sealed pack, found without loading an index (Repository.readTree).
      const top = decodeTree(await repo.readTree(idFromHex(prev.root)));
      prevRootTree = top[0]?.subtree ?? null;
    } catch (err) {
      await coordinator.close();
      throw err;
    }
  }
  const started = now();
  const contents = await coordinator.scan(prevRootTree);
  const topId = await coordinator.putTree(encodeTree([rootEntry(root, contents, racySince)]));
  const boot = await captureBoot(root, opts, coordinator);
  const t = coordinator.totals;
  const point: PointRecord = {
    format: 1,
    id: newPointId(started),
    time: isoWithOffset(started),
    time_ns: String(BigInt(started.getTime()) * 1000000n),
    note: opts.note,
    root: idHex(topId),
    root_path: root,
    hostname: os.hostname(),
    excludes: patterns,
    db_locations: opts.dbLocations,
    stats: {
      files: t.files,
      dirs: t.dirs,
      bytes_scanned: t.bytesScanned,
      data_bytes: Math.round(t.dataBytes),
      bytes_added: t.bytesAdded,
      files_read: t.filesRead,
      blobs_added: t.blobsAdded,
      changed_while_read: t.changedWhileRead,
    },
    boot,
  };
  if (commit) await writer.commit(point);
  return { point, totals: t, pruned: [] };
}
