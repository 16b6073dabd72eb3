// xattr.ts - validated extended-attribute wrappers (plus procFdPath, to reach an entry of a
// directory fd by path). The path-based calls are the l* variants: they never follow a final
// symlink, so an attribute is always read from or written to the entry itself.
// Names are raw bytes (Buffer) or UTF-8 strings; values are always bytes.
import { native, type PathArg } from './native.js';
import { assertBits, assertBuffer, assertFd, assertPath, assertXattrName } from './validate.js';

export function lgetxattr(path: PathArg, name: PathArg): Buffer {
  assertPath(path);
  assertXattrName(name);
  return native.lgetxattr(path, name);
}

/** flags: 0, XATTR_CREATE (fail with EEXIST) or XATTR_REPLACE (fail with ENODATA). */
export function lsetxattr(path: PathArg, name: PathArg, value: Uint8Array, flags = 0): void {
  assertPath(path);
  assertXattrName(name);
  assertBuffer(value, 'value');
  assertBits(flags, 'flags');
  native.lsetxattr(path, name, value, flags);
}

/** Attribute names (without their NUL terminators), in the kernel's order. */
export function llistxattr(path: PathArg): Buffer[] {
  assertPath(path);
  return native.llistxattr(path);
}

export function lremovexattr(path: PathArg, name: PathArg): void {
  assertPath(path);
  assertXattrName(name);
  native.lremovexattr(path, name);
}

export function fgetxattr(fd: number, name: PathArg): Buffer {
  assertFd(fd);
  assertXattrName(name);
  return native.fgetxattr(fd, name);
}

export function fsetxattr(fd: number, name: PathArg, value: Uint8Array, flags = 0): void {
  assertFd(fd);
  assertXattrName(name);
  assertBuffer(value, 'value');
  assertBits(flags, 'flags');
  native.fsetxattr(fd, name, value, flags);
}

export function flistxattr(fd: number): Buffer[] {
  assertFd(fd);
  return native.flistxattr(fd);
}

export function fremovexattr(fd: number, name: PathArg): void {
  assertFd(fd);
  assertXattrName(name);
  native.fremovexattr(fd, name);
}

export { procFdPath } from './proc-fd-path.js';
