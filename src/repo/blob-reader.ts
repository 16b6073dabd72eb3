// Reads blobs back: locate, read the record, verify its xxh3, decompress, verify SHA-256 = id.
// Nothing read from the repository is used before both checks pass.
import { blobId, idHex, BlobKind } from '../model/blob-id.js';
import { SnapError } from '../model/errors.js';
import type { BlobIndex } from './blob-index.js';
import { decompressPayload } from './compression.js';
import type { LocalStore } from './local-store.js';
import { Compression, decodeRecord, type RecordHeader } from './record.js';

interface Found {
  id: Buffer;
  record: { header: RecordHeader; payload: Buffer };
  where: string;
}

export class BlobReader {
  constructor(
    private readonly store: LocalStore,
    readonly index: BlobIndex,
  ) {}

  async read(id: Buffer): Promise<Buffer> {
    const { record, where } = this.record(id);
    return this.verified(id, record.header.rawLength, await decompressPayload(record.header.compression, record.payload), where);
  }

  /**
   * Reads several blobs, decompressing all zstd ones in one call: a zstd frame sequence decodes to
   * the concatenation of its frames, and each record says its raw length, so the output is cut at
   * those lengths. A call crosses to libuv's pool and wakes a thread; a no-change snapshot reads a
   * small tree per directory, and one call per tree cost more than the decoding. One promise per
   * id, each failing alone: if the joint call fails or decodes to another total length, each blob
   * is decompressed alone, so an error names its own blob.
   */
  readMany(ids: Buffer[]): Promise<Buffer>[] {
    const found = ids.map((id) => {
      try {
        return { id, ...this.record(id) };
      } catch (err) {
        return { id, err };
      }
    });
    const zstd = found.filter((f) => 'record' in f && f.record.header.compression === Compression.Zstd) as Found[];
    const cuts = new Map<Found, [number, number]>();
    let total = 0;
    for (const f of zstd) {
      cuts.set(f, [total, total + f.record.header.rawLength]);
      total += f.record.header.rawLength;
    }
    const joined = zstd.length > 1 ? decompressPayload(Compression.Zstd, Buffer.concat(zstd.map((f) => f.record.payload))).catch(() => null) : Promise.resolve(null);
    return found.map(async (f) => {
      if (!('record' in f)) throw f.err;
      const j = await joined;
      const cut = cuts.get(f);
      const raw = j?.length === total && cut ? j.subarray(cut[0], cut[1]) : await decompressPayload(f.record.header.compression, f.record.payload);
      return this.verified(f.id, f.record.header.rawLength, raw, f.where);
    });
  }

  /** The blob's record, its xxh3 verified; `where` names it for errors. */
  private record(id: Buffer): Omit<Found, 'id'> {
    const loc = this.index.locate(id);
    const key = `packs/${loc.packId.slice(0, 2)}/${loc.packId}.pack`;
    const where = `${key} at ${loc.offset}`;
    const record = decodeRecord(this.store.getRange(key, loc.offset, loc.recordLength), where);
    if (!record.header.id.equals(id)) throw new SnapError('REPO_CORRUPT', `damaged record in ${where}: wrong blob id`);
    if (record.header.kind === BlobKind.Delta) {
      throw new SnapError('REPO_CORRUPT', `blob ${idHex(id)} is a delta; this version cannot read deltas`);
    }
    return { record, where };
  }

  private verified(id: Buffer, rawLength: number, raw: Buffer, where: string): Buffer {
    if (raw.length !== rawLength || !blobId(raw).equals(id)) {
      throw new SnapError('REPO_CORRUPT', `blob ${idHex(id)} in ${where} fails its SHA-256 check`);
    }
    return raw;
  }
}
