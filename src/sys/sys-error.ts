// sys-error.ts - builds errors in TypeScript that look exactly like the addon's (and Node's) system
// errors: code, negative errno, syscall, path/dest and "CODE: description, syscall 'path'".
// Used where the wrapper refuses something the kernel would refuse the same way (EXDEV, ELOOP…),
// so callers handle one error shape whichever layer said no.
import { constants as osConstants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

import type { NativeError, PathArg } from './native.js';

const errnoByCode = osConstants.errno as Record<string, number | undefined>;

function describe(errno: number): string {
  return getSystemErrorMap().get(-errno)?.[1] ?? `unknown error ${errno}`;
}

function show(p: PathArg): string {
  return typeof p === 'string' ? p : p.toString('utf8');
}

/** A Node-style system error for `code` (e.g. 'EXDEV'); `path`/`dest` may be raw bytes. */
export function sysError(code: string, syscall: string, path?: PathArg, dest?: PathArg): NativeError {
  const errno = errnoByCode[code];
  if (errno === undefined) throw new TypeError(`sysError: unknown errno code ${code}`);
  return buildError(code, code, errno, syscall, path, dest);
}

/** The same error for a raw errno, as fstatatMany reports one per entry; an unknown one is ERRNO<n>. */
export function sysErrorOfErrno(errno: number, syscall: string, path?: PathArg): NativeError {
  const code = getSystemErrorMap().get(-errno)?.[0];
  if (code !== undefined && errnoByCode[code] !== undefined) return buildError(code, code, errno, syscall, path);
  return buildError(`ERRNO${errno}`, `errno ${errno}`, errno, syscall, path);
}

/** "LABEL: description, syscall 'path' -> 'dest'", with code, negative errno, syscall, path/dest. */
function buildError(code: string, label: string, errno: number, syscall: string, path?: PathArg, dest?: PathArg): NativeError {
  let message = `${label}: ${describe(errno)}, ${syscall}`;
  if (path !== undefined) message += ` '${show(path)}'`;
  if (dest !== undefined) message += ` -> '${show(dest)}'`;
  const error = new Error(message) as NativeError;
  error.errno = -errno;
  error.code = code;
  error.syscall = syscall;
  if (path !== undefined) error.path = show(path);
  if (dest !== undefined) error.dest = show(dest);
  return error;
}

/** True for an error thrown by the addon (or sysError) with the given code. */
export function isSysError(error: unknown, code?: string): error is NativeError {
  if (!(error instanceof Error)) return false;
  const e = error as Partial<NativeError>;
  if (typeof e.code !== 'string' || typeof e.errno !== 'number' || typeof e.syscall !== 'string') {
    return false;
  }
  return code === undefined || e.code === code;
}
