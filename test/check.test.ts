// Integrity: --check verifies pack records, indexes and that every point's blobs are there;
// --read-data also re-hashes every blob. Damage is reported with the points and paths it
// affects, and a restore never writes content that fails its hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { xxh3 } from '../src/repo/checksum.js';
import { INDEX_ENTRY_BYTES, indexTable, readIndexEntry } from '../src/repo/index-file.js';
import { Compression } from '../src/repo/record.js';
import { makeTmpDir } from './helpers/tmp.js';
import { restoreInto, runCli, SNAPSHOT_BIN, snapshotJson } from './helpers/cli.js';

function setup(t: Parameters<typeof makeTmpDir>[1]): { dir: string; root: string; repo: string } {
  const dir = makeTmpDir('rp-check-', t);
  const root = path.join(dir, 'root');
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/tiny.conf'), 'a=1\n'); // < 64 bytes: stored uncompressed
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

test('--read-data finds content that fails its SHA-256 even with a consistent record checksum; restore refuses it', (t) => {
  const { dir, root, repo } = setup(t);
  const { pack, entry } = locate(repo, (e) => e.rawLength === 4 && e.compression === Compression.None);
  const bytes = fs.readFileSync(pack);
  const o = entry.offset;
  bytes[o + 96]! ^= 0x20; // the payload's first byte: 'a' becomes 'A'
  xxh3(bytes.subarray(o, o + 88), bytes.subarray(o + 96, o + entry.recordLength)).copy(bytes, o + 88);
  fs.writeFileSync(pack, bytes);
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
