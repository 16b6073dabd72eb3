// mknod.cc - device nodes and FIFOs. The mode carries the file type (S_IFCHR, S_IFBLK, S_IFIFO,
// S_IFSOCK, S_IFREG) and permissions; major/minor are combined with makedev (12/20 bits on Linux).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "args.h"
#include "functions.h"

namespace restore_native {

Napi::Value Mknodat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = DirFdArg(info, 0);
  std::string name = BytesArg(info, 1, "name");
  mode_t mode = static_cast<mode_t>(IntegerArg(info, 2, "mode", 0, UINT32_MAX));
  unsigned int maj = static_cast<unsigned int>(IntegerArg(info, 3, "major", 0, UINT32_MAX));
  unsigned int min = static_cast<unsigned int>(IntegerArg(info, 4, "minor", 0, UINT32_MAX));
  dev_t dev = makedev(maj, min);
  if (RetryEintr([&] { return mknodat(dirfd, name.c_str(), mode, dev); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "mknodat", &name);
  }
  return env.Undefined();
}

}  // namespace restore_native
