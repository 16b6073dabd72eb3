// The writer thread: owns the pack files of one run. Loads the index once (the authoritative dedup
// table), appends blobs, serves reads of stored blobs (previous trees) so the index lives in one
// thread only, and on commit seals the last pack and then writes the point file — in that order,
// which is the repository's crash invariant (docs/FORMAT.md).
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { BlobKind } from '../model/blob-id.js';
import { SnapError } from '../model/errors.js';
import { Repository } from './repository.js';
import { indexTable } from './index-file.js';
import { decompressPayload } from './compression.js';
import { PackWriter } from './pack-writer.js';
import { storeBundle } from './store-bundle.js';
import { dropped } from './gc-pacer.js';
import { releaseArrayBuffer, wholeArrayBuffer } from '../sys/index.js';
import type { WriterInit, WriterReply, WriterRequest } from './writer-protocol.js';

const init = workerData as WriterInit;
const repo = Repository.open(init.repoDir, { create: false });
if (!init.dryRun) repo.upgradeFormat(); // this run may write bundle records
// Trees only at first, and only the tree packs' indexes read: an unchanged tree's snapshot never
// needs the data rows (nearly all rows); loadData() adds the rest before the first content is
// stored, and a lookup that misses (a boot blob, a tree in a pack from before tree packs) loads
// them too. Until then a tree in such an older pack may be stored again: a duplicate, not damage.
// In a snapshot, rows other than trees keep only id keys (idsOnly): it never reads them, and at
// a million small blobs whole rows cost ~90 MB of this thread's memory, their ids ~32, id keys ~12.
const idsOnly = !init.readsContent;
const index = repo.loadIndex({ treesOnly: true, idsOnly });
const packs = new PackWriter(repo.store, index, init.packTargetBytes, (packId, idx) => {
  index.addPack(packId, indexTable(idx, packId));
  // With ids only, the index has copied what it keeps of the encoded index (tree rows, id keys),
  // which is freed now; otherwise the index keeps a view of it, and it is left to the collector.
  if (idsOnly && releaseArrayBuffer(idx.buffer as ArrayBuffer) > 0) return;
  dropped(idx.length);
});
const reader = repo.reader(index);
/** Dry runs store nothing: tree blobs are kept here (to plan from), data blobs are dropped. */
const dryTrees = new Map<string, Buffer>();
const port = parentPort!;

function reply(msg: WriterReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

/** Free space is asked of the filesystem again after this many bytes were written. */
const SPACE_CHECK_BYTES = 8 * 1024 * 1024;
let unchecked = Infinity;
let free = 0;

/** Stops the run (no point is committed) before the repository's filesystem drops below min_free. */
function reserve(bytes: number): void {
  if (!init.minFree) return;
  unchecked += bytes;
  if (unchecked >= SPACE_CHECK_BYTES) {
    const s = fs.statfsSync(repo.dir);
    free = s.bavail * s.bsize;
    unchecked = 0;
  }
  free -= bytes;
  if (free < init.minFree) {
    throw new SnapError('DISK_FULL', `stopped before the filesystem of ${repo.dir} went below min_free (${init.minFree} bytes must stay free); no restore point was written, earlier ones are intact`);
  }
}

async function handle(req: WriterRequest): Promise<void> {
  switch (req.type) {
    case 'put': {
      const data = Buffer.from(req.data.buffer, req.data.byteOffset, req.data.byteLength);
      const before = packs.bytesWritten;
      let blobsAdded = 0;
      for (const b of req.blobs) {
        if (init.dryRun) {
          if (b.kind === BlobKind.Tree) dryTrees.set(Buffer.from(b.id).toString('hex'), await decompressPayload(b.compression, Buffer.from(data.subarray(b.offset, b.offset + b.length))));
          continue;
        }
        if (b.kind !== BlobKind.Tree) index.loadData(); // dedup of content needs every row
        if (b.kind === BlobKind.Bundle) {
          const bundle = { id: Buffer.from(b.id), compression: b.compression, rawLength: b.rawLength, payload: data.subarray(b.offset, b.offset + b.length) };
          blobsAdded += await storeBundle(packs, bundle, reserve);
          continue;
        }
        if (!packs.has(Buffer.from(b.id))) reserve(b.length + 96);
        const added = packs.add({
          id: Buffer.from(b.id),
          kind: b.kind as BlobKind,
          compression: b.compression,
          rawLength: b.rawLength,
          payload: data.subarray(b.offset, b.offset + b.length),
        });
        if (added) blobsAdded++;
      }
      reply({ type: 'put-done', seq: req.seq, bytesAdded: packs.bytesWritten - before, blobsAdded });
      // Written to the pack file (nothing above keeps a view: ids and rows are copied). Freed now,
      // not by the gc pacer: ~1 GB of records in a first snapshot made ~130 full collections
      // here, ~2 s of this thread.
      releaseArrayBuffer(req.data.buffer as ArrayBuffer);
      return;
    }
    case 'get': {
      const raw = dryTrees.get(Buffer.from(req.id).toString('hex')) ?? (await reader.read(Buffer.from(req.id)));
      const copy = new Uint8Array(raw);
      reply({ type: 'got', seq: req.seq, raw: copy }, [copy.buffer as ArrayBuffer]);
      return;
    }
    case 'get-many': {
      const ids: Buffer[] = [];
      for (let at = 0; at < req.ids.byteLength; at += 32) ids.push(Buffer.from(req.ids.buffer, req.ids.byteOffset + at, 32));
      // All at once: bundle members share one decompression, other records decompress in parallel
      // on libuv's threads.
      const settled = await Promise.allSettled(ids.map((id) => dryTrees.get(id.toString('hex')) ?? reader.read(id)));
      const lengths = settled.map((r) => (r.status === 'fulfilled' ? r.value.length : 0));
      const data = new Uint8Array(lengths.reduce((a, b) => a + b, 0));
      let at = 0;
      for (const r of settled) {
        if (r.status !== 'fulfilled') continue;
        data.set(r.value, at);
        at += r.value.length;
        // A blob decompressed for this answer alone is garbage now (zstd's output: memory V8 does
        // not count toward a collection). Paced, not released: a buffer owned whole may still be a
        // cached bundle of one member or a dry run's tree.
        if (wholeArrayBuffer(r.value)) dropped(r.value.length);
      }
      const errors = settled.map((r) => (r.status === 'fulfilled' ? null : errorOf(r.reason)));
      reply({ type: 'got-many', seq: req.seq, data, lengths, errors }, [data.buffer as ArrayBuffer]);
      return;
    }
    case 'has':
      reply({ type: 'has-answer', seq: req.seq, has: packs.has(req.id) });
      return;
    case 'commit':
      if (init.dryRun) throw new SnapError('IO', 'a dry run cannot commit a point');
      packs.seal();
      repo.commitPoint(req.point);
      index.closeFiles();
      reply({ type: 'committed', seq: req.seq, packs: packs.sealedPacks.length });
      return;
    case 'abort':
      packs.discard();
      index.closeFiles();
      reply({ type: 'aborted', seq: req.seq });
      return;
  }
}

function errorOf(err: unknown): { code: string; message: string } {
  const code = err instanceof SnapError ? err.code : ((err as { code?: string }).code ?? 'IO');
  return { code, message: err instanceof Error ? err.message : String(err) };
}

// Requests are handled strictly in order: a commit must follow every put before it.
let queue: Promise<void> = Promise.resolve();
port.on('message', (req: WriterRequest) => {
  queue = queue.then(() => handle(req).catch((err: unknown) => reply({ type: 'error', seq: req.seq, ...errorOf(err) })));
});
