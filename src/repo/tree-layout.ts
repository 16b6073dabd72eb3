// Where each entry of an encoded tree blob sits, found without decoding it (no Entry objects, no
// BigInts): the walk compares stats with a previous tree's bytes in place and copies the bytes of
// entries that did not change. Layout: docs/FORMAT.md "Tree blob".
import { ID_BYTES } from '../model/blob-id.js';
import { EntryFlag, EntryType } from '../model/entry.js';

/** Offsets inside one encoded entry, from its type byte. */
export const AT = { flags: 1, mtimeNs: 14, ctimeNs: 22, ino: 30, size: 50, xattrCount: 70, variable: 72 } as const;

export interface TreeLayout {
  /** Entry index by name (latin1: one char per byte, so any name maps back exactly). */
  byName: Map<string, number>;
  /** Where entry k starts (its name's length field); entryAt[count] is the blob's length. */
  entryAt: Int32Array;
  /** Where entry k's type byte is (the AT offsets count from it). */
  typeAt: Int32Array;
  /** Where directory entry k's subtree id is; -1 for other types. */
  subtreeAt: Int32Array;
}

/** Null when the bytes do not parse exactly: decodeTree then names the damage. */
export function treeLayout(tree: Buffer): TreeLayout | null {
  try {
    if (tree.length < 8 || tree.toString('latin1', 0, 4) !== 'RPT1') return null;
    const count = tree.readUInt32LE(4);
    if (count > tree.length) return null;
    const layout: TreeLayout = { byName: new Map(), entryAt: new Int32Array(count + 1), typeAt: new Int32Array(count), subtreeAt: new Int32Array(count).fill(-1) };
    let o = 8;
    for (let i = 0; i < count; i++) {
      layout.entryAt[i] = o;
      const typeAt = o + 2 + tree.readUInt16LE(o);
      layout.byName.set(tree.toString('latin1', o + 2, typeAt), i);
      layout.typeAt[i] = typeAt;
      o = entryEnd(tree, o);
      if (tree[typeAt] === EntryType.Dir) layout.subtreeAt[i] = o - ID_BYTES; // a directory's entry ends with its subtree id
    }
    layout.entryAt[count] = o;
    return o === tree.length && layout.byName.size === count ? layout : null;
  } catch {
    return null; // a length field pointed past the end
  }
}

/** Where the encoded entry that starts at `at` ends; throws RangeError if a length field points past the blob's end. */
export function entryEnd(tree: Buffer, at: number): number {
  let o = at + 2 + tree.readUInt16LE(at);
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
    const typeAt = o + 2 + tree.readUInt16LE(o);
    const end = entryEnd(tree, o);
    if (tree[typeAt + AT.flags]! & EntryFlag.Deferred) {
      if (runStart < o) pieces.push(tree.subarray(runStart, o));
      runStart = end;
      const name = tree.subarray(o + 2, typeAt);
      const bytes = read(k++);
      if (bytes) {
        if (!name.equals(bytes.subarray(2, 2 + bytes.readUInt16LE(0))) || entryEnd(bytes, 0) !== bytes.length) {
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
