// Reads blobs back: locate, read the record, verify its xxh3, decompress, verify SHA-256 = id.
// Nothing read from the repository is used before both checks pass.
import { blobId, idHex, BlobKind } from '../model/blob-id.js';
import { SnapError } from '../model/errors.js';
import type { BlobIndex } from './blob-index.js';
import { decompressPayload } from './compression.js';
import type { LocalStore } from './local-store.js';
import { decodeRecord } from './record.js';

export class BlobReader {
  constructor(
    private readonly store: LocalStore,
    readonly index: BlobIndex,
  ) {}

  async read(id: Buffer): Promise<Buffer> {
    const loc = this.index.locate(id);
    const key = `packs/${loc.packId.slice(0, 2)}/${loc.packId}.pack`;
    const rec = this.store.getRange(key, loc.offset, loc.recordLength);
    const where = `${key} at ${loc.offset}`;
    const { header, payload } = decodeRecord(rec, where);
    if (!header.id.equals(id)) throw new SnapError('REPO_CORRUPT', `damaged record in ${where}: wrong blob id`);
    if (header.kind === BlobKind.Delta) {
      throw new SnapError('REPO_CORRUPT', `blob ${idHex(id)} is a delta; this version cannot read deltas`);
    }
    const raw = await decompressPayload(header.compression, payload);
    if (raw.length !== header.rawLength || !blobId(raw).equals(id)) {
      throw new SnapError('REPO_CORRUPT', `blob ${idHex(id)} in ${where} fails its SHA-256 check`);
    }
    return raw;
  }
}
