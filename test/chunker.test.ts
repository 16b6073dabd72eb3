// Content-defined chunking: deterministic, within bounds, and resistant to insertions (only the
// chunks around an edit change) — what makes an appended log or an edited image cheap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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
