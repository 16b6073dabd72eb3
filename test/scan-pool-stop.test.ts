// Stopping the scan pool while its threads are still starting must not take the process down.
// A thread terminated inside xxhash-addon crashes the process (the addon does not check the status
// of its napi calls, which fail under termination), and the threads once verified the tree index
// with it while starting: a restore into an empty directory (a walk of nothing, the pool stopped
// at once) ended in SIGSEGV about once in 70 runs. Here the index is 3,000 small files, so a
// thread that loaded it at start-up would be in it when the pool is stopped (with the load put
// back at start-up, this test failed 4 runs of 4); in a child process, so a crash shows as its
// exit status instead of killing the test runner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { BlobKind, ZERO_ID } from '../src/model/blob-id.js';
import { Repository } from '../src/repo/repository.js';
import { encodeIndex } from '../src/repo/index-file.js';
import { Compression, PACK_MAGIC } from '../src/repo/record.js';
import { makeTmpDir } from './helpers/tmp.js';

const DIST_SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');

/**
 * Tree rows of made-up ids in `packs` index files, each with a pack file so it counts: many small
 * files, so that loading them is mostly xxhash-addon calls (three per file). Written without
 * fsync (store.put syncs each file): this is a test's scratch repository.
 */
function bigTreeIndex(repo: Repository, packs: number, rowsEach: number): void {
  for (let p = 0; p < packs; p++) {
    const packId = randomBytes(32).toString('hex');
    fs.mkdirSync(repo.store.path(`packs/${packId.slice(0, 2)}`), { recursive: true });
    fs.writeFileSync(repo.store.path(`packs/${packId.slice(0, 2)}/${packId}.pack`), PACK_MAGIC);
    const ids = randomBytes(32 * rowsEach);
    const entries = Array.from({ length: rowsEach }, (_, i) => ({ id: ids.subarray(i * 32, i * 32 + 32), kind: BlobKind.Tree, compression: Compression.None, offset: 8, recordLength: 1, rawLength: 1, base: ZERO_ID }));
    fs.writeFileSync(repo.store.path(`index/${packId}.idx`), encodeIndex(entries));
  }
}

test('the scan pool stopped while its threads start, 15 times: the process lives on', (t) => {
  const dir = makeTmpDir('rp-pool-stop-', t);
  const root = path.join(dir, 'root');
  fs.mkdirSync(root);
  const repo = Repository.open(path.join(dir, 'repo'), { create: true });
  bigTreeIndex(repo, 3000, 2);
  const st = fs.statSync(repo.dir, { bigint: true });
  const init = { root, patterns: [], emptyDirs: [], repoDir: repo.dir, repoDev: String(st.dev), repoIno: String(st.ino), chunker: repo.config.chunker };
  // The coordinator's own pool (its constructor starts the threads; close() stops them).
  const child = `
    const { Coordinator } = await import(${JSON.stringify(pathToFileURL(path.join(DIST_SRC, 'scan/coordinator.js')).href)});
    const hooks = { progress() {}, warning() {} };
    for (let i = 0; i < 15; i++) {
      const c = new Coordinator(${JSON.stringify(init)}, null, hooks);
      await new Promise((r) => setTimeout(r, 60 + ((i * 37) % 400)));
      await c.close();
    }
    console.log('stopped 15 pools');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8' });
  assert.equal(r.signal, null, `the process was killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /stopped 15 pools/);
});
