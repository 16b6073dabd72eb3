// Tree blobs: one directory, entries sorted by name bytes, every inode field a restore needs.
// The encoding is canonical (same entries -> same bytes -> same id), which is what makes an
// unchanged directory cost nothing in a new point. Layout: docs/FORMAT.md "Tree blob".
import { ID_BYTES } from '../model/blob-id.js';
import { type Entry, EntryType } from '../model/entry.js';
import { SnapError } from '../model/errors.js';
import { readU64, writeU64 } from './u64.js';
import { nameEnd } from './tree-layout.js';

const MAGIC = Buffer.from('RPT1');
// 64-bit BigInt fields go through a DataView, sizes and offsets through u64.ts: Buffer's
// writeBigInt64LE/readBigInt64LE build intermediate BigInts, ~6x slower per field; with five such
// fields per entry they were ~4% of a scan thread's time in a first snapshot of a million files.
function view(buf: Buffer): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.length);
}

const FIXED_BYTES = 2 + 1 + 1 + 4 + 4 + 4 + 8 + 8 + 8 + 8 + 4 + 8 + 4 + 4 + 4 + 2;

function entrySize(e: Entry): number {
  let n = FIXED_BYTES + e.name.length;
  for (const x of e.xattrs) n += 2 + x.name.length + 4 + x.value.length;
  switch (e.type) {
    case EntryType.File:
      n += 4 + e.extents.length * 16 + 4 + e.chunks.length * (ID_BYTES + 4);
      break;
    case EntryType.Dir:
      n += ID_BYTES;
      break;
    case EntryType.Symlink:
      n += 4 + (e.target?.length ?? 0);
      break;
    default:
      break;
  }
  return n;
}

/** Encodes `entries` in name order. Duplicate names are a bug upstream: refuse them. */
export function encodeTree(entries: readonly Entry[]): Buffer {
  const added = new EncodedEntries();
  for (const e of entries) added.add(e);
  return encodeTreeKeeping(NOTHING_KEPT_FROM, [], added).tree;
}

/** An entry of an encoded tree that a new tree keeps byte for byte: its bytes [start, end). */
export interface KeptEntry {
  start: number;
  end: number;
}

const NOTHING_KEPT_FROM = Buffer.alloc(0);

/**
 * Entries encoded as they are added, for encodeTreeKeeping: the walk adds each new or changed entry
 * of a directory here at once, so a directory of a million files holds ~100 bytes per entry
 * instead of an Entry object (~0.5 KB with its name view and BigInts) until its tree is made. The
 * coordinator keeps the entries of a directory's deferred files in one as well (addEncoded).
 */
export class EncodedEntries {
  /** Where entries are written: chunks, so that a growing directory never copies what it has. */
  private readonly chunks: Buffer[] = [];
  private dv: DataView | null = null;
  private used = 0;
  /** Entry i is chunks[chunkOf[i]] from starts[i] to ends[i]. */
  private readonly chunkOf: number[] = [];
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** The entries' bytes in all. */
  byteLength = 0;

  get count(): number {
    return this.starts.length;
  }

  /** Entry i's length in bytes. */
  length(i: number): number {
    return this.ends[i]! - this.starts[i]!;
  }

  /** Encodes `e`; returns its index. */
  add(e: Entry): number {
    const chunk = this.room(entrySize(e));
    return this.counted(writeEntry(chunk, this.dv!, this.used, e)); // throws before anything is counted
  }

  /** Adds an entry encoded elsewhere (a copy of `bytes`: one whole entry); returns its index. */
  addEncoded(bytes: Uint8Array): number {
    const chunk = this.room(bytes.length);
    chunk.set(bytes, this.used);
    return this.counted(this.used + bytes.length);
  }

  /** The chunk with room for `size` more bytes at `used`. */
  private room(size: number): Buffer {
    let chunk = this.chunks.at(-1);
    if (!chunk || this.used + size > chunk.length) {
      // 4 KiB first (most directories are small), doubling up to 1 MiB.
      chunk = Buffer.allocUnsafeSlow(Math.max(size, Math.min(ENTRY_CHUNK_MAX, 4096 * 2 ** this.chunks.length)));
      this.chunks.push(chunk);
      this.dv = view(chunk);
      this.used = 0;
    }
    return chunk;
  }

  /** Counts the entry written from `used` to `end` of the last chunk. */
  private counted(end: number): number {
    this.chunkOf.push(this.chunks.length - 1);
    this.starts.push(this.used);
    this.ends.push(end);
    this.byteLength += end - this.used;
    this.used = end;
    return this.starts.length - 1;
  }

  /** Entry i's bytes (a view). */
  entry(i: number): Buffer {
    return this.chunks[this.chunkOf[i]!]!.subarray(this.starts[i]!, this.ends[i]!);
  }

  /** Copies entry i to `buf` at `o`; returns its length. */
  copyTo(i: number, buf: Buffer, o: number): number {
    return this.chunks[this.chunkOf[i]!]!.copy(buf, o, this.starts[i]!, this.ends[i]!);
  }

  /** How entry i's name compares with `name` (Buffer.compare's sign). */
  compareName(i: number, name: Uint8Array, nameStart = 0, nameStop = name.length): number {
    const chunk = this.chunks[this.chunkOf[i]!]!;
    const at = this.starts[i]!;
    return chunk.compare(name, nameStart, nameStop, at + 2, nameEnd(chunk, at));
  }

  /** Indices in name order; refuses a name added twice. */
  sorted(): number[] {
    const cmp = (i: number, j: number): number => {
      const other = this.chunks[this.chunkOf[j]!]!;
      return this.compareName(i, other, this.starts[j]! + 2, nameEnd(other, this.starts[j]!));
    };
    const order = this.starts.map((_, i) => i).sort(cmp);
    for (let k = 1; k < order.length; k++) {
      if (cmp(order[k - 1]!, order[k]!) === 0) {
        const dup = this.entry(order[k]!);
        throw new Error(`duplicate entry name in tree: ${dup.toString('latin1', 2, nameEnd(dup, 0))}`);
      }
    }
    return order;
  }
}

/** EncodedEntries' largest chunk (an entry larger than this gets a chunk of its own size). */
const ENTRY_CHUNK_MAX = 1024 * 1024;

function keptName(from: Buffer, k: KeptEntry): Buffer {
  return from.subarray(k.start + 2, nameEnd(from, k.start));
}

/**
 * The tree of the `added` entries together with `kept`, entries of the encoded tree `from` whose
 * bytes are copied as they are (in `from`'s order, which is name order): a directory where a few
 * entries changed encodes only those. The result is the bytes encodeTree gives for all of them
 * decoded, since the encoding is canonical. Tells where each added entry now starts (a directory
 * entry ends with its 32-byte subtree id, which is patched in place once that subdirectory is
 * done) and where each kept entry does.
 */
export function encodeTreeKeeping(from: Buffer, kept: readonly KeptEntry[], added: EncodedEntries): { tree: Buffer; addedAt: Int32Array; keptAt: number[] } {
  const order = added.sorted();
  const addedAt = new Int32Array(added.count);
  const keptAt: number[] = [];
  let size = MAGIC.length + 4 + added.byteLength;
  for (const k of kept) size += k.end - k.start;
  // Its own memory, not a slice of Node's shared pool: trees are passed between threads.
  const buf = Buffer.allocUnsafeSlow(size);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(added.count + kept.length, 4);
  let o = 8;
  let n = 0;
  const copyAdded = (i: number): void => {
    addedAt[i] = o;
    o += added.copyTo(i, buf, o);
  };
  for (const k of kept) {
    const name = keptName(from, k);
    for (; n < order.length; n++) {
      const c = added.compareName(order[n]!, name);
      if (c > 0) break;
      if (c === 0) throw new Error(`duplicate entry name in tree: ${name.toString('latin1')}`);
      copyAdded(order[n]!);
    }
    keptAt.push(o);
    o += from.copy(buf, o, k.start, k.end);
  }
  for (; n < order.length; n++) copyAdded(order[n]!);
  if (o !== size) throw new Error(`tree encoder size mismatch ${o} != ${size}`);
  return { tree: buf, addedAt, keptAt };
}

/** Writes `e` at `o`; returns where the next entry starts. */
function writeEntry(buf: Buffer, dv: DataView, o: number, e: Entry): number {
  buf.writeUInt16LE(e.name.length, o);
  o += 2;
  o += e.name.copy(buf, o);
  buf.writeUInt8(e.type, o++);
  buf.writeUInt8(e.flags, o++);
  buf.writeUInt32LE(e.mode >>> 0, o);
  buf.writeUInt32LE(e.uid >>> 0, o + 4);
  buf.writeUInt32LE(e.gid >>> 0, o + 8);
  dv.setBigInt64(o + 12, e.mtimeNs, true);
  dv.setBigInt64(o + 20, e.ctimeNs, true);
  dv.setBigUint64(o + 28, e.ino, true);
  dv.setBigUint64(o + 36, e.dev, true);
  buf.writeUInt32LE(e.nlink >>> 0, o + 44);
  writeU64(buf, o + 48, e.size);
  buf.writeUInt32LE(e.rdevMajor >>> 0, o + 56);
  buf.writeUInt32LE(e.rdevMinor >>> 0, o + 60);
  buf.writeUInt32LE(e.fsFlags >>> 0, o + 64);
  buf.writeUInt16LE(e.xattrs.length, o + 68);
  o += 70;
  for (const x of e.xattrs) {
    buf.writeUInt16LE(x.name.length, o);
    o += 2;
    o += x.name.copy(buf, o);
    buf.writeUInt32LE(x.value.length, o);
    o += 4;
    o += x.value.copy(buf, o);
  }
  if (e.type === EntryType.File) {
    buf.writeUInt32LE(e.extents.length, o);
    o += 4;
    for (const x of e.extents) {
      writeU64(buf, o, x.offset);
      writeU64(buf, o + 8, x.length);
      o += 16;
    }
    buf.writeUInt32LE(e.chunks.length, o);
    o += 4;
    for (const c of e.chunks) {
      o += c.id.copy(buf, o, 0, ID_BYTES);
      buf.writeUInt32LE(c.length, o);
      o += 4;
    }
  } else if (e.type === EntryType.Dir) {
    if (!e.subtree) throw new Error(`directory entry without subtree: ${e.name.toString('latin1')}`);
    o += e.subtree.copy(buf, o, 0, ID_BYTES); // last: see encodeTreeKeeping
  } else if (e.type === EntryType.Symlink) {
    const t = e.target ?? Buffer.alloc(0);
    buf.writeUInt32LE(t.length, o);
    o += 4;
    o += t.copy(buf, o);
  }
  return o;
}

const corrupt = (why: string): SnapError => new SnapError('REPO_CORRUPT', `tree blob is damaged: ${why}`);

/** Decodes a tree blob. Names and values are copies, safe to keep after `buf` is dropped. */
export function decodeTree(buf: Buffer): Entry[] {
  if (buf.length < 8 || !buf.subarray(0, 4).equals(MAGIC)) throw corrupt('bad magic');
  const count = buf.readUInt32LE(4);
  const reader = new EntryReader(buf, 8);
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) entries.push(reader.next());
  if (reader.o !== buf.length) throw corrupt('trailing bytes');
  return entries;
}

/** The one entry that starts at `at` in the tree blob `buf` (a copy, as decodeTree's). */
export function decodeTreeEntry(buf: Buffer, at: number): Entry {
  return new EntryReader(buf, at).next();
}

/** Reads entries one after another from `o`, checking every length against the blob's end. */
class EntryReader {
  private readonly dv: DataView;

  constructor(
    private readonly buf: Buffer,
    public o: number,
  ) {
    this.dv = view(buf);
  }

  private need(n: number): void {
    if (this.o + n > this.buf.length) throw corrupt('truncated');
  }

  private take(n: number): Buffer {
    this.need(n);
    const b = Buffer.from(this.buf.subarray(this.o, this.o + n));
    this.o += n;
    return b;
  }

  private takeU16Prefixed(): Buffer {
    this.need(2);
    const n = this.buf.readUInt16LE(this.o);
    this.o += 2;
    return this.take(n);
  }

  private takeU32Prefixed(): Buffer {
    this.need(4);
    const n = this.buf.readUInt32LE(this.o);
    this.o += 4;
    return this.take(n);
  }

  next(): Entry {
    const { buf, dv } = this;
    const name = this.takeU16Prefixed();
    this.need(FIXED_BYTES - 2);
    const o = this.o;
    const type = buf.readUInt8(o) as EntryType;
    const e: Entry = {
      name,
      type,
      flags: buf.readUInt8(o + 1),
      mode: buf.readUInt32LE(o + 2),
      uid: buf.readUInt32LE(o + 6),
      gid: buf.readUInt32LE(o + 10),
      mtimeNs: dv.getBigInt64(o + 14, true),
      ctimeNs: dv.getBigInt64(o + 22, true),
      ino: dv.getBigUint64(o + 30, true),
      dev: dv.getBigUint64(o + 38, true),
      nlink: buf.readUInt32LE(o + 46),
      size: readU64(buf, o + 50),
      rdevMajor: buf.readUInt32LE(o + 58),
      rdevMinor: buf.readUInt32LE(o + 62),
      fsFlags: buf.readUInt32LE(o + 66),
      xattrs: [],
      extents: [],
      chunks: [],
      subtree: null,
      target: null,
    };
    const xattrCount = buf.readUInt16LE(o + 70);
    this.o += 72;
    for (let x = 0; x < xattrCount; x++) {
      const xname = this.takeU16Prefixed();
      const value = this.takeU32Prefixed();
      e.xattrs.push({ name: xname, value });
    }
    if (type === EntryType.File) {
      this.need(4);
      const nExt = buf.readUInt32LE(this.o);
      this.o += 4;
      this.need(nExt * 16 + 4);
      for (let x = 0; x < nExt; x++, this.o += 16) {
        e.extents.push({ offset: readU64(buf, this.o), length: readU64(buf, this.o + 8) });
      }
      const nChunks = buf.readUInt32LE(this.o);
      this.o += 4;
      for (let x = 0; x < nChunks; x++) {
        const id = this.take(ID_BYTES);
        this.need(4);
        e.chunks.push({ id, length: buf.readUInt32LE(this.o) });
        this.o += 4;
      }
    } else if (type === EntryType.Dir) {
      e.subtree = this.take(ID_BYTES);
    } else if (type === EntryType.Symlink) {
      e.target = this.takeU32Prefixed();
    } else if (type < EntryType.File || type > EntryType.Fifo) {
      throw corrupt(`unknown entry type ${type}`);
    }
    return e;
  }
}
