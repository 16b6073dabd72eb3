// V8 settings for the whole process, imported first by each command so they hold before any
// worker thread starts (V8 flags are process-wide; a Worker refuses them in its execArgv).
//
// A snapshot is a short run in four isolates (main, writer, two scanners) that each optimise the
// same code with TurboFan on V8's background threads. Measured with --trace-opt on a no-change
// snapshot of the e2e tree: 1.6-1.8 s of TurboFan work in a 2 s run on two cores, about 40% of
// its CPU. Most of it was inlining Buffer and codec helpers into big functions (scanDir,
// the tree encoder, unchangedDir). A cumulative inlining budget of 300 bytecode bytes
// (V8's default is 920) halves that work; the hot loops (FastCDC, tree codec) keep their
// optimisation. docs/BENCHMARKS.md has the side-by-side runs.
// Only compiler heuristics may be changed here, at run time: V8 aborted when a GC flag
// (--single-threaded-gc) was set this way after the heap existed.
import v8 from 'node:v8';

v8.setFlagsFromString('--max-inlined-bytecode-size-cumulative=300');

// Tier-up after 16x V8's default interrupt budget (67,584 bytecode bytes executed per function):
// in a run of one to a few seconds, functions that are merely warm stay in Sparkplug code
// instead of being compiled by TurboFan four times over, while the loops that run over every
// byte or entry (FastCDC, the tree codec) still reach TurboFan within milliseconds. No-change
// snapshot 0.93x wall / 0.91x CPU, first snapshot unchanged; 64x was no better than 16x.
v8.setFlagsFromString('--interrupt-budget=1081344');

// Lets threads collect dead buffers themselves (src/repo/gc-pacer.ts). Not a GC behaviour flag: it
// only installs a gc() function in contexts created from now on (every worker thread's).
v8.setFlagsFromString('--expose-gc');
