// Content-defined chunking: deterministic, within bounds, and resistant to insertions (only the
// chunks around an edit change) — what makes an appended log or an edited image cheap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { Chunker, DEFAULT_CHUNKER } from '../src/worker/chunker.js';

function chunks(c: Chunker, buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const len = c.cut(buf, pos, buf.length - pos);
    out.push(buf.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

test('chunks respect min/max and cover the data', () => {
  const c = new Chunker();
  const data = randomBytes(24 * 1024 * 1024);
  const parts = chunks(c, data);
  assert.equal(Buffer.concat(parts).equals(data), true);
  parts.slice(0, -1).forEach((p) => {
    assert.ok(p.length >= DEFAULT_CHUNKER.min && p.length <= DEFAULT_CHUNKER.max, `chunk of ${p.length}`);
  });
  const avg = data.length / parts.length;
  assert.ok(avg > DEFAULT_CHUNKER.avg / 2 && avg < DEFAULT_CHUNKER.avg * 2, `average ${avg}`);
});

test('an insertion near the start changes only nearby chunks', () => {
  const c = new Chunker();
  const data = randomBytes(16 * 1024 * 1024);
  const edited = Buffer.concat([data.subarray(0, 1000), Buffer.from('inserted bytes'), data.subarray(1000)]);
  const before = new Set(chunks(c, data).map((b) => b.toString('base64')));
  const after = chunks(c, edited);
  const fresh = after.filter((b) => !before.has(b.toString('base64')));
  assert.ok(fresh.length <= 2, `${fresh.length} new chunks after one insertion`);
});

test('the cut does not depend on how much lookahead past max is given', () => {
  const c = new Chunker();
  const data = randomBytes(8 * 1024 * 1024);
  assert.equal(c.cut(data, 0, DEFAULT_CHUNKER.max), c.cut(data, 0, data.length));
});

// The cut function as docs/FORMAT.md states it, one byte at a time: the chunker's unrolled loop
// must cut exactly here, or points written by other builds would stop sharing chunks.
function referenceCut(p: typeof DEFAULT_CHUNKER, buf: Uint8Array, start: number, len: number): number {
  const gear: number[] = [];
  let x = p.seed >>> 0 || 1;
  for (let k = 0; k < 256; k++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    gear.push(x);
  }
  const bits = Math.round(Math.log2(p.avg));
  const topBits = (n: number): number => (0xffffffff - (2 ** (32 - n) - 1)) >>> 0;
  if (len <= p.min) return len;
  let h = 0;
  for (let i = p.min; i < Math.min(len, p.max); i++) {
    h = ((h * 2 + gear[buf[start + i]!]!) % 2 ** 32) >>> 0;
    const mask = i < p.avg ? topBits(bits + 2) : topBits(bits - 2);
    if ((h & mask) >>> 0 === 0) return i + 1;
  }
  return Math.min(len, p.max);
}

test('cuts are the byte-at-a-time definition\'s, at every offset modulo the unrolling, in both phases', () => {
  // Small chunks, so one buffer gives hundreds of cuts: before and after avg, at max, at the end.
  const params = { min: 64, avg: 256, max: 1024, seed: 7 };
  const c = new Chunker(params);
  const data = randomBytes(512 * 1024);
  const ends = new Set<number>();
  let hard = 0;
  let easy = 0;
  let atMax = 0;
  for (let pos = 0; pos < data.length; ) {
    const len = c.cut(data, pos, data.length - pos);
    assert.equal(len, referenceCut(params, data, pos, data.length - pos), `cut at ${pos}`);
    // Given one byte less, the cutting byte is out of reach: no byte past `len` is ever read.
    if (len > params.min + 1) assert.equal(c.cut(data, pos, len - 1), len - 1, `cut at ${pos} short by one`);
    if (len < params.avg) hard++;
    else if (len < params.max) easy++;
    else atMax++;
    ends.add(len % 8);
    pos += len;
  }
  assert.equal(ends.size, 8, 'cuts end at every offset modulo 8');
  assert.ok(hard > 50 && easy > 50, `cuts in both phases (${hard} hard, ${easy} easy, ${atMax} at max)`);
  // Lengths that end the data inside an iteration of eight, around min, avg and max, any start.
  for (const start of [0, 1, 5, 4099]) {
    for (let len = 60; len < 1100; len += 13) {
      assert.equal(c.cut(data, start, len), referenceCut(params, data, start, len), `start ${start} len ${len}`);
    }
  }
  // A run of one byte value drives the hash to a fixed point: whatever it cuts, it cuts as defined.
  const zeros = new Uint8Array(5000);
  assert.equal(c.cut(zeros, 3, 4000), referenceCut(params, zeros, 3, 4000));
  // The default parameters on real-sized data.
  const big = randomBytes(6 * 1024 * 1024);
  const d = new Chunker();
  for (let pos = 0; pos < big.length; ) {
    const len = d.cut(big, pos, big.length - pos);
    assert.equal(len, referenceCut(DEFAULT_CHUNKER, big, pos, big.length - pos), `default cut at ${pos}`);
    pos += len;
  }
});

test('cut() keeps its optimized code: no deoptimization over files of many sizes (warmed up first)', () => {
  // A path of cut() that had not run when V8 compiled it deoptimizes when first taken, and the loop
  // then runs in baseline code until it is compiled again (src/worker/chunker.ts, warmUp). Run in a
  // child with the commands' V8 settings, so the compiler tiers up as it does in a snapshot.
  const chunkerUrl = new URL('../src/worker/chunker.js', import.meta.url).href;
  const tuningUrl = new URL('../src/cli/v8-tuning.js', import.meta.url).href;
  const script = `
    import '${tuningUrl}';
    import { randomBytes } from 'node:crypto';
    const { Chunker } = await import('${chunkerUrl}');
    const c = new Chunker();
    const data = randomBytes(40 * 1024 * 1024);
    let chunks = 0;
    // "Files" of 1-5 MiB at odd lengths: both phases, cuts at every unrolled position, the
    // byte-wise tail at each file's end.
    for (let off = 0, n = 1; off < data.length; n++) {
      const size = Math.min(data.length - off, 1024 * 1024 + ((n * 1_234_567) % (4 * 1024 * 1024)) + (n % 7));
      for (let pos = 0; pos < size; chunks++) pos += c.cut(data, off + pos, size - pos);
      off += size;
    }
    console.log('chunks', chunks);
  `;
  const out = execFileSync(process.execPath, ['--trace-deopt', '--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.match(out, /chunks \d+/);
  const deopts = out.split('\n').filter((l) => /deoptimizing .*<JSFunction cut /.test(l));
  assert.deepEqual(deopts, [], 'cut() was deoptimized');
});
