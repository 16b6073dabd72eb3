// Per-worker state built once from workerData: the ROOT fd every path is opened beneath, the
import fs from 'node:fs';
// exclusion rules, the repository's identity and the chunker. Holds no per-task state.
import { setTimeout as sleep } from 'node:timers/promises';
import * as sys from '../sys/index.js';
import { errnoCode } from '../model/errors.js';
import { ExclusionRules } from '../scan/exclusions.js';
import { Chunker } from './chunker.js';
import { ReadSlabs } from './read-slabs.js';
import { slotsHaveIdentity } from './entry-meta.js';
import { Repository } from '../repo/repository.js';
import type { BlobReader } from '../repo/blob-reader.js';
import type { OpenFiles } from '../repo/open-files.js';
import type { ScanWorkerInit } from './protocol.js';

const C = sys.constants;
/** O_NONBLOCK: if a FIFO was swapped in after the listing, open must not hang the walk. */
const READ_FLAGS = C.O_RDONLY | C.O_NOFOLLOW | C.O_CLOEXEC | C.O_NONBLOCK;
/** Errors meaning "the entry is no longer the file we listed": skip it, the next run sees it. */
const VANISHED = new Set(['ENOENT', 'ELOOP', 'ENXIO', 'ENOTDIR']);

/** Entries stat'ed by one fstatatMany call (120 KiB of fields; a larger directory takes several). */
export const STAT_BATCH = 1024;

export class WorkerContext {
  readonly rootFd: number;
  readonly rules: ExclusionRules;
  readonly repoDev: bigint;
  readonly repoIno: bigint;
  readonly chunker: Chunker;
  /** Inodes whose ctime is this or later are recorded Racy (ScanWorkerInit.racySinceNs). */
  readonly racySince: bigint;
  private readonly readDelayMs: number;
  private readonly readSignal: string | undefined;

  /** Reused by every fstatInto of this thread (see fstatFd). */
  readonly statSlots = new BigInt64Array(sys.STAT_FIELD_COUNT);
  /** Reused by every fstatatMany of this thread's walk: STAT_BATCH entries' fields and errnos. */
  readonly statBatch = new BigInt64Array(STAT_BATCH * sys.STAT_FIELD_COUNT);
  readonly statErrnos = new Int32Array(STAT_BATCH);
  /** Memory file reads borrow and their tasks give back (see read-slabs.ts). */
  readonly readSlabs = new ReadSlabs();
  private reader: BlobReader | null = null;
  private readonly repoDir: string;

  constructor(init: ScanWorkerInit) {
    this.repoDir = init.repoDir;
    this.rootFd = fs.openSync(init.root, C.O_RDONLY | C.O_DIRECTORY | C.O_CLOEXEC);
    this.rules = new ExclusionRules(init.patterns, init.emptyDirs);
    this.repoDev = BigInt(init.repoDev);
    this.repoIno = BigInt(init.repoIno);
    this.chunker = new Chunker(init.chunker);
    this.racySince = BigInt(init.racySinceNs);
    this.readDelayMs = init.testReadDelayMs ?? 0;
    this.readSignal = init.testReadSignal;
  }

  /**
   * Tree blobs of the previous point, read straight from the repository (verified) with one
   * decompression call for all, a promise per id: no round trip through the writer thread per
   * directory. Only tree rows of the index are loaded (and only indexes of tree packs read: see
   * BlobIndex), and only sealed packs of earlier runs are ever asked for: `open` may keep their
   * descriptors for the caller's batch.
   */
  readTrees(ids: Buffer[], open?: OpenFiles): Promise<Buffer>[] {
    return this.treeReader().readMany(ids, open);
  }

  /** Raw length of a previous tree, from the index (0 if the index lacks it: its read will say so). */
  treeSize(id: Uint8Array): number {
    return this.treeReader().index.rawLength(id) ?? 0;
  }

  private treeReader(): BlobReader {
    this.reader ??= Repository.open(this.repoDir, { create: false }).reader(undefined, { treesOnly: true });
    return this.reader;
  }

  /** Opens a directory of the tree by its path from ROOT ("" is ROOT), never through a symlink. */
  openDir(relPath: Buffer): number {
    const rel = relPath.length === 0 ? Buffer.from('.') : relPath.subarray(1);
    return sys.safeOpenBeneath(this.rootFd, rel, C.O_RDONLY | C.O_DIRECTORY | C.O_CLOEXEC);
  }

  /** Opens a file for reading without following a symlink or touching its atime; null if gone. */
  openFile(dirfd: number, name: Buffer): number | null {
    try {
      try {
        return sys.openat(dirfd, name, READ_FLAGS | C.O_NOATIME, 0);
      } catch (err) {
        // O_NOATIME needs ownership or CAP_FOWNER; without it, read anyway.
        if (errnoCode(err) !== 'EPERM') throw err;
        return sys.openat(dirfd, name, READ_FLAGS, 0);
      }
    } catch (err) {
      if (VANISHED.has(errnoCode(err) ?? '')) return null;
      throw err;
    }
  }

  /** fstat of an open fd through statSlots (as an object at once, so a later call may reuse them). */
  fstat(fd: number): sys.SlotStat {
    sys.fstatInto(fd, this.statSlots);
    return sys.statFromSlots(this.statSlots);
  }

  /** Whether the open fd's inode still has `st`'s identity (ino, size, mtime, ctime). */
  unchangedSince(fd: number, st: sys.SlotStat): boolean {
    sys.fstatInto(fd, this.statSlots);
    return slotsHaveIdentity(this.statSlots, st);
  }

  /** Whether a test hook waits on each read: without one, readers skip afterRead (and its path). */
  get hasReadHook(): boolean {
    return this.readSignal !== undefined || this.readDelayMs > 0;
  }

  /** Test hooks only: lets race tests act while a file's read is in progress. */
  async afterRead(path: string): Promise<void> {
    if (this.readSignal) fs.appendFileSync(this.readSignal, `${path}\n`);
    if (this.readDelayMs > 0) await sleep(this.readDelayMs);
  }
}
