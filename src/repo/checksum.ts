// xxh3-64 record checksums (fast integrity check, not an id). Wrapped here because xxhash-addon
// segfaults when its constructor gets anything but a Buffer seed.
import { createRequire } from 'node:module';

export interface Hasher {
  update(data: Uint8Array): void;
  digest(): Buffer;
}
const require = createRequire(import.meta.url);
const { XXHash3 } = require('xxhash-addon') as { XXHash3: new (seed: Buffer) => Hasher };

const SEED = Buffer.alloc(8);

/** xxh3-64 over the concatenation of `parts`, as 8 bytes. */
export function xxh3(...parts: Uint8Array[]): Buffer {
  const h = new XXHash3(SEED);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Incremental xxh3-64, for files read in pieces. */
export function xxh3Stream(): Hasher {
  return new XXHash3(SEED);
}
