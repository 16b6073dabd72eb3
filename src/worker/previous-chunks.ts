// The chunk list of a file's previous version, for not compressing again what it already had.
// Crosses threads packed (32-byte id + u32 length per chunk). A large file's segment task gets
// only the chunks near its own position: sending a 100 GB image's whole list (200k chunks) with
// each of its 6400 segments would cost more than the compression it saves.
import { ID_BYTES, idHex } from '../model/blob-id.js';

export const PACKED_CHUNK_BYTES = ID_BYTES + 4;

/** Ids (hex) of the chunks of a file's previous version, as BlobSink looks them up. */
export type PreviousChunks = ReadonlySet<string>;

export function packChunks(chunks: readonly { id: Uint8Array; length: number }[]): Uint8Array {
  const out = new Uint8Array(chunks.length * PACKED_CHUNK_BYTES);
  const view = new DataView(out.buffer);
  chunks.forEach((c, i) => {
    out.set(c.id.subarray(0, ID_BYTES), i * PACKED_CHUNK_BYTES);
    view.setUint32(i * PACKED_CHUNK_BYTES + ID_BYTES, c.length, true);
  });
  return out;
}

export function previousChunkSet(packed: Uint8Array | null): PreviousChunks | undefined {
  if (!packed || packed.length < PACKED_CHUNK_BYTES) return undefined;
  const ids = new Set<string>();
  for (let o = 0; o + PACKED_CHUNK_BYTES <= packed.length; o += PACKED_CHUNK_BYTES) ids.add(idHex(packed.subarray(o, o + ID_BYTES)));
  return ids;
}

/**
 * A packed chunk list with each chunk's start in data bytes (holes not counted, as chunks are
 * cut), so the chunks around a position are found by binary search.
 */
export class PreviousChunkList {
  private readonly starts: Float64Array;

  constructor(private readonly packed: Uint8Array) {
    const n = Math.floor(packed.length / PACKED_CHUNK_BYTES);
    const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
    this.starts = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) this.starts[i + 1] = this.starts[i]! + view.getUint32(i * PACKED_CHUNK_BYTES + ID_BYTES, true);
  }

  /** First chunk index whose end is after `pos`. */
  private indexAt(pos: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid + 1]! <= pos) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The chunks overlapping data bytes [from, to), packed; an own copy (it crosses threads). */
  window(from: number, to: number): Uint8Array {
    const first = this.indexAt(Math.max(0, from));
    const end = Math.max(first, this.indexAt(Math.max(0, to)) + 1);
    const count = Math.min(end, this.starts.length - 1) - first;
    return this.packed.slice(first * PACKED_CHUNK_BYTES, (first + count) * PACKED_CHUNK_BYTES);
  }
}
