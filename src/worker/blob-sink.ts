// Collects the blobs one task produces: hashes raw content (SHA-256 = id) at once, compresses in
// the background (all of a task's compressions run concurrently on libuv's pool), and packs the
// payloads into one contiguous buffer so a task result crosses threads as a single copy.
// Small data blobs are gathered into bundles (repo/bundle.ts), compressed once per ~1 MiB: a small
// file compresses better beside its neighbours, and one zstd call per file cost more than the
// compressing itself (a fresh zstd context per call).
// Content the previous version of the same file already had is not compressed again: it is almost
// always stored (the writer drops it), and if it is not (a damaged repository), it is stored raw.
import { blobId, idHex, BlobKind } from '../model/blob-id.js';
import { BUNDLE_MEMBER_MAX, BUNDLE_TARGET_BYTES, bundleId, encodeBundleTable, type BundleMember } from '../repo/bundle.js';
import { compressPayload } from '../repo/compression.js';
import { Compression } from '../repo/record.js';
import type { BlobDesc } from './protocol.js';
import type { PreviousChunks } from './previous-chunks.js';
import { type ReadSlabs, SlabCursor } from './read-slabs.js';
import { releaseArrayBuffer, wholeArrayBuffer } from '../sys/index.js';

interface Pending {
  id: Buffer;
  kind: BlobKind;
  rawLength: number;
  /** A bundle's member table, stored in front of its compressed members. */
  table?: Buffer;
  packed: Promise<{ compression: number; payload: Buffer }>;
}

export class BlobSink {
  private readonly pending: Pending[] = [];
  private readonly seen = new Set<string>();
  private bundle: { members: BundleMember[]; raws: Buffer[]; bytes: number } = { members: [], raws: [], bytes: 0 };
  /** Blobs added that a file's previous version had (sent raw, not compressed). */
  reused = 0;
  /**
   * Buffers that die with the task, released (detached) by finish(), see release(): read buffers
   * handed over with own(), and what the sink made itself (bundles, compressed copies). Nothing
   * else is released: a buffer the caller did not hand over may still be the caller's.
   */
  private readonly spent = new Set<Buffer>();
  private readonly owned = new Set<ArrayBufferLike>();
  /** Where read buffers come from when the thread lends slabs (see read-slabs.ts). */
  private readonly slabs: SlabCursor | null;

  /** `slabs`: the thread's reusable read memory (null: every read buffer is new). */
  constructor(slabs: ReadSlabs | null = null) {
    this.slabs = slabs ? new SlabCursor(slabs) : null;
  }

  /**
   * A buffer to read `length` bytes of a file into, whose pieces are then given to add(). The
   * sink holds it until finish(), which gives its memory back to the thread (or releases it):
   * nothing may use it, or a piece of it, after that.
   */
  readBuffer(length: number): Buffer {
    const lent = this.slabs?.piece(length);
    if (lent) return lent;
    const buf = Buffer.allocUnsafe(length);
    this.own(buf);
    return buf;
  }

  /** Hands over a read buffer whose pieces are given to add(): released by finish(). */
  own(buf: Buffer): void {
    if (buf.byteLength !== buf.buffer.byteLength) return; // a slice of the shared pool: never released
    this.spent.add(buf);
    this.owned.add(buf.buffer);
  }

  /** Hashes `raw` and queues it; returns its id. Duplicates within the task are stored once. */
  add(raw: Buffer, kind: BlobKind = BlobKind.Data, previous?: PreviousChunks): Buffer {
    const id = blobId(raw);
    const key = idHex(id);
    if (this.seen.has(key)) return id;
    this.seen.add(key);
    if (previous?.has(key)) {
      this.reused++;
      this.pending.push({ id, kind, rawLength: raw.length, packed: Promise.resolve({ compression: Compression.None, payload: raw }) });
      return id;
    }
    if (kind === BlobKind.Data && raw.length < BUNDLE_MEMBER_MAX) {
      const b = this.bundle;
      b.members.push({ id, kind, rawLength: raw.length });
      b.raws.push(raw);
      b.bytes += raw.length;
      if (b.bytes >= BUNDLE_TARGET_BYTES) this.closeBundle();
      return id;
    }
    this.queue({ id, kind, rawLength: raw.length }, raw);
    return id;
  }

  private queue(p: Omit<Pending, 'packed'>, raw: Buffer): void {
    const packed = compressPayload(raw).then((r) => {
      if (r.payload !== raw) this.spent.add(r.payload); // a compressed copy: the sink's own
      return r;
    });
    packed.catch(() => undefined); // awaited in finish(); never an unhandled rejection meanwhile
    this.pending.push({ ...p, packed });
  }

  /** Queues the open bundle for compression (a lone member is stored as a plain record). */
  private closeBundle(): void {
    const { members, raws, bytes } = this.bundle;
    this.bundle = { members: [], raws: [], bytes: 0 };
    if (members.length === 0) return;
    if (members.length === 1) return this.queue(members[0]!, raws[0]!);
    const table = encodeBundleTable(members);
    const raw = Buffer.concat(raws, bytes);
    this.spent.add(raw);
    // The members are copied: a member that is a whole read buffer (a small file) goes now.
    for (const r of raws) if (this.owned.has(r.buffer)) release(r);
    this.queue({ id: bundleId(table), kind: BlobKind.Bundle, rawLength: bytes, table }, raw);
  }

  /** Waits for the compressions; one standalone buffer (never a view of Node's shared pool). */
  async finish(): Promise<{ data: Uint8Array; blobs: BlobDesc[] }> {
    this.closeBundle();
    const packed = await Promise.all(this.pending.map((p) => p.packed));
    const size = packed.reduce((n, p, i) => n + (this.pending[i]!.table?.length ?? 0) + p.payload.length, 0);
    // allocUnsafeSlow: every byte is written below (no zero-fill), and the buffer is its own
    // ArrayBuffer, so it can be moved to the main thread instead of copied.
    const data = Buffer.allocUnsafeSlow(size);
    const blobs: BlobDesc[] = [];
    let o = 0;
    packed.forEach(({ compression, payload }, i) => {
      const p = this.pending[i]!;
      const start = o;
      if (p.table) {
        data.set(p.table, o);
        o += p.table.length;
      }
      data.set(payload, o);
      o += payload.length;
      blobs.push({ id: p.id, kind: p.kind, compression, rawLength: p.rawLength, offset: start, length: o - start });
    });
    for (const buf of this.spent) release(buf);
    this.spent.clear();
    this.owned.clear();
    // Every compression has finished and every payload is copied into `data`: the read buffers'
    // bytes are no longer needed (nor reachable: the queue is emptied first).
    this.pending.length = 0;
    this.slabs?.giveBackAll();
    return { data, blobs };
  }
}

/**
 * Frees a dead buffer's memory now, or at the next young-generation collection. V8 frees a
 * Buffer's memory only with its holder object; a task's buffers live through its compressions, so
 * their holders were often promoted and waited for a full collection: 20-35 MiB of dead buffers
 * per scan thread (docs/BENCHMARKS.md), and a full collection there costs ~15 ms. Only buffers
 * that own their whole ArrayBuffer are released (never a slice of Node's shared pool, which other
 * Buffers use). Those above the pool's size are detached, which frees them at once, zstd's output
 * too (native memory, which the transfer below copied instead of moving: heaptrack found ~80 MB of
 * it live at a first snapshot's peak). Smaller ones move to a fresh ArrayBuffer that is dropped
 * at once (transfer, no copy), leaving the old holder empty and the new one young.
 */
function release(buf: Buffer): void {
  const ab = wholeArrayBuffer(buf);
  if (!ab || ab.byteLength === 0) return;
  if (releaseArrayBuffer(ab) > 0) return; // above the pool's size: freed now
  try {
    structuredClone(ab, { transfer: [ab] });
  } catch {
    // not transferable (an external buffer): V8 frees it with its holder
  }
}
