// flock.cc - whole-file advisory locks (the repository lock). Locks belong to the open file
// description, so two open() calls in one process conflict, while dup'd fds share one lock.
// A LOCK_NB conflict throws code 'EAGAIN' (EWOULDBLOCK has the same value on Linux).
#include <sys/file.h>

#include "args.h"
#include "functions.h"

namespace restore_native {

Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  int operation = IntArg(info, 1, "operation");
  // A blocking lock interrupted by a signal is simply waited for again.
  if (RetryEintr([&] { return flock(fd, operation); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "flock");
  }
  return env.Undefined();
}

}  // namespace restore_native
