// Deterministic test data for the benchmarks: a seeded PRNG, incompressible bytes and text-like
// bytes. Everything is a pure function of its seed, so two runs (or two machines) build the same
// inputs and the same churn, and the tools being compared always see identical data.

/** xorshift32: tiny, fast, and good enough to pick files and fill buffers reproducibly. */
export class Prng {
  private x: number;

  constructor(seed: number) {
    this.x = seed >>> 0 || 1;
  }

  next(): number {
    let x = this.x;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.x = x;
    return x;
  }

  /** Integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  /** Float in [0, 1). */
  unit(): number {
    return this.next() / 0x1_0000_0000;
  }

  /** Log-uniform integer in [lo, hi]: many small values, a few large, like file sizes. */
  logUniform(lo: number, hi: number): number {
    return Math.round(Math.exp(Math.log(lo) + this.unit() * (Math.log(hi) - Math.log(lo))));
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
}

/** Incompressible bytes. */
export function randomBytes(len: number, seed = 12345): Buffer {
  const buf = Buffer.allocUnsafe(len);
  const rng = new Prng(seed);
  let i = 0;
  for (; i + 4 <= len; i += 4) buf.writeUInt32LE(rng.next(), i);
  for (; i < len; i++) buf[i] = rng.next() & 0xff;
  return buf;
}

const LETTERS = 'etaoinshrdlcumwfgypbvkjxqz_ETAOINSHRDLCUMWFGYPBVKJXQZ';
const PUNCT = [' ', ' ', ' ', ' ', ', ', '. ', '(', ') ', ' = ', '; ', ': ', '/'];

/**
 * Text-like bytes: a Zipf-ish draw from 4096 pseudo-words with numbers, punctuation and indented
 * short lines. zstd -3 compresses it to ~0.4 of its size, the same order as real source, config
 * and docs (~0.3), rather than the degenerate ~0.02 of a repeated sentence.
 */
export function textBytes(len: number, seed = 99991): Buffer {
  const rng = new Prng(seed);
  const vocab: string[] = [];
  for (let i = 0; i < 4096; i++) {
    const n = 2 + rng.below(9);
    let w = '';
    for (let j = 0; j < n; j++) w += LETTERS[Math.floor(rng.unit() ** 2 * LETTERS.length)];
    vocab.push(w);
  }
  const parts: string[] = [];
  let n = 0;
  while (n < len) {
    const r = rng.unit();
    let s = (rng.below(11) === 0 ? String(rng.below(65536)) : vocab[Math.floor(4096 * r * r * r)]!) + PUNCT[rng.below(PUNCT.length)]!;
    if (rng.below(12) === 0) s += `\n${'  '.repeat(rng.below(4))}`;
    parts.push(s);
    n += s.length;
  }
  return Buffer.from(parts.join('')).subarray(0, len);
}
