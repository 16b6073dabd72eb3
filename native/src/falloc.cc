// falloc.cc - space and durability on an open fd: fallocate (incl. punching holes), ftruncate,
// fsync, fdatasync, syncfs, and a positional write (one pwrite(2); the caller loops on short
// writes).
#include <fcntl.h>
#include <unistd.h>

#include "args.h"
#include "functions.h"

namespace restore_native {

Napi::Value Fallocate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  int mode = IntArg(info, 1, "mode");
  off_t offset = static_cast<off_t>(OffsetArg(info, 2, "offset"));
  off_t len = static_cast<off_t>(OffsetArg(info, 3, "len"));
  if (RetryEintr([&] { return fallocate(fd, mode, offset, len); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "fallocate");
  }
  return env.Undefined();
}

Napi::Value Ftruncate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  off_t len = static_cast<off_t>(OffsetArg(info, 1, "len"));
  if (RetryEintr([&] { return ftruncate(fd, len); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "ftruncate");
  }
  return env.Undefined();
}

namespace {

// A call that takes only the fd: undefined, or the errno as an error named `what`.
Napi::Value OnFd(const Napi::CallbackInfo& info, int (*call)(int), const char* what) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  if (RetryEintr([&] { return call(fd); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, what);
  }
  return env.Undefined();
}

}  // namespace

Napi::Value Fsync(const Napi::CallbackInfo& info) { return OnFd(info, fsync, "fsync"); }

Napi::Value Fdatasync(const Napi::CallbackInfo& info) { return OnFd(info, fdatasync, "fdatasync"); }

// syncfs(fd): writes out the whole filesystem that holds fd's inode (what `sync -f` does), not
// every filesystem of the machine: a restore flushes the ones it wrote to, and a hung NFS mount
// elsewhere must not hold it up.
Napi::Value Syncfs(const Napi::CallbackInfo& info) { return OnFd(info, syncfs, "syncfs"); }

Napi::Value Pwrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  ByteView data = BufferArg(info, 1, "buffer");
  off_t offset = static_cast<off_t>(OffsetArg(info, 2, "offset"));
  ssize_t n = RetryEintr([&] { return pwrite(fd, data.data, data.length, offset); });
  if (n < 0) {
    int err = errno;
    throw ErrnoError(env, err, "pwrite");
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

}  // namespace restore_native
