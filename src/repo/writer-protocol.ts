// Messages between the coordinator and the writer thread (the only thread that writes packs).
import type { BlobDesc } from '../worker/protocol.js';
import type { PointRecord } from './point-record.js';

export interface WriterInit {
  repoDir: string;
  packTargetBytes?: number;
  /** Stop with DISK_FULL rather than leave less than this free on the repository's filesystem. */
  minFree?: number;
  /** Write nothing: keep tree blobs in memory for planning, drop the rest. */
  dryRun?: boolean;
  /**
   * Content is read through this thread (a restore): every row keeps its location. A snapshot
   * reads only trees, and the other rows keep id keys alone (BlobIndex idsOnly).
   */
  readsContent?: boolean;
}

export type WriterRequest =
  | { type: 'put'; seq: number; data: Uint8Array; blobs: BlobDesc[] }
  | { type: 'get'; seq: number; id: Uint8Array }
  /** Several blobs in one round trip: `ids` holds their 32-byte ids one after another. */
  | { type: 'get-many'; seq: number; ids: Uint8Array }
  | { type: 'has'; seq: number; id: Uint8Array }
  | { type: 'commit'; seq: number; point: PointRecord }
  | { type: 'abort'; seq: number };

export type WriterReply =
  | { type: 'put-done'; seq: number; bytesAdded: number; blobsAdded: number }
  | { type: 'got'; seq: number; raw: Uint8Array }
  /**
   * The blobs of a get-many, one after another in `data`, `lengths[i]` bytes each; a blob that
   * could not be read has length 0 and its error in `errors[i]` (each fails alone).
   */
  | { type: 'got-many'; seq: number; data: Uint8Array; lengths: number[]; errors: ({ code: string; message: string } | null)[] }
  | { type: 'has-answer'; seq: number; has: boolean }
  | { type: 'committed'; seq: number; packs: number }
  | { type: 'aborted'; seq: number }
  | { type: 'error'; seq: number; code: string; message: string };
