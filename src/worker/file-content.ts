// Reads a regular file's content from an open fd: data extents (SEEK_DATA/SEEK_HOLE, so holes
// are recorded, never read or stored), content-defined chunks, blobs. Each extent is chunked from
// its own start, so a file read in one go and one read in segments cut at the same places.
import fs from 'node:fs';
import * as sys from '../sys/index.js';
import type { ChunkRef, Extent } from '../model/entry.js';
import { errnoCode } from '../model/errors.js';
import { CHUNK_THRESHOLD, type Chunker } from './chunker.js';
import type { BlobSink } from './blob-sink.js';
import type { PreviousChunks } from './previous-chunks.js';

export interface FileStat {
  size: number;
  blocks: number;
}

/** Data regions of the file; one 0..size extent for a dense file, none for an empty one. */
export function dataExtents(fd: number, st: FileStat): Extent[] {
  if (st.size === 0) return [];
  if (st.blocks * 512 >= st.size) return [{ offset: 0, length: st.size }];
  const extents: Extent[] = [];
  let pos = 0;
  try {
    while (pos < st.size) {
      const data = sys.lseekData(fd, pos);
      if (data < 0 || data >= st.size) break;
      let hole = sys.lseekHole(fd, data);
      if (hole < 0 || hole > st.size) hole = st.size;
      extents.push({ offset: data, length: hole - data });
      pos = hole;
    }
  } catch (err) {
    // Filesystems without SEEK_DATA answer EINVAL: treat the file as dense.
    if (errnoCode(err) === 'EINVAL' || errnoCode(err) === 'EOPNOTSUPP') return [{ offset: 0, length: st.size }];
    throw err;
  }
  return extents;
}

export function readFully(fd: number, buf: Buffer, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break; // file shrank under us: the caller's identity check catches it
    done += n;
  }
  return done;
}

export interface ChunkProgress {
  extentIndex: number;
  offsetInExtent: number;
}

/**
 * Reads and chunks from `at` until about `budget` bytes were consumed or the file is done.
 * Returns the chunks and where it stopped (null when done). A chunk never spans two extents.
 */
export async function readChunks(
  fd: number,
  extents: Extent[],
  fileSize: number,
  at: ChunkProgress,
  budget: number,
  chunker: Chunker,
  sink: BlobSink,
  previous?: PreviousChunks,
): Promise<{ chunks: ChunkRef[]; next: ChunkProgress | null; bytesRead: number }> {
  const chunks: ChunkRef[] = [];
  let { extentIndex, offsetInExtent } = at;
  let bytesRead = 0;
  const whole = fileSize <= CHUNK_THRESHOLD;
  while (extentIndex < extents.length && bytesRead < budget) {
    const ext = extents[extentIndex]!;
    const remaining = ext.length - offsetInExtent;
    const want = whole ? remaining : Math.min(remaining, Math.max(budget - bytesRead, chunker.params.max));
    const buf = sink.readBuffer(want); // its pieces are the task's blobs: held until its result is built
    const got = readFully(fd, buf, want, ext.offset + offsetInExtent);
    bytesRead += got;
    const atExtentEnd = got < want || offsetInExtent + got >= ext.length;
    let pos = 0;
    while (pos < got) {
      const avail = got - pos;
      if (!whole && !atExtentEnd && avail < chunker.params.max) break;
      const len = whole ? avail : chunker.cut(buf, pos, avail);
      const piece = buf.subarray(pos, pos + len);
      chunks.push({ id: sink.add(piece, undefined, previous), length: len });
      pos += len;
    }
    offsetInExtent += pos;
    if (atExtentEnd && pos >= got) {
      extentIndex++;
      offsetInExtent = 0;
    }
  }
  const next = extentIndex < extents.length ? { extentIndex, offsetInExtent } : null;
  return { chunks, next, bytesRead };
}
