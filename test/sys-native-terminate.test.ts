// A worker thread terminated while it is inside a native call must not take the process down.
// The scan pool is destroyed (and the writer thread stopped) at the end of every run, and a thread
// may still be in a syscall then; before NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS (binding.gyp),
// node-addon-api turned the unthrowable error into an uncaught C++ exception and abort().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const NATIVE_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/sys/native.js');

/** What each worker runs: native calls that fail (and so throw) as fast as it can, forever. */
const WORKER_BODY = `import(${JSON.stringify(NATIVE_JS)}).then((m) => { for (;;) { try { m.native.fstat(99999); } catch {} try { m.native.readdirPacked(99999); } catch {} } });`;

// In a child process, so an abort shows as its exit status instead of killing the test runner.
const CHILD = `
import { Worker } from 'node:worker_threads';
for (let i = 0; i < 400; i++) {
  const w = new Worker(${JSON.stringify(WORKER_BODY)}, { eval: true });
  await new Promise((r) => setTimeout(r, i % 40));
  await w.terminate();
}
process.stdout.write('survived\\n');
`;

test('terminating worker threads in the middle of failing native calls: the process lives on', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.signal, null, `child died of ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'survived\n');
  assert.doesNotMatch(r.stderr, /terminate called/);
});
