// A restore-point repository on disk: creation and checks (mode 0700, root-owned), repo.json,
// the point files, and the index. The repository owns its format; callers hold the lock.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SnapError, errnoCode } from '../model/errors.js';
import { LocalStore } from './local-store.js';
import { BlobKind } from '../model/blob-id.js';
import { BlobIndex, type BlobIndexOptions } from './blob-index.js';
import { findIndexRow, firstRowKind } from './index-file.js';
import { BlobReader } from './blob-reader.js';
import { parsePointRecord, type PointRecord } from './point-record.js';
import type { ChunkerParams } from '../worker/chunker.js';
import { DEFAULT_CHUNKER } from '../worker/chunker.js';

/**
 * Format 2 is format 1 plus bundle records (docs/FORMAT.md). A version that reads format 1 only
 * would take a bundle for a damaged record; it refuses a format-2 repository by name instead.
 */
export const REPO_FORMAT = 2;

export interface RepoConfig {
  format: 1 | 2;
  id: string;
  created: string;
  chunker: ChunkerParams;
}

/** A point file that exists but cannot be read: listed as broken, never deleted automatically. */
export interface BrokenPoint {
  id: string;
  error: string;
}

/**
 * The repository holds copies of /etc/shadow and every key on the system: it must belong to the
 * user running us (root) and be writable by nobody else, or anyone could plant content that a
 * restore writes into /. A readable-by-others repository is tightened to 0700.
 */
function checkOwnership(dir: string, st: fs.Stats): void {
  const uid = process.geteuid?.() ?? 0;
  if (st.uid !== uid) {
    throw new SnapError('REPO_INVALID', `repository ${dir} is owned by uid ${st.uid}, not ${uid}: refusing to use it (chown ${uid} ${dir} if it is yours)`, { path: dir });
  }
  if (st.mode & 0o022) {
    throw new SnapError('REPO_INVALID', `repository ${dir} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)}): refusing to use it (chmod 700 ${dir})`, { path: dir });
  }
  if (st.mode & 0o077) fs.chmodSync(dir, 0o700);
}

export class Repository {
  readonly store: LocalStore;

  private constructor(
    readonly dir: string,
    readonly config: RepoConfig,
  ) {
    this.store = new LocalStore(dir);
  }

  /** Opens an existing repository; with `create`, makes a new one where none exists. */
  static open(dir: string, opts: { create: boolean }): Repository {
    const abs = path.resolve(dir);
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(abs);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    if (st && !st.isDirectory()) {
      throw new SnapError('REPO_INVALID', `repository path ${abs} exists and is not a directory`, { path: abs });
    }
    const configPath = path.join(abs, 'repo.json');
    if (!st || !fs.existsSync(configPath)) {
      if (!opts.create) throw new SnapError('REPO_INVALID', `no repository at ${abs} (run system_snapshot first)`, { path: abs });
      if (st && fs.readdirSync(abs).length > 0) {
        throw new SnapError('REPO_INVALID', `${abs} is not empty and holds no repository (repo.json missing); refusing to use it`, { path: abs });
      }
      return Repository.create(abs);
    }
    checkOwnership(abs, st);
    let config: RepoConfig;
    try {
      config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as RepoConfig;
    } catch {
      throw new SnapError('REPO_CORRUPT', `${configPath} is damaged`, { path: configPath });
    }
    if (config.format !== 1 && config.format !== 2) {
      throw new SnapError('REPO_INVALID', `${abs} has repository format ${String(config.format)}; this version reads formats 1 and 2 (a newer version wrote it: use that one)`);
    }
    return new Repository(abs, config);
  }

  private static create(abs: string): Repository {
    fs.mkdirSync(abs, { recursive: true, mode: 0o700 });
    fs.chmodSync(abs, 0o700);
    for (const sub of ['points', 'packs', 'index', 'tmp']) fs.mkdirSync(path.join(abs, sub), { recursive: true, mode: 0o700 });
    const config: RepoConfig = {
      format: REPO_FORMAT,
      id: randomBytes(16).toString('hex'),
      created: new Date().toISOString(),
      chunker: DEFAULT_CHUNKER,
    };
    const repo = new Repository(abs, config);
    repo.store.put('repo.json', `${JSON.stringify(config, null, 2)}\n`);
    return repo;
  }

  /** Marks a format-1 repository as format 2 before the first bundle is written (under the lock). */
  upgradeFormat(): void {
    if (this.config.format === REPO_FORMAT) return;
    this.config.format = REPO_FORMAT;
    this.store.put('repo.json', `${JSON.stringify(this.config, null, 2)}\n`);
  }

  /** Readable points oldest first, and the broken ones. */
  points(): { points: PointRecord[]; broken: BrokenPoint[] } {
    const points: PointRecord[] = [];
    const broken: BrokenPoint[] = [];
    for (const key of this.store.list('points')) {
      if (!key.endsWith('.json')) continue;
      const id = key.slice('points/'.length, -'.json'.length);
      try {
        points.push(parsePointRecord(this.store.get(key).toString('utf8'), key));
      } catch (err) {
        broken.push({ id, error: (err as Error).message });
      }
    }
    points.sort((a, b) => (BigInt(a.time_ns) < BigInt(b.time_ns) ? -1 : BigInt(a.time_ns) > BigInt(b.time_ns) ? 1 : a.id.localeCompare(b.id)));
    return { points, broken };
  }

  commitPoint(point: PointRecord): void {
    this.store.put(`points/${point.id}.json`, `${JSON.stringify(point, null, 2)}\n`);
  }

  loadIndex(opts: BlobIndexOptions = {}): BlobIndex {
    return BlobIndex.load(this.store, opts);
  }

  reader(index?: BlobIndex, opts: BlobIndexOptions = {}): BlobReader {
    return new BlobReader(this.store, index ?? this.loadIndex(opts));
  }

  /**
   * One tree blob (a snapshot's previous top tree), found by binary search in the tree packs'
   * index files instead of loading their index (~25 ms of the main thread's start-up on the bench
   * repository, in code still cold). A tree in an older mixed pack is found through the index.
   */
  async readTree(id: Buffer): Promise<Buffer> {
    for (const key of this.store.list('index')) {
      const packId = key.slice('index/'.length, -'.idx'.length);
      if (!this.store.exists(`packs/${packId.slice(0, 2)}/${packId}.pack`)) continue; // orphan index
      const file = this.store.path(key);
      if (firstRowKind(file, key) !== BlobKind.Tree) continue;
      const row = findIndexRow(file, key, id);
      if (!row) continue;
      const index = new BlobIndex();
      index.addPack(packId, row);
      return new BlobReader(this.store, index).read(id);
    }
    return this.reader(undefined, { treesOnly: true }).read(id);
  }
}
