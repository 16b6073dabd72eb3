// flags.cc - inode flags (chattr/lsattr: immutable, append-only, nodump, noatime).
// FS_IOC_GETFLAGS/SETFLAGS are declared with `long` but every filesystem reads and writes an
// int; passing a long would be wrong on big-endian 64-bit machines, so the argument is an int.
// The fd must be a regular file or directory opened for reading (not O_PATH): the ioctl goes to
// whatever driver backs the fd, which is why the TS wrapper checks the file type first.
#include <linux/fs.h>
#include <sys/ioctl.h>

#include "args.h"
#include "functions.h"

namespace restore_native {

Napi::Value GetFlags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  int flags = 0;
  if (RetryEintr([&] { return ioctl(fd, FS_IOC_GETFLAGS, &flags); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "ioctl");
  }
  return Napi::Number::New(env, static_cast<double>(static_cast<uint32_t>(flags)));
}

Napi::Value SetFlags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  int flags = static_cast<int>(Bits32Arg(info, 1, "flags"));
  if (RetryEintr([&] { return ioctl(fd, FS_IOC_SETFLAGS, &flags); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "ioctl");
  }
  return env.Undefined();
}

}  // namespace restore_native
