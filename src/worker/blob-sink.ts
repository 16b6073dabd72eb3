// Collects the blobs one task produces: hashes raw content (SHA-256 = id), compresses, and packs
// the payloads into one contiguous buffer so a task result crosses threads as a single copy.
import { blobId, idHex, BlobKind } from '../model/blob-id.js';
import { compressPayload } from '../repo/compression.js';
import type { BlobDesc } from './protocol.js';

export class BlobSink {
  private readonly payloads: Buffer[] = [];
  private readonly descs: BlobDesc[] = [];
  private readonly seen = new Set<string>();
  private size = 0;

  /** Hashes and stores `raw`, returns its id. Duplicates within the task are stored once. */
  async add(raw: Buffer, kind: BlobKind = BlobKind.Data): Promise<Buffer> {
    const id = blobId(raw);
    const key = idHex(id);
    if (this.seen.has(key)) return id;
    this.seen.add(key);
    const { compression, payload } = await compressPayload(raw);
    this.descs.push({ id, kind, compression, rawLength: raw.length, offset: this.size, length: payload.length });
    this.payloads.push(payload);
    this.size += payload.length;
    return id;
  }

  get bytes(): number {
    return this.size;
  }

  /** One standalone buffer (never a view of Node's shared pool), safe to transfer onwards. */
  finish(): { data: Uint8Array; blobs: BlobDesc[] } {
    const data = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.payloads) {
      data.set(p, o);
      o += p.length;
    }
    return { data, blobs: this.descs };
  }
}
