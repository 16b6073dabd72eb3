// Integrity: --check verifies pack records, indexes and that every point's blobs are there;
// --read-data also re-hashes every blob. Damage is reported with the points and paths it
// affects, and a restore never writes content that fails its hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { xxh3 } from '../src/repo/checksum.js';
import { encodeIndex, INDEX_ENTRY_BYTES, indexTable, readIndexEntry } from '../src/repo/index-file.js';
import { decodeRecord, encodeRecordHeader } from '../src/repo/record.js';
import { BlobKind } from '../src/model/blob-id.js';
import { bundleTable, parseBundle } from '../src/repo/bundle.js';
import { compressPayload, decompressPayload } from '../src/repo/compression.js';
import { makeTmpDir } from './helpers/tmp.js';
import { restoreInto, runCli, SNAPSHOT_BIN, snapshotJson } from './helpers/cli.js';

function setup(t: Parameters<typeof makeTmpDir>[1]): { dir: string; root: string; repo: string } {
  const dir = makeTmpDir('rp-check-', t);
  const root = path.join(dir, 'root');
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/tiny.conf'), 'a=1\n');
  fs.writeFileSync(path.join(root, 'etc/big.conf'), 'setting = value\n'.repeat(5000));
  fs.mkdirSync(path.join(root, 'var/log'), { recursive: true });
  fs.writeFileSync(path.join(root, 'var/log/app.log'), 'log line\n'.repeat(3000));
  const repo = path.join(dir, 'repo');
  snapshotJson(root, repo);
  return { dir, root, repo };
}

const check = (repo: string, ...extra: string[]) => runCli(SNAPSHOT_BIN, ['--repo', repo, '--check', ...extra, '--config', '/dev/null']);

/** Finds the record of the blob whose content is `content`, by scanning the index files. */
function locate(repo: string, predicate: (e: ReturnType<typeof readIndexEntry>) => boolean): { pack: string; entry: ReturnType<typeof readIndexEntry> } {
  for (const f of fs.readdirSync(path.join(repo, 'index'))) {
    const table = indexTable(fs.readFileSync(path.join(repo, 'index', f)), f);
    for (let i = 0; i < table.length / INDEX_ENTRY_BYTES; i++) {
      const entry = readIndexEntry(table, i);
      if (predicate(entry)) {
        const id = f.slice(0, -4);
        return { pack: path.join(repo, 'packs', id.slice(0, 2), `${id}.pack`), entry };
      }
    }
  }
  throw new Error('no such record');
}

test('a healthy repository checks clean, with and without --read-data', (t) => {
  const { repo } = setup(t);
  for (const extra of [[], ['--read-data']]) {
    const r = check(repo, ...extra);
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, /check: \d+ packs, \d+ blobs, 1 restore points.*: no problems found/);
  }
});

test('a flipped byte in a pack: reported with the points and paths it affects', (t) => {
  const { repo } = setup(t);
  const { pack, entry } = locate(repo, (e) => e.rawLength === 'log line\n'.length * 3000);
  const bytes = fs.readFileSync(pack);
  bytes[entry.offset + 100]! ^= 0x01;
  fs.writeFileSync(pack, bytes);
  const r = check(repo);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /damaged: .*checksum mismatch/);
  assert.match(r.stdout, /affected: point 1 \(\S+\): \/var\/log\/app\.log \(blob [0-9a-f]{64} damaged\)/);
});

test('a truncated pack: reported, with every path whose data was in the lost part', (t) => {
  const { repo } = setup(t);
  const { pack } = locate(repo, () => true);
  fs.truncateSync(pack, fs.statSync(pack).size - 50);
  const r = check(repo);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /damaged: pack [0-9a-f]+: truncated at offset \d+/);
  assert.match(r.stdout, /affected: point 1/);
});

test('a missing index: its blobs are reported missing for the points that need them', (t) => {
  const { repo } = setup(t);
  for (const f of fs.readdirSync(path.join(repo, 'index'))) fs.rmSync(path.join(repo, 'index', f));
  const r = check(repo);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /affected: point 1 \(\S+\): \/ \(directory unreadable|affected: point 1 \(\S+\): \/ \(blob [0-9a-f]+ missing\)/);
});

/**
 * Flips the first byte of the 4-byte blob (etc/tiny.conf) where it is stored, a bundle of small
 * files, and gives the record a consistent xxh3 and the index consistent offsets: only the blob's
 * SHA-256 can tell.
 */
async function corruptTinyMember(repo: string): Promise<void> {
  const { pack, entry } = locate(repo, (e) => e.rawLength === 4);
  const bytes = fs.readFileSync(pack);
  const o = entry.offset;
  const { header, payload } = decodeRecord(bytes.subarray(o, o + entry.recordLength), 'test');
  assert.equal(header.kind, BlobKind.Bundle, 'small files are stored in a bundle');
  const bundle = parseBundle(payload, 'test');
  const raw = Buffer.from(await decompressPayload(header.compression, bundle.data));
  raw[bundle.offsets[bundle.members.findIndex((m) => m.id.equals(entry.id))]!]! ^= 0x20; // 'a' becomes 'A'
  const packed = await compressPayload(raw);
  const newPayload = Buffer.concat([bundleTable(payload), packed.payload]);
  const record = Buffer.concat([encodeRecordHeader({ ...header, compression: packed.compression }, newPayload), newPayload]);
  fs.writeFileSync(pack, Buffer.concat([bytes.subarray(0, o), record, bytes.subarray(o + entry.recordLength)]));
  const delta = record.length - entry.recordLength;
  const idxFile = path.join(repo, 'index', `${path.basename(pack, '.pack')}.idx`);
  const table = indexTable(fs.readFileSync(idxFile), idxFile);
  const entries = Array.from({ length: table.length / INDEX_ENTRY_BYTES }, (_, i) => readIndexEntry(table, i)).map((e) =>
    e.offset === o ? { ...e, compression: packed.compression, recordLength: record.length } : e.offset > o ? { ...e, offset: e.offset + delta } : e,
  );
  fs.writeFileSync(idxFile, encodeIndex(entries));
}

test('--read-data finds content that fails its SHA-256 even with a consistent record checksum; restore refuses it', async (t) => {
  const { dir, root, repo } = setup(t);
  await corruptTinyMember(repo);
  assert.equal(check(repo).status, 1, 'the pack no longer matches its name');
  const deep = check(repo, '--read-data');
  assert.equal(deep.status, 1);
  assert.match(deep.stdout, /fails its SHA-256 check/);
  assert.match(deep.stdout, /affected: point 1 \(\S+\): \/etc\/tiny\.conf/);

  // Restore stops at that file, names it, and leaves the live file as it was.
  fs.writeFileSync(path.join(root, 'etc/tiny.conf'), 'LIVE\n');
  const r = restoreInto(repo, 1, root);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /etc\/tiny\.conf/);
  assert.match(r.stderr, /SHA-256/);
  assert.equal(fs.readFileSync(path.join(root, 'etc/tiny.conf'), 'utf8'), 'LIVE\n');
  assert.deepEqual(fs.readdirSync(path.join(root, 'etc')).filter((n) => n.startsWith('.rp-restore')), [], 'no temp file left');
  void dir;
});

test('a repository writable by others or owned by another user is refused', (t) => {
  const { root, repo } = setup(t);
  fs.chmodSync(repo, 0o777);
  const r = runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--config', '/dev/null', '--db-locations', '/dev/null', '--no-boot']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /writable by group or others \(mode 777\): refusing to use it \(chmod 700/);
  fs.chmodSync(repo, 0o755);
  fs.chownSync(repo, 1234, 1234);
  const r2 = runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--config', '/dev/null', '--db-locations', '/dev/null', '--no-boot']);
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /owned by uid 1234, not 0/);
  fs.chownSync(repo, 0, 0);
  assert.equal(runCli(SNAPSHOT_BIN, ['--root', root, '--repo', repo, '--quiet', '--config', '/dev/null', '--db-locations', '/dev/null', '--no-boot']).status, 0);
  assert.equal(fs.statSync(repo).mode & 0o777, 0o700, 'a readable-by-others repository is tightened');
  for (const f of fs.readdirSync(path.join(repo, 'points'))) assert.equal(fs.statSync(path.join(repo, 'points', f)).mode & 0o777, 0o600);
});
