// seek.cc - SEEK_DATA/SEEK_HOLE for reading only the data extents of sparse files.
// ENXIO ("no data at or after offset", or offset past EOF) is the normal end of the scan, so it
// is returned as -1 rather than thrown.
#include <unistd.h>

#include "args.h"
#include "functions.h"

namespace restore_native {
namespace {

Napi::Value SeekImpl(const Napi::CallbackInfo& info, int whence, const char* syscall) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  off_t offset = static_cast<off_t>(OffsetArg(info, 1, "offset"));
  off_t result = lseek(fd, offset, whence);
  if (result < 0) {
    int err = errno;
    if (err == ENXIO) return Napi::Number::New(env, -1);
    throw ErrnoError(env, err, syscall);
  }
  return Napi::Number::New(env, static_cast<double>(result));
}

}  // namespace

Napi::Value LseekData(const Napi::CallbackInfo& info) { return SeekImpl(info, SEEK_DATA, "lseek"); }
Napi::Value LseekHole(const Napi::CallbackInfo& info) { return SeekImpl(info, SEEK_HOLE, "lseek"); }

}  // namespace restore_native
