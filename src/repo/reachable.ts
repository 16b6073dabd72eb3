// Walks what points reference: every tree blob and every content blob below a point's root, each
// tree visited once across all points (unchanged subtrees share ids). Used by prune (what to
// keep) and check (what must exist). Memory: one IdTable of ids, no object per blob.
import { idFromHex } from '../model/blob-id.js';
import { EntryType } from '../model/entry.js';
import { IdTable } from './id-table.js';
import { decodeTree } from './tree-codec.js';
import type { PointRecord } from './point-record.js';

export interface ReachableVisitor {
  /** Reads a tree blob (verified). */
  readTree(id: Buffer): Promise<Buffer>;
  /** Called once per (point, path, blob) the first time a tree holding it is walked. */
  onBlob?(id: Buffer, path: Buffer, point: PointRecord): void;
}

/** Ids of the boot area blobs a point holds, if any. */
export function bootBlobIds(point: PointRecord): Buffer[] {
  const b = point.boot as { boot_code?: string; gap?: string } | null;
  if (!b) return [];
  return [b.boot_code, b.gap].filter((x): x is string => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x)).map(idFromHex);
}

export async function markReachable(points: readonly PointRecord[], v: ReachableVisitor, seen = new IdTable(4096)): Promise<IdTable> {
  for (const point of points) {
    for (const id of bootBlobIds(point)) {
      seen.add(id);
      v.onBlob?.(id, Buffer.from('(boot area)'), point);
    }
    const stack: { id: Buffer; path: Buffer }[] = [{ id: idFromHex(point.root), path: Buffer.alloc(0) }];
    while (stack.length > 0) {
      const { id, path } = stack.pop()!;
      if (!seen.add(id)) continue;
      v.onBlob?.(id, path.length ? path : Buffer.from('/'), point);
      for (const e of decodeTree(await v.readTree(id))) {
        const child = path.length === 0 && e.name.equals(Buffer.from('.')) ? Buffer.alloc(0) : Buffer.concat([path, Buffer.from('/'), e.name]);
        if (e.type === EntryType.Dir && e.subtree) stack.push({ id: e.subtree, path: child });
        for (const c of e.chunks) {
          if (seen.add(c.id)) v.onBlob?.(c.id, child, point);
        }
      }
    }
  }
  return seen;
}
