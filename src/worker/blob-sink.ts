// Collects the blobs one task produces: hashes raw content (SHA-256 = id) at once, compresses in
// the background (all of a task's compressions run concurrently on libuv's pool), and packs the
// payloads into one contiguous buffer so a task result crosses threads as a single copy.
// Content the previous version of the same file already had is not compressed again: it is almost
// always stored (the writer drops it), and if it is not (a damaged repository), it is stored raw.
import { blobId, idHex, BlobKind } from '../model/blob-id.js';
import { compressPayload } from '../repo/compression.js';
import { Compression } from '../repo/record.js';
import type { BlobDesc } from './protocol.js';
import type { PreviousChunks } from './previous-chunks.js';

interface Pending {
  id: Buffer;
  kind: BlobKind;
  rawLength: number;
  packed: Promise<{ compression: number; payload: Buffer }>;
}

export class BlobSink {
  private readonly pending: Pending[] = [];
  private readonly seen = new Set<string>();
  /** Blobs added that a file's previous version had (sent raw, not compressed). */
  reused = 0;

  /** Hashes `raw` and queues it; returns its id. Duplicates within the task are stored once. */
  add(raw: Buffer, kind: BlobKind = BlobKind.Data, previous?: PreviousChunks): Buffer {
    const id = blobId(raw);
    const key = idHex(id);
    if (this.seen.has(key)) return id;
    this.seen.add(key);
    if (previous?.has(key)) {
      this.reused++;
      this.pending.push({ id, kind, rawLength: raw.length, packed: Promise.resolve({ compression: Compression.None, payload: raw }) });
      return id;
    }
    const packed = compressPayload(raw);
    packed.catch(() => undefined); // awaited in finish(); never an unhandled rejection meanwhile
    this.pending.push({ id, kind, rawLength: raw.length, packed });
    return id;
  }

  /** Waits for the compressions; one standalone buffer (never a view of Node's shared pool). */
  async finish(): Promise<{ data: Uint8Array; blobs: BlobDesc[] }> {
    const packed = await Promise.all(this.pending.map((p) => p.packed));
    const size = packed.reduce((n, p) => n + p.payload.length, 0);
    // allocUnsafeSlow: every byte is written below (no zero-fill), and the buffer is its own
    // ArrayBuffer, so it can be moved to the main thread instead of copied.
    const data = Buffer.allocUnsafeSlow(size);
    const blobs: BlobDesc[] = [];
    let o = 0;
    packed.forEach(({ compression, payload }, i) => {
      const p = this.pending[i]!;
      data.set(payload, o);
      blobs.push({ id: p.id, kind: p.kind, compression, rawLength: p.rawLength, offset: o, length: payload.length });
      o += payload.length;
    });
    return { data, blobs };
  }
}
