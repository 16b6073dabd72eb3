// Dead buffers are collected at the pace the gc pacer sets, not when V8 gets round to it (tens
// of MiB later per thread). Run in a child process: the pacer needs the flag the commands set at
// start-up (src/cli/v8-tuning.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../src/cli/', import.meta.url));

/** Drops 64 buffers of 1 MiB in a worker thread; returns the most MiB of buffers held at once. */
function peakMiB(paced: boolean): number {
  const script = `
    import '${dist}v8-tuning.js';
    import { Worker } from 'node:worker_threads';
    const w = new Worker(\`
      import { parentPort } from 'node:worker_threads';
      import { dropped } from '${dist}gc-pacer.js';
      let peak = 0;
      for (let i = 0; i < 64; i++) {
        const b = Buffer.alloc(1 << 20);
        b[7] = i;
        peak = Math.max(peak, process.memoryUsage().arrayBuffers);
        if (${paced}) dropped(b.length);
      }
      parentPort.postMessage(peak);
    \`, { eval: true, type: 'module' });
    w.on('message', (bytes) => { console.log(bytes); w.terminate(); });
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return Number(out.trim()) / (1 << 20);
}

test('a thread that reports what it dropped holds at most ~16 MiB of dead buffers; one that does not, twice that', () => {
  const unpaced = peakMiB(false);
  const paced = peakMiB(true);
  assert.ok(unpaced >= 28, `without the pacer dead buffers pile up: ${unpaced.toFixed(1)} MiB`);
  assert.ok(paced <= 20, `with it they are collected every 16 MiB: ${paced.toFixed(1)} MiB`);
});
