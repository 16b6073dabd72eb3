// Where each entry of an encoded tree blob sits, found without decoding it (no Entry objects, no
// BigInts): the walk compares stats with a previous tree's bytes in place and copies the bytes of
// entries that did not change. Layout: docs/FORMAT.md "Tree blob".
import { ID_BYTES } from '../model/blob-id.js';
import { EntryType } from '../model/entry.js';

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
      const nameLength = tree.readUInt16LE(o);
      o += 2;
      layout.byName.set(tree.toString('latin1', o, o + nameLength), i);
      o += nameLength;
      const type = tree[o]!;
      layout.typeAt[i] = o;
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
        layout.subtreeAt[i] = o;
        o += ID_BYTES;
      } else if (type === EntryType.Symlink) {
        o += 4 + tree.readUInt32LE(o);
      }
    }
    layout.entryAt[count] = o;
    return o === tree.length && layout.byName.size === count ? layout : null;
  } catch {
    return null; // a length field pointed past the end
  }
}
