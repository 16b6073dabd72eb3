// The writer's side of bundles (docs/FORMAT.md "Bundle records"): a bundle from a scan thread may
// hold content stored already (the same file in another directory, a renamed one). Dropped if all
// of it is, rebuilt from its new members if more than a quarter of its bytes are, else written as
// it came (compressing again would cost more than the duplicate bytes).
import { BlobKind } from '../model/blob-id.js';
import { parseBundle, rebuildBundle } from './bundle.js';
import type { PackWriter } from './pack-writer.js';
import { RECORD_HEADER_BYTES, type Compression } from './record.js';

export interface IncomingBundle {
  id: Buffer;
  compression: Compression;
  rawLength: number;
  /** Member table + members, as the record's payload. */
  payload: Buffer;
}

/** Stores `b` as above; `reserve` is told the bytes before they are written. Returns members stored. */
export async function storeBundle(packs: PackWriter, b: IncomingBundle, reserve: (bytes: number) => void): Promise<number> {
  const bundle = parseBundle(b.payload, 'a scan result');
  let storedBytes = 0;
  for (const m of bundle.members) if (packs.has(m.id)) storedBytes += m.rawLength;
  if (storedBytes === bundle.rawTotal) return 0;
  if (storedBytes * 4 > bundle.rawTotal) {
    const { members, ...rec } = await rebuildBundle(bundle, b.compression, (m) => !packs.has(m.id));
    reserve(rec.payload.length + RECORD_HEADER_BYTES);
    return rec.kind === BlobKind.Bundle ? packs.addBundle(rec, members) : Number(packs.add(rec));
  }
  reserve(b.payload.length + RECORD_HEADER_BYTES);
  return packs.addBundle({ ...b, kind: BlobKind.Bundle }, bundle.members);
}
