// The on-disk format (docs/FORMAT.md): tree blobs are canonical and byte-exact, records and
// indexes detect damage, the pack writer dedups and the reader verifies what it returns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { blobId, BlobKind } from '../src/model/blob-id.js';
import { type Entry, EntryFlag, EntryType } from '../src/model/entry.js';
import { decodeTree, EncodedEntries, encodeTree, encodeTreeKeeping } from '../src/repo/tree-codec.js';
import { replaceDeferred, treeLayout } from '../src/repo/tree-layout.js';
import { IdTable } from '../src/repo/id-table.js';
import { Repository } from '../src/repo/repository.js';
import { PackWriter } from '../src/repo/pack-writer.js';
import { compressPayload } from '../src/repo/compression.js';
import { decodeRecord, encodeRecordHeader, Compression, PACK_MAGIC } from '../src/repo/record.js';
import { createHash } from 'node:crypto';
import { ZERO_ID } from '../src/model/blob-id.js';
import { encodeIndex, findIndexRow, ID_KEY_BYTES, indexTable, INDEX_ENTRY_BYTES, readIndexEntry, readIndexId, readIndexRows } from '../src/repo/index-file.js';
import { BlobIndex } from '../src/repo/blob-index.js';

function entry(name: Buffer | string, type: EntryType, extra: Partial<Entry> = {}): Entry {
  return {
    name: Buffer.isBuffer(name) ? name : Buffer.from(name),
    type,
    flags: 0,
    mode: 0o104755,
    uid: 4294967294,
    gid: 65534,
    mtimeNs: -1234567891n,
    ctimeNs: 1700000000123456789n,
    ino: 2n ** 63n + 5n,
    dev: 2049n,
    nlink: 2,
    size: 0,
    rdevMajor: 0,
    rdevMinor: 0,
    fsFlags: 0x10,
    xattrs: [],
    extents: [],
    chunks: [],
    subtree: null,
    target: null,
    ...extra,
  };
}

test('tree blobs round-trip every field, names as raw bytes', () => {
  const weird = Buffer.from([0x66, 0xff, 0xfe, 0x0a]);
  const entries = [
    entry('zz-file', EntryType.File, {
      size: 5 << 20,
      extents: [{ offset: 0, length: 4096 }, { offset: 1 << 20, length: 8192 }],
      chunks: [{ id: randomBytes(32), length: 4096 }, { id: randomBytes(32), length: 8192 }],
      xattrs: [{ name: Buffer.from('security.capability'), value: randomBytes(20) }, { name: Buffer.from('user.x'), value: Buffer.alloc(0) }],
    }),
    entry(weird, EntryType.Symlink, { target: Buffer.from([0x2f, 0x80, 0x81]) }),
    entry(Buffer.alloc(255, 0x61), EntryType.Dir, { subtree: randomBytes(32) }),
    entry('dev', EntryType.BlockDev, { rdevMajor: 259, rdevMinor: 1 << 19 }),
    entry('fifo', EntryType.Fifo),
  ];
  const encoded = encodeTree(entries.slice());
  const decoded = decodeTree(encoded);
  const byName = (a: Entry, b: Entry): number => Buffer.compare(a.name, b.name);
  assert.deepEqual(decoded, entries.slice().sort(byName));
  // Canonical: input order does not matter.
  assert.ok(encodeTree(entries.slice().reverse()).equals(encoded));
});

test('tree blobs keep their byte layout: 64-bit fields little-endian at fixed offsets, sizes past 2^32', () => {
  // Tree ids and the unchanged-directory check depend on these exact bytes (FORMAT.md "Tree blob").
  const e = entry('a', EntryType.File, {
    size: 2 ** 40 + 3,
    extents: [{ offset: 2 ** 33 + 4096, length: 2 ** 40 - 2 ** 33 - 4093 }],
    chunks: [],
  });
  const tree = encodeTree([e]);
  const o = 13; // magic 4 + count 4 + name length 2 + 'a' + type + flags
  assert.equal(tree.readUInt32LE(o), e.mode);
  assert.equal(tree.readBigInt64LE(o + 12), e.mtimeNs);
  assert.equal(tree.readBigInt64LE(o + 20), e.ctimeNs);
  assert.equal(tree.readBigUInt64LE(o + 28), e.ino);
  assert.equal(tree.readBigUInt64LE(o + 36), e.dev);
  assert.equal(tree.readBigUInt64LE(o + 48), BigInt(e.size));
  assert.equal(tree.readUInt32LE(o + 70), 1, 'one extent');
  assert.equal(tree.readBigUInt64LE(o + 74), BigInt(e.extents[0]!.offset));
  assert.equal(tree.readBigUInt64LE(o + 82), BigInt(e.extents[0]!.length));
  assert.deepEqual(decodeTree(tree), [e]);
  // A size or offset that is not a byte count is a bug upstream: refused, not wrapped.
  assert.throws(() => encodeTree([entry('b', EntryType.File, { size: -1 })]), RangeError);
  assert.throws(() => encodeTree([entry('b', EntryType.File, { size: 1.5 })]), RangeError);
  assert.throws(() => encodeTree([entry('b', EntryType.File, { extents: [{ offset: 2 ** 53, length: 1 }] })]), RangeError);
});

test('tree decoder refuses truncated and trailing bytes', () => {
  const encoded = encodeTree([entry('a', EntryType.Fifo)]);
  assert.throws(() => decodeTree(encoded.subarray(0, encoded.length - 1)), /damaged/);
  assert.throws(() => decodeTree(Buffer.concat([encoded, Buffer.from([0])])), /damaged/);
  assert.throws(() => encodeTree([entry('a', EntryType.Fifo), entry('a', EntryType.Fifo)]), /duplicate/);
});

test('a tree of many entries, some larger than a chunk of the encoder, and kept bytes merged in: the same bytes as encoding all', () => {
  // EncodedEntries writes entries into chunks (4 KiB doubling to 1 MiB; a larger entry gets its
  // own): names sort across chunks, and encodeTreeKeeping merges them with kept entries.
  const entries: Entry[] = [];
  for (let i = 0; i < 3000; i++) {
    const big = i % 997 === 0 ? [{ name: Buffer.from('user.big'), value: randomBytes(1536 * 1024) }] : [];
    entries.push(entry(`f${((i * 7919) % 3000).toString().padStart(5, '0')}`, i % 5 === 0 ? EntryType.Dir : EntryType.File, { xattrs: big, subtree: i % 5 === 0 ? randomBytes(32) : null }));
  }
  const all = encodeTree(entries);
  const byName = (a: Entry, b: Entry): number => Buffer.compare(a.name, b.name);
  assert.deepEqual(decodeTree(all), entries.slice().sort(byName));
  // Every third entry kept as bytes of `all`, the others encoded again: the same tree, and each
  // added directory's subtree id where addedAt says its entry ends.
  const layout = treeLayout(all)!;
  const kept: { start: number; end: number }[] = [];
  const added = new EncodedEntries();
  const sorted = entries.slice().sort(byName);
  sorted.forEach((e, k) => {
    if (k % 3 === 0) kept.push({ start: layout.entryAt[k]!, end: layout.entryAt[k + 1]! });
    else added.add(e);
  });
  const { tree, addedAt, keptAt } = encodeTreeKeeping(all, kept, added);
  assert.ok(tree.equals(all));
  assert.deepEqual(keptAt, kept.map((k) => k.start));
  sorted.filter((_, k) => k % 3 !== 0).forEach((e, i) => {
    assert.equal(added.entry(i).length, added.length(i));
    assert.equal(addedAt[i], all.indexOf(added.entry(i)));
    if (e.type === EntryType.Dir) assert.ok(tree.subarray(addedAt[i]! + added.length(i) - 32, addedAt[i]! + added.length(i)).equals(e.subtree!));
  });
  // A name both kept and added is refused.
  const twice = new EncodedEntries();
  twice.add(sorted[0]!);
  assert.throws(() => encodeTreeKeeping(all, [kept[0]!], twice), /duplicate/);
});

test('replaceDeferred splices read entries over deferred ones, by position, and drops those with none', () => {
  const deferred = (name: string): Entry => entry(name, EntryType.File, { flags: EntryFlag.Deferred, size: 1 << 30 });
  const read = (name: string): Entry => entry(name, EntryType.File, { size: 3, extents: [{ offset: 0, length: 3 }], chunks: [{ id: randomBytes(32), length: 3 }], xattrs: [{ name: Buffer.from('user.r'), value: Buffer.from(name) }] });
  const plain = [entry('b', EntryType.Fifo), entry('d', EntryType.Dir, { subtree: randomBytes(32) }), entry('f', EntryType.Symlink, { target: Buffer.from('x') })];
  const tree = encodeTree([deferred('g'), deferred('a'), ...plain, deferred('c'), deferred('e')]);
  // The k-th deferred entry in the tree's (name) order: a, c, e, g; 'c' vanished.
  const got = [read('a'), null, read('e'), read('g')];
  const entryBytes = (e: Entry): Buffer => encodeTree([e]).subarray(8);
  const asked: number[] = [];
  const out = replaceDeferred(tree, (k) => {
    asked.push(k);
    return got[k] ? entryBytes(got[k]!) : undefined;
  });
  assert.deepEqual(asked, [0, 1, 2, 3]);
  // 'c' left out; the rest as if decoded, replaced and encoded again.
  assert.ok(out.equals(encodeTree([got[0]!, ...plain, got[2]!, got[3]!])));
  assert.equal(treeLayout(out)!.byName.size, 6);
  // Bytes of another name (a position mixed up), or not one whole entry, are a bug upstream: refused.
  assert.throws(() => replaceDeferred(tree, (k) => (k === 1 ? entryBytes(read('e')) : undefined)), /not one entry of that name/);
  assert.throws(() => replaceDeferred(tree, (k) => (k === 0 ? Buffer.concat([entryBytes(read('a')), Buffer.from([0])]) : undefined)), /not one entry of that name/);
  // A tree without deferred entries comes back as the same bytes.
  const none = encodeTree(plain);
  assert.ok(replaceDeferred(none, () => assert.fail('nothing is deferred')).equals(none));
  // EncodedEntries keeps entries encoded elsewhere as they are (the coordinator keeps read ones so).
  const kept = new EncodedEntries();
  const i = kept.addEncoded(entryBytes(got[0]!));
  assert.ok(kept.entry(i).equals(entryBytes(got[0]!)));
});

test('treeLayout finds every name by its latin1 string, raw bytes included, and refuses a name twice', () => {
  const names = Array.from({ length: 5000 }, (_, i) => Buffer.concat([Buffer.from(`n${i}`), i % 7 === 0 ? Buffer.from([0xff, 0x80, i % 256]) : Buffer.alloc(0)]));
  const tree = encodeTree(names.map((n) => entry(n, EntryType.Fifo)));
  const layout = treeLayout(tree)!;
  assert.equal(layout.byName.size, names.length);
  for (const n of names) {
    const k = layout.byName.get(n.toString('latin1'))!;
    assert.ok(tree.subarray(layout.entryAt[k]! + 2, layout.typeAt[k]).equals(n));
  }
  for (const absent of ['n5000', 'n1', 'n7\xff\x80', '', 'n14\xff\x80\x0f']) {
    const expectHit = absent === 'n1';
    assert.equal(layout.byName.get(absent) !== undefined, expectHit, absent);
  }
  // The same entry twice (a damaged or forged tree): no layout, so decodeTree's path names it.
  const one = encodeTree([entry('dup', EntryType.Fifo)]);
  const twice = Buffer.concat([one.subarray(0, 8), one.subarray(8), one.subarray(8)]);
  twice.writeUInt32LE(2, 4);
  assert.equal(treeLayout(twice), null);
});

test('IdTable stores and finds many ids, growing', () => {
  const t = new IdTable(4);
  const ids = Array.from({ length: 5000 }, () => randomBytes(32));
  ids.forEach((id, i) => assert.equal(t.add(id, i), true));
  assert.equal(t.add(ids[7]!, 99), false);
  assert.equal(t.size, 5000);
  ids.forEach((id, i) => assert.equal(t.get(id), i));
  assert.equal(t.has(randomBytes(32)), false);
});

test('a record with a flipped byte fails its xxh3 check', () => {
  const payload = Buffer.from('hello world');
  const id = blobId(payload);
  const rec = Buffer.concat([encodeRecordHeader({ id, kind: BlobKind.Data, compression: Compression.None, rawLength: payload.length, base: Buffer.alloc(32) }, payload), payload]);
  assert.deepEqual(decodeRecord(rec, 'x').payload, payload);
  for (const at of [5, 40, rec.length - 1]) {
    const bad = Buffer.from(rec);
    bad[at]! ^= 1;
    assert.throws(() => decodeRecord(bad, 'x'), /damaged record/);
  }
});

test('an index file with a flipped byte is refused', () => {
  const idx = encodeIndex([{ id: randomBytes(32), kind: BlobKind.Tree, compression: Compression.Zstd, offset: 8, recordLength: 200, rawLength: 300, base: Buffer.alloc(32) }]);
  assert.equal(indexTable(idx, 'i').length, 88);
  const bad = Buffer.from(idx);
  bad[20]! ^= 0x40;
  assert.throws(() => indexTable(bad, 'i'), /damaged index/);
});

test('pack writer dedups, seals at its target size, and the reader verifies content', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-pack-'));
  try {
    const repo = Repository.open(path.join(dir, 'repo'), { create: true });
    // As the writer thread does: a sealed pack's rows join the stored set through onSeal.
    const stored = new IdTable();
    const writer = new PackWriter(repo.store, stored, 64 * 1024, (packId, idx) => {
      const table = indexTable(idx, packId);
      for (let i = 0; i < table.length / INDEX_ENTRY_BYTES; i++) stored.add(readIndexEntry(table, i).id);
    });
    const blobs = Array.from({ length: 40 }, (_, i) => Buffer.concat([Buffer.from(`blob ${i} `), randomBytes(4000)]));
    for (const raw of blobs) {
      const { compression, payload } = await compressPayload(raw);
      assert.equal(writer.add({ id: blobId(raw), kind: BlobKind.Data, compression, rawLength: raw.length, payload }), true);
    }
    const { compression, payload } = await compressPayload(blobs[0]!);
    assert.equal(writer.add({ id: blobId(blobs[0]!), kind: BlobKind.Data, compression, rawLength: blobs[0]!.length, payload }), false, 'in a sealed pack');
    const last = blobs.at(-1)!;
    const lastPacked = await compressPayload(last);
    assert.equal(writer.add({ id: blobId(last), kind: BlobKind.Data, rawLength: last.length, ...lastPacked }), false, 'in the open pack');
    // A tree goes to a pack of its own; the same bytes as a data blob are then stored already.
    const tree = encodeTree([]);
    assert.equal(writer.add({ id: blobId(tree), kind: BlobKind.Tree, compression: Compression.None, rawLength: tree.length, payload: tree }), true);
    assert.equal(writer.add({ id: blobId(tree), kind: BlobKind.Data, compression: Compression.None, rawLength: tree.length, payload: tree }), false, 'in the open tree pack');
    writer.seal();
    const kindsPerPack = writer.sealedPacks.map((p) => {
      const table = indexTable(fs.readFileSync(repo.store.path(`index/${p}.idx`)), p);
      return new Set(Array.from({ length: table.length / INDEX_ENTRY_BYTES }, (_, i) => readIndexEntry(table, i).kind));
    });
    assert.deepEqual(kindsPerPack.filter((k) => k.has(BlobKind.Tree)).map((k) => [...k]), [[BlobKind.Tree]], 'one pack, of the tree only');
    assert.ok(writer.sealedPacks.length >= 2, 'sealed at the target size');
    assert.equal(repo.store.list('tmp').length, 0, 'nothing left in staging');
    const reader = repo.reader();
    for (const raw of blobs) assert.deepEqual(await reader.read(blobId(raw)), raw);
    // Damage one pack: reading its blobs fails loudly instead of returning bad bytes.
    const packKey = repo.store.list('packs').find((k) => fs.statSync(repo.store.path(k)).size > 64 * 1024)!; // a data pack
    const file = repo.store.path(packKey);
    const bytes = fs.readFileSync(file);
    bytes[200]! ^= 0xff;
    fs.writeFileSync(file, bytes);
    const fresh = repo.reader();
    const results = await Promise.allSettled(blobs.map((b) => fresh.read(blobId(b))));
    assert.ok(results.some((r) => r.status === 'rejected' && /damaged record|SHA-256/.test(String(r.reason))));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('readMany decodes a batch in one go, and a bad blob in it fails alone', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-many-'));
  try {
    const repo = Repository.open(path.join(dir, 'repo'), { create: true });
    const writer = new PackWriter(repo.store, new IdTable(), 1 << 20);
    const put = async (id: Buffer, raw: Buffer): Promise<void> => {
      const { compression, payload } = await compressPayload(raw);
      writer.add({ id, kind: BlobKind.Tree, compression, rawLength: raw.length, payload });
    };
    // Text-like blobs (stored zstd), one incompressible (stored raw), one empty.
    const good = [...Array.from({ length: 12 }, (_, i) => Buffer.from(`entry ${i} `.repeat(50 + i))), randomBytes(3000), Buffer.alloc(0)];
    for (const raw of good) await put(blobId(raw), raw);
    // Same length, other content, under the id of `liar`: the record's xxh3 is consistent, so
    // only the SHA-256 of the decoded bytes can tell.
    const liar = Buffer.from('the real content '.repeat(40));
    await put(blobId(liar), Buffer.from('other content!!! '.repeat(40)));
    // A payload that claims zstd but is not a zstd frame: the joint call fails, each is retried alone.
    const junk = Buffer.from('junk tree '.repeat(30));
    writer.add({ id: blobId(junk), kind: BlobKind.Tree, compression: Compression.Zstd, rawLength: junk.length, payload: randomBytes(80) });
    writer.seal();
    const reader = repo.reader();
    const unknown = blobId(Buffer.from('never stored'));

    const all = await Promise.allSettled(reader.readMany(good.map((raw) => blobId(raw))));
    assert.deepEqual(all.map((r) => (r.status === 'fulfilled' ? r.value : r.reason)), good);

    const mixed = [good[0]!, liar, good[1]!, good[12]!, good[2]!];
    const withLiar = await Promise.allSettled(reader.readMany([...mixed.map((raw) => blobId(raw)), unknown]));
    assert.deepEqual(withLiar.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    assert.match(String((withLiar[1] as PromiseRejectedResult).reason), /fails its SHA-256 check/);
    assert.deepEqual((withLiar[2] as PromiseFulfilledResult<Buffer>).value, good[1]);

    const withJunk = await Promise.allSettled(reader.readMany([blobId(good[3]!), blobId(junk), blobId(good[4]!)]));
    assert.deepEqual(withJunk.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual((withJunk[2] as PromiseFulfilledResult<Buffer>).value, good[4]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('getRanges returns each range as asked: any order, neighbours read together, far ones apart, short at the end', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-ranges-'));
  try {
    const repo = Repository.open(path.join(dir, 'repo'), { create: true });
    const bytes = randomBytes(6 * 1024 * 1024);
    repo.store.put('packs/ab/x.pack', bytes);
    const ranges = [
      { offset: 5 * 1024 * 1024, length: 1000 }, // 4 MiB past the others: its own read
      { offset: 100, length: 50 },
      { offset: 0, length: 100 }, // adjacent to the one above
      { offset: 120, length: 10 }, // inside it
      { offset: 300 * 1024, length: 7 }, // beyond the gap: its own read
      { offset: bytes.length - 10, length: 40 }, // past the end: short
    ];
    const got = repo.store.getRanges('packs/ab/x.pack', ranges);
    ranges.forEach((r, i) => assert.deepEqual(got[i], bytes.subarray(r.offset, Math.min(bytes.length, r.offset + r.length)), `range ${i}`));
    assert.throws(() => repo.store.getRanges('packs/ab/missing.pack', ranges), /ENOENT/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('readMany reads blobs from several packs, and one in a truncated pack fails alone', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-many-packs-'));
  try {
    const repo = Repository.open(path.join(dir, 'repo'), { create: true });
    const writer = new PackWriter(repo.store, new IdTable(), 8 * 1024); // a few blobs per pack
    const blobs = Array.from({ length: 24 }, (_, i) => Buffer.concat([Buffer.from(`tree ${i} `), randomBytes(1500)]));
    for (const raw of blobs) writer.add({ id: blobId(raw), kind: BlobKind.Tree, compression: Compression.None, rawLength: raw.length, payload: raw });
    writer.seal();
    assert.ok(writer.sealedPacks.length >= 4);
    const shuffled = [...blobs].reverse();
    const reader = repo.reader();
    assert.deepEqual(await Promise.all(reader.readMany(shuffled.map((b) => blobId(b)))), shuffled);
    // Cut the last pack short: its last blob fails, every other is still read.
    const lastPack = repo.store.path(`packs/${writer.sealedPacks.at(-1)!.slice(0, 2)}/${writer.sealedPacks.at(-1)!}.pack`);
    fs.truncateSync(lastPack, fs.statSync(lastPack).size - 100);
    const results = await Promise.allSettled(repo.reader().readMany(blobs.map((b) => blobId(b))));
    assert.deepEqual(results.map((r) => r.status), blobs.map((_, i) => (i === blobs.length - 1 ? 'rejected' : 'fulfilled')));
    assert.match(String((results.at(-1) as PromiseRejectedResult).reason), /damaged record/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A pack as writers before tree packs made them: data and tree records side by side. */
function writeMixedPack(repo: Repository, blobs: { raw: Buffer; kind: BlobKind }[]): string {
  const parts: Buffer[] = [PACK_MAGIC];
  const entries = [];
  let offset = PACK_MAGIC.length;
  for (const { raw, kind } of blobs) {
    const id = blobId(raw);
    const header = encodeRecordHeader({ id, kind, compression: Compression.None, rawLength: raw.length, base: ZERO_ID }, raw);
    entries.push({ id, kind, compression: Compression.None, offset, recordLength: header.length + raw.length, rawLength: raw.length, base: ZERO_ID });
    parts.push(header, raw);
    offset += header.length + raw.length;
  }
  const pack = Buffer.concat(parts);
  const packId = createHash('sha256').update(pack).digest('hex');
  repo.store.put(`packs/${packId.slice(0, 2)}/${packId}.pack`, pack);
  repo.store.put(`index/${packId}.idx`, encodeIndex(entries));
  return packId;
}

test('findIndexRow finds every row of a sorted index by binary search, and nothing else', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-find-row-'));
  try {
    const entries = Array.from({ length: 2500 }, (_, i) => ({ id: blobId(Buffer.from(`row ${i}`)), kind: BlobKind.Tree, compression: Compression.None, offset: 8 + i, recordLength: 100, rawLength: i, base: ZERO_ID }));
    const file = path.join(dir, 'x.idx');
    fs.writeFileSync(file, encodeIndex(entries));
    const table = indexTable(fs.readFileSync(file), 'x.idx');
    for (const e of entries) {
      const row = findIndexRow(file, 'x.idx', e.id);
      assert.ok(row, `row ${e.rawLength} found`);
      assert.equal(readIndexEntry(row, 0).rawLength, e.rawLength);
    }
    // Absent ids: below the first, above the last, between two rows, equal to a row but the last byte.
    const sorted = Array.from({ length: 2500 }, (_, i) => Buffer.from(table.subarray(i * INDEX_ENTRY_BYTES, i * INDEX_ENTRY_BYTES + 32)));
    const near = Buffer.from(sorted[1234]!);
    near[31]! ^= 1;
    for (const id of [Buffer.alloc(32, 0), Buffer.alloc(32, 0xff), near, blobId(Buffer.from('never stored'))]) assert.equal(findIndexRow(file, 'x.idx', id), null);
    fs.writeFileSync(file, encodeIndex([]));
    assert.equal(findIndexRow(file, 'x.idx', sorted[0]!), null, 'an empty index');
    fs.writeFileSync(file, 'not an index');
    assert.throws(() => findIndexRow(file, 'x.idx', sorted[0]!), /damaged index x.idx: bad magic/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('readTree reads one tree without loading an index: from any tree pack, from an older mixed pack, or says it is missing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-read-tree-'));
  try {
    const repo = Repository.open(path.join(dir, 'repo'), { create: true });
    const trees = Array.from({ length: 60 }, (_, i) => encodeTree([entry(`t${i}`, EntryType.File)]));
    // Three runs, each sealing its own tree pack (and a data pack).
    const treePacks: string[] = [];
    for (let run = 0; run < 3; run++) {
      const writer = new PackWriter(repo.store, new IdTable());
      for (const raw of trees.slice(run * 20, run * 20 + 20)) writer.add({ id: blobId(raw), kind: BlobKind.Tree, compression: Compression.None, rawLength: raw.length, payload: raw });
      const data = Buffer.from(`data of run ${run}`);
      writer.add({ id: blobId(data), kind: BlobKind.Data, compression: Compression.None, rawLength: data.length, payload: data });
      writer.seal();
      treePacks.push(writer.sealedPacks[0]!); // sealed in the order opened: trees first
    }
    for (const raw of trees) assert.deepEqual(await repo.readTree(blobId(raw)), raw);
    // A tree in a pack whose first row is data (written before tree packs): through the index.
    let oldData = Buffer.from('old data 0');
    const oldTree = encodeTree([entry('old', EntryType.File)]);
    for (let i = 1; blobId(oldData).compare(blobId(oldTree)) > 0; i++) oldData = Buffer.from(`old data ${i}`);
    writeMixedPack(repo, [{ raw: oldTree, kind: BlobKind.Tree }, { raw: oldData, kind: BlobKind.Data }]);
    assert.deepEqual(await repo.readTree(blobId(oldTree)), oldTree);
    await assert.rejects(repo.readTree(blobId(Buffer.from('never stored'))), /is missing from the repository/);
    // No index is loaded: with the first run's index failing its checksum, a load fails, and the
    // other runs' trees are still read (the damaged file's own trees too: their records are checked).
    const damaged = repo.store.path(`index/${treePacks[0]}.idx`);
    const bytes = fs.readFileSync(damaged);
    bytes[bytes.length - 1]! ^= 0xff;
    fs.writeFileSync(damaged, bytes);
    assert.throws(() => repo.loadIndex({ treesOnly: true }), /damaged index/);
    for (const raw of trees) assert.deepEqual(await repo.readTree(blobId(raw)), raw);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an index loaded from many packs finds each of its ids once, and still grows as packs are added', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-index-size-'));
  try {
    const repo = Repository.open(path.join(dir, 'repo'), { create: true });
    const writer = new PackWriter(repo.store, new IdTable(), 1 << 30, undefined, 1000);
    const blobs = Array.from({ length: 4500 }, (_, i) => Buffer.from(`blob ${i}`));
    for (const raw of blobs) writer.add({ id: blobId(raw), kind: BlobKind.Data, compression: Compression.None, rawLength: raw.length, payload: raw });
    writer.seal();
    assert.equal(writer.sealedPacks.length, 5);
    const index = repo.loadIndex();
    assert.equal(index.size, blobs.length);
    for (const raw of blobs) assert.equal(index.locate(blobId(raw)).rawLength, raw.length);
    assert.equal(index.has(blobId(Buffer.from('blob 4500'))), false);
    // Packs sealed later (the writer thread's onSeal) go past the size it was loaded at.
    const more = Array.from({ length: 20000 }, (_, i) => ({ id: blobId(Buffer.from(`more ${i}`)), kind: BlobKind.Data, compression: Compression.None, offset: 8, recordLength: 1, rawLength: i, base: ZERO_ID }));
    index.addPack('later', indexTable(encodeIndex(more), 'later'));
    assert.equal(index.size, blobs.length + more.length);
    for (const e of more) assert.equal(index.locate(e.id).rawLength, e.rawLength);
    for (const raw of blobs) assert.equal(index.has(blobId(raw)), true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a scan thread reads only the indexes of tree packs; a tree in an older mixed pack is still found', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-trees-only-'));
  try {
    const repo = Repository.open(path.join(dir, 'repo'), { create: true });
    const writer = new PackWriter(repo.store, new IdTable());
    const trees = [0, 1, 2].map((i) => encodeTree([entry(`t${i}`, EntryType.File)]));
    const data = [0, 1, 2, 3].map((i) => Buffer.from(`data blob ${i}`));
    for (const raw of trees) writer.add({ id: blobId(raw), kind: BlobKind.Tree, compression: Compression.None, rawLength: raw.length, payload: raw });
    for (const raw of data) writer.add({ id: blobId(raw), kind: BlobKind.Data, compression: Compression.None, rawLength: raw.length, payload: raw });
    writer.seal();
    const [treePack, dataPack] = writer.sealedPacks; // sealed in the order their packs were opened
    // An older pack whose first row (smallest id) is data and which holds a tree too.
    let oldData = Buffer.from('old data 0');
    const oldTree = encodeTree([entry('old', EntryType.File)]);
    for (let i = 1; Buffer.compare(blobId(oldData), blobId(oldTree)) > 0; i++) oldData = Buffer.from(`old data ${i}`);
    const mixedPack = writeMixedPack(repo, [{ raw: oldTree, kind: BlobKind.Tree }, { raw: oldData, kind: BlobKind.Data }]);

    const index = repo.loadIndex({ treesOnly: true });
    assert.equal(index.size, trees.length, 'only the tree pack was loaded');
    assert.equal(index.locate(blobId(trees[1]!)).packId, treePack);
    assert.equal(index.locate(blobId(oldTree)).packId, mixedPack, 'a miss loads what was left out');
    assert.equal(index.locate(blobId(data[2]!)).packId, dataPack);

    // The data pack's index is not even read: damaged, it stops a full load but not this one.
    const dataIndex = repo.store.path(`index/${dataPack}.idx`);
    const bytes = fs.readFileSync(dataIndex);
    bytes[bytes.length - 1]! ^= 0xff;
    fs.writeFileSync(dataIndex, bytes);
    assert.throws(() => repo.loadIndex({ lazyData: true }), /damaged index/);
    assert.equal(repo.loadIndex({ treesOnly: true }).locate(blobId(trees[0]!)).packId, treePack);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the writer's index keeps ids alone for what it need not read: trees locatable, the rest found by has()", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-ids-only-'));
  try {
    const repo = Repository.open(path.join(dir, 'repo'), { create: true });
    const writer = new PackWriter(repo.store, new IdTable());
    const trees = [0, 1, 2].map((i) => encodeTree([entry(`t${i}`, EntryType.File)]));
    const data = Array.from({ length: 50 }, (_, i) => Buffer.from(`data blob ${i}`));
    for (const raw of trees) writer.add({ id: blobId(raw), kind: BlobKind.Tree, compression: Compression.None, rawLength: raw.length, payload: raw });
    for (const raw of data) writer.add({ id: blobId(raw), kind: BlobKind.Data, compression: Compression.None, rawLength: raw.length, payload: raw });
    writer.seal();
    const [treePack] = writer.sealedPacks;
    // An older mixed pack: its tree stays locatable, its data row becomes an id.
    const oldTree = encodeTree([entry('old', EntryType.File)]);
    const oldData = Buffer.from('old data');
    const mixedPack = writeMixedPack(repo, [{ raw: oldTree, kind: BlobKind.Tree }, { raw: oldData, kind: BlobKind.Data }]);

    const index = repo.loadIndex({ treesOnly: true, idsOnly: true });
    assert.equal(index.locate(blobId(trees[2]!)).packId, treePack);
    assert.equal(index.locate(blobId(oldTree)).packId, mixedPack, 'a tree in a mixed pack, after the miss');
    for (const raw of [...data, oldData]) assert.equal(index.has(blobId(raw)), true);
    assert.equal(index.has(blobId(Buffer.from('never stored'))), false);
    assert.equal(index.size, trees.length + 1 + data.length + 1);
    assert.throws(() => index.locate(blobId(data[7]!)), /keeps only its id/);
    // rawLength (read-ahead sizing): a locatable row's, null for an id alone or a missing blob.
    assert.equal(index.rawLength(blobId(trees[2]!)), trees[2]!.length);
    assert.equal(index.rawLength(blobId(data[7]!)), null);
    assert.equal(index.rawLength(blobId(Buffer.from('never stored'))), null);

    // A pack sealed during the run joins the same way (the writer thread's onSeal). The scan
    // threads' load skipped this pack (its first row is data), so addPack brings it in.
    const table = indexTable(fs.readFileSync(repo.store.path(`index/${mixedPack}.idx`)), mixedPack);
    const fresh = repo.loadIndex({ treesOnly: true, idsOnly: true });
    fresh.addPack(mixedPack, table);
    assert.equal(fresh.size, trees.length + 2);
    assert.equal(fresh.locate(blobId(oldTree)).packId, mixedPack);
    assert.equal(fresh.has(blobId(oldData)), true);
    assert.throws(() => fresh.locate(blobId(oldData)), /keeps only its id/);
    // Without idsOnly, every row keeps its location.
    assert.equal(repo.loadIndex().locate(blobId(data[7]!)).rawLength, data[7]!.length);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the writer's id keys: an id sharing a stored id's first 8 bytes is not stored, one sharing all 32 is", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-id-keys-'));
  try {
    const repo = Repository.open(path.join(dir, 'repo'), { create: true });
    const prefix = randomBytes(8);
    const withTail = (fill: number): Buffer => Buffer.concat([prefix, Buffer.alloc(24, fill)]);
    /** An index file (and a pack file for it to count) holding data rows with exactly these ids. */
    const indexOf = (ids: Buffer[]): { packId: string; table: Buffer } => {
      const packId = randomBytes(32).toString('hex');
      repo.store.put(`packs/${packId.slice(0, 2)}/${packId}.pack`, PACK_MAGIC);
      const entries = ids.map((id, i) => ({ id, kind: BlobKind.Data, compression: Compression.None, offset: 8 + i, recordLength: 1, rawLength: 1, base: ZERO_ID }));
      const encoded = encodeIndex(entries);
      repo.store.put(`index/${packId}.idx`, encoded);
      return { packId, table: indexTable(encoded, packId) };
    };
    // Stored: two ids with one prefix in one pack, a third in another pack, and a duplicate.
    const others = Array.from({ length: 300 }, () => randomBytes(32));
    indexOf([withTail(1), withTail(2), ...others]);
    indexOf([withTail(3), withTail(1)]);
    const index = repo.loadIndex({ treesOnly: true, idsOnly: true });
    index.loadData();
    assert.equal(index.size, 303, 'three ids with the prefix and 300 others; the duplicate once');
    for (const fill of [1, 2, 3]) assert.equal(index.has(withTail(fill)), true, `tail ${fill}`);
    for (const fill of [0, 4, 0xff]) assert.equal(index.has(withTail(fill)), false, `tail ${fill} was never stored`);
    const nearly = withTail(2);
    nearly[31]! ^= 1;
    assert.equal(index.has(nearly), false, 'the last byte differs');
    for (const id of others) assert.equal(index.has(id), true);
    // Confirmations read through descriptors kept open, one per index file read, until closed.
    index.closeFiles(); // the load confirmed the duplicate through them too
    for (let i = 0; i < 1000; i++) index.has(withTail(1 + (i % 3)));
    assert.equal(index.openIndexFiles, 2, 'the two index files holding the prefix, each opened once');
    index.closeFiles();
    assert.equal(index.openIndexFiles, 0);
    assert.equal(index.has(withTail(3)), true, 'still answered after closing');
    // A pack sealed during the run: the same rules through addPack.
    const sealed = indexOf([withTail(4), withTail(2)]);
    index.addPack(sealed.packId, sealed.table);
    assert.equal(index.size, 304);
    assert.equal(index.has(withTail(4)), true);
    assert.equal(index.has(withTail(5)), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the pack writer seals a pack at its blob limit, not only at its size', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-max-blobs-'));
  try {
    const repo = Repository.open(path.join(dir, 'repo'), { create: true });
    const writer = new PackWriter(repo.store, new IdTable(), 1 << 30, undefined, 10);
    const data = Array.from({ length: 25 }, (_, i) => Buffer.from(`tiny blob ${i}`));
    for (const raw of data) assert.equal(writer.add({ id: blobId(raw), kind: BlobKind.Data, compression: Compression.None, rawLength: raw.length, payload: raw }), true);
    assert.equal(writer.sealedPacks.length, 2, 'two full packs of 10 sealed while writing');
    writer.seal();
    const rowsPerPack = writer.sealedPacks.map((p) => indexTable(fs.readFileSync(repo.store.path(`index/${p}.idx`)), p).length / INDEX_ENTRY_BYTES);
    assert.deepEqual(rowsPerPack, [10, 10, 5]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('readIndexRows keeps exactly the rows of the wanted kinds, runs across read blocks included', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-idx-'));
  try {
    // 2500 rows (reads go 1024 rows at a time): kinds in runs of varying length, so kept runs
    // start and end at block edges, inside blocks, and at the file's ends.
    const kinds = Array.from({ length: 2500 }, (_, i) => ((i % 7 < 3) !== (i >= 1020 && i < 1030) ? BlobKind.Tree : BlobKind.Data));
    kinds[0] = BlobKind.Tree;
    kinds[2499] = BlobKind.Tree;
    const entries = kinds.map((kind, i) => ({ id: blobId(Buffer.from(`row ${i}`)), kind, compression: Compression.Zstd, offset: i * 100, recordLength: 100, rawLength: 50 + i, base: Buffer.alloc(32) }));
    const file = path.join(dir, 'x.idx');
    fs.writeFileSync(file, encodeIndex(entries));
    const table = indexTable(fs.readFileSync(file), 'x.idx');
    const expected = Buffer.concat(
      Array.from({ length: 2500 }, (_, i) => table.subarray(i * INDEX_ENTRY_BYTES, (i + 1) * INDEX_ENTRY_BYTES)).filter((row) => row[32] === BlobKind.Tree),
    );
    const { rows, total } = readIndexRows(file, 'x.idx', (kind) => kind === BlobKind.Tree);
    assert.equal(total, 2500);
    assert.ok(expected.length > 0 && expected.length < table.length);
    assert.ok(rows.equals(expected), 'the same rows, in order');
    // The rows not kept whole, as ids alone, when asked for.
    const split = readIndexRows(file, 'x.idx', (kind) => kind === BlobKind.Tree, (kind) => kind === BlobKind.Data);
    assert.ok(split.rows.equals(expected));
    // Id keys: the id's first 8 bytes and the row's number in the file (u32 LE).
    const expectedIds = Buffer.concat(
      kinds.flatMap((_, i) => {
        if (table[i * INDEX_ENTRY_BYTES + 32] !== BlobKind.Data) return [];
        const key = Buffer.alloc(ID_KEY_BYTES);
        table.copy(key, 0, i * INDEX_ENTRY_BYTES, i * INDEX_ENTRY_BYTES + 8);
        key.writeUInt32LE(i, 8);
        return [key];
      }),
    );
    assert.equal(split.ids.length, expectedIds.length);
    assert.ok(split.ids.equals(expectedIds), 'the id keys of the other rows, in order');
    for (const row of [0, 1023, 1024, 2499]) assert.ok(readIndexId(file, row).equals(table.subarray(row * INDEX_ENTRY_BYTES, row * INDEX_ENTRY_BYTES + 32)));
    assert.throws(() => readIndexId(file, 2500), /row 2500 is missing/);
    assert.equal(readIndexRows(file, 'x.idx', () => false).rows.length, 0);
    assert.equal(readIndexRows(file, 'x.idx', () => false).ids.length, 0);
    assert.ok(readIndexRows(file, 'x.idx', () => true).rows.equals(table));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an index is sorted by whole id, ids that share their first bytes included, and keeps every field', () => {
  const entries = Array.from({ length: 3000 }, (_, i) => {
    const id = randomBytes(32);
    if (i % 100 === 0) id.writeUInt32BE(0xdeadbeef, 0); // ties on the first four bytes
    return { id, kind: (i % 4) as BlobKind, compression: (i % 2) as Compression, offset: i * 1000 + 8 + (i % 5 === 0 ? 2 ** 35 : 0), recordLength: 96 + i, rawLength: 2 ** 40 + i, base: i % 3 ? Buffer.alloc(32) : randomBytes(32) };
  });
  const table = indexTable(encodeIndex(entries), 'test');
  assert.equal(table.length, entries.length * INDEX_ENTRY_BYTES);
  const sorted = [...entries].sort((a, b) => Buffer.compare(a.id, b.id));
  sorted.forEach((e, i) => assert.deepEqual(readIndexEntry(table, i), e));
});

test('the blob index finds every id and no other when ids share their slot bytes, their tag byte or both', () => {
  // Bytes 0..3 choose the home slot, byte 4 is the tag compared before the row: ids are made to
  // share either, both, or neither, so probes pass full slots, equal tags and unequal rows.
  const make = (i: number): Buffer => {
    const id = randomBytes(32);
    if (i % 3 === 0) id.writeUInt32LE(0x01020304, 0);
    if (i % 4 === 0) id[4] = 0x55;
    return id;
  };
  const packs = [0, 1, 2].map((p) => Array.from({ length: 2000 }, (_, i) => make(p * 2000 + i)));
  const again = Buffer.from(packs[0]![17]!); // stored twice: the first pack's row is the one kept
  packs[2]!.push(again);
  const index = new BlobIndex();
  packs.forEach((ids, p) => {
    const entries = ids.map((id, i) => ({ id, kind: BlobKind.Data, compression: Compression.None, offset: 8 + i * 100, recordLength: 100, rawLength: p * 10000 + i, base: ZERO_ID }));
    index.addPack(`pack${p}`, indexTable(encodeIndex(entries), `pack${p}`));
  });
  assert.equal(index.size, 6000, 'the duplicate counted once');
  packs.forEach((ids, p) => {
    ids.forEach((id, i) => {
      assert.equal(index.has(id), true);
      if (id !== again) assert.equal(index.rawLength(id), p * 10000 + i);
    });
  });
  assert.equal(index.locate(again).packId, 'pack0');
  for (let i = 0; i < 3000; i++) {
    // Absent ids equal to a stored one in bytes 0..4 (slot and tag) and differing after, at either end.
    const id = Buffer.from(packs[i % 3]![i % 2000]!);
    id[i % 2 ? 31 : 5]! ^= 0x80;
    assert.equal(index.has(id), false);
    assert.equal(index.rawLength(id), null);
  }
});

test('blob ids are SHA-256 of exactly the bytes given: empty, views into larger buffers, large', () => {
  const big = randomBytes(3 * 1024 * 1024 + 5);
  const cases = [Buffer.alloc(0), Buffer.from('x'), big.subarray(7, 4103), new Uint8Array(big.buffer, big.byteOffset + 1, 1000), big];
  for (const data of cases) {
    const want = createHash('sha256').update(data).digest();
    const id = blobId(data);
    assert.ok(id.equals(want), `${data.length} bytes`);
    assert.equal(id.length, 32);
    assert.equal(id.buffer.byteLength, 32, 'an id owns its memory (ids are kept for the whole run)');
  }
});
