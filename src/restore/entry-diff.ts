// What differs between a live entry (from the pre-restore point) and the target entry: the
// reasons a plan shows and the applier acts on. Compared field by field, so a restore onto a tree
// that already matches plans nothing and writes nothing.
import { type Entry, EntryType, RESTORABLE_FS_FLAGS } from '../model/entry.js';

export type DiffReason = 'type' | 'content' | 'mode' | 'owner' | 'xattrs' | 'mtime' | 'flags';

function sameXattrs(a: Entry, b: Entry): boolean {
  if (a.xattrs.length !== b.xattrs.length) return false;
  return a.xattrs.every((x, i) => x.name.equals(b.xattrs[i]!.name) && x.value.equals(b.xattrs[i]!.value));
}

export function sameContent(live: Entry, target: Entry): boolean {
  switch (target.type) {
    case EntryType.File:
      return (
        live.size === target.size &&
        live.extents.length === target.extents.length &&
        live.extents.every((x, i) => x.offset === target.extents[i]!.offset && x.length === target.extents[i]!.length) &&
        live.chunks.length === target.chunks.length &&
        live.chunks.every((c, i) => c.id.equals(target.chunks[i]!.id))
      );
    case EntryType.Symlink:
      return (live.target ?? Buffer.alloc(0)).equals(target.target ?? Buffer.alloc(0));
    case EntryType.CharDev:
    case EntryType.BlockDev:
      return live.rdevMajor === target.rdevMajor && live.rdevMinor === target.rdevMinor;
    default:
      return true; // directories (their children are diffed separately) and FIFOs
  }
}

/** Differences that need the inode replaced (type, content) or its metadata re-applied. */
export function diffEntries(live: Entry, target: Entry): DiffReason[] {
  if (live.type !== target.type) return ['type'];
  const reasons: DiffReason[] = [];
  if (!sameContent(live, target)) reasons.push('content');
  if ((live.mode & 0o7777) !== (target.mode & 0o7777)) reasons.push('mode');
  if (live.uid !== target.uid || live.gid !== target.gid) reasons.push('owner');
  if (!sameXattrs(live, target)) reasons.push('xattrs');
  if (live.mtimeNs !== target.mtimeNs) reasons.push('mtime');
  if ((live.fsFlags & RESTORABLE_FS_FLAGS) !== (target.fsFlags & RESTORABLE_FS_FLAGS)) reasons.push('flags');
  return reasons;
}
