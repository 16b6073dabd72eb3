// Reads blobs back: locate, read the record, verify its xxh3, decompress, verify SHA-256 = id.
// Nothing read from the repository is used before both checks pass.
import { blobId, idHex, BlobKind } from '../model/blob-id.js';
import { SnapError } from '../model/errors.js';
import type { BlobIndex, BlobLocation } from './blob-index.js';
import { bundleRaw, memberBytes, parseBundle, type ParsedBundle } from './bundle.js';
import { decompressPayload } from './compression.js';
import type { LocalStore } from './local-store.js';
import type { OpenFiles } from './open-files.js';
import { Compression, decodeRecord, type RecordHeader } from './record.js';

/**
 * Bundles kept decompressed (about 1 MiB each), the least recently read dropped first. A restore
 * writes files in tree order, not in the order their bundles were made: a directory's small files
 * can come from several bundles, and a file stored once for many paths (deduplicated) from an old
 * one. With 4 kept, first in first out, a restore of the bench tree opened 7,752 bundles (3.6 GB
 * read and decompressed) where 16 most recently read open 3,880 (0.5 GB; docs/BENCHMARKS.md).
 */
export const BUNDLE_CACHE = 16;

interface OpenBundle {
  bundle: ParsedBundle;
  raw: Buffer;
  where: string;
  /**
   * Member number by id (latin1 string of the id), made at the first member read: a restore reads
   * most of a bundle's ~1000 members, and finding each by a scan of the table cost ~25 us a file.
   */
  byId: Map<string, number> | null;
}

interface Found {
  id: Buffer;
  record: { header: RecordHeader; payload: Buffer };
  where: string;
  /** The record's place (bundleKey): what the bundle cache is keyed by. */
  key: string;
}

const EMPTY = Buffer.alloc(0);
const bundleKey = (loc: BlobLocation): string => `${loc.packId}:${loc.offset}`;
const packKey = (loc: BlobLocation): string => `packs/${loc.packId.slice(0, 2)}/${loc.packId}.pack`;

export class BlobReader {
  constructor(
    private readonly store: LocalStore,
    readonly index: BlobIndex,
  ) {}

  /** Decompressed bundles lately read, by pack and offset: a restore reads a bundle's members in a row. */
  private readonly bundles = new Map<string, Promise<OpenBundle>>();

  /** Bundle records read from the packs (each cache miss), for tests. */
  bundlesOpened = 0;

  async read(id: Buffer): Promise<Buffer> {
    const loc = this.index.locate(id);
    const cached = this.cachedBundle(bundleKey(loc));
    if (cached) return this.member(id, await cached);
    const found = this.record(id, loc);
    if (found.record.header.kind === BlobKind.Bundle) return this.member(id, await this.openBundle(found));
    return this.verified(id, found.record.header.rawLength, await decompressPayload(found.record.header.compression, found.record.payload), found.where);
  }

  /** The cached bundle at `key`, marked as the most recently read; undefined if not cached. */
  private cachedBundle(key: string): Promise<OpenBundle> | undefined {
    const cached = this.bundles.get(key);
    if (cached) {
      this.bundles.delete(key); // a Map keeps insertion order: re-inserted, it is dropped last
      this.bundles.set(key, cached);
    }
    return cached;
  }

  /** A bundle record decompressed once and kept (BUNDLE_CACHE), for each member read from it. */
  private openBundle({ record, where, key }: Omit<Found, 'id'>): Promise<OpenBundle> {
    const cached = this.cachedBundle(key);
    if (cached) return cached;
    this.bundlesOpened++;
    const open = (async (): Promise<OpenBundle> => {
      const parsed = parseBundle(record.payload, where);
      const raw = await bundleRaw(parsed, record.header.compression, record.header.rawLength, where);
      // Only the raw bytes are read from now on: the compressed record (a view of the pread
      // buffer) is not kept alive by the cache.
      return { bundle: { ...parsed, data: EMPTY }, raw, where, byId: null };
    })();
    if (this.bundles.size >= BUNDLE_CACHE) this.bundles.delete(this.bundles.keys().next().value!);
    this.bundles.set(key, open);
    open.catch(() => {
      if (this.bundles.get(key) === open) this.bundles.delete(key); // a failed read is not remembered
    });
    return open;
  }

  /** A member cut out of its bundle, its SHA-256 checked. */
  private member(id: Buffer, open: OpenBundle): Buffer {
    const { bundle, raw, where } = open;
    open.byId ??= new Map(bundle.members.map((m, k) => [m.id.toString('latin1'), k]));
    const i = open.byId.get(id.toString('latin1')) ?? -1;
    if (i < 0) throw new SnapError('REPO_CORRUPT', `damaged record in ${where}: blob ${idHex(id)} is not in this bundle`);
    return this.verified(id, bundle.members[i]!.rawLength, memberBytes(bundle, raw, i), where);
  }

  /**
   * Reads several blobs, decompressing all zstd ones in one call: a zstd frame sequence decodes to
   * the concatenation of its frames, and each record says its raw length, so the output is cut at
   * those lengths. A call crosses to libuv's pool and wakes a thread; a no-change snapshot reads a
   * small tree per directory, and one call per tree cost more than the decoding. One promise per
   * id, each failing alone: if the joint call fails or decodes to another total length, each blob
   * is decompressed alone, so an error names its own blob.
   */
  readMany(ids: Buffer[], open?: OpenFiles): Promise<Buffer>[] {
    const found = this.records(ids, open);
    const zstd = found.filter((f): f is Found => 'record' in f && f.record.header.kind !== BlobKind.Bundle && f.record.header.compression === Compression.Zstd);
    const cuts = new Map<Found, [number, number]>();
    let total = 0;
    for (const f of zstd) {
      cuts.set(f, [total, total + f.record.header.rawLength]);
      total += f.record.header.rawLength;
    }
    const joined = zstd.length > 1 ? decompressPayload(Compression.Zstd, Buffer.concat(zstd.map((f) => f.record.payload))).catch(() => null) : Promise.resolve(null);
    return found.map(async (f) => {
      if (!('record' in f)) throw f.err;
      if (f.record.header.kind === BlobKind.Bundle) return this.member(f.id, await this.openBundle(f)); // a bundle member (never a tree)
      const j = await joined;
      const cut = cuts.get(f);
      // An uncompressed payload is a view of the read span (up to 4 MiB): copied, so a kept tree
      // does not keep its neighbours' bytes.
      const raw = j?.length === total && cut ? j.subarray(cut[0], cut[1]) : f.record.header.compression === Compression.None ? Buffer.from(f.record.payload) : await decompressPayload(f.record.header.compression, f.record.payload);
      return this.verified(f.id, f.record.header.rawLength, raw, f.where);
    });
  }

  /**
   * The records of `ids`, read with one open per pack (LocalStore.getRanges; none with `open`, for
   * packs it already holds); each fails alone.
   */
  private records(ids: Buffer[], open?: OpenFiles): (Found | { id: Buffer; err: unknown })[] {
    const out: (Found | { id: Buffer; err: unknown })[] = new Array(ids.length);
    const byPack = new Map<string, { i: number; loc: BlobLocation }[]>();
    ids.forEach((id, i) => {
      try {
        const loc = this.index.locate(id);
        const key = packKey(loc);
        let list = byPack.get(key);
        if (!list) byPack.set(key, (list = []));
        list.push({ i, loc });
      } catch (err) {
        out[i] = { id, err };
      }
    });
    for (const [key, list] of byPack) {
      let bytes: Buffer[];
      try {
        bytes = this.store.getRanges(key, list.map(({ loc }) => ({ offset: loc.offset, length: loc.recordLength })), open);
      } catch (err) {
        for (const { i } of list) out[i] = { id: ids[i]!, err };
        continue;
      }
      list.forEach(({ i, loc }, k) => {
        try {
          out[i] = { id: ids[i]!, ...this.decode(ids[i]!, loc, bytes[k]!) };
        } catch (err) {
          out[i] = { id: ids[i]!, err };
        }
      });
    }
    return out;
  }

  /** The blob's record, its xxh3 verified; `where` names it for errors. */
  private record(id: Buffer, loc: BlobLocation): Omit<Found, 'id'> {
    return this.decode(id, loc, this.store.getRange(packKey(loc), loc.offset, loc.recordLength));
  }

  private decode(id: Buffer, loc: BlobLocation, bytes: Buffer): Omit<Found, 'id'> {
    const key = packKey(loc);
    const where = `${key} at ${loc.offset}`;
    const record = decodeRecord(bytes, where);
    if (record.header.kind !== BlobKind.Bundle && !record.header.id.equals(id)) throw new SnapError('REPO_CORRUPT', `damaged record in ${where}: wrong blob id`);
    if (record.header.kind === BlobKind.Delta) {
      throw new SnapError('REPO_CORRUPT', `blob ${idHex(id)} is a delta; this version cannot read deltas`);
    }
    return { record, where, key: bundleKey(loc) };
  }

  private verified(id: Buffer, rawLength: number, raw: Buffer, where: string): Buffer {
    if (raw.length !== rawLength || !blobId(raw).equals(id)) {
      throw new SnapError('REPO_CORRUPT', `blob ${idHex(id)} in ${where} fails its SHA-256 check`);
    }
    return raw;
  }
}
