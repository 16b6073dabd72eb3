// rename.cc - renameat2 through the raw syscall, so RENAME_NOREPLACE/RENAME_EXCHANGE work
// whatever the libc; the kernel (>= 3.15) answers EINVAL if a filesystem lacks a flag.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "args.h"
#include "functions.h"

#ifndef SYS_renameat2
#define SYS_renameat2 316
#endif

namespace restore_native {

Napi::Value Renameat2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int olddirfd = DirFdArg(info, 0, "olddirfd");
  std::string oldname = BytesArg(info, 1, "oldname");
  int newdirfd = DirFdArg(info, 2, "newdirfd");
  std::string newname = BytesArg(info, 3, "newname");
  unsigned int flags = Bits32Arg(info, 4, "flags");
  long rc = RetryEintr([&] {
    return syscall(SYS_renameat2, olddirfd, oldname.c_str(), newdirfd, newname.c_str(), flags);
  });
  if (rc < 0) {
    int err = errno;
    throw ErrnoError(env, err, "renameat2", &oldname, &newname);
  }
  return env.Undefined();
}

}  // namespace restore_native
