// Messages between the coordinator (main thread) and the scan workers. Plain data only: classes
// and Error.code do not survive postMessage, so expected failures come back as {ok: false, ...}.
// Buffers arrive as Uint8Array on the other side.
import { CHUNK_THRESHOLD, type ChunkerParams } from './chunker.js';

/** A file that changes during every one of these reads is stored flagged as changed. */
export const MAX_READ_ATTEMPTS = 3;

/**
 * How far before a snapshot's start an inode's ctime counts as racy (EntryFlag.Racy). A change
 * right after the walk read an inode can leave its ctime as recorded when both fall in one tick
 * of the filesystem's clock: a jiffy (1-10 ms) on ext4/xfs/btrfs/tmpfs, a second on ext4 with
 * 128-byte inodes, two on FAT. Any such change happened after the snapshot started, so its ctime
 * is at least the start minus one tick: 3 s covers the coarsest clocks and the kernel's coarse
 * clock lagging the one the start is read from. Only inodes changed within 3 s of a snapshot are
 * read again by the next one.
 */
export const RACY_MARGIN_MS = 3000;

/**
 * A file task reads about this much of a large file (a segment), so its memory stays bounded. Up to
 * five tasks are in flight, each holding its segment raw, compressed and copied for the hand-over:
 * 16 MiB segments made a first snapshot peak at ~600 MiB RSS, 4 MiB at ~430 MiB, in the same time
 * (docs/BENCHMARKS.md).
 */
export const SEGMENT_BYTES = 4 * 1024 * 1024;

/** Given to every worker once (piscina workerData). */
export interface ScanWorkerInit {
  root: string;
  patterns: string[];
  /** latin1 paths from ROOT kept as empty directories (db locations, pseudo mounts, repository). */
  emptyDirs: string[];
  /** The repository: workers read the previous point's trees from it themselves. */
  repoDir: string;
  /** The repository directory's dev and ino (decimal), excluded wherever it shows up. */
  repoDev: string;
  repoIno: string;
  chunker: ChunkerParams;
  /**
   * ns since the epoch (decimal): inodes whose ctime is this or later are recorded Racy. The
   * scan's start (read before any thread reads the tree) minus RACY_MARGIN_MS.
   */
  racySinceNs: string;
  /** Testing only: sleep this long after each file read (to widen race windows). */
  testReadDelayMs?: number;
  /** Testing only: append each read file's path to this file before that sleep. */
  testReadSignal?: string;
}

/** A blob produced by a worker, its payload at [offset, offset+length) of the task's `data`. */
export interface BlobDesc {
  id: Uint8Array;
  kind: number;
  compression: number;
  rawLength: number;
  offset: number;
  length: number;
}

export interface TaskStats {
  files: number;
  dirs: number;
  bytesScanned: number;
  filesRead: number;
  bytesRead: number;
  changedWhileRead: number;
  /** Chunks read that the file's previous version had: not compressed again. */
  chunksReused: number;
  /** The regular files' data as stored on disk: see fileDataBytes. Not an integer. */
  dataBytes: number;
}

/**
 * A regular file's share of "the size of the snapshotted data" that retention weighs the
 * repository against (max_size_ratio): its allocated bytes if fewer than its length (a sparse
 * file's holes are no data; a 100 GB image holding 1 GB must not let the repository grow to 150
 * GB), divided among its links (a file with three names is one file's data, not three). Exact when
 * all links are inside the tree, as on a server's / (links cannot cross filesystems).
 */
export function fileDataBytes(size: number, blocks: number, nlink: number): number {
  return Math.min(size, blocks * 512) / Math.max(1, nlink);
}

export function emptyStats(): TaskStats {
  return { files: 0, dirs: 0, bytesScanned: 0, filesRead: 0, bytesRead: 0, changedWhileRead: 0, chunksReused: 0, dataBytes: 0 };
}

/** Adds `s` into `into` (a task's total, or the run's). */
export function addStats(into: TaskStats, s: TaskStats): void {
  into.files += s.files;
  into.dirs += s.dirs;
  into.bytesScanned += s.bytesScanned;
  into.filesRead += s.filesRead;
  into.bytesRead += s.bytesRead;
  into.changedWhileRead += s.changedWhileRead;
  into.chunksReused += s.chunksReused;
  into.dataBytes += s.dataBytes;
}

/** A directory a task starts from. */
export interface DirRoot {
  /** Path from ROOT as bytes: empty for ROOT itself, else "/a/b". */
  relPath: Uint8Array;
  /** The same directory's tree id in the previous point (read by the worker), or null. */
  prevTreeId: Uint8Array | null;
}

/**
 * Directories scanned in order, each depth first, while the batch is small. Several when the
 * coordinator groups the subdirectories a full batch left over: a server's /usr/share/doc holds
 * thousands of directories of two or three files, and one task each made a no-change snapshot of
 * the bench tree 1,600 round trips (and pack opens) for 107k entries.
 */
export interface DirTask {
  kind: 'dir';
  dirs: DirRoot[];
  /** Lists at most about this many entries (fewer than a batch's usual), or null for the usual. */
  entryLimit: number | null;
}

/** DirResult.roots: the batch was full before this directory; it needs another task. */
export const ROOT_NOT_REACHED = -1;
/**
 * DirResult.roots: scanning this directory failed in a task of several; it is scanned again in a
 * task of its own, whose failure names it (a task of one directory returns {ok: false} instead).
 */
export const ROOT_FAILED = -2;

export interface SubdirRef {
  name: Uint8Array;
  prevSubtree: Uint8Array | null;
  /** Where this subdirectory's subtree id goes in the parent's encoded tree. */
  offset: number;
  /** Index of this subdirectory's part in the same batch, or -1: not scanned, needs its own task. */
  part: number;
}

/** A changed file too large for the directory task's read budget: read by FileTasks. */
export interface DeferredFile {
  name: Uint8Array;
  /** As listed (decides group task or file tasks); a lower bound for a file that grew meanwhile. */
  size: number;
  /** The previous version's chunks (previous-chunks.ts packing), or null: not compressed again. */
  prevChunks: Uint8Array | null;
}

/** One directory scanned by a batch. */
export interface DirPart {
  /** Encoded tree; subdirectory ids and deferred files' content are filled in by the coordinator. */
  tree: Uint8Array;
  subdirs: SubdirRef[];
  /** In the order of their (Deferred) entries in `tree`. */
  deferred: DeferredFile[];
  /**
   * The tree is the previous point's tree of this directory byte for byte (read and verified by
   * its id), subdirectory ids included: if none of them changes, its id is that id, unhashed.
   */
  asBefore: boolean;
}

/**
 * A directory task's answer: the task's directories and, depth first, as many of their
 * subdirectories as fit the batch (one round trip per batch, not per directory). A part's parent
 * always comes before it. The blobs of all parts share `data`.
 */
export interface DirResult {
  ok: true;
  /** Per task directory, in order: the index of its part, ROOT_NOT_REACHED or ROOT_FAILED. */
  roots: number[];
  parts: DirPart[];
  data: Uint8Array;
  blobs: BlobDesc[];
  stats: TaskStats;
  warnings: string[];
}

export interface FileTask {
  kind: 'file';
  /** Path of the file from ROOT. */
  relPath: Uint8Array;
  /** Where the previous segment stopped; null for the first segment. */
  resume: FileResume | null;
  /** How many times this file was started over because it changed while being read. */
  attempt: number;
  /** The previous version's chunks around this segment's position (packed), or null. */
  prevChunks: Uint8Array | null;
}

/** Deferred files up to this size are read whole by group tasks (never chunked: CHUNK_THRESHOLD). */
export const GROUP_FILE_MAX = CHUNK_THRESHOLD;
/** A group task reads at most this many bytes (as a directory batch's budget) or files. */
export const GROUP_BYTES = 8 * 1024 * 1024;
export const GROUP_FILES = 512;

/**
 * Several small changed files of one directory that its batch's read budget left over, read by
 * one task: their small blobs share bundles, and one task per file cost more than reading it.
 */
export interface FileGroupTask {
  kind: 'files';
  /** The directory's path from ROOT. */
  relDir: Uint8Array;
  files: { name: Uint8Array; prevChunks: Uint8Array | null }[];
}

/** Per file of a FileGroupTask, in order: its entry (with chunks), `defer` (it grew: read it by FileTasks) or `gone`. */
export type GroupedFile = { entryTree: Uint8Array } | 'defer' | 'gone';

export interface FileGroupResult {
  ok: true;
  files: GroupedFile[];
  data: Uint8Array;
  blobs: BlobDesc[];
  stats: TaskStats;
  warnings: string[];
}

export interface FileResume {
  extents: { offset: number; length: number }[];
  extentIndex: number;
  offsetInExtent: number;
  /** fstat identity of the first segment: ino, size, mtime ns, ctime ns. */
  identity: string;
}

export interface FileResult {
  ok: true;
  /** Chunks of this segment, in order. */
  chunks: { id: Uint8Array; length: number }[];
  data: Uint8Array;
  blobs: BlobDesc[];
  /** Set on the first segment: the entry as read (metadata from fstat of the read fd). */
  entryTree: Uint8Array | null;
  /** Null when the file is done. */
  resume: FileResume | null;
  /** The file changed under us: the coordinator starts it over. */
  restart: boolean;
  /** It kept changing: the copy is kept and flagged ChangedWhileRead. */
  changed: boolean;
  stats: TaskStats;
  warnings: string[];
}

export interface TaskFailure {
  ok: false;
  code: string;
  path: string;
  message: string;
}

export type ScanTask = DirTask | FileTask | FileGroupTask;
export type ScanResult = DirResult | FileResult | FileGroupResult | TaskFailure;
