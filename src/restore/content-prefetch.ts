// File content for a restore, asked of the writer thread before the applier needs it. Without it
// the main thread and the writer thread took turns for every file (ask, wait, write): ~450 us a
// small file. Blobs are asked for in the order the plan will write them, in batches (one message
// each way for up to BATCH blobs), and held until read, within a byte budget.
import { EntryType } from '../model/entry.js';
import { releaseArrayBuffer } from '../sys/index.js';
import type { ContentSource } from './apply-plan.js';
import type { PlanOp } from './plan-types.js';

export interface BatchReader {
  /**
   * One promise per id, each failing alone (RepoWriter.getMany). The blobs of one call are views
   * of one buffer that is the caller's alone: it is freed once all of them have been used.
   */
  getMany(ids: readonly Uint8Array[]): Promise<Buffer>[];
  get(id: Uint8Array): Promise<Buffer>;
}

export interface PrefetchLimits {
  /** Blobs asked for and not yet read, at most (and bytes, at most). */
  maxBlobs: number;
  maxBytes: number;
  /** Blobs per request. */
  batch: number;
}

/**
 * 32 MiB in flight at most (one chunk more when a single chunk is larger); asked for again when
 * half of it has been read, so requests go out in full batches.
 */
export const PREFETCH_LIMITS: PrefetchLimits = { maxBlobs: 256, maxBytes: 32 * 1024 * 1024, batch: 64 };

/** The blobs of one getMany call not yet read: its buffer is freed after the last of them. */
interface Batch {
  left: number;
}

interface Wanted {
  id: Buffer;
  length: number;
  /** Dropped once read: the plan's list of wanted blobs must not keep every file's content. */
  blob: Promise<Buffer> | null;
  batch: Batch | null;
}

const ignore = (): void => undefined;

export class ContentPrefetch implements ContentSource {
  /** Blobs the plan will read, in order; [head, asked) are asked for, [asked, end) not yet. */
  private wanted: Wanted[] = [];
  private head = 0;
  private asked = 0;
  private askedBytes = 0;
  /** The last blob of a batch, handed out by the last read(): its buffer is freed at the next. */
  private inUse: Buffer | null = null;
  /** Reads that were not the next wanted blob (none, unless the applier's order changes). */
  misses = 0;

  constructor(
    private readonly source: BatchReader,
    private readonly limits: PrefetchLimits = PREFETCH_LIMITS,
  ) {}

  /** The content `op` will read (each chunk of a file it writes), in order. */
  want(op: PlanOp): void {
    if ((op.op !== 'create' && op.op !== 'replace') || op.entry.type !== EntryType.File) return;
    for (const c of op.entry.chunks) this.wanted.push({ id: c.id, length: c.length, blob: null, batch: null });
    // Only to start the flow: the rest is asked for as reads make room, in full batches (asked
    // here, each step of a plan read ahead would go out in a message of its own).
    if (this.asked === this.head) this.ask();
  }

  /** A blob's content, valid until the next read() (its buffer may be freed then). */
  async read(id: Buffer): Promise<Buffer> {
    this.letGo();
    const next = this.wanted[this.head];
    if (!next || !next.id.equals(id)) {
      this.misses++;
      return this.source.get(id);
    }
    if (!next.blob) this.ask(); // nothing in flight: the head is asked for whatever its size
    const blob = next.blob!;
    const batch = next.batch!;
    next.blob = null;
    next.batch = null;
    this.head++;
    this.askedBytes -= next.length;
    if (this.head >= 1024 && this.head * 2 >= this.wanted.length) {
      this.wanted = this.wanted.slice(this.head);
      this.asked -= this.head;
      this.head = 0;
    }
    this.pump();
    const data = await blob;
    if (--batch.left === 0) this.inUse = data;
    return data;
  }

  /**
   * Frees the buffer of a batch whose blobs have all been used. Left to the collector, the content
   * of a restore piled up: V8 counts little of it toward a collection (RSS ~400 MiB more on the
   * bench tree, docs/BENCHMARKS.md).
   */
  private letGo(): void {
    const done = this.inUse;
    this.inUse = null;
    if (done && done.buffer instanceof ArrayBuffer) releaseArrayBuffer(done.buffer);
  }

  /** Asks for more once what is in flight has fallen to half the budget. */
  private pump(): void {
    const inFlight = this.asked - this.head;
    if (inFlight * 2 <= this.limits.maxBlobs && this.askedBytes * 2 <= this.limits.maxBytes) this.ask();
  }

  /** Asks for wanted blobs up to the budget, and for the next one to read whatever its size. */
  private ask(): void {
    while (this.asked < this.wanted.length) {
      const batch: Wanted[] = [];
      while (this.asked < this.wanted.length && batch.length < this.limits.batch) {
        const w = this.wanted[this.asked]!;
        if (this.asked > this.head && (this.asked - this.head >= this.limits.maxBlobs || this.askedBytes + w.length > this.limits.maxBytes)) break;
        batch.push(w);
        this.asked++;
        this.askedBytes += w.length;
      }
      if (batch.length === 0) return;
      const blobs = this.source.getMany(batch.map((w) => w.id));
      const answer: Batch = { left: batch.length };
      batch.forEach((w, i) => {
        w.blob = blobs[i]!;
        w.batch = answer;
        // Held until read; a restore that stops first never reads it, which is no failure.
        w.blob.catch(ignore);
      });
    }
  }
}
