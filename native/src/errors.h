// errors.h - turns an errno into a Node-style JS Error: code ('ENOENT'), errno (-2), syscall,
// path/dest, and the message "ENOENT: no such file or directory, lgetxattr '/x'".
// Messages follow libuv's wording (what Node prints) for the errnos a filesystem tool meets;
// anything else falls back to glibc's strerrorname_np/strerrordesc_np, which (unlike strerror)
// return static strings and are therefore safe in the worker threads this addon loads in.
#pragma once

#include <napi.h>

#include <cerrno>
#include <cctype>
#include <cstring>
#include <string>

namespace restore_native {

struct ErrnoText {
  std::string name;
  std::string message;
};

inline ErrnoText DescribeErrno(int err) {
  switch (err) {
    case EPERM: return {"EPERM", "operation not permitted"};
    case ENOENT: return {"ENOENT", "no such file or directory"};
    case ESRCH: return {"ESRCH", "no such process"};
    case EINTR: return {"EINTR", "interrupted system call"};
    case EIO: return {"EIO", "i/o error"};
    case ENXIO: return {"ENXIO", "no such device or address"};
    case E2BIG: return {"E2BIG", "argument list too long"};
    case EBADF: return {"EBADF", "bad file descriptor"};
    // EWOULDBLOCK has the same value on Linux; Node and libuv call it EAGAIN.
    case EAGAIN: return {"EAGAIN", "resource temporarily unavailable"};
    case ENOMEM: return {"ENOMEM", "not enough memory"};
    case EACCES: return {"EACCES", "permission denied"};
    case EFAULT: return {"EFAULT", "bad address in system call argument"};
    case ENOTBLK: return {"ENOTBLK", "block device required"};
    case EBUSY: return {"EBUSY", "resource busy or locked"};
    case EEXIST: return {"EEXIST", "file already exists"};
    case EXDEV: return {"EXDEV", "cross-device link not permitted"};
    case ENODEV: return {"ENODEV", "no such device"};
    case ENOTDIR: return {"ENOTDIR", "not a directory"};
    case EISDIR: return {"EISDIR", "illegal operation on a directory"};
    case EINVAL: return {"EINVAL", "invalid argument"};
    case ENFILE: return {"ENFILE", "file table overflow"};
    case EMFILE: return {"EMFILE", "too many open files"};
    case ENOTTY: return {"ENOTTY", "inappropriate ioctl for device"};
    case ETXTBSY: return {"ETXTBSY", "text file is busy"};
    case EFBIG: return {"EFBIG", "file too large"};
    case ENOSPC: return {"ENOSPC", "no space left on device"};
    case ESPIPE: return {"ESPIPE", "invalid seek"};
    case EROFS: return {"EROFS", "read-only file system"};
    case EMLINK: return {"EMLINK", "too many links"};
    case EPIPE: return {"EPIPE", "broken pipe"};
    case ERANGE: return {"ERANGE", "result too large"};
    case EDEADLK: return {"EDEADLK", "resource deadlock avoided"};
    case ENAMETOOLONG: return {"ENAMETOOLONG", "name too long"};
    case ENOLCK: return {"ENOLCK", "no locks available"};
    case ENOSYS: return {"ENOSYS", "function not implemented"};
    case ENOTEMPTY: return {"ENOTEMPTY", "directory not empty"};
    case ELOOP: return {"ELOOP", "too many symbolic links encountered"};
    // ENOATTR (missing xattr) is ENODATA on Linux.
    case ENODATA: return {"ENODATA", "no data available"};
    case EOVERFLOW: return {"EOVERFLOW", "value too large for defined data type"};
    case EBADMSG: return {"EBADMSG", "bad message"};
    case EILSEQ: return {"EILSEQ", "illegal byte sequence"};
    // ENOTSUP has the same value on Linux.
    case EOPNOTSUPP: return {"EOPNOTSUPP", "operation not supported"};
    case ETIMEDOUT: return {"ETIMEDOUT", "connection timed out"};
    case ESTALE: return {"ESTALE", "stale file handle"};
    case EUCLEAN: return {"EUCLEAN", "structure needs cleaning"};
    case EDQUOT: return {"EDQUOT", "disk quota exceeded"};
    case ECANCELED: return {"ECANCELED", "operation canceled"};
    case ENOMEDIUM: return {"ENOMEDIUM", "no medium found"};
    default: break;
  }
  ErrnoText text{"E" + std::to_string(err), "unknown error " + std::to_string(err)};
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  if (const char* name = strerrorname_np(err)) text.name = name;
  if (const char* desc = strerrordesc_np(err)) {
    text.message = desc;
    if (!text.message.empty()) {
      text.message[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text.message[0])));
    }
  }
#endif
  return text;
}

// Builds (does not throw) the error for a failed syscall. `path` and `dest` are raw bytes; they are
// shown as UTF-8 strings like Node does (invalid sequences become U+FFFD in the message only,
// callers keep the exact bytes they passed in).
inline Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall,
                              const std::string* path = nullptr,
                              const std::string* dest = nullptr) {
  ErrnoText text = DescribeErrno(err);
  std::string message = text.name + ": " + text.message + ", " + syscall;
  if (path != nullptr) message += " '" + *path + "'";
  if (dest != nullptr) message += " -> '" + *dest + "'";
  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object obj = error.Value();
  obj.Set("errno", Napi::Number::New(env, -err));
  obj.Set("code", Napi::String::New(env, text.name));
  obj.Set("syscall", Napi::String::New(env, syscall));
  if (path != nullptr) obj.Set("path", Napi::String::New(env, *path));
  if (dest != nullptr) obj.Set("dest", Napi::String::New(env, *dest));
  return error;
}

// Argument errors mirror Node's ERR_INVALID_ARG_* TypeErrors/RangeErrors.
inline Napi::Error ArgTypeError(Napi::Env env, const std::string& message,
                                const char* code = "ERR_INVALID_ARG_TYPE") {
  Napi::Error error = Napi::TypeError::New(env, message);
  error.Value().Set("code", Napi::String::New(env, code));
  return error;
}

inline Napi::Error ArgRangeError(Napi::Env env, const std::string& message) {
  Napi::Error error = Napi::RangeError::New(env, message);
  error.Value().Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
  return error;
}

}  // namespace restore_native
