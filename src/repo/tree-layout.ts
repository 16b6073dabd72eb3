// Where each entry of an encoded tree blob sits, found without decoding it (no Entry objects, no
// BigInts): the walk compares stats with a previous tree's bytes in place and copies the bytes of
// entries that did not change. Layout: docs/FORMAT.md "Tree blob".
import { ID_BYTES } from '../model/blob-id.js';
import { EntryFlag, EntryType } from '../model/entry.js';

/** Offsets inside one encoded entry, from its type byte. */
export const AT = { flags: 1, mtimeNs: 14, ctimeNs: 22, ino: 30, size: 50, xattrCount: 70, variable: 72 } as const;

export interface TreeLayout {
  /** Entry index by name (latin1: one char per byte, so any name maps back exactly). */
  byName: NameIndex;
  /** Where entry k starts (its name's length field); entryAt[count] is the blob's length. */
  entryAt: Int32Array;
  /** Where entry k's type byte is (the AT offsets count from it). */
  typeAt: Int32Array;
  /** Where directory entry k's subtree id is; -1 for other types. */
  subtreeAt: Int32Array;
}

/** Where the name of the encoded entry at `at` ends: its type byte (the name starts at at + 2). */
export function nameEnd(buf: Uint8Array, at: number): number {
  return at + 2 + (buf[at]! | (buf[at + 1]! << 8));
}

/** Null when the bytes do not parse exactly: decodeTree then names the damage. */
export function treeLayout(tree: Buffer): TreeLayout | null {
  try {
    if (tree.length < 8 || tree.toString('latin1', 0, 4) !== 'RPT1') return null;
    const count = tree.readUInt32LE(4);
    if (count > (tree.length - 8) / (2 + 1 + AT.variable)) return null; // more entries than the smallest could fill
    const entryAt = new Int32Array(count + 1);
    const typeAt = new Int32Array(count);
    const layout: TreeLayout = { byName: new NameIndex(tree, entryAt, typeAt, count), entryAt, typeAt, subtreeAt: new Int32Array(count).fill(-1) };
    let o = 8;
    for (let i = 0; i < count; i++) {
      entryAt[i] = o;
      typeAt[i] = nameEnd(tree, o);
      if (typeAt[i]! > tree.length || !layout.byName.add(i)) return null; // past the end, or a name twice
      o = entryEnd(tree, o);
      if (tree[typeAt[i]!] === EntryType.Dir) layout.subtreeAt[i] = o - ID_BYTES; // a directory's entry ends with its subtree id
    }
    entryAt[count] = o;
    return o === tree.length ? layout : null;
  } catch {
    return null; // a length field pointed past the end
  }
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * A tree's entries by name: an open-addressing table of entry numbers over the tree's own name
 * bytes (FNV-1a), looked up with the latin1 string of a listed name (one char per byte: the same
 * hash). A Map took a string for every entry of every previous tree the walk reads: ~55 MB more
 * for a directory of a million files, and most of treeLayout's time.
 */
export class NameIndex {
  /** Entry number + 1; 0 is an empty slot. At most half full. */
  private slots: Int32Array;
  size = 0;

  /** Entry k's name is tree[entryAt[k] + 2, typeAt[k]); `expected` entries will be added. */
  constructor(
    private readonly tree: Buffer,
    private readonly entryAt: Int32Array,
    private readonly typeAt: Int32Array,
    expected: number,
  ) {
    let n = 8;
    while (n < 2 * expected) n *= 2;
    this.slots = new Int32Array(n);
  }

  /** Adds entry k; false if its name is there already. */
  add(k: number): boolean {
    if (2 * (this.size + 1) > this.slots.length) this.grow();
    if (this.find(k) >= 0) return false;
    this.place(k);
    this.size++;
    return true;
  }

  /** The number of the entry named `latinName`, if there is one. */
  get(latinName: string): number | undefined {
    let h = FNV_OFFSET;
    for (let i = 0; i < latinName.length; i++) h = Math.imul(h ^ latinName.charCodeAt(i), FNV_PRIME);
    const mask = this.slots.length - 1;
    for (let j = h & mask; ; j = (j + 1) & mask) {
      const v = this.slots[j]!;
      if (v === 0) return undefined;
      const start = this.entryAt[v - 1]! + 2;
      if (this.typeAt[v - 1]! - start === latinName.length && this.sameAs(start, latinName)) return v - 1;
    }
  }

  private sameAs(start: number, latinName: string): boolean {
    for (let i = 0; i < latinName.length; i++) if (this.tree[start + i] !== latinName.charCodeAt(i)) return false;
    return true;
  }

  private hashOf(k: number): number {
    let h = FNV_OFFSET;
    for (let i = this.entryAt[k]! + 2; i < this.typeAt[k]!; i++) h = Math.imul(h ^ this.tree[i]!, FNV_PRIME);
    return h;
  }

  /** The slot holding an entry with entry k's name, or -1. */
  private find(k: number): number {
    const start = this.entryAt[k]! + 2;
    const length = this.typeAt[k]! - start;
    const mask = this.slots.length - 1;
    for (let j = this.hashOf(k) & mask; ; j = (j + 1) & mask) {
      const v = this.slots[j]!;
      if (v === 0) return -1;
      const other = this.entryAt[v - 1]! + 2;
      if (this.typeAt[v - 1]! - other === length && this.tree.compare(this.tree, other, other + length, start, start + length) === 0) return j;
    }
  }

  private place(k: number): void {
    const mask = this.slots.length - 1;
    let j = this.hashOf(k) & mask;
    while (this.slots[j] !== 0) j = (j + 1) & mask;
    this.slots[j] = k + 1;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    for (const v of old) if (v !== 0) this.place(v - 1);
  }
}

/** Where the encoded entry that starts at `at` ends; throws RangeError if a length field points past the blob's end. */
export function entryEnd(tree: Buffer, at: number): number {
  let o = nameEnd(tree, at);
  const type = tree[o];
  const xattrs = tree.readUInt16LE(o + AT.xattrCount);
  o += AT.variable;
  for (let x = 0; x < xattrs; x++) {
    o += 2 + tree.readUInt16LE(o);
    o += 4 + tree.readUInt32LE(o);
  }
  if (type === EntryType.File) {
    o += 4 + tree.readUInt32LE(o) * 16;
    o += 4 + tree.readUInt32LE(o) * (ID_BYTES + 4);
  } else if (type === EntryType.Dir) {
    o += ID_BYTES;
  } else if (type === EntryType.Symlink) {
    o += 4 + tree.readUInt32LE(o);
  }
  if (o > tree.length) throw new RangeError(`tree entry at ${at} ends past the blob`);
  return o;
}

/**
 * `tree` with its entries flagged Deferred (files left to file tasks) replaced: the k-th of them
 * by the encoded entry `read(k)` gives (a file task's, of the same name), or left out where it gives
 * none (the file vanished). The other entries' bytes are copied as they are, so a directory of a
 * million files is completed without decoding it (a JS object per entry). The same bytes as
 * decoding, replacing and encoding again, as the encoding is canonical.
 */
export function replaceDeferred(tree: Buffer, read: (k: number) => Buffer | undefined): Buffer {
  const count = tree.readUInt32LE(4);
  const pieces: Buffer[] = [];
  let entries = 0;
  let k = 0;
  let runStart = 8;
  let o = 8;
  for (let i = 0; i < count; i++) {
    const typeAt = nameEnd(tree, o);
    const end = entryEnd(tree, o);
    if (tree[typeAt + AT.flags]! & EntryFlag.Deferred) {
      if (runStart < o) pieces.push(tree.subarray(runStart, o));
      runStart = end;
      const name = tree.subarray(o + 2, typeAt);
      const bytes = read(k++);
      if (bytes) {
        if (!name.equals(bytes.subarray(2, nameEnd(bytes, 0))) || entryEnd(bytes, 0) !== bytes.length) {
          throw new Error(`read entry for ${name.toString('latin1')} is not one entry of that name`);
        }
        pieces.push(bytes);
        entries++;
      }
    } else {
      entries++;
    }
    o = end;
  }
  if (o !== tree.length) throw new Error('tree with deferred entries has trailing bytes');
  if (runStart < o) pieces.push(tree.subarray(runStart, o));
  let size = 8;
  for (const p of pieces) size += p.length;
  // Its own memory, not a slice of Node's shared pool: trees are passed between threads.
  const out = Buffer.allocUnsafeSlow(size);
  tree.copy(out, 0, 0, 4);
  out.writeUInt32LE(entries, 4);
  let at = 8;
  for (const p of pieces) at += p.copy(out, at);
  return out;
}
