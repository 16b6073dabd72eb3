// Bundle records (docs/FORMAT.md): small data blobs of one task stored together, each still a blob
// of its own: read back exactly and verified alone, deduplicated by the writer (dropped, rebuilt or
// kept as they came), and kept by prune while any member is live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { blobId, BlobKind } from '../src/model/blob-id.js';
import { BlobSink } from '../src/worker/blob-sink.js';
import { BUNDLE_MEMBER_MAX, BUNDLE_TARGET_BYTES, encodeBundleTable, parseBundle, rebuildBundle } from '../src/repo/bundle.js';
import { Compression } from '../src/repo/record.js';
import { SnapError } from '../src/model/errors.js';
import { storeBundle } from '../src/repo/store-bundle.js';
import { IdTable } from '../src/repo/id-table.js';
import { PackWriter } from '../src/repo/pack-writer.js';
import { Repository } from '../src/repo/repository.js';
import { BUNDLE_CACHE } from '../src/repo/blob-reader.js';
import { compressPayload } from '../src/repo/compression.js';
import { decodeRecord } from '../src/repo/record.js';
import { INDEX_ENTRY_BYTES, indexTable, readIndexEntry, type IndexEntry } from '../src/repo/index-file.js';
import type { BlobDesc } from '../src/worker/protocol.js';
import { makeTmpDir } from './helpers/tmp.js';
import { assertTreesEqual } from './helpers/tree-compare.js';
import { listPoints, restoreInto, runCli, SNAPSHOT_BIN, snapshotJson } from './helpers/cli.js';

/** Text-like content (compressible), distinct per `seed`. */
const text = (seed: number, bytes: number): Buffer => {
  const lines: string[] = [];
  for (let j = 0, n = 0; n < bytes; j++) {
    const line = `option_${(seed * 31 + j * 7) % 97} = value_${(seed + j * 3) % 11} # file ${seed}\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
};

/** Writes what a sink produced the way the writer thread does; returns the members/blobs stored. */
async function store(packs: PackWriter, out: { data: Uint8Array; blobs: BlobDesc[] }): Promise<number> {
  const data = Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength);
  let stored = 0;
  for (const b of out.blobs) {
    const payload = data.subarray(b.offset, b.offset + b.length);
    if (b.kind === BlobKind.Bundle) stored += await storeBundle(packs, { id: Buffer.from(b.id), compression: b.compression, rawLength: b.rawLength, payload }, () => undefined);
    else stored += Number(packs.add({ id: Buffer.from(b.id), kind: b.kind, compression: b.compression, rawLength: b.rawLength, payload }));
  }
  return stored;
}

/** Every index row of the repository with the record it points at. */
function rows(repoDir: string): (IndexEntry & { pack: string })[] {
  const out: (IndexEntry & { pack: string })[] = [];
  for (const f of fs.readdirSync(path.join(repoDir, 'index'))) {
    const table = indexTable(fs.readFileSync(path.join(repoDir, 'index', f)), f);
    for (let i = 0; i < table.length / INDEX_ENTRY_BYTES; i++) out.push({ ...readIndexEntry(table, i), pack: f.slice(0, -4) });
  }
  return out;
}

function recordAt(repoDir: string, row: IndexEntry & { pack: string }): ReturnType<typeof decodeRecord> {
  const file = path.join(repoDir, 'packs', row.pack.slice(0, 2), `${row.pack}.pack`);
  return decodeRecord(fs.readFileSync(file).subarray(row.offset, row.offset + row.recordLength), 'test');
}

test('a task bundles its small data blobs; large, tree and reused blobs stay records of their own; all read back exactly', async (t) => {
  const dir = makeTmpDir('rp-bundle-', t);
  const repo = Repository.open(path.join(dir, 'repo'), { create: true });
  const sink = new BlobSink();
  const small = Array.from({ length: 300 }, (_, i) => text(i, 3000 + i * 17));
  for (const raw of small) sink.add(raw);
  sink.add(small[5]!); // a duplicate within the task: one member
  const big = text(999, BUNDLE_MEMBER_MAX + 1);
  const tree = text(1000, 500);
  const reusedRaw = text(1001, 700);
  sink.add(big);
  sink.add(tree, BlobKind.Tree);
  sink.add(reusedRaw, BlobKind.Data, new Set([blobId(reusedRaw).toString('hex')]));
  const out = await sink.finish();

  const bundles = out.blobs.filter((b) => b.kind === BlobKind.Bundle);
  const smallBytes = small.reduce((n, b) => n + b.length, 0);
  assert.equal(bundles.length, Math.ceil(smallBytes / BUNDLE_TARGET_BYTES), 'closed at about the target size');
  assert.deepEqual(out.blobs.filter((b) => b.kind !== BlobKind.Bundle).map((b) => b.rawLength).sort((a, b) => a - b), [tree.length, reusedRaw.length, big.length]);
  assert.equal(bundles.reduce((n, b) => n + b.rawLength, 0), smallBytes);
  // Compressed together, the small blobs take less room than compressed one by one: ~0.93x on
  // this made-up text at zstd level 2, member tables included (0.83x at level 3); 0.69x on
  // bench/kernels' small files.
  const alone = (await Promise.all(small.map((s) => compressPayload(s)))).reduce((n, p) => n + p.payload.length, 0);
  const together = bundles.reduce((n, b) => n + b.length, 0);
  assert.ok(together < alone * 0.95, `a bundle compresses better than its members alone (${together} vs ${alone} bytes)`);

  const packs = new PackWriter(repo.store, new IdTable(), 512 * 1024);
  assert.equal(await store(packs, out), small.length + 3);
  packs.seal();
  const reader = Repository.open(repo.dir, { create: false }).reader();
  for (const raw of [...small, big, tree, reusedRaw]) assert.deepEqual(await reader.read(blobId(raw)), raw);
  // A batch read (how scan threads read trees) answers bundle members too.
  const many = await Promise.all(reader.readMany([blobId(tree), blobId(small[7]!), blobId(small[250]!)]));
  assert.deepEqual(many, [tree, small[7], small[250]]);
  const memberRows = rows(repo.dir).filter((r) => recordAt(repo.dir, r).header.kind === BlobKind.Bundle);
  assert.equal(memberRows.length, small.length, 'one row per member, pointing at its bundle');
});

test('a reader keeps the bundles it read last: members read in turn from BUNDLE_CACHE bundles open each once', async (t) => {
  const dir = makeTmpDir('rp-bundle-cache-', t);
  const repo = Repository.open(path.join(dir, 'repo'), { create: true });
  const packs = new PackWriter(repo.store, new IdTable(), 512 * 1024);
  // One bundle per sink (one task): BUNDLE_CACHE + 1 bundles of three members each.
  const bundles: Buffer[][] = [];
  for (let b = 0; b <= BUNDLE_CACHE; b++) {
    const sink = new BlobSink();
    const members = [0, 1, 2].map((m) => text(b * 10 + m, 2000 + m));
    for (const raw of members) sink.add(raw);
    const out = await sink.finish();
    assert.deepEqual(out.blobs.map((x) => x.kind), [BlobKind.Bundle]);
    await store(packs, out);
    bundles.push(members);
  }
  packs.seal();
  const reader = Repository.open(repo.dir, { create: false }).reader();
  const read = async (b: number, m: number): Promise<void> => assert.deepEqual(await reader.read(blobId(bundles[b]![m]!)), bundles[b]![m]);
  // A restore's order: a member of each bundle in turn, again and again (a directory's files
  // from several tasks' bundles). Each bundle is read from its pack once.
  for (let m = 0; m < 3; m++) for (let b = 0; b < BUNDLE_CACHE; b++) await read(b, m);
  assert.equal(reader.bundlesOpened, BUNDLE_CACHE);
  // Dropped first is the least recently read, not the first read: bundle 0, read again, stays
  // when bundle BUNDLE_CACHE comes in, and bundle 1 goes.
  await read(0, 0);
  await read(BUNDLE_CACHE, 0);
  assert.equal(reader.bundlesOpened, BUNDLE_CACHE + 1);
  await read(0, 1);
  assert.equal(reader.bundlesOpened, BUNDLE_CACHE + 1, 'bundle 0 was kept');
  await read(1, 1);
  assert.equal(reader.bundlesOpened, BUNDLE_CACHE + 2, 'bundle 1 was dropped');
});

test('a sink frees its task\'s buffers once the result is built, and only those that nothing else shares', async (t) => {
  const dir = makeTmpDir('rp-sink-free-', t);
  const repo = Repository.open(path.join(dir, 'repo'), { create: true });
  const sink = new BlobSink();
  /** A read buffer as readChunks makes one (its own ArrayBuffer), handed to the sink. */
  const read = (content: Buffer): Buffer => {
    const buf = Buffer.allocUnsafeSlow(content.length);
    content.copy(buf);
    sink.own(buf);
    return buf;
  };
  const smallFiles = [text(1, 9000), text(2, 12000), text(3, 7000)].map(read); // bundled together
  const largeFile = read(text(4, BUNDLE_MEMBER_MAX + 5000)); // a record of its own
  const chunked = read(text(5, 40000)); // two pieces of one read buffer, both bundled
  const poolSlice = Buffer.from('a small file read into a slice of the shared pool');
  const notOwned = Buffer.from(text(6, 20000)); // a whole buffer the sink was not given
  const contents = [...smallFiles, largeFile, chunked.subarray(0, 15000), chunked.subarray(15000), poolSlice, notOwned].map((b) => Buffer.from(b));
  for (const b of [...smallFiles, largeFile, chunked.subarray(0, 15000), chunked.subarray(15000), poolSlice, notOwned]) sink.add(b);
  const out = await sink.finish();

  for (const b of [...smallFiles, largeFile, chunked]) assert.equal(b.byteLength, 0, 'a buffer the task owned is released');
  assert.ok(poolSlice.equals(contents[6]!), 'a slice of the shared pool is left alone');
  assert.ok(notOwned.equals(contents[7]!), 'a buffer the sink was not given whole is left alone');
  // What was released had been copied into the result: everything reads back exactly.
  const packs = new PackWriter(repo.store, new IdTable());
  await store(packs, out);
  packs.seal();
  const reader = Repository.open(repo.dir, { create: false }).reader();
  for (const raw of contents) assert.deepEqual(await reader.read(blobId(raw)), raw);
});

test('the writer drops a bundle stored already, rebuilds a mostly stored one, keeps a mostly new one as it came', async (t) => {
  const dir = makeTmpDir('rp-bundle-dedup-', t);
  const repo = Repository.open(path.join(dir, 'repo'), { create: true });
  const packs = new PackWriter(repo.store, new IdTable());
  const old = Array.from({ length: 10 }, (_, i) => text(i, 4000));
  const fresh = Array.from({ length: 30 }, (_, i) => text(100 + i, 4000));
  const sinkOf = async (raws: Buffer[]): Promise<{ data: Uint8Array; blobs: BlobDesc[] }> => {
    const s = new BlobSink();
    for (const r of raws) s.add(r);
    return s.finish();
  };
  const bytes = (): number => packs.bytesWritten;

  assert.equal(await store(packs, await sinkOf(old)), 10);
  let before = bytes();
  assert.equal(await store(packs, await sinkOf([...old].reverse())), 0, 'all members stored: nothing written');
  assert.equal(bytes(), before);

  // 10 of 12 members stored (83% of the bytes): rebuilt from the two new ones.
  assert.equal(await store(packs, await sinkOf([...old, fresh[0]!, fresh[1]!])), 2);
  // 10 stored + 1 new: rebuilt into a plain record of that one.
  assert.equal(await store(packs, await sinkOf([...old, fresh[2]!])), 1);
  // 1 of 28 stored (4%): written as it came; the stored one gets no second row.
  before = bytes();
  assert.equal(await store(packs, await sinkOf([old[0]!, ...fresh.slice(3)])), 27);
  assert.ok(bytes() > before);
  packs.seal();

  const all = rows(repo.dir);
  const idsOf = (raws: Buffer[]): string[] => raws.map((r) => blobId(r).toString('hex'));
  for (const id of idsOf([...old, ...fresh])) assert.equal(all.filter((r) => r.id.toString('hex') === id).length, 1, 'one row per id');
  const tableOf = (raw: Buffer): string[] => {
    const row = all.find((r) => r.id.equals(blobId(raw)))!;
    const { header, payload } = recordAt(repo.dir, row);
    return header.kind === BlobKind.Bundle ? parseBundle(payload, 'test').members.map((m) => m.id.toString('hex')) : [header.id.toString('hex')];
  };
  assert.deepEqual(tableOf(fresh[0]!), idsOf([fresh[0]!, fresh[1]!]), 'rebuilt: only the new members');
  assert.deepEqual(tableOf(fresh[2]!), idsOf([fresh[2]!]), 'one new member: a plain record');
  assert.deepEqual(tableOf(fresh[3]!), idsOf([old[0]!, ...fresh.slice(3)]), 'mostly new: kept whole');
  const reader = Repository.open(repo.dir, { create: false }).reader();
  for (const raw of [...old, ...fresh]) assert.deepEqual(await reader.read(blobId(raw)), raw);
});

test('a row whose blob is not in its bundle is an error naming the blob, in a read and in --check', async (t) => {
  const dir = makeTmpDir('rp-bundle-bad-', t);
  const repo = Repository.open(path.join(dir, 'repo'), { create: true });
  const packs = new PackWriter(repo.store, new IdTable());
  const sink = new BlobSink();
  const members = [text(1, 2000), text(2, 2000)];
  for (const m of members) sink.add(m);
  const out = await sink.finish();
  const b = out.blobs[0]!;
  const payload = Buffer.from(out.data).subarray(b.offset, b.offset + b.length);
  const stranger = blobId(Buffer.from('not in the bundle'));
  // The index says `stranger` is in this bundle; its member table does not.
  const listed = parseBundle(payload, 'test').members;
  packs.addBundle({ id: Buffer.from(b.id), kind: BlobKind.Bundle, compression: b.compression, rawLength: b.rawLength, payload }, [...listed, { id: stranger, kind: BlobKind.Data, rawLength: 17 }]);
  packs.seal();
  const reader = repo.reader();
  await assert.rejects(reader.read(stranger), new RegExp(`blob ${stranger.toString('hex')} is not in this bundle`));
  assert.deepEqual(await reader.read(blobId(members[1]!)), members[1]);
  const check = runCli(SNAPSHOT_BIN, ['--repo', repo.dir, '--check', '--config', '/dev/null']);
  assert.equal(check.status, 1);
  assert.match(check.stdout, new RegExp(`blob ${stranger.toString('hex')} at \\d+ is damaged or not where the index says`));
});

/**
 * A tree of `count` small incompressible files in d/ (f0, f1, ...: one bundle), and two
 * configurations: `keepAll` removes no point, `prune` removes all but the newest two.
 */
function pruneSetup(t: Parameters<typeof makeTmpDir>[1], count: number): { dir: string; root: string; repo: string; keepAll: string; prune: string; names: string[] } {
  const dir = makeTmpDir('rp-bundle-prune-', t);
  const root = path.join(dir, 'root');
  fs.mkdirSync(path.join(root, 'd'), { recursive: true });
  const keepAll = path.join(dir, 'keep.conf');
  const prune = path.join(dir, 'prune.conf');
  fs.writeFileSync(keepAll, 'max_size_ratio = 100\nmin_snapshots = 2\nprotect_seconds = 0\n');
  fs.writeFileSync(prune, 'max_size_ratio = 1\nmin_snapshots = 2\nprotect_seconds = 0\n');
  const names = Array.from({ length: count }, (_, i) => `f${i}`);
  for (const n of names) fs.writeFileSync(path.join(root, 'd', n), randomBytes(16 * 1024));
  return { dir, root, repo: path.join(dir, 'repo'), keepAll, prune, names };
}

test('prune keeps a bundle while members live, and a repack rebuilds it with the live members only', (t) => {
  const { dir, root, repo, keepAll, prune, names } = pruneSetup(t, 8);
  fs.writeFileSync(path.join(root, 'big.bin'), randomBytes(1536 * 1024)); // dead after point 1: the pack gets repacked
  snapshotJson(root, repo, ['--config', keepAll]);
  const gone = names.slice(0, 6).map((n) => blobId(fs.readFileSync(path.join(root, 'd', n))).toString('hex'));
  const survivors = ['f6', 'f7'].map((n) => blobId(fs.readFileSync(path.join(root, 'd', n))));
  const survivor = survivors[1]!;
  const f0 = fs.readFileSync(path.join(root, 'd', 'f0'));
  const bundleRow = rows(repo).find((r) => r.id.equals(survivor))!;
  const bundled = recordAt(repo, bundleRow);
  assert.equal(bundled.header.kind, BlobKind.Bundle);
  const memberCount = parseBundle(bundled.payload, 'test').members.length;
  assert.ok(memberCount >= 8, 'the eight small files share one bundle');
  for (const n of names.slice(0, 6)) fs.rmSync(path.join(root, 'd', n));
  fs.rmSync(path.join(root, 'big.bin'));
  fs.writeFileSync(path.join(root, 'new.bin'), randomBytes(2 * 1024 * 1024));
  snapshotJson(root, repo, ['--config', keepAll]);
  const state = path.join(dir, 'state');
  execFileSync('cp', ['-a', root, state]);
  fs.writeFileSync(path.join(root, 'round.txt'), 'three\n');
  const r = snapshotJson(root, repo, ['--config', prune]);
  assert.equal((r.pruned as string[]).length, 1, 'point 1 removed');

  const after = rows(repo);
  const row = after.find((x) => x.id.equals(survivor))!;
  assert.notEqual(row.pack, bundleRow.pack, 'its pack was repacked');
  const { header, payload } = recordAt(repo, row);
  assert.equal(header.kind, BlobKind.Bundle);
  const rebuilt = parseBundle(payload, 'test');
  assert.deepEqual(rebuilt.members.map((m) => m.id.toString('hex')).sort(), survivors.map((id) => id.toString('hex')).sort(), 'rebuilt with its two live members only');
  assert.ok(row.recordLength < bundled.header.rawLength / 2, `the dead members' bytes are gone (${row.recordLength} bytes)`);
  const rowsThere = after.filter((x) => x.pack === row.pack && x.offset === row.offset);
  assert.equal(rowsThere.length, 2, 'a row for each live member');
  for (const id of gone) assert.ok(!after.some((x) => x.id.toString('hex') === id), 'dead members have no row');

  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  assert.equal(restoreInto(repo, listPoints(repo)[0]!.number, out).status, 0);
  assertTreesEqual(state, out, { ignoreRootMeta: true });
  assert.equal(runCli(SNAPSHOT_BIN, ['--repo', repo, '--check', '--read-data', '--config', '/dev/null']).status, 0);
  // Content whose rows were dropped (still inside the kept bundle) is stored again when it comes back.
  fs.writeFileSync(path.join(root, 'd', 'f0'), f0);
  snapshotJson(root, repo, ['--config', keepAll]);
  assert.ok(rows(repo).some((x) => x.id.equals(blobId(f0))));
  const out2 = path.join(dir, 'out2');
  fs.mkdirSync(out2);
  assert.equal(restoreInto(repo, listPoints(repo).at(-1)!.number, out2).status, 0);
  assert.deepEqual(fs.readFileSync(path.join(out2, 'd', 'f0')), f0);
  assert.equal(runCli(SNAPSHOT_BIN, ['--repo', repo, '--check', '--read-data', '--config', '/dev/null']).status, 0);
});

test('a pack whose bundle has mostly dead members is repacked: the dead members count as dead bytes', (t) => {
  // Before, a bundle counted as live whole while one member was: a pack of such bundles was never
  // repacked, and the old versions of small files stayed for good.
  const { dir, root, repo, keepAll, prune, names } = pruneSetup(t, 20);
  snapshotJson(root, repo, ['--config', keepAll]);
  const kept = names.slice(16).map((n) => blobId(fs.readFileSync(path.join(root, 'd', n))));
  const before = rows(repo).find((r) => r.id.equals(kept[0]!))!;
  assert.equal(parseBundle(recordAt(repo, before).payload, 'test').members.length, 20, 'one bundle holds the twenty files');
  assert.equal(rows(repo).filter((r) => r.pack === before.pack && r.offset !== before.offset).length, 0, 'alone in its pack');
  for (const n of names.slice(0, 16)) fs.rmSync(path.join(root, 'd', n));
  snapshotJson(root, repo, ['--config', keepAll]);
  fs.writeFileSync(path.join(root, 'round.txt'), 'three\n');
  const r = snapshotJson(root, repo, ['--config', prune]);
  assert.equal((r.pruned as string[]).length, 1, 'point 1 removed');

  const after = rows(repo).find((x) => x.id.equals(kept[0]!))!;
  assert.notEqual(after.pack, before.pack, 'the pack was repacked');
  assert.deepEqual(
    parseBundle(recordAt(repo, after).payload, 'test').members.map((m) => m.id.toString('hex')).sort(),
    kept.map((id) => id.toString('hex')).sort(),
  );
  assert.equal(fs.existsSync(path.join(repo, 'packs', before.pack.slice(0, 2), `${before.pack}.pack`)), false, 'the old pack is gone');
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  assert.equal(restoreInto(repo, listPoints(repo).at(-1)!.number, out).status, 0);
  assertTreesEqual(root, out, { ignoreRootMeta: true });
  assert.equal(runCli(SNAPSHOT_BIN, ['--repo', repo, '--check', '--read-data', '--config', '/dev/null']).status, 0);
});

test('a bundle rebuilt for prune checks each member it keeps against its id', async () => {
  const data = [Buffer.from('first member\n'), Buffer.from('second member\n'), Buffer.from('third member\n')];
  const members = data.map((d) => ({ id: blobId(d), kind: BlobKind.Data, rawLength: d.length }));
  const damaged = Buffer.from(data[1]!);
  damaged.writeUInt8(damaged.readUInt8(0) ^ 1, 0); // same length, other bytes: only its SHA-256 tells
  const payload = Buffer.concat([encodeBundleTable(members), data[0]!, damaged, data[2]!]);
  const keepAll = (): boolean => true;
  const sound = await rebuildBundle(parseBundle(payload, 'test'), Compression.None, (m) => !m.id.equals(members[1]!.id), { where: 'pack p at 0' });
  assert.equal(sound.members.length, 2, 'the damaged member is not kept: nothing to check');
  await assert.rejects(
    rebuildBundle(parseBundle(payload, 'test'), Compression.None, keepAll, { where: 'pack p at 0' }),
    (err: unknown) => err instanceof SnapError && err.code === 'REPO_CORRUPT' && err.message === `damaged bundle in pack p at 0: member ${members[1]!.id.toString('hex')} does not match its id`,
  );
  // The writer's own fresh bundles are not checked again (it hashed them a moment ago).
  assert.equal((await rebuildBundle(parseBundle(payload, 'test'), Compression.None, keepAll)).members.length, 3);
});

test('a format-1 repository is marked format 2 by the first run that writes; an unknown format is refused by name', (t) => {
  const dir = makeTmpDir('rp-bundle-format-', t);
  const root = path.join(dir, 'root');
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'a.conf'), 'a = 1\n');
  snapshotJson(root, repo);
  const conf = path.join(repo, 'repo.json');
  const config = JSON.parse(fs.readFileSync(conf, 'utf8')) as { format: number };
  assert.equal(config.format, 2, 'created as format 2');
  fs.writeFileSync(conf, JSON.stringify({ ...config, format: 1 }));
  assert.equal(listPoints(repo).length, 1, 'format 1 is read');
  assert.equal((JSON.parse(fs.readFileSync(conf, 'utf8')) as { format: number }).format, 1, 'reading changes nothing');
  fs.writeFileSync(path.join(root, 'b.conf'), 'b = 2\n');
  snapshotJson(root, repo);
  assert.equal((JSON.parse(fs.readFileSync(conf, 'utf8')) as { format: number }).format, 2, 'a writer marks it format 2');
  fs.writeFileSync(conf, JSON.stringify({ ...config, format: 3 }));
  const r = runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--config', '/dev/null', '--db-locations', '/dev/null', '--no-boot', '--quiet']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /has repository format 3; this version reads formats 1 and 2/);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
});

test('small files past a batch\'s read budget share bundles too (group tasks); the tree round-trips exactly', (t) => {
  const dir = makeTmpDir('rp-bundle-group-', t);
  const root = path.join(dir, 'root');
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(path.join(root, 'many'), { recursive: true });
  // 60 x 200 KiB: the batch reads 40 (8 MiB), the other 20 are deferred.
  const files = Array.from({ length: 60 }, (_, i) => text(i, 200 * 1024));
  files.forEach((f, i) => fs.writeFileSync(path.join(root, 'many', `f${i}`), f));
  snapshotJson(root, repo);
  const all = rows(repo);
  const records = new Set(files.map((f) => {
    const row = all.find((r) => r.id.equals(blobId(f)))!;
    return `${row.pack}:${row.offset}`;
  }));
  // About five 200 KiB members per ~1 MiB bundle: 12 records; one record per deferred file would make 28.
  assert.ok(records.size <= 15, `${records.size} records hold the 60 files`);
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  assert.equal(restoreInto(repo, 1, out).status, 0);
  assertTreesEqual(root, out, { ignoreRootMeta: true });
});
