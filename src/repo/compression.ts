// zstd for blob payloads, at level 2: compression is most of a first snapshot's CPU, and on the
// bench tree level 2 took 0.86x the wall time and 0.84x the CPU of level 3 (zstd's default) for a
// 2.7% larger repository; content of large files alone at level 2 gave 0.91x for 1.8%
// (docs/BENCHMARKS.md). Kept as one constant so bench/ can weigh it.
// The package's own wrapper drops the level argument (bench/ found it), so the napi binding is
// called directly. Each call runs on libuv's pool: callers start many before awaiting any
// (BlobSink), since one awaited call at a time costs ~60 us even for a few bytes.
import { createRequire } from 'node:module';
import { Compression } from './record.js';

interface ZstdBinding {
  compress(data: Buffer, level: number): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}
const { compress, decompress } = loadBinding();

/**
 * The package's loader (bindings.js) calls process.report.getReport() to tell glibc from musl:
 * ~10 ms in each of the four threads that load it, every run. On glibc Linux the platform
 * package is loaded directly; anything else goes through the package's own loader.
 */
function loadBinding(): ZstdBinding {
  const require = createRequire(import.meta.url);
  if (process.platform === 'linux') {
    try {
      return require(`@mongodb-js/zstd-linux-${process.arch}-gnu`) as ZstdBinding;
    } catch {
      // not installed for this platform, or not loadable here (musl): the package decides
    }
  }
  return require('@mongodb-js/zstd/bindings.js') as ZstdBinding;
}

export const ZSTD_LEVEL = 2;
/** Below this, a zstd frame costs more than it saves. */
const MIN_COMPRESS_BYTES = 64;

export async function compressPayload(raw: Buffer, level = ZSTD_LEVEL): Promise<{ compression: Compression; payload: Buffer }> {
  if (raw.length >= MIN_COMPRESS_BYTES) {
    const packed = await compress(raw, level);
    if (packed.length < raw.length) return { compression: Compression.Zstd, payload: packed };
  }
  return { compression: Compression.None, payload: raw };
}

export async function decompressPayload(compression: Compression, payload: Buffer): Promise<Buffer> {
  if (compression === Compression.None) return payload;
  if (compression === Compression.Zstd) return decompress(payload);
  throw new Error(`unknown compression ${compression}`);
}
