// Reclaims the space of removed points: marks every blob a readable point references, deletes
// packs with nothing live, repacks packs that are mostly garbage, and removes what crashed runs
// left (packs without an index, indexes without a pack); a repack rebuilds a bundle record with
// dead members with its live ones. Order keeps every listed point restorable at every moment: new
// packs and indexes are durable before an old index, then its pack, is deleted. Runs under the
// repository lock.
import fs from 'node:fs';
import { BlobKind } from '../model/blob-id.js';
import type { Repository } from '../repo/repository.js';
import { INDEX_ENTRY_BYTES, type IndexEntry, indexTable, readIndexEntry } from '../repo/index-file.js';
import { parseBundle, rebuildBundle } from '../repo/bundle.js';
import type { Compression } from '../repo/record.js';
import { SnapError } from '../model/errors.js';
import { PackWriter, type StoredIds } from '../repo/pack-writer.js';
import { decodeRecord } from '../repo/record.js';
import { markReachable } from '../repo/reachable.js';

/** A pack with at least this share of dead bytes is rewritten with its live records only. */
const REPACK_DEAD_SHARE = 0.3;
/** A repack writes each live record once (the writer still drops a repeat within its own packs). */
const NOTHING_STORED: StoredIds = { has: () => false };

export interface PruneStats {
  packsDeleted: number;
  packsRepacked: number;
  bytesFreed: number;
  orphansRemoved: number;
  skipped: string | null;
}

export interface PruneOptions {
  /** Bytes that must stay free on the repository's filesystem: a repack needs room first. */
  minFree: number;
  warning(message: string): void;
}

function freeBytes(dir: string): number {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

const packKey = (p: string): string => `packs/${p.slice(0, 2)}/${p}.pack`;

/**
 * A bundle record with only the members of `liveRows`, each verified; null (copy it whole, as
 * stored) when it cannot be rebuilt soundly: a live row's blob is not in it, or a member is
 * damaged, which is said (check --read-data names the damage; nothing is lost by keeping it).
 */
async function liveMembersOnly(compression: Compression, payload: Buffer, liveRows: readonly IndexEntry[], where: string, opts: PruneOptions): Promise<Awaited<ReturnType<typeof rebuildBundle>> | null> {
  const wanted = new Set(liveRows.map((r) => r.id.toString('hex')));
  try {
    const rebuilt = await rebuildBundle(parseBundle(payload, where), compression, (m) => wanted.has(m.id.toString('hex')), { where });
    if (rebuilt.members.length !== wanted.size) throw new SnapError('REPO_CORRUPT', `damaged bundle in ${where}: an indexed member is missing from it`);
    return rebuilt;
  } catch (err) {
    if (!(err instanceof SnapError) || err.code !== 'REPO_CORRUPT') throw err;
    opts.warning(`${err.message}; kept as it is (run system_snapshot --check --read-data)`);
    return null;
  }
}

export async function collectGarbage(repo: Repository, opts: PruneOptions): Promise<PruneStats> {
  const stats: PruneStats = { packsDeleted: 0, packsRepacked: 0, bytesFreed: 0, orphansRemoved: 0, skipped: null };
  const store = repo.store;
  store.clearStaging();
  const { points, broken } = repo.points();
  if (broken.length > 0) {
    // What an unreadable point references is unknown: deleting anything could destroy it.
    stats.skipped = `point file(s) ${broken.map((b) => b.id).join(', ')} cannot be read; their data is kept (nothing was reclaimed)`;
    opts.warning(stats.skipped);
    return stats;
  }
  const index = repo.loadIndex();
  const reader = repo.reader(index);
  const live = await markReachable(points, { readTree: (id) => reader.read(id) });

  const indexed = new Set<string>();
  for (const key of store.list('index')) {
    const packId = key.slice('index/'.length, -'.idx'.length);
    if (!store.exists(packKey(packId))) {
      store.delete(key); // an index whose pack is gone (a crash between the two deletes)
      stats.orphansRemoved++;
      continue;
    }
    indexed.add(packId);
    const table = indexTable(store.get(key), key);
    const n = table.length / INDEX_ENTRY_BYTES;
    // By record: a bundle record has a row per member it serves. Its dead members' share of its
    // raw bytes counts as dead: a repack rebuilds it with its live members only.
    const records = new Map<number, { length: number; rows: number; rawTotal: number; liveRaw: number; liveRows: number[] }>();
    for (let i = 0; i < n; i++) {
      const e = readIndexEntry(table, i);
      const rec = records.get(e.offset) ?? { length: e.recordLength, rows: 0, rawTotal: 0, liveRaw: 0, liveRows: [] };
      records.set(e.offset, rec);
      rec.rows++;
      rec.rawTotal += e.rawLength;
      if (live.has(e.id)) {
        rec.liveRows.push(i);
        rec.liveRaw += e.rawLength;
      }
    }
    let liveBytes = 0;
    let deadBytes = 0;
    // About the most a repack writes: a rebuilt bundle's live members can compress worse than
    // the bundle did on average, so the free-space check counts every live record whole.
    let copyBytes = 0;
    let anyLive = false;
    for (const rec of records.values()) {
      anyLive ||= rec.liveRows.length > 0;
      if (rec.liveRows.length > 0) copyBytes += rec.length;
      const liveShare = rec.liveRows.length === rec.rows ? 1 : rec.rawTotal > 0 ? rec.liveRaw / rec.rawTotal : 0;
      liveBytes += rec.length * liveShare;
      deadBytes += rec.length * (1 - liveShare);
    }
    if (deadBytes === 0) continue;
    const packBytes = store.size(packKey(packId));
    if (!anyLive) {
      store.delete(key);
      store.delete(packKey(packId));
      stats.packsDeleted++;
      stats.bytesFreed += packBytes;
      continue;
    }
    if (deadBytes / (liveBytes + deadBytes) < REPACK_DEAD_SHARE) continue;
    if (freeBytes(repo.dir) < copyBytes + opts.minFree) {
      opts.warning(`not enough free space to repack ${packId}; it is kept as it is`);
      continue;
    }
    // Copy the live records into a new pack (sealed, with its index, before anything is deleted);
    // a bundle with dead members is rebuilt with its live ones (a single one becomes a plain data
    // record), each checked against its id on the way.
    const writer = new PackWriter(store, NOTHING_STORED);
    for (const [offset, rec] of records) {
      if (rec.liveRows.length === 0) continue;
      const where = `${packKey(packId)} at ${offset}`;
      const { header, payload } = decodeRecord(store.getRange(packKey(packId), offset, rec.length), where);
      const fields = { id: header.id, kind: header.kind, compression: header.compression, rawLength: header.rawLength, payload, base: header.base };
      if (header.kind !== BlobKind.Bundle) {
        writer.add(fields);
        continue;
      }
      const liveRows = rec.liveRows.map((i) => readIndexEntry(table, i));
      const shrunk = liveRows.length < rec.rows ? await liveMembersOnly(header.compression, payload, liveRows, where, opts) : null;
      if (!shrunk) writer.addBundle(fields, liveRows);
      else if (shrunk.kind === BlobKind.Bundle) writer.addBundle(shrunk, shrunk.members);
      else writer.add(shrunk);
    }
    writer.seal();
    store.delete(key);
    store.delete(packKey(packId));
    stats.packsRepacked++;
    stats.bytesFreed += packBytes - writer.bytesWritten;
  }
  for (const key of store.list('packs')) {
    const packId = key.slice(key.lastIndexOf('/') + 1, -'.pack'.length);
    if (indexed.has(packId) || store.exists(`index/${packId}.idx`)) continue;
    stats.bytesFreed += store.size(key);
    store.delete(key); // sealed by a run that died before writing its index
    stats.orphansRemoved++;
  }
  return stats;
}
