// Integrity check: every pack record's xxh3 (and with readData its decompressed SHA-256), every
// index entry against the record it points at, and every blob each listed point needs. Damage is
// reported with the points and paths it affects. Read-only.
import { blobId, idHex, BlobKind } from '../model/blob-id.js';
import { SnapError } from '../model/errors.js';
import { decompressPayload } from './compression.js';
import { EMPTY_TREE } from './empty-tree.js';
import { IdTable } from './id-table.js';
import { INDEX_ENTRY_BYTES, indexTable, readIndexEntry } from './index-file.js';
import { PACK_MAGIC, RECORD_HEADER_BYTES, decodeRecord, type Compression } from './record.js';
import { bundleId, bundleRaw, bundleTable, memberBytes, parseBundle, type ParsedBundle } from './bundle.js';
import { markReachable } from './reachable.js';
import type { Repository } from './repository.js';

export interface CheckReport {
  packs: number;
  blobs: number;
  points: number;
  problems: string[];
  /** "point N (id): /path" for every path whose content or tree is damaged or missing. */
  affected: string[];
}

const MAX_AFFECTED_PER_POINT = 50;

interface PackRecord {
  id: Buffer;
  length: number;
  /** A bundle's member ids (hex). */
  members?: Set<string>;
}

/** With --read-data: every member of a bundle decompressed and its SHA-256 checked. */
async function checkMembers(bundle: ParsedBundle, compression: Compression, rawLength: number, where: string): Promise<void> {
  const raw = await bundleRaw(bundle, compression, rawLength, where);
  bundle.members.forEach((m, i) => {
    if (!blobId(memberBytes(bundle, raw, i)).equals(m.id)) throw new SnapError('REPO_CORRUPT', `${where}: blob ${idHex(m.id)} fails its SHA-256 check`);
  });
}

export async function checkRepository(repo: Repository, readData: boolean): Promise<CheckReport> {
  const store = repo.store;
  const report: CheckReport = { packs: 0, blobs: 0, points: 0, problems: [], affected: [] };
  const bad = new IdTable(64);
  const good = new IdTable(4096);

  // 1. Packs, record by record.
  const recordsByPack = new Map<string, Map<number, PackRecord>>();
  for (const key of store.list('packs')) {
    report.packs++;
    const packId = key.slice(key.lastIndexOf('/') + 1, -'.pack'.length);
    const data = store.get(key);
    const records = new Map<number, PackRecord>();
    recordsByPack.set(packId, records);
    if (!data.subarray(0, PACK_MAGIC.length).equals(PACK_MAGIC)) {
      report.problems.push(`pack ${packId}: bad magic (not a pack file)`);
      continue;
    }
    if (!blobId(data).equals(Buffer.from(packId, 'hex'))) report.problems.push(`pack ${packId}: content does not match its name (damaged or truncated)`);
    let o = PACK_MAGIC.length;
    while (o < data.length) {
      if (o + RECORD_HEADER_BYTES > data.length) {
        report.problems.push(`pack ${packId}: truncated at offset ${o} (partial record header)`);
        break;
      }
      const len = RECORD_HEADER_BYTES + data.readUInt32LE(o + 48);
      if (o + len > data.length) {
        report.problems.push(`pack ${packId}: truncated at offset ${o} (record of ${len} bytes, ${data.length - o} left)`);
        break;
      }
      try {
        const where = `pack ${packId} at ${o}`;
        const { header, payload } = decodeRecord(data.subarray(o, o + len), where);
        if (header.kind === BlobKind.Bundle) {
          const bundle = parseBundle(payload, where);
          if (!bundleId(bundleTable(payload)).equals(header.id)) throw new SnapError('REPO_CORRUPT', `damaged bundle in ${where}: its id does not match its member table`);
          records.set(o, { id: header.id, length: len, members: new Set(bundle.members.map((m) => idHex(m.id))) });
          if (readData) await checkMembers(bundle, header.compression, header.rawLength, where);
          for (const m of bundle.members) good.add(m.id);
          report.blobs += bundle.members.length;
        } else {
          records.set(o, { id: header.id, length: len });
          if (readData && header.kind !== BlobKind.Delta) {
            const raw = await decompressPayload(header.compression, Buffer.from(payload));
            if (!blobId(raw).equals(header.id)) throw new SnapError('REPO_CORRUPT', `${where}: blob ${idHex(header.id)} fails its SHA-256 check`);
          }
          good.add(header.id);
          report.blobs++;
        }
      } catch (err) {
        report.problems.push((err as Error).message);
      }
      o += len;
    }
  }

  // 2. Indexes against the records they point at.
  for (const key of store.list('index')) {
    const packId = key.slice('index/'.length, -'.idx'.length);
    const records = recordsByPack.get(packId);
    let table: Buffer;
    try {
      table = indexTable(store.get(key), key);
    } catch (err) {
      report.problems.push((err as Error).message);
      continue;
    }
    for (let i = 0; i < table.length / INDEX_ENTRY_BYTES; i++) {
      const e = readIndexEntry(table, i);
      const rec = records?.get(e.offset);
      if (!records) {
        report.problems.push(`index ${packId}: its pack is missing`);
        bad.add(e.id);
        break;
      }
      const holds = rec && (rec.members ? rec.members.has(idHex(e.id)) : rec.id.equals(e.id));
      if (!rec || !holds || rec.length !== e.recordLength || !good.has(e.id)) {
        report.problems.push(`index ${packId}: blob ${idHex(e.id)} at ${e.offset} is damaged or not where the index says`);
        bad.add(e.id);
      }
    }
  }

  // 3. Every listed point: are all its trees and blobs there and sound?
  const { points, broken } = repo.points();
  for (const b of broken) report.problems.push(`point file ${b.id}: ${b.error}`);
  const index = repo.loadIndex();
  const reader = repo.reader(index);
  const perPoint = new Map<string, number>();
  const number = new Map(points.map((p, i) => [p.id, i + 1]));
  for (const point of points) {
    report.points++;
    const damaged = (path: Buffer, what: string): void => {
      const n = perPoint.get(point.id) ?? 0;
      perPoint.set(point.id, n + 1);
      if (n < MAX_AFFECTED_PER_POINT) report.affected.push(`point ${number.get(point.id)} (${point.id}): ${path.toString()} ${what}`);
      else if (n === MAX_AFFECTED_PER_POINT) report.affected.push(`point ${number.get(point.id)} (${point.id}): ... more`);
    };
    let currentTreePath: Buffer = Buffer.from("/");
    await markReachable(
      [point],
      {
        readTree: async (id) => {
          try {
            return await reader.read(id);
          } catch (err) {
            damaged(currentTreePath, `(directory unreadable: ${(err as Error).message})`);
            return EMPTY_TREE;
          }
        },
        onBlob: (id, path) => {
          currentTreePath = path;
          if (!index.has(id)) damaged(path, `(blob ${idHex(id)} missing)`);
          else if (bad.has(id) || !good.has(id)) damaged(path, `(blob ${idHex(id)} damaged)`);
        },
      },
      new IdTable(4096),
    );
  }
  return report;
}
