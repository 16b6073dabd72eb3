// utimens.cc - set atime/mtime with nanosecond precision from BigInt nanoseconds since the epoch.
// A time may be null/undefined to leave it unchanged (UTIME_OMIT).
#include <fcntl.h>
#include <sys/stat.h>

#include "args.h"
#include "functions.h"

namespace restore_native {
namespace {

constexpr int64_t kNsPerSec = 1000000000LL;

// Floor division: -1 ns is { tv_sec = -1, tv_nsec = 999999999 }, because the kernel requires
// 0 <= tv_nsec < 1e9 and C++ division truncates towards zero.
struct timespec NsToTimespec(int64_t ns) {
  int64_t sec = ns / kNsPerSec;
  int64_t nsec = ns % kNsPerSec;
  if (nsec < 0) {
    nsec += kNsPerSec;
    sec -= 1;
  }
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(sec);
  ts.tv_nsec = static_cast<long>(nsec);
  return ts;
}

struct timespec TimeArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (info[index].IsNull() || info[index].IsUndefined()) {
    struct timespec omit = {0, UTIME_OMIT};
    return omit;
  }
  return NsToTimespec(BigIntArg(info, index, what));
}

}  // namespace

Napi::Value Utimensat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = DirFdArg(info, 0);
  std::string name = BytesArg(info, 1, "name");
  struct timespec times[2] = {TimeArg(info, 2, "atimeNs"), TimeArg(info, 3, "mtimeNs")};
  int flags = IntArg(info, 4, "flags");
  if (RetryEintr([&] { return utimensat(dirfd, name.c_str(), times, flags); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "utimensat", &name);
  }
  return env.Undefined();
}

Napi::Value Futimens(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  struct timespec times[2] = {TimeArg(info, 1, "atimeNs"), TimeArg(info, 2, "mtimeNs")};
  if (RetryEintr([&] { return futimens(fd, times); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "futimens");
  }
  return env.Undefined();
}

}  // namespace restore_native
