// Repositories written before tree packs hold trees and data in the same packs. Scan and writer
// threads read only the indexes whose first row is a tree (BlobIndex treesOnly) and fall back to
// the rest on a miss: an upgraded installation must still take incremental snapshots of such a
// repository, restore it exactly, and check it clean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BlobKind } from '../src/model/blob-id.js';
import { encodeIndex, indexTable, INDEX_ENTRY_BYTES, readIndexEntry, type IndexEntry } from '../src/repo/index-file.js';
import { PACK_MAGIC } from '../src/repo/record.js';
import { SNAPSHOT_BIN, listPoints, restoreInto, runCli, snapshotJson } from './helpers/cli.js';
import { assertTreesEqual } from './helpers/tree-compare.js';

const packPath = (repo: string, id: string): string => path.join(repo, 'packs', id.slice(0, 2), `${id}.pack`);

/**
 * Rewrites every pack of `repo` into mixed packs as older writers made them: pack A holds all
 * data records and the trees whose ids sort after the smallest data id (so its index starts with
 * a data row and a trees-only reader skips it), pack B the trees before (its index starts with a
 * tree). Returns how many trees only the fallback can find.
 */
function remixPacks(repo: string): number {
  const rows: (IndexEntry & { pack: string })[] = [];
  for (const f of fs.readdirSync(path.join(repo, 'index'))) {
    const table = indexTable(fs.readFileSync(path.join(repo, 'index', f)), f);
    for (let i = 0; i < table.length / INDEX_ENTRY_BYTES; i++) rows.push({ ...readIndexEntry(table, i), pack: f.slice(0, -'.idx'.length) });
  }
  const minDataId = rows.filter((r) => r.kind !== BlobKind.Tree).map((r) => r.id).sort(Buffer.compare)[0]!;
  const inA = (r: IndexEntry): boolean => r.kind !== BlobKind.Tree || Buffer.compare(r.id, minDataId) > 0;
  const oldPacks = new Set(rows.map((r) => r.pack));
  for (const group of [rows.filter(inA), rows.filter((r) => !inA(r))]) {
    if (group.length === 0) continue;
    // One copy per record (a bundle's members share theirs), new offsets.
    const parts: Buffer[] = [PACK_MAGIC];
    const moved = new Map<string, number>();
    let offset = PACK_MAGIC.length;
    const entries = group.map((r) => {
      const key = `${r.pack}:${r.offset}`;
      if (!moved.has(key)) {
        const fd = fs.openSync(packPath(repo, r.pack), 'r');
        const rec = Buffer.alloc(r.recordLength);
        fs.readSync(fd, rec, 0, rec.length, r.offset);
        fs.closeSync(fd);
        moved.set(key, offset);
        parts.push(rec);
        offset += rec.length;
      }
      const { pack: _pack, ...entry } = r;
      return { ...entry, offset: moved.get(key)! };
    });
    const pack = Buffer.concat(parts);
    const id = createHash('sha256').update(pack).digest('hex');
    fs.mkdirSync(path.dirname(packPath(repo, id)), { recursive: true });
    fs.writeFileSync(packPath(repo, id), pack);
    fs.writeFileSync(path.join(repo, 'index', `${id}.idx`), encodeIndex(entries));
  }
  for (const p of oldPacks) {
    fs.rmSync(packPath(repo, p));
    fs.rmSync(path.join(repo, 'index', `${p}.idx`));
  }
  return rows.filter((r) => r.kind === BlobKind.Tree && inA(r)).length;
}

test('a repository with trees mixed into data packs (older writers) snapshots, restores and checks as before', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-mixed-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'root');
  const repo = path.join(dir, 'repo');
  for (let d = 0; d < 12; d++) {
    fs.mkdirSync(path.join(root, `d${d}/sub`), { recursive: true });
    for (let f = 0; f < 6; f++) fs.writeFileSync(path.join(root, `d${d}/f${f}.conf`), `dir ${d} file ${f}\n`.repeat(20 + f));
    fs.writeFileSync(path.join(root, `d${d}/sub/data.bin`), Buffer.alloc(300_000 + d, d));
  }
  snapshotJson(root, repo);
  assert.ok(remixPacks(repo) > 0, 'some trees sit behind a data row');

  // Unchanged: every previous tree is found (through the fallback), so no file is read.
  const same = snapshotJson(root, repo);
  assert.equal(same.files_read, 0);
  // One file changed: only it is read.
  fs.appendFileSync(path.join(root, 'd3/f2.conf'), 'changed\n');
  const changed = snapshotJson(root, repo);
  assert.equal(changed.files_read, 1);

  const target = path.join(dir, 'restored');
  fs.mkdirSync(target);
  const r = restoreInto(repo, listPoints(repo).at(-1)!.number, target);
  assert.equal(r.status, 0, r.stderr);
  assertTreesEqual(root, target);
  const check = runCli(SNAPSHOT_BIN, ['--repo', repo, '--check', '--read-data', '--config', '/dev/null']);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /no problems found/);
});
