// The coordinator's handle on the writer thread: request/answer by sequence number.
import { Worker } from 'node:worker_threads';
import { WORKER_HEAP_LIMITS, threadFailure, workerEntry, workerExecArgv } from './worker-options.js';
import { SnapError, type ErrorCode } from '../model/errors.js';
import { wholeArrayBuffer } from '../sys/index.js';
import type { BlobDesc } from '../worker/protocol.js';
import type { PointRecord } from './point-record.js';
import type { WriterInit, WriterReply, WriterRequest } from './writer-protocol.js';

type Pending = { resolve: (r: WriterReply) => void; reject: (e: Error) => void };
type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

export class RepoWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private failure: Error | null = null;

  constructor(init: WriterInit) {
    this.worker = new Worker(workerEntry('repo/writer-thread.js'), { workerData: init, resourceLimits: WORKER_HEAP_LIMITS, execArgv: workerExecArgv() });
    this.worker.on('message', (msg: WriterReply) => {
      const p = this.pending.get(msg.seq);
      if (!p) return;
      this.pending.delete(msg.seq);
      if (msg.type === 'error') p.reject(new SnapError(msg.code as ErrorCode, msg.message));
      else p.resolve(msg);
    });
    this.worker.on('error', (err) => this.failAll(threadFailure('the writer thread', err)));
    this.worker.on('exit', (code) => this.failAll(new Error(`writer thread exited (code ${code})`)));
  }

  private failAll(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private request(req: DistributiveOmit<WriterRequest, 'seq'>, transfer: ArrayBuffer[] = []): Promise<WriterReply> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ ...req, seq }, transfer);
    });
  }

  async put(data: Uint8Array, blobs: BlobDesc[]): Promise<{ bytesAdded: number; blobsAdded: number }> {
    if (blobs.length === 0) return { bytesAdded: 0, blobsAdded: 0 };
    // Transfer only a buffer this view owns whole; a pooled or shared one is copied first.
    const own = wholeArrayBuffer(data) ? data : new Uint8Array(data);
    const r = await this.request({ type: 'put', data: own, blobs }, [own.buffer as ArrayBuffer]);
    if (r.type !== 'put-done') throw new Error(`writer: unexpected reply ${r.type}`);
    return { bytesAdded: r.bytesAdded, blobsAdded: r.blobsAdded };
  }

  async get(id: Uint8Array): Promise<Buffer> {
    const r = await this.request({ type: 'get', id });
    if (r.type !== 'got') throw new Error(`writer: unexpected reply ${r.type}`);
    return Buffer.from(r.raw.buffer, r.raw.byteOffset, r.raw.byteLength);
  }

  /**
   * Several blobs in one round trip, each verified as get() does; one promise per id, each
   * failing alone with its own error. The returned buffers are views of one transferred buffer.
   */
  getMany(ids: readonly Uint8Array[]): Promise<Buffer>[] {
    const packed = new Uint8Array(ids.length * 32);
    ids.forEach((id, i) => packed.set(id, i * 32));
    const blobs = this.request({ type: 'get-many', ids: packed }, [packed.buffer as ArrayBuffer]).then((r) => {
      if (r.type !== 'got-many') throw new Error(`writer: unexpected reply ${r.type}`);
      let at = r.data.byteOffset;
      return r.lengths.map((length, i) => {
        const error = r.errors[i];
        if (error) return new SnapError(error.code as ErrorCode, error.message);
        at += length;
        return Buffer.from(r.data.buffer, at - length, length);
      });
    });
    return ids.map(async (_, i) => {
      const blob = (await blobs)[i]!;
      if (blob instanceof SnapError) throw blob;
      return blob;
    });
  }

  async commit(point: PointRecord): Promise<void> {
    await this.request({ type: 'commit', point });
  }

  async abort(): Promise<void> {
    await this.request({ type: 'abort' }).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}
