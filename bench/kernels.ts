// Micro-benchmarks of the snapshot pipeline's kernels, one table: hashing (the SHA-256 blob id
// against xxh3, which is only a checksum), zstd at the repository's level (compressible vs
// incompressible input; level 3 beside it), FastCDC cutting, tree encode/decode, and the
// per-directory stat walk (our readdirAt + fstatat against Node's readdirSync + lstatSync).
// Run: `npm run bench` (builds, then dist/bench/kernels.js).
// MB/s means 10^6 bytes per second of input. Scratch files go under BENCH_TMP (default
// /var/tmp/rp-bench/kernels) and are removed at the end.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bench, type BenchOptions } from 'tinybench';
import xxhash from 'xxhash-addon';
import { BUNDLE_TARGET_BYTES } from '../src/repo/bundle.js';
import { Chunker, DEFAULT_CHUNKER } from '../src/worker/chunker.js';
import { STAT_BATCH } from '../src/worker/worker-context.js';
import { ZSTD_LEVEL, compressPayload } from '../src/repo/compression.js';
import { blobId } from '../src/model/blob-id.js';
import { decodeTree, encodeTree } from '../src/repo/tree-codec.js';
import { type Entry, EntryType } from '../src/model/entry.js';
import * as sys from '../src/sys/index.js';
import { randomBytes, textBytes } from './data-gen.js';

const { XXHash3 } = xxhash;

interface Row {
  group: string;
  name: string;
  /** Input bytes per operation (0: report ops/s only). */
  bytes: number;
  /** Items per operation for an items/s column (files per scan, entries per tree). */
  items: number;
  itemLabel: string;
  opsPerSec: number;
  meanMs: number;
  rmePct: number;
  samples: number;
  /** CPUs' worth of other processes' load while the group ran (shared machines). */
  othersCpus: number;
}

const rows: Row[] = [];
const MiB = 1024 * 1024;

/** Busy CPU seconds of the whole machine (all CPUs) from /proc/stat; NaN where unavailable. */
function machineBusySeconds(): number {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal
    return (f[1]! + f[2]! + f[3]! + f[6]! + f[7]! + f[8]!) / 100;
  } catch {
    return NaN;
  }
}

async function runGroup(group: string, opts: BenchOptions, tasks: { name: string; bytes: number; items?: number; itemLabel?: string; fn: () => unknown }[]): Promise<void> {
  const bench = new Bench({ name: group, ...opts });
  for (const t of tasks) bench.add(t.name, t.fn as () => void);
  const busy0 = machineBusySeconds();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await bench.run();
  const own = process.cpuUsage(cpu0);
  const othersCpus = Math.max(0, machineBusySeconds() - busy0 - (own.user + own.system) / 1e6) / ((performance.now() - t0) / 1000);
  for (const t of tasks) {
    const task = bench.getTask(t.name)!;
    const r = task.result;
    if (r.state !== 'completed') {
      const err = r.state === 'errored' ? `: ${r.error.message}` : '';
      process.stderr.write(`${group}/${t.name}: ${r.state}${err}\n`);
      continue;
    }
    rows.push({
      group,
      name: t.name,
      bytes: t.bytes,
      items: t.items ?? 0,
      itemLabel: t.itemLabel ?? '',
      opsPerSec: 1000 / r.period,
      meanMs: r.period,
      rmePct: r.latency.rme,
      samples: task.runs,
      othersCpus,
    });
  }
}

function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return '-';
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(digits);
}

function printTable(): void {
  // others: the rest of the machine's load during the group, in CPUs; > 0.1 means the numbers
  // were measured on a busy machine and deserve a re-run.
  const header = ['group', 'case', 'ops/s', 'MB/s', 'items/s', 'mean ms', '±%', 'samples', 'others'];
  const body = rows.map((r) => [
    r.group,
    r.name,
    fmt(r.opsPerSec),
    r.bytes > 0 ? fmt((r.bytes * r.opsPerSec) / 1e6) : '',
    r.items > 0 ? `${fmt(r.items * r.opsPerSec)} ${r.itemLabel}` : '',
    r.meanMs < 0.1 ? r.meanMs.toFixed(4) : fmt(r.meanMs, 2),
    r.rmePct.toFixed(1),
    String(r.samples),
    Number.isFinite(r.othersCpus) ? r.othersCpus.toFixed(2) : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  process.stdout.write(`${out.join('\n')}\n`);
  if (process.argv.includes('--markdown')) {
    const md = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`, ...body.map((b) => `| ${b.join(' | ')} |`)];
    process.stdout.write(`\n${md.join('\n')}\n`);
  }
}

/** A directory of `count` small files (0..2 KiB), for the stat-walk comparison. */
function makeScanDir(dir: string, count: number): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const payload = randomBytes(2048, 7);
  for (let i = 0; i < count; i++) {
    fs.writeFileSync(path.join(dir, `f${String(i).padStart(5, '0')}.dat`), payload.subarray(0, (i * 37) % 2048));
  }
}

function sampleEntries(n: number): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      name: Buffer.from(`libexample-${i}.so.${i % 7}`),
      type: EntryType.File,
      flags: 0,
      mode: 0o100644,
      uid: 0,
      gid: 0,
      mtimeNs: 1_700_000_000_000_000_000n + BigInt(i),
      ctimeNs: 1_700_000_000_000_000_000n + BigInt(i),
      ino: BigInt(100000 + i),
      dev: 2049n,
      nlink: 1,
      size: 1000 + i,
      rdevMajor: 0,
      rdevMinor: 0,
      fsFlags: 0,
      xattrs: [],
      extents: [{ offset: 0, length: 1000 + i }],
      chunks: [{ id: blobId(Buffer.from(String(i))), length: 1000 + i }],
      subtree: null,
      target: null,
    });
  }
  return out;
}

async function main(): Promise<void> {
  const tmpRoot = process.env.BENCH_TMP ?? '/var/tmp/rp-bench/kernels';
  const quick = process.argv.includes('--quick');
  const fast: BenchOptions = { time: quick ? 200 : 1000, iterations: 10, warmupTime: 100, warmupIterations: 5 };
  const heavy: BenchOptions = { time: quick ? 500 : 2000, iterations: quick ? 2 : 5, warmupTime: 0, warmupIterations: 1 };

  process.stderr.write(`node ${process.version}, ${os.cpus()[0]?.model ?? '?'} x${os.availableParallelism()}\n`);
  const big = randomBytes(MiB, 1);
  const small = randomBytes(4096, 2);
  const xxSeeded = new XXHash3(Buffer.alloc(8)); // never construct without a seed Buffer: it segfaults
  await runGroup('hash', fast, [
    { name: 'sha256 1 MiB (blobId)', bytes: MiB, fn: () => blobId(big) },
    { name: 'sha256 4 KiB (blobId)', bytes: 4096, fn: () => blobId(small) },
    { name: 'sha256 1 MiB (createHash)', bytes: MiB, fn: () => crypto.createHash('sha256').update(big).digest() },
    { name: 'xxh3 1 MiB (static)', bytes: MiB, fn: () => XXHash3.hash(big) },
    { name: 'xxh3 4 KiB (static)', bytes: 4096, fn: () => XXHash3.hash(small) },
    {
      name: 'xxh3 1 MiB (seeded instance)',
      bytes: MiB,
      fn: () => {
        xxSeeded.reset();
        xxSeeded.update(big);
        return xxSeeded.digest();
      },
    },
  ]);

  const text = textBytes(MiB);
  const textPacked = await compressPayload(text);
  const randPacked = await compressPayload(big);
  process.stderr.write(
    `zstd-${ZSTD_LEVEL} ratio: text ${(textPacked.payload.length / MiB).toFixed(3)}, random ${(randPacked.payload.length / MiB).toFixed(3)} (compression=${randPacked.compression})\n`,
  );
  await runGroup('compress', fast, [
    { name: `zstd-${ZSTD_LEVEL} 1 MiB text-like`, bytes: MiB, fn: () => compressPayload(text) },
    { name: 'zstd-3 1 MiB text-like', bytes: MiB, fn: () => compressPayload(text, 3) },
    { name: `zstd-${ZSTD_LEVEL} 1 MiB random`, bytes: MiB, fn: () => compressPayload(big) },
    // Small inputs show the per-call cost of the async binding (thread-pool hop, context setup).
    { name: `zstd-${ZSTD_LEVEL} 64 KiB text-like`, bytes: 65536, fn: () => compressPayload(text.subarray(0, 65536)) },
    { name: `zstd-${ZSTD_LEVEL} 4 KiB text-like`, bytes: 4096, fn: () => compressPayload(text.subarray(0, 4096)) },
  ]);

  // Bundles (docs/FORMAT.md): small files compressed one call each (as before bundles) against the
  // same files in ~1 MiB bundles, all calls in flight either way (as BlobSink does). The files are
  // cut from one text stream (one vocabulary, as files of one package share theirs) at log-uniform
  // sizes of 100 B-16 KiB, like most of /usr and /etc.
  const corpus = textBytes(8 * MiB, 1000);
  const smallFiles: Buffer[] = [];
  for (let off = 0, i = 0; i < 1024; i++) {
    const len = Math.floor(100 * 160 ** ((i * 0.618034) % 1));
    smallFiles.push(corpus.subarray(off, off + len));
    off += len;
  }
  const smallBytes = smallFiles.reduce((n, f) => n + f.length, 0);
  const bundles: Buffer[] = [];
  for (let i = 0, start = 0, n = 0; i <= smallFiles.length; i++) {
    if (i === smallFiles.length || n >= BUNDLE_TARGET_BYTES) {
      bundles.push(Buffer.concat(smallFiles.slice(start, i)));
      start = i;
      n = 0;
    }
    n += smallFiles[i]?.length ?? 0;
  }
  const packedSize = async (parts: Buffer[]): Promise<number> => (await Promise.all(parts.map((f) => compressPayload(f)))).reduce((n, p) => n + p.payload.length, 0);
  process.stderr.write(`zstd-${ZSTD_LEVEL} on ${smallFiles.length} small files (${smallBytes} bytes): one call each ${await packedSize(smallFiles)} bytes, ${bundles.length} bundles ${await packedSize(bundles)} bytes\n`);
  await runGroup('bundle', fast, [
    { name: `zstd-${ZSTD_LEVEL} ${smallFiles.length} small files, one call each`, bytes: smallBytes, items: smallFiles.length, itemLabel: 'files', fn: () => Promise.all(smallFiles.map((f) => compressPayload(f))) },
    { name: `zstd-${ZSTD_LEVEL} the same in ${bundles.length} bundles`, bytes: smallBytes, items: smallFiles.length, itemLabel: 'files', fn: () => Promise.all(bundles.map((f) => compressPayload(f))) },
  ]);

  const chunkBuf = randomBytes(64 * MiB, 3);
  const chunker = new Chunker(DEFAULT_CHUNKER);
  let chunkCount = 0;
  const cutAll = (): void => {
    let off = 0;
    let n = 0;
    while (off < chunkBuf.length) {
      off += chunker.cut(chunkBuf, off, chunkBuf.length - off);
      n++;
    }
    chunkCount = n;
  };
  await runGroup('chunk', heavy, [
    { name: 'FastCDC cut 64 MiB random', bytes: 64 * MiB, fn: cutAll },
    {
      name: 'cut + sha256 64 MiB random',
      bytes: 64 * MiB,
      fn: () => {
        let off = 0;
        while (off < chunkBuf.length) {
          const len = chunker.cut(chunkBuf, off, chunkBuf.length - off);
          blobId(chunkBuf.subarray(off, off + len));
          off += len;
        }
      },
    },
  ]);
  process.stderr.write(`chunker: ${chunkCount} chunks in 64 MiB (avg ${((64 * MiB) / chunkCount / 1024).toFixed(0)} KiB, params ${JSON.stringify(DEFAULT_CHUNKER)})\n`);

  const entries = sampleEntries(1000);
  const encoded = encodeTree(entries);
  await runGroup('tree', fast, [
    { name: 'encodeTree 1000 entries', bytes: 0, items: 1000, itemLabel: 'entries', fn: () => encodeTree(entries) },
    { name: 'decodeTree 1000 entries', bytes: encoded.length, items: 1000, itemLabel: 'entries', fn: () => decodeTree(encoded) },
  ]);

  const scanCount = Number(process.env.BENCH_SCAN_FILES ?? 10000);
  const scanDir = path.join(tmpRoot, 'scan');
  makeScanDir(scanDir, scanCount);
  const C = sys.constants;
  const statOut = new BigInt64Array(sys.STAT_FIELD_COUNT); // one array for the whole walk
  const statMany = new BigInt64Array(STAT_BATCH * sys.STAT_FIELD_COUNT);
  const statErrnos = new Int32Array(STAT_BATCH);
  try {
    /** A scan case: `scanCount` files per run; `fn` gets a fresh fd of the directory if it takes one. */
    const scanCase = <T>(name: string, fn: (fd: number) => T) => ({
      name: `${name} (${scanCount} files)`,
      bytes: 0,
      items: scanCount,
      itemLabel: 'files',
      fn: (): T => {
        const fd = fs.openSync(scanDir, C.O_RDONLY | C.O_DIRECTORY | C.O_CLOEXEC);
        try {
          return fn(fd);
        } finally {
          sys.close(fd);
        }
      },
    });
    await runGroup('scan', { ...fast, iterations: 5 }, [
      scanCase('readdirAt + fstatat', (fd) => {
        let total = 0n;
        for (const d of sys.readdirAt(fd)) total += sys.fstatat(fd, d.name, C.AT_SYMLINK_NOFOLLOW).size;
        return total;
      }),
      scanCase('readdirPacked + fstatatInto', (fd) => {
        let total = 0n;
        sys.forEachPackedName(sys.readdirPacked(fd), (name) => {
          sys.fstatatInto(fd, name, C.AT_SYMLINK_NOFOLLOW, statOut);
          total += statOut[sys.STAT_FIELDS.size]!;
        });
        return total;
      }),
      scanCase('readdirPacked + fstatatMany (1024 per call)', (fd) => {
        let total = 0n;
        const listing = sys.readdirPacked(fd);
        for (let i = 0, o = 0; i < listing.count; i++) {
          const j = i % STAT_BATCH;
          if (j === 0) sys.fstatatMany(fd, listing, o, Math.min(STAT_BATCH, listing.count - i), C.AT_SYMLINK_NOFOLLOW, statMany, statErrnos);
          o = listing.names.indexOf(0, o) + 1;
          if (statErrnos[j] === 0) total += statMany[j * sys.STAT_FIELD_COUNT + sys.STAT_FIELDS.size]!;
        }
        return total;
      }),
      // Node's own calls, by path (the fd is opened and unused, the same for every case).
      scanCase('readdirSync + lstatSync bigint', () => {
        let total = 0n;
        for (const name of fs.readdirSync(scanDir)) total += fs.lstatSync(path.join(scanDir, name), { bigint: true }).size;
        return total;
      }),
      scanCase('readdirSync(withFileTypes) only', () => fs.readdirSync(scanDir, { withFileTypes: true }).length),
      scanCase('readdirAt only', (fd) => sys.readdirAt(fd).length),
      scanCase('readdirPacked only', (fd) => sys.readdirPacked(fd).count),
    ]);
  } finally {
    fs.rmSync(scanDir, { recursive: true, force: true });
  }
  printTable();
}

await main();
