// The coordinator: shards the walk over the scan pool (one task per batch of directories, group
// tasks for the small changed files a batch's budget left over, file tasks for large ones), feeds
// produced blobs to the writer thread, and assembles directory trees bottom-up as their children
// finish. Scheduling is LIFO (depth first), so the directories held in memory are roughly one path
// from ROOT with its pending children, not a whole level of the tree.
import os from 'node:os';
import { Piscina } from 'piscina';
import { BlobKind, blobId } from '../model/blob-id.js';
import { type Entry, EntryFlag } from '../model/entry.js';
import { SnapError } from '../model/errors.js';
import { compressPayload } from '../repo/compression.js';
import { Compression } from '../repo/record.js';
import { decodeTree, EncodedEntries, encodeTree } from '../repo/tree-codec.js';
import { replaceDeferred } from '../repo/tree-layout.js';
import { EMPTY_TREE } from '../repo/empty-tree.js';
import type { RepoWriter } from '../repo/repo-writer.js';
import { WORKER_HEAP_LIMITS, threadFailure, workerEntry, workerExecArgv } from '../repo/worker-options.js';
import { PreviousChunkList } from '../worker/previous-chunks.js';
import { dropped } from '../repo/gc-pacer.js';
import { releaseBuffer } from '../sys/index.js';
import { MAX_READ_ATTEMPTS, ROOT_FAILED, SEGMENT_BYTES, GROUP_BYTES, GROUP_FILES, GROUP_FILE_MAX, addStats, emptyStats, type DeferredFile, type DirResult, type FileGroupResult, type FileResult, type FileResume, type ScanResult, type ScanTask, type ScanWorkerInit, type TaskStats } from '../worker/protocol.js';

export interface ScanProgress {
  files: number;
  dirs: number;
  bytesScanned: number;
  bytesRead: number;
  filesRead: number;
  chunksReused: number;
  dataBytes: number;
}

export interface ScanHooks {
  progress(p: ScanProgress): void;
  warning(message: string): void;
}

export interface ScanTotals extends ScanProgress {
  bytesAdded: number;
  blobsAdded: number;
  changedWhileRead: number;
}

interface DirNode {
  relPath: Buffer;
  parent: DirNode | null;
  name: Buffer;
  tree: Buffer | null;
  waiting: number;
  hasDeferred: boolean;
  /** The encoded entries of its deferred files read so far (see replaceDeferred)... */
  read: EncodedEntries | null;
  /** ...deferred file k's at readAt[k]; -1 while it is not read (or when it vanished). */
  readAt: Int32Array | null;
  /** The same directory's tree id in the previous point: an equal new id needs no storing. */
  prevSubtree: Buffer | null;
  /**
   * `tree` is the previous tree's bytes (DirPart.asBefore) and every subdirectory id patched in so
   * far was the one already there: its id is prevSubtree without hashing it (a no-change snapshot
   * hashed every tree of the server on the main thread, ~5% of its CPU on the bench tree).
   */
  asBefore: boolean;
  /** Where this directory's subtree id goes in its parent's encoded tree. */
  offsetInParent: number;
}

interface FileJob {
  node: DirNode;
  /** Its position among its directory's deferred files. */
  slot: number;
  name: Buffer;
  entry: Entry | null;
  chunks: Entry['chunks'];
  attempt: number;
  changed: boolean;
  /** The previous version's chunks; each segment's task gets those around its position. */
  prev: PreviousChunkList | null;
}

/** Tasks a scan thread works on at once (the second runs while the first one's zstd calls do). */
const TASKS_PER_THREAD = 2;

/** Trees from this size (raw bytes) up are compressed; smaller ones are stored raw (putTree). */
export const TREE_COMPRESS_MIN = 4096;

/**
 * Directories one task starts from, at most (see DirTask): a no-change snapshot of the bench tree
 * went from ~1,600 directory tasks to ~120 (docs/BENCHMARKS.md).
 */
const DIR_GROUP_MAX = 32;
/** ...and the directories a batch left over go out as at least this many tasks (when there are as many). */
const DIR_SPLIT = 4;

/**
 * Entries a directory batch lists when the pool has fewer tasks than threads: the walk starts with
 * one task (ROOT), and the second thread waited for its whole batch (~2,000 entries, ~0.1 s of a
 * 1.3 s no-change snapshot of the bench tree) before it had anything to do.
 */
const STARVED_BATCH_ENTRIES = 256;

/** Bytes handed to the writer and not yet acknowledged before the walk pauses. */
const WRITER_BACKLOG_BYTES = 32 * 1024 * 1024;

function previousList(packed: Uint8Array | null): PreviousChunkList | null {
  return packed && packed.length > 0 ? new PreviousChunkList(packed) : null;
}

/**
 * The previous version's chunks a segment may meet: those within a segment before and two after
 * its position (in data bytes, as chunks are cut), so content that moved by less than a segment
 * is still recognised; anything further is compressed again, which costs time, never correctness.
 */
function nearbyChunks(prev: PreviousChunkList | null, resume: FileResume | null): Uint8Array | null {
  if (!prev) return null;
  let pos = 0;
  if (resume) {
    for (let i = 0; i < resume.extentIndex; i++) pos += resume.extents[i]!.length;
    pos += resume.offsetInExtent;
  }
  return prev.window(pos - SEGMENT_BYTES, pos + 2 * SEGMENT_BYTES);
}

/**
 * Deferred files cut into runs of small files (one group task each) and large ones (alone: read in
 * segments by file tasks), as [start, end) in order.
 */
function groupDeferred(files: readonly DeferredFile[]): [number, number][] {
  const groups: [number, number][] = [];
  let start = 0;
  let bytes = 0;
  files.forEach((f, i) => {
    const large = f.size > GROUP_FILE_MAX;
    if (i > start && (large || i - start >= GROUP_FILES || bytes + f.size > GROUP_BYTES)) {
      groups.push([start, i]);
      start = i;
      bytes = 0;
    }
    bytes += f.size;
    if (large) {
      groups.push([i, i + 1]);
      start = i + 1;
      bytes = 0;
    }
  });
  if (start < files.length) groups.push([start, files.length]);
  return groups;
}

function fileJob(node: DirNode, f: DeferredFile, slot: number): FileJob {
  return { node, slot, name: Buffer.from(f.name), entry: null, chunks: [], attempt: 0, changed: false, prev: previousList(f.prevChunks) };
}

/**
 * How `count` directories a batch left over are cut into tasks, as [start, end) in order: several
 * to a task (at most DIR_GROUP_MAX), but at least DIR_SPLIT tasks when there are that many, so they
 * still spread over the threads.
 */
export function dirGroups(count: number): [number, number][] {
  const size = Math.min(DIR_GROUP_MAX, Math.ceil(count / DIR_SPLIT));
  const groups: [number, number][] = [];
  for (let start = 0; start < count; start += size) groups.push([start, Math.min(count, start + size)]);
  return groups;
}

/** Keeps (a copy of) the entry of deferred file `slot` from its one-entry tree, until its directory is completed. */
function keepRead(node: DirNode, slot: number, entryTree: Uint8Array): void {
  const t = Buffer.from(entryTree.buffer, entryTree.byteOffset, entryTree.byteLength);
  if (t.length < 8 || t.readUInt32LE(4) !== 1) throw new Error('a file task\'s entry is not a one-entry tree');
  node.readAt![slot] = node.read!.addEncoded(t.subarray(8));
}

export class Coordinator {
  private readonly pool: Piscina;
  private readonly stack: (() => Promise<void>)[] = [];
  /** Jobs started and not finished (result handling included). */
  private running = 0;
  /** Jobs whose task is in the pool. */
  private inPool = 0;
  private backlog = 0;
  private failed: Error | null = null;
  private rootId: Buffer | null = null;
  private finish: (() => void) | null = null;
  readonly totals: ScanTotals = { files: 0, dirs: 0, bytesScanned: 0, bytesRead: 0, filesRead: 0, chunksReused: 0, dataBytes: 0, bytesAdded: 0, blobsAdded: 0, changedWhileRead: 0 };

  constructor(
    init: ScanWorkerInit,
    private readonly writer: RepoWriter,
    private readonly hooks: ScanHooks,
    threads = Math.max(2, os.availableParallelism()),
  ) {
    this.pool = new Piscina({
      filename: workerEntry('worker/scan-worker.js').href,
      workerData: init,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: TASKS_PER_THREAD,
      idleTimeout: 1000,
      // Node 20's require(esm) crashes V8 ("IsGraphAsync ... instantiated module") when piscina
      // require()s our ESM worker; without it piscina falls back to import(), which is sound.
      execArgv: [...workerExecArgv(), '--no-experimental-require-module'],
      resourceLimits: WORKER_HEAP_LIMITS,
    });
    // A thread that cannot start (piscina's own entry module missing: a damaged or half-replaced
    // installation) is an 'error' event of the pool when no task is on it yet (our module is
    // loaded by the first task, and its failure comes with that task); unheard, the event ended
    // the command with a stack trace. Piscina then starts no thread again, so tasks still queued
    // would wait forever: the pool is stopped, which rejects them.
    this.pool.on('error', (err: unknown) => {
      this.fail(threadFailure('a scan thread', err));
      void this.pool.destroy();
    });
  }

  /**
   * Tasks handed to the pool at once: two per thread (a worker reads and hashes the next task while
   * zstd still compresses the last one's blobs on libuv's pool: 10% less wall time for a first
   * snapshot, docs/BENCHMARKS.md) plus one waiting, so no thread idles while the main thread
   * handles a result. Each task holds up to its read budget several times over (raw, compressed,
   * the buffer that crosses threads), so more would only cost memory.
   */
  private get maxInPool(): number {
    return this.pool.options.maxThreads * TASKS_PER_THREAD + 1;
  }

  /** Walks the tree and returns the id of ROOT's tree (its contents). */
  async scan(prevRootTree: Buffer | null): Promise<Buffer> {
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    // Excluded directories point at the empty tree: it is stored before the point (the writer
    // takes requests in order), but the walk does not wait for the writer thread to be up.
    this.putTree(EMPTY_TREE).catch((err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))));
    const root: DirNode = { relPath: Buffer.alloc(0), parent: null, name: Buffer.alloc(0), tree: null, waiting: 0, hasDeferred: false, read: null, readAt: null, prevSubtree: prevRootTree, asBefore: false, offsetInParent: -1 };
    this.pushDirTask([root]);
    this.pump();
    await done;
    await this.close();
    if (this.failed) throw this.failed;
    return this.rootId!;
  }

  /** Stops the pool's threads (after a scan, or instead of one). */
  close(): Promise<void> {
    return this.pool.destroy();
  }

  private fail(err: Error): void {
    this.failed ??= err;
    this.stack.length = 0;
    if (this.running === 0) this.finish?.();
  }

  private pump(): void {
    while (!this.failed && this.inPool < this.maxInPool && this.backlog < WRITER_BACKLOG_BYTES && this.stack.length > 0) {
      const job = this.stack.pop()!;
      this.running++;
      job()
        .catch((err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))))
        .finally(() => {
          this.running--;
          if (this.failed && this.running === 0) this.finish?.();
          else this.pump();
        });
    }
  }

  /**
   * A job counts against maxInPool only while its task is in the pool: handling the result waits
   * for the writer thread (its blobs, then every tree it completes, up the path), and jobs that
   * held their place meanwhile left the scan threads idle ~17% of a churn snapshot. What waits
   * for the writer is bounded by WRITER_BACKLOG_BYTES instead.
   */
  private async runTask(task: ScanTask): Promise<ScanResult> {
    this.inPool++;
    try {
      return (await this.pool.run(task)) as ScanResult;
    } catch (err) {
      // Tasks report their own failures in their result; a rejection is the thread's.
      throw threadFailure('a scan thread', err);
    } finally {
      this.inPool--;
      this.schedulePump();
    }
  }

  /**
   * Queues a job. The pump runs once the current result handler has pushed all it will and
   * reached its first wait (setImmediate, after the microtasks): jobs go out in stack order, and
   * the work a result creates is handed out before its blobs reach the writer.
   */
  private push(job: () => Promise<void>): void {
    this.stack.push(job);
    this.schedulePump();
  }

  private pumpScheduled = false;

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Queues directory tasks for `nodes`, grouped by dirGroups. */
  private pushDirs(nodes: DirNode[]): void {
    // Pushed last group first, so that the stack runs them in order.
    const groups = dirGroups(nodes.length);
    for (let i = groups.length - 1; i >= 0; i--) this.pushDirTask(nodes.slice(groups[i]![0], groups[i]![1]));
  }

  private pushDirTask(nodes: DirNode[]): void {
    this.push(async () => {
      // A thread would idle (the walk's start, its tail): a small batch hands its leftovers back sooner.
      const entryLimit = this.inPool < this.pool.options.maxThreads ? STARVED_BATCH_ENTRIES : null;
      const res = await this.runTask({ kind: 'dir', dirs: nodes.map((n) => ({ relPath: n.relPath, prevTreeId: n.prevSubtree })), entryLimit });
      if (!res.ok) {
        // Only a task of one directory fails for its directory (see ROOT_FAILED).
        if (nodes.length === 1 && ['ENOENT', 'ENOTDIR', 'ELOOP'].includes(res.code)) {
          this.hooks.warning(`directory vanished during the snapshot, recorded empty: ${res.path}`);
          nodes[0]!.tree = EMPTY_TREE;
          return this.complete(nodes[0]!);
        }
        throw new SnapError('IO', `cannot read ${res.path}: ${res.message}`, { path: res.path });
      }
      await this.onDir(nodes, res as DirResult);
    });
  }

  /**
   * A batch: roots[k] is the part of the task's k-th directory, every other part a subdirectory
   * scanned in the same task (its parent's part comes first). Subdirectories the batch left out,
   * and task directories it did not reach, go out again as tasks; one that failed goes alone.
   */
  private async onDir(roots: DirNode[], res: DirResult): Promise<void> {
    this.account(res.stats);
    for (const w of res.warnings) this.hooks.warning(w);
    const nodes: DirNode[] = [];
    const unscanned: DirNode[] = [];
    res.roots.forEach((p, k) => {
      if (p >= 0) nodes[p] = roots[k]!;
      else if (p === ROOT_FAILED) this.pushDirTask([roots[k]!]);
      else unscanned.push(roots[k]!);
    });
    const leaves: DirNode[] = [];
    res.parts.forEach((part, k) => {
      const n = nodes[k]!;
      n.tree = Buffer.from(part.tree.buffer, part.tree.byteOffset, part.tree.byteLength);
      n.waiting = part.subdirs.length + part.deferred.length;
      n.hasDeferred = part.deferred.length > 0;
      n.asBefore = part.asBefore && n.prevSubtree !== null;
      // Decided before the await below: children run as tasks may finish during it, and the last
      // child to finish completes its directory itself (it must not be completed twice).
      if (n.waiting === 0) leaves.push(n);
      if (n.hasDeferred) {
        n.read = new EncodedEntries();
        n.readAt = new Int32Array(part.deferred.length).fill(-1);
      }
      // Pushed in reverse so that the stack runs them in name order.
      const groups = groupDeferred(part.deferred);
      for (let i = groups.length - 1; i >= 0; i--) {
        const [start, end] = groups[i]!;
        const first = part.deferred[start]!;
        if (end - start === 1 && first.size > GROUP_FILE_MAX) this.pushFile(fileJob(n, first, start), null);
        else this.pushFileGroup(n, part.deferred.slice(start, end), start);
      }
      part.subdirs.forEach((s) => {
        // Copies (Buffer.from of a Uint8Array): the name and the previous id may be views of the
        // part's tree (unchanged-dir.ts), into which new subtree ids are patched later.
        const name = Buffer.from(s.name);
        const child: DirNode = { relPath: Buffer.concat([n.relPath, Buffer.from('/'), name]), parent: n, name, tree: null, waiting: 0, hasDeferred: false, read: null, readAt: null, prevSubtree: s.prevSubtree ? Buffer.from(s.prevSubtree) : null, asBefore: false, offsetInParent: s.offset };
        if (s.part >= 0) nodes[s.part] = child;
        else unscanned.push(child);
      });
    });
    this.pushDirs(unscanned);
    await this.putBlobs(res.data, res.blobs);
    // Deepest first: completing a leaf may complete its parents in this batch too.
    for (let i = leaves.length - 1; i >= 0; i--) await this.complete(leaves[i]!);
  }

  /** `files` are the directory's deferred files from position `slot` on. */
  private pushFileGroup(node: DirNode, files: DeferredFile[], slot: number): void {
    this.push(async () => {
      // Names copied: they may be views of the directory's whole listing (see DirPart.deferred).
      const res = await this.runTask({ kind: 'files', relDir: node.relPath, files: files.map((f) => ({ name: new Uint8Array(f.name), prevChunks: f.prevChunks })) });
      if (!res.ok) {
        if (!['ENOENT', 'ENOTDIR', 'ELOOP'].includes(res.code)) throw new SnapError('IO', `cannot read ${res.path}: ${res.message}`, { path: res.path });
        return this.onFileGroup(node, files, slot, { ok: true, files: files.map(() => 'gone'), data: new Uint8Array(0), blobs: [], stats: emptyStats(), warnings: [] });
      }
      await this.onFileGroup(node, files, slot, res as FileGroupResult);
    });
  }

  private async onFileGroup(node: DirNode, files: DeferredFile[], slot: number, res: FileGroupResult): Promise<void> {
    this.account(res.stats);
    for (const w of res.warnings) this.hooks.warning(w);
    await this.putBlobs(res.data, res.blobs);
    res.files.forEach((f, i) => {
      const d = files[i]!;
      if (f === 'defer') return this.pushFile(fileJob(node, d, slot + i), null); // grew: read in segments; still waited for
      if (f === 'gone') this.hooks.warning(`file vanished during the snapshot, left out: ${Buffer.concat([node.relPath, Buffer.from('/'), d.name]).toString()}`);
      else keepRead(node, slot + i, f.entryTree);
      node.waiting--;
    });
    if (node.waiting === 0) await this.complete(node);
  }

  private pushFile(job: FileJob, resume: FileResume | null): void {
    this.push(async () => {
      const res = await this.runTask({ kind: 'file', relPath: this.pathOf(job), resume, attempt: job.attempt, prevChunks: nearbyChunks(job.prev, resume) });
      if (!res.ok) throw new SnapError('IO', `cannot read ${res.path}: ${res.message}`, { path: res.path });
      await this.onFileSegment(job, res as FileResult);
    });
  }

  private pathOf(job: FileJob): Buffer {
    return Buffer.concat([job.node.relPath, Buffer.from('/'), job.name]);
  }

  private async onFileSegment(job: FileJob, res: FileResult): Promise<void> {
    this.account(res.stats);
    for (const w of res.warnings) this.hooks.warning(w);
    await this.putBlobs(res.data, res.blobs);
    if (res.restart) {
      job.entry = null;
      job.chunks = [];
      job.attempt++;
      this.pushFile(job, null);
      return;
    }
    if (res.entryTree) job.entry = decodeTree(Buffer.from(res.entryTree))[0]!;
    for (const c of res.chunks) job.chunks.push({ id: Buffer.from(c.id), length: c.length });
    job.changed ||= res.changed;
    if (res.resume) {
      this.pushFile(job, res.resume);
      return;
    }
    if (job.entry) {
      job.entry.chunks = job.chunks;
      if (job.changed) {
        job.entry.flags |= EntryFlag.ChangedWhileRead;
        this.totals.changedWhileRead++;
        this.hooks.warning(`file changed while it was read ${MAX_READ_ATTEMPTS} times, stored as last read: ${this.pathOf(job).toString()}`);
      }
      keepRead(job.node, job.slot, encodeTree([job.entry]));
    } else {
      this.hooks.warning(`file vanished during the snapshot, left out: ${this.pathOf(job).toString()}`);
    }
    if (--job.node.waiting === 0) await this.complete(job.node);
  }

  /**
   * All children known: store the tree and go up. Subdirectory ids were patched into the encoded
   * tree as each finished; a directory with deferred (large) files gets their entries spliced in.
   */
  private async complete(node: DirNode): Promise<void> {
    let tree = node.tree!;
    if (node.hasDeferred) {
      const { read, readAt } = node;
      tree = replaceDeferred(tree, (k) => (readAt![k]! >= 0 ? read!.entry(readAt![k]!) : undefined));
      node.read = null;
      node.readAt = null;
    }
    node.tree = null;
    const id = node.prevSubtree && (node.asBefore || blobId(tree).equals(node.prevSubtree)) ? node.prevSubtree : await this.putTree(tree);
    if (!node.parent) {
      this.rootId = id;
      this.finish?.();
      return;
    }
    id.copy(node.parent.tree!, node.offsetInParent);
    // What the parent's tree held there is this directory's previous id (see asBefore).
    if (node.prevSubtree === null || !id.equals(node.prevSubtree)) node.parent.asBefore = false;
    if (--node.parent.waiting === 0) await this.complete(node.parent);
  }

  /**
   * Small trees are stored uncompressed: a no-change snapshot reads the tree of every directory,
   * and each zstd call costs ~60-90 us of CPU however small its frame (the binding's thread
   * hand-off); compressing every tree, those calls took ~15% of the scan threads' time. Large
   * trees stay compressed (~2x): on the bench tree the 6% of trees from TREE_COMPRESS_MIN up hold
   * 69% of the tree bytes, and a million small files in 1000 directories made the repository 50%
   * larger with all trees raw (docs/BENCHMARKS.md).
   */
  async putTree(tree: Buffer): Promise<Buffer> {
    return this.putRaw(tree, BlobKind.Tree, tree.length >= TREE_COMPRESS_MIN);
  }

  /** Stores one blob made outside the pool (trees, boot area images); returns its id. */
  async putRaw(raw: Buffer, kind: BlobKind, compress = true): Promise<Buffer> {
    const id = blobId(raw);
    const { compression, payload } = compress ? await compressPayload(raw) : { compression: Compression.None, payload: raw };
    const data = new Uint8Array(payload);
    // The tree (made by a scan thread) and a compressed payload are garbage once copied; `data`
    // moves. zstd's output is freed now (native memory, which V8 does not count toward a collection).
    const freed = compression === Compression.Zstd ? releaseBuffer(payload) : 0;
    dropped(raw.length + (compression === Compression.Zstd && freed === 0 ? payload.length : 0));
    await this.putBlobs(data, [{ id, kind, compression, rawLength: raw.length, offset: 0, length: data.length }]);
    return id;
  }

  private async putBlobs(data: Uint8Array, blobs: DirResult['blobs']): Promise<void> {
    if (blobs.length === 0) return;
    const size = data.byteLength;
    this.backlog += size;
    try {
      const r = await this.writer.put(data, blobs);
      this.totals.bytesAdded += r.bytesAdded;
      this.totals.blobsAdded += r.blobsAdded;
    } finally {
      this.backlog -= size;
    }
  }

  private account(s: TaskStats): void {
    addStats(this.totals, s);
    this.hooks.progress(this.totals);
  }
}
