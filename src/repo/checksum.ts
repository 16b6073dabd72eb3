// xxh3-64 record checksums (fast integrity check, not an id). Wrapped here because xxhash-addon
// segfaults when its constructor gets anything but a Buffer seed.
import { createRequire } from 'node:module';

export interface Hasher {
  update(data: Uint8Array): void;
  digest(): Buffer;
  reset(): void;
}
const require = createRequire(import.meta.url);
const { XXHash3 } = require('xxhash-addon') as { XXHash3: new (seed: Buffer) => Hasher };

const SEED = Buffer.alloc(8);

/**
 * The thread's hasher for xxh3(), reset for each call: a new one per call (a native state, a
 * wrapped object, its finalizer for the collector) took ~11 us against ~1.5 us for a reset, and
 * every record written or read is checked this way. xxh3() never yields, so no two calls share it.
 */
let oneShot: Hasher | null = null;

/** xxh3-64 over the concatenation of `parts`, as 8 bytes. */
export function xxh3(...parts: Uint8Array[]): Buffer {
  const h = (oneShot ??= new XXHash3(SEED));
  h.reset();
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Incremental xxh3-64, for files read in pieces. */
export function xxh3Stream(): Hasher {
  return new XXHash3(SEED);
}
