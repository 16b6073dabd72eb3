// file-pattern.ts - generated file content for tree specs: a repeated byte pattern or seeded
// pseudo-random bytes. Any window of the content can be produced on its own (byte i depends only
// on i), so createTree writes multi-GiB files in bounded memory and a test can recompute any
// range to check it.

/** A byte string repeated to the size, or `{seed}` for incompressible, reproducible bytes. */
export type FilePattern = string | Buffer | { seed: number };

/** The bytes at [offset, offset + length) of content generated from `pattern`. */
export function patternBytes(pattern: FilePattern, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  if (typeof pattern === 'object' && !Buffer.isBuffer(pattern)) {
    for (let i = 0; i < length; i++) out[i] = randomByte(pattern.seed, offset + i);
    return out;
  }
  const unit = typeof pattern === 'string' ? Buffer.from(pattern, 'utf8') : pattern;
  if (unit.length === 0) throw new RangeError('a file pattern must not be empty');
  for (let i = 0; i < length; i++) out[i] = unit[(offset + i) % unit.length]!;
  return out;
}

/**
 * Byte `index` of the seeded stream: a 32-bit integer hash (lowbias32) of seed and the word
 * index, one word per 4 bytes. Not cryptographic; only needs to defeat compression and dedup.
 */
function randomByte(seed: number, index: number): number {
  const word = Math.floor(index / 4);
  let x = (Math.imul(word, 0x9e3779b1) ^ Math.imul(seed | 0, 0x85ebca6b) ^ Math.floor(word / 0x100000000)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return (x >>> ((index % 4) * 8)) & 0xff;
}
