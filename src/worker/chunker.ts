// Content-defined chunking (FastCDC with normalized chunking) for large files: boundaries depend on
// content, not offsets, so an appended log or an edited image stores only the chunks that changed.
// Gear hash over a 32-byte window; the cut mask uses the hash's top bits, which depend on the most
// bytes. Parameters live in repo.json so every run of one repository cuts the same way.

export interface ChunkerParams {
  min: number;
  avg: number;
  max: number;
  seed: number;
}

/** 512 KiB average: an appended MiB costs ~1.5 MiB, and a 2.5 GB tree stays below 10k chunks per GB. */
export const DEFAULT_CHUNKER: ChunkerParams = { min: 128 * 1024, avg: 512 * 1024, max: 2 * 1024 * 1024, seed: 0x5eed };

/** Files up to this size are one blob; larger ones are chunked. */
export const CHUNK_THRESHOLD = 1024 * 1024;

function gearTable(seed: number): Int32Array {
  // xorshift32: deterministic, so the table is a function of the repository's seed alone.
  const t = new Int32Array(256);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < 256; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    t[i] = x | 0;
  }
  return t;
}

function topBitsMask(bits: number): number {
  return bits >= 32 ? -1 : ((0xffffffff << (32 - bits)) | 0);
}

/** Set once cut() has been run through all its paths (warmUp, below). */
let warmedUp = false;

export class Chunker {
  private readonly gear: Int32Array;
  private readonly maskHard: number;
  private readonly maskEasy: number;

  constructor(readonly params: ChunkerParams = DEFAULT_CHUNKER) {
    if (!(params.min > 0 && params.min <= params.avg && params.avg <= params.max)) {
      throw new Error(`bad chunker parameters ${JSON.stringify(params)}`);
    }
    this.gear = gearTable(params.seed);
    const bits = Math.round(Math.log2(params.avg));
    // Normalization level 2: harder before the average size, easier after it.
    this.maskHard = topBitsMask(bits + 2);
    this.maskEasy = topBitsMask(bits - 2);
  }

  /**
   * Length of the next chunk of buf[start, start+len). `len` must reach `max` unless the data ends
   * there (`atEnd`), so that a cut never depends on how the data was read.
   */
  cut(buf: Uint8Array, start: number, len: number): number {
    if (!warmedUp) warmUp(); // on the first call, not at start-up: most snapshots chunk nothing
    const { min, avg, max } = this.params;
    if (len <= min) return len;
    const end = start + Math.min(len, max);
    const normal = start + Math.min(len, avg);
    const gear = this.gear;
    let h = 0;
    let i = start + min;
    // Up to `normal` with the hard mask, then up to `end` with the easy one. Eight bytes per
    // iteration, each still tested: V8 does not unroll, and this loop runs over every byte of
    // every large file read (1.7 vs 0.9 GB/s in bench/kernels). Cuts are the byte-wise loop's.
    for (let phase = 0, limit = normal, mask = this.maskHard; phase < 2; phase++, limit = end, mask = this.maskEasy) {
      for (const stop = limit - 7; i < stop; i += 8) {
        h = ((h << 1) + gear[buf[i]!]!) | 0;
        if ((h & mask) === 0) return i + 1 - start;
        h = ((h << 1) + gear[buf[i + 1]!]!) | 0;
        if ((h & mask) === 0) return i + 2 - start;
        h = ((h << 1) + gear[buf[i + 2]!]!) | 0;
        if ((h & mask) === 0) return i + 3 - start;
        h = ((h << 1) + gear[buf[i + 3]!]!) | 0;
        if ((h & mask) === 0) return i + 4 - start;
        h = ((h << 1) + gear[buf[i + 4]!]!) | 0;
        if ((h & mask) === 0) return i + 5 - start;
        h = ((h << 1) + gear[buf[i + 5]!]!) | 0;
        if ((h & mask) === 0) return i + 6 - start;
        h = ((h << 1) + gear[buf[i + 6]!]!) | 0;
        if ((h & mask) === 0) return i + 7 - start;
        h = ((h << 1) + gear[buf[i + 7]!]!) | 0;
        if ((h & mask) === 0) return i + 8 - start;
      }
      for (; i < limit; i++) {
        h = ((h << 1) + gear[buf[i]!]!) | 0;
        if ((h & mask) === 0) return i + 1 - start;
      }
    }
    return end - start;
  }
}

/**
 * Runs cut() through every path of its loop once, with small parameters, before real data: each
 * of the eight cut positions of both phases, the phase change, the byte-wise tail, and a chunk cut
 * at `max`. V8 compiles cut() with TurboFan while it runs through the first large file (by on-stack
 * replacement), and a path that had not run by then has no type feedback: reaching it throws the
 * optimized code away ("insufficient type feedback"), and the loop runs in baseline code until it
 * is compiled again: 8-10 times per scan thread in a churn snapshot (docs/BENCHMARKS.md). Feedback
 * belongs to the method, not the instance: a small instance's run serves every later one.
 */
function warmUp(): void {
  warmedUp = true;
  const small = new Chunker({ min: 8, avg: 64, max: 256, seed: 1 });
  const data = Buffer.allocUnsafe(16 * 1024);
  let x = 0x9e3779b9;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = x & 0xff;
  }
  // Lengths that are not multiples of 8 run the byte-wise tail; short ones the early return.
  for (let off = 0, n = 0; off < data.length; n++) off += small.cut(data, off, Math.min(data.length - off, 3 + ((n * 37) % 300)));
  // A run of one byte value hashes to a constant after 32 bytes; one whose constant never meets
  // the mask makes a chunk of `max` bytes.
  const run = Buffer.allocUnsafe(256);
  for (let b = 0; b < 256; b++) if (small.cut(run.fill(b), 0, run.length) === run.length) break;
}
