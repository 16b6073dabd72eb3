// The fast path of the walk for a directory where nothing changed, which is nearly every directory
// of a server on nearly every run: each listed entry is stat'ed and compared with the previous
// tree's bytes in place (type, inode, size, mtime ns, ctime ns; no Entry objects, no BigInts, one
// native call per STAT_BATCH entries), and if all match, the new tree is the previous tree's bytes
// (subdirectory ids are patched later, as for any tree). Anything else (a change, a new or missing
// name, an exclusion that now applies, a socket) answers null, and the caller takes the full path,
// which re-checks all (and still copies the bytes of the entries that match, with sameAsBefore).
import * as sys from '../sys/index.js';
import { EntryFlag, EntryType, entryTypeFromMode } from '../model/entry.js';
import { ID_BYTES } from '../model/blob-id.js';
import type { PackedDir } from '../sys/native.js';
import { AT, type TreeLayout } from '../repo/tree-layout.js';
import { emptyStats, fileDataBytes, type SubdirRef, type TaskStats } from './protocol.js';
import type { ScannedDir } from './scan-dir.js';
import { STAT_BATCH, type WorkerContext } from './worker-context.js';

const F = sys.STAT_FIELDS;

function sameBytes(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[aAt + i] !== b[bAt + i]) return false;
  return true;
}

function isZero(a: Uint8Array, at: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[at + i] !== 0) return false;
  return true;
}

/**
 * Whether the previous tree's entry whose type byte is at `t` can be kept as it is for the stat at
 * slot `s` of `slotBytes` (fstatatMany's fields as bytes): same type, inode, mtime ns, ctime ns
 * and size (0 for types without one), a trusted record (not Racy: an inode changed within a clock
 * tick of being read can show the recorded stat), and not a directory recorded empty on purpose
 * (an exclusion that no longer applies must take the full path). The full path's test, on bytes,
 * for an entry the exclusion rules keep.
 */
export function sameAsBefore(slotBytes: Uint8Array, s: number, type: EntryType, tree: Buffer, t: number): boolean {
  if (tree[t] !== type || tree[t + AT.flags]! & (EntryFlag.Racy | EntryFlag.ContentsExcluded)) return false;
  if (
    !sameBytes(slotBytes, (s + F.ino) * 8, tree, t + AT.ino, 8) ||
    !sameBytes(slotBytes, (s + F.mtimeNs) * 8, tree, t + AT.mtimeNs, 8) ||
    !sameBytes(slotBytes, (s + F.ctimeNs) * 8, tree, t + AT.ctimeNs, 8)
  ) {
    return false;
  }
  const hasSize = type === EntryType.File || type === EntryType.Symlink;
  return hasSize ? sameBytes(slotBytes, (s + F.size) * 8, tree, t + AT.size, 8) : isZero(tree, t + AT.size, 8);
}

/** Counts an entry kept from the previous tree, from its stat at slot `s`, as the full path would. */
export function countKept(stats: TaskStats, slotWords: Uint32Array, s: number, type: EntryType): void {
  if (type === EntryType.Dir) {
    stats.dirs++;
    return;
  }
  stats.files++;
  if (type === EntryType.File) {
    const size = slotWords[(s + F.size) * 2]! + slotWords[(s + F.size) * 2 + 1]! * 2 ** 32;
    stats.bytesScanned += size;
    stats.dataBytes += fileDataBytes(size, slotWords[(s + F.blocks) * 2]! + slotWords[(s + F.blocks) * 2 + 1]! * 2 ** 32, slotWords[(s + F.nlink) * 2]!);
  }
}

/**
 * The directory open at `dirfd`, listed as `listing`, if every entry is as in `prevTree`; else null.
 * `layout` is prevTree's (treeLayout). `dirPath` is its path from ROOT (latin1), for the exclusion
 * rules. The caller has stat'ed the listing's first STAT_BATCH entries into ctx.statBatch /
 * ctx.statErrnos.
 */
export function unchangedDir(ctx: WorkerContext, dirfd: number, listing: PackedDir, prevTree: Buffer, layout: TreeLayout, dirPath: string): ScannedDir | null {
  const slots = ctx.statBatch;
  const slotBytes = new Uint8Array(slots.buffer, slots.byteOffset, slots.byteLength);
  const slotWords = new Uint32Array(slots.buffer, slots.byteOffset, slots.length * 2);
  const stats = emptyStats();
  // Per subdirectory: where its name and its subtree id are in the tree (numbers, not views: the
  // views are made on the tree's own copy below, which crosses threads whole).
  const subdirAt: number[] = [];
  let matched = 0;
  for (let i = 0, o = 0; i < listing.count; i++) {
    // Entries are stat'ed STAT_BATCH at a time, each batch just before it is compared.
    const j = i % STAT_BATCH;
    if (j === 0 && i > 0) sys.fstatatMany(dirfd, listing, o, Math.min(STAT_BATCH, listing.count - i), sys.constants.AT_SYMLINK_NOFOLLOW, slots, ctx.statErrnos);
    const from = o;
    const end = listing.names.indexOf(0, o);
    o = end + 1;
    if (ctx.statErrnos[j] !== 0) return null; // gone since the listing, or worse: the full path decides
    const s = j * sys.STAT_FIELD_COUNT; // this entry's first slot
    const latinName = listing.names.toString('latin1', from, end);
    const type = entryTypeFromMode(slotWords[(s + F.mode) * 2]!);
    const k = layout.byName.get(latinName);
    const isDir = type === EntryType.Dir;
    if (k === undefined) {
      // Not in the previous tree: fine only if it is left out now too.
      if (type !== null && ctx.rules.verdict(`${dirPath}/${latinName}`, latinName, isDir) === 'omit') continue;
      return null;
    }
    const t = layout.typeAt[k]!;
    if (type === null || ctx.rules.verdict(`${dirPath}/${latinName}`, latinName, isDir) !== 'keep') return null;
    if (!sameAsBefore(slotBytes, s, type, prevTree, t)) return null;
    matched++;
    if (isDir) {
      if (sys.unsignedSlot(slots[s + F.dev]!) === ctx.repoDev && sys.unsignedSlot(slots[s + F.ino]!) === ctx.repoIno) return null;
      subdirAt.push(t - (end - from), end - from, layout.subtreeAt[k]!); // the name ends where its entry's type byte is
    }
    countKept(stats, slotWords, s, type);
  }
  if (matched !== layout.typeAt.length) return null; // something of the previous tree is gone
  const tree = Buffer.allocUnsafeSlow(prevTree.length); // its own memory: it crosses threads
  prevTree.copy(tree);
  // Names and previous ids are views of that copy: one buffer crosses the threads (moved, not
  // cloned) instead of two small ones per subdirectory. The coordinator copies them out before it
  // patches new ids into the tree.
  const subdirs: SubdirRef[] = [];
  for (let i = 0; i < subdirAt.length; i += 3) {
    const [nameAt, nameLength, at] = [subdirAt[i]!, subdirAt[i + 1]!, subdirAt[i + 2]!];
    subdirs.push({ name: new Uint8Array(tree.buffer, tree.byteOffset + nameAt, nameLength), prevSubtree: new Uint8Array(tree.buffer, tree.byteOffset + at, ID_BYTES), offset: at, part: -1 });
  }
  subdirs.sort((a, b) => a.offset - b.offset); // tree order, i.e. by name
  return { part: { tree, subdirs, deferred: [], asBefore: true }, entries: listing.count, stats, warnings: [] };
}
