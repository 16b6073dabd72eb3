// The entries' stats for the full path of the walk (a directory that changed, or a new one):
// STAT_BATCH entries per native call (fstatatMany) instead of one fstatat call each, kept in
// arrays of this directory's own: the full path awaits file reads, and meanwhile the thread's
// other task may use the context's shared stat arrays.
import * as sys from '../sys/index.js';
import type { PackedDir } from '../sys/native.js';
import { STAT_BATCH } from './worker-context.js';

const FIELDS = sys.STAT_FIELD_COUNT;

export class ListingStats {
  readonly slots: BigInt64Array;
  /** The same fields as bytes and as 32-bit words, for comparing with a tree's bytes in place. */
  readonly slotBytes: Uint8Array;
  readonly slotWords: Uint32Array;
  private readonly errnos: Int32Array;
  /** Index of the entry whose stat is first in the arrays; -1 before the first batch. */
  private loaded = -1;

  /**
   * `first`: the arrays where the listing's first STAT_BATCH entries were stat'ed just now (by the
   * caller, for the fast path), copied here so that the directory is not stat'ed twice; null to
   * stat every batch here.
   */
  constructor(
    private readonly dirfd: number,
    private readonly listing: PackedDir,
    first: { slots: BigInt64Array; errnos: Int32Array } | null,
  ) {
    const n = Math.min(listing.count, STAT_BATCH);
    if (first) {
      this.slots = first.slots.slice(0, n * FIELDS);
      this.errnos = first.errnos.slice(0, n);
      this.loaded = 0;
    } else {
      this.slots = new BigInt64Array(n * FIELDS);
      this.errnos = new Int32Array(n);
    }
    this.slotBytes = new Uint8Array(this.slots.buffer, this.slots.byteOffset, this.slots.byteLength);
    this.slotWords = new Uint32Array(this.slots.buffer, this.slots.byteOffset, this.slots.length * 2);
  }

  /**
   * Where entry i's stat starts in `slots` (valid until the next call), or minus its errno. Called
   * for i = 0, 1, 2… in order; `from` is where the entry's name starts in the listing's names.
   */
  slot(i: number, from: number): number {
    const j = i % STAT_BATCH;
    if (j === 0 && this.loaded !== i) {
      sys.fstatatMany(this.dirfd, this.listing, from, Math.min(STAT_BATCH, this.listing.count - i), sys.constants.AT_SYMLINK_NOFOLLOW, this.slots, this.errnos);
      this.loaded = i;
    }
    const errno = this.errnos[j]!;
    return errno !== 0 ? -errno : j * FIELDS;
  }
}
