// src/sys - the typed, validated face of the native addon (native/). Everything above this
// folder calls syscalls through here, never through `native` directly.
// Owns: argument validation (programming errors throw ERR_INVALID_ARG_* before any syscall),
// the single-component rule for *at names, O_CLOEXEC on every fd, no-follow defaults, and the
// symlink-proof open below a root (safeOpenBeneath). Filesystem failures are Node-style system
// errors (code, negative errno, syscall, path[, dest]) whichever layer raised them.
// Mapping these codes to the project's own error type is left to the callers' layer.
import { native } from './native.js';

export type {
  NativeAddon,
  NativeConstants,
  NativeDirEntry,
  NativeError,
  NativeStat,
  PackedDir,
  PathArg,
} from './native.js';
export { findProjectRoot, native, STAT_FIELD_COUNT, STAT_FIELDS } from './native.js';
export * from './at-calls.js';
export * from './fd-calls.js';
export * from './xattr.js';
export { openBeneath, safeOpenBeneath, type SafeOpenOptions } from './open-beneath.js';
export { isSysError, sysError, sysErrorOfErrno } from './sys-error.js';
export {
  assertBigInt,
  assertBits,
  assertBuffer,
  assertDirFd,
  assertFd,
  assertId,
  assertMode,
  assertName,
  assertOffset,
  assertPath,
  assertXattrName,
  toBytes,
} from './validate.js';

/** Linux constants as compiled into the addon (frozen). */
export const constants = native.constants;

/**
 * Caps glibc's malloc arenas for the whole process. Call before worker threads start: every
 * thread that allocates (zstd on libuv's pool, the scan workers) would otherwise get an arena of
 * its own, and memory freed into them is not given back, so RSS grows with the thread count.
 */
export function limitMallocArenas(n: number): boolean {
  return native.limitMallocArenas(n);
}

/**
 * Frees `ab`'s memory now instead of at some later garbage collection: it is detached, and every
 * view of it reads as empty from then on. Only for a buffer the caller owns whole (one that came
 * in a message, one it allocated itself). Buffers up to Buffer.poolSize are left to the collector
 * (returns 0): Node cuts small Buffers out of one shared pool, which must never be detached.
 * Returns the bytes freed (0 as well for a buffer V8 does not let go, such as a WebAssembly memory).
 */
export function releaseArrayBuffer(ab: ArrayBuffer): number {
  if (!(ab instanceof ArrayBuffer)) throw new TypeError('releaseArrayBuffer: expected an ArrayBuffer');
  if (ab.byteLength <= Buffer.poolSize) return 0;
  return native.releaseArrayBuffer(ab);
}

/**
 * releaseArrayBuffer for a Buffer that owns its whole ArrayBuffer (one that is a view of a larger
 * one is left alone: the rest may be another's). This includes buffers a native module made with
 * its own memory, such as zstd's output: V8 neither counts that memory toward starting a
 * collection nor frees it before its holder is collected, and `structuredClone` with transfer
 * copies it instead of moving it. Returns the bytes freed (0 when left alone).
 */
export function releaseBuffer(buf: Uint8Array): number {
  const ab = wholeArrayBuffer(buf);
  return ab ? releaseArrayBuffer(ab) : 0;
}

/**
 * The ArrayBuffer `view` covers whole, which may be moved to another thread or freed with it; null
 * for a view of part of one (Node's shared pool for small Buffers, a larger buffer) or of a
 * SharedArrayBuffer: moving or freeing that would pull memory from under other views.
 */
export function wholeArrayBuffer(view: Uint8Array): ArrayBuffer | null {
  const ab = view.buffer;
  return ab instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === ab.byteLength ? ab : null;
}
