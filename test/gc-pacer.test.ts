// Dead buffers are collected at the pace the gc pacer sets, not when V8 gets round to it (tens
// of MiB later per thread). Run in a child process: the pacer needs the flag the commands set at
// start-up (src/cli/v8-tuning.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GC_PACE_BYTES } from '../src/repo/gc-pacer.js';

const cliDir = fileURLToPath(new URL('../src/cli/', import.meta.url));
const repoDir = fileURLToPath(new URL('../src/repo/', import.meta.url));

/**
 * Drops 64 buffers of 1 MiB in a worker thread. Returns the full collections counted and the most
 * MiB of buffers held at once (measured after a pause per buffer: V8 frees the memory of a
 * collection's dead buffers on a background thread).
 */
function run(paced: boolean): { fullCollections: number; peakMiB: number } {
  const script = `
    import '${cliDir}v8-tuning.js';
    import { Worker } from 'node:worker_threads';
    const w = new Worker(\`
      import { parentPort } from 'node:worker_threads';
      import { PerformanceObserver, constants } from 'node:perf_hooks';
      import { dropped } from '${repoDir}gc-pacer.js';
      let full = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) full++;
      }).observe({ entryTypes: ['gc'] });
      let peak = 0;
      for (let i = 0; i < 64; i++) {
        const b = Buffer.alloc(1 << 20);
        b[7] = i;
        await new Promise((r) => setTimeout(r, 2));
        peak = Math.max(peak, process.memoryUsage().arrayBuffers);
        if (${paced}) dropped(b.length);
      }
      await new Promise((r) => setTimeout(r, 20));
      parentPort.postMessage({ fullCollections: full, peakMiB: peak / (1 << 20) });
    \`, { eval: true, type: 'module' });
    w.on('message', (m) => { console.log(JSON.stringify(m)); w.terminate(); });
  `;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim()) as { fullCollections: number; peakMiB: number };
}

test('a thread that reports what it dropped is collected at the pace and holds about that much; one that does not, more', () => {
  const unpaced = run(false);
  const paced = run(true);
  assert.ok(paced.fullCollections >= 64 / (GC_PACE_BYTES >> 20), `64 MiB dropped: a full collection every ${GC_PACE_BYTES >> 20} MiB (${JSON.stringify(paced)})`);
  assert.ok(unpaced.fullCollections < paced.fullCollections, `without reports V8 collects less often (${JSON.stringify(unpaced)})`);
  assert.ok(paced.peakMiB <= (GC_PACE_BYTES >> 20) + 8, `dead buffers held at once stay near the pace (${JSON.stringify(paced)})`);
  assert.ok(unpaced.peakMiB > paced.peakMiB, `and pile up further without it (${JSON.stringify(unpaced)})`);
});
