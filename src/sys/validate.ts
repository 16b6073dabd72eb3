// validate.ts - argument checks run before any native call. They throw Node's argument errors
// (TypeError/RangeError with code ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE / ERR_OUT_OF_RANGE)
// because a bad argument is a programming error, not a filesystem condition.
// Invariant kept: an *at `name` is exactly one path component, so an *at call can only touch an
// entry directly inside the directory fd it is given (no '/', no '.', no '..', no NUL).
import type { PathArg } from './native.js';

const SLASH = 0x2f;

type ArgError = Error & { code: string };

function argError(kind: 'type' | 'value' | 'range', message: string): ArgError {
  const error = (kind === 'range' ? new RangeError(message) : new TypeError(message)) as ArgError;
  error.code =
    kind === 'type' ? 'ERR_INVALID_ARG_TYPE' : kind === 'value' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_OUT_OF_RANGE';
  return error;
}

export function assertInteger(value: unknown, what: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number') throw argError('type', `${what} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw argError('range', `${what} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/** An open file descriptor: a non-negative int32. */
export function assertFd(fd: unknown, what = 'fd'): asserts fd is number {
  assertInteger(fd, what, 0, 0x7fffffff);
}

/** A directory fd for *at calls: an open fd or AT_FDCWD. */
export function assertDirFd(fd: unknown, atFdcwd: number, what = 'dirfd'): asserts fd is number {
  if (fd === atFdcwd) return;
  assertFd(fd, what);
}

/** A bit mask or mode: an unsigned 32-bit integer. */
export function assertBits(value: unknown, what: string): asserts value is number {
  assertInteger(value, what, 0, 0xffffffff);
}

/** Permission bits (including setuid/setgid/sticky), without file type bits. */
export function assertMode(value: unknown, what = 'mode'): asserts value is number {
  assertInteger(value, what, 0, 0o7777);
}

/** A file offset or length: 0..2^53-1. */
export function assertOffset(value: unknown, what: string): asserts value is number {
  assertInteger(value, what, 0, Number.MAX_SAFE_INTEGER);
}

/** A uid/gid, or -1 for "leave unchanged". */
export function assertId(value: unknown, what: string): asserts value is number {
  assertInteger(value, what, -1, 0xfffffffe);
}

export function assertBigInt(value: unknown, what: string): asserts value is bigint {
  if (typeof value !== 'bigint') throw argError('type', `${what} must be a bigint, got ${typeof value}`);
  if (value < -(2n ** 63n) || value >= 2n ** 63n) throw argError('range', `${what} must fit in 64 bits`);
}

export function assertBuffer(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw argError('type', `${what} must be a Buffer or Uint8Array`);
}

/** The bytes the kernel will see for a path argument. */
export function toBytes(value: PathArg): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

/** Any non-empty path without NUL bytes (absolute or relative, any number of components). */
export function assertPath(value: unknown, what = 'path'): asserts value is PathArg {
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) {
    throw argError('type', `${what} must be a string or Buffer`);
  }
  const bytes = toBytes(value);
  if (bytes.length === 0) throw argError('value', `${what} must not be empty`);
  if (bytes.includes(0)) throw argError('value', `${what} must not contain null bytes`);
}

/**
 * A single path component: non-empty, no '/' and no NUL, and neither '.' nor '..' (which would
 * name the directory itself or step out of it). Length limits are left to the kernel
 * (ENAMETOOLONG), which knows the filesystem's real limit.
 */
export function assertName(value: unknown, what = 'name'): asserts value is PathArg {
  assertPath(value, what);
  const bytes = toBytes(value);
  if (bytes.includes(SLASH)) throw argError('value', `${what} must be a single path component (no '/')`);
  if (isDotOrDotDot(bytes)) throw argError('value', `${what} must not be '.' or '..'`);
}

export function isDotOrDotDot(component: Buffer): boolean {
  return (
    (component.length === 1 && component[0] === 0x2e) ||
    (component.length === 2 && component[0] === 0x2e && component[1] === 0x2e)
  );
}

/** An xattr name: non-empty, no NUL (namespaces and length are the kernel's to judge). */
export function assertXattrName(value: unknown, what = 'name'): asserts value is PathArg {
  assertPath(value, what);
}
