// zstd for blob payloads. Level 3 is zstd's default: near level-9 ratios on text at several
// hundred MB/s per core; kept as one constant so bench/ can weigh it.
import { compress, decompress } from '@mongodb-js/zstd';
import { Compression } from './record.js';

export const ZSTD_LEVEL = 3;
/** Below this, a zstd frame costs more than it saves. */
const MIN_COMPRESS_BYTES = 64;

export async function compressPayload(raw: Buffer): Promise<{ compression: Compression; payload: Buffer }> {
  if (raw.length >= MIN_COMPRESS_BYTES) {
    const packed = await compress(raw, ZSTD_LEVEL);
    if (packed.length < raw.length) return { compression: Compression.Zstd, payload: packed };
  }
  return { compression: Compression.None, payload: raw };
}

export async function decompressPayload(compression: Compression, payload: Buffer): Promise<Buffer> {
  if (compression === Compression.None) return payload;
  if (compression === Compression.Zstd) return decompress(payload);
  throw new Error(`unknown compression ${compression}`);
}
