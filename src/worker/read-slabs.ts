// Memory that file reads reuse within one scan thread. Each file read used to get a new buffer,
// freed once its task had built its result: the pages of a new buffer are new to the process, so
// the kernel's copy into it took a page fault (and a page clearing) per 4 KiB; in a churn
// snapshot that was 12% of the scan threads' CPU samples (perf, docs/BENCHMARKS.md).
// A task's BlobSink now reads files back to back into fixed-size slabs lent from here, and gives
// the slabs back when the task's result is built: by then every hash, compression and copy of
// their bytes is done (BlobSink.finish). Everything a task reads lives exactly that long, so
// packing its files into slabs wastes only each slab's tail. Buffers kept per size instead (each
// read rounded up to a power of two) saved as much time but raised a first snapshot's peak RSS
// by ~19%; slabs, 3 kept: +3% (6 kept: +11%, and no faster); a churn snapshot's fell ~10%.
// A slab is never lent twice: it is in the free list only between a giveBack and a take.

/** One slab: the largest single read (a file task's segment, a file read inline) fits in one. */
export const READ_SLAB_BYTES = 4 * 1024 * 1024;
/** Smaller reads come from Node's own pool slabs or malloc, as before: they fault little. */
export const READ_FROM_SLAB_MIN = 16 * 1024;
/**
 * Slabs a thread keeps between tasks. Its two tasks at once hold up to ~2 x 12 MiB of reads, but
 * keeping 6 was no faster than 3 (churn 1.02x, first snapshot 1.02x) for ~35 MiB more peak RSS.
 */
export const READ_SLABS_KEPT = 3;

export class ReadSlabs {
  private readonly free: ArrayBuffer[] = [];
  private readonly lent = new WeakSet<ArrayBuffer>();

  constructor(private readonly maxKept = READ_SLABS_KEPT) {}

  /** Slabs in the free list now. */
  get kept(): number {
    return this.free.length;
  }

  /** A slab of READ_SLAB_BYTES (contents undefined), lent until giveBack. */
  take(): ArrayBuffer {
    const slab = this.free.pop() ?? new ArrayBuffer(READ_SLAB_BYTES);
    this.lent.add(slab);
    return slab;
  }

  /**
   * Takes back a lent slab: its borrower and everything it handed the slab's bytes to are done
   * with them. Kept for the next take() while fewer than maxKept are; else dropped.
   */
  giveBack(slab: ArrayBuffer): void {
    if (!this.lent.has(slab)) throw new Error('ReadSlabs.giveBack: not a lent slab (or given back twice)');
    this.lent.delete(slab);
    if (slab.byteLength === READ_SLAB_BYTES && this.free.length < this.maxKept) this.free.push(slab);
  }
}

/** Hands out consecutive pieces of lent slabs to one borrower (a task's BlobSink). */
export class SlabCursor {
  private slab: ArrayBuffer | null = null;
  private used = 0;
  private readonly held: ArrayBuffer[] = [];

  constructor(private readonly slabs: ReadSlabs) {}

  /** A buffer of exactly `length` bytes in a slab, or null when `length` is not read from slabs. */
  piece(length: number): Buffer | null {
    if (length < READ_FROM_SLAB_MIN || length > READ_SLAB_BYTES) return null;
    if (this.slab === null || this.used + length > READ_SLAB_BYTES) {
      this.slab = this.slabs.take();
      this.held.push(this.slab);
      this.used = 0;
    }
    const buf = Buffer.from(this.slab, this.used, length);
    // 64-byte steps: each piece starts on its own cache line.
    this.used += Math.ceil(length / 64) * 64;
    return buf;
  }

  /** Gives every slab back; the pieces handed out must not be used any more. */
  giveBackAll(): void {
    for (const slab of this.held) this.slabs.giveBack(slab);
    this.held.length = 0;
    this.slab = null;
    this.used = 0;
  }
}
