// Collects a thread's garbage once it has let go of many large buffers (the coordinator on the
// main thread and the writer thread; here in repo/ because both use it, and nothing imports cli/).
//
// V8 frees a dead Buffer's memory only when it collects the small object that holds it, and it
// starts a collection for such ("external") memory only after tens of MiB more of it since the
// last one, more the more live external memory the thread holds. The holders are small, so the
// heap itself hardly grows: on the 1M-file first snapshot the main thread carried up to 65 MiB
// of dead buffers (trees), the writer thread (which holds the index) up to ~90 MiB, the scan
// threads 20-35 MiB each (docs/BENCHMARKS.md). The main and writer threads report the bytes of
// big buffers they have dropped; past GC_PACE_BYTES this asks V8 for a full collection (their
// heaps are small: a few ms). Where a buffer is owned whole and its end is known, freeing it at
// once (sys.releaseArrayBuffer) is cheaper still: the writer thread does so for every record it
// has written (it collected ~130 times in a first snapshot while those were paced here). The
// scan threads do not pace: there a full collection cost ~15 ms, and pacing them made a first
// snapshot ~20% more CPU for ~20 MiB less peak RSS; young-generation collections were cheap but
// freed nothing measurable. The count is reported, not read from V8:
// its external-memory figure drops only some time after a collection. Needs --expose-gc
// (src/cli/v8-tuning.ts); without it (tests that start threads directly) this does nothing.
import vm from 'node:vm';
import { isMainThread } from 'node:worker_threads';

/** 8 MiB: 10 MiB less peak RSS than 16 at a million small files, no CPU cost measured. */
export const GC_PACE_BYTES = 8 * 1024 * 1024;

type Collect = () => void;

/** undefined until looked up; null when V8 does not expose gc. */
let collect: Collect | null | undefined;
let droppedBytes = 0;

function collector(): Collect | null {
  if (collect !== undefined) return collect;
  collect = (globalThis as { gc?: Collect }).gc ?? null;
  // The main thread's context existed before the flag was set: a new context has the function.
  if (!collect && isMainThread) {
    try {
      collect = vm.runInNewContext('gc') as Collect;
    } catch {
      collect = null;
    }
  }
  return collect;
}

/** Reports `bytes` of buffers this thread no longer uses; collects when GC_PACE_BYTES are due. */
export function dropped(bytes: number): void {
  droppedBytes += bytes;
  if (droppedBytes < GC_PACE_BYTES) return;
  droppedBytes = 0;
  collector()?.();
}
