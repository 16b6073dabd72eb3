// open.cc - the openat family: open/openat2/close, directory entries (mkdir, unlink, symlink,
// readlink, link) and ownership/permission changes. Each function is one syscall; choosing
// flags (O_CLOEXEC, O_NOFOLLOW, resolve flags) is the TypeScript wrapper's job.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "args.h"
#include "functions.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

namespace restore_native {

Napi::Value Openat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = DirFdArg(info, 0);
  std::string name = BytesArg(info, 1, "name");
  int flags = static_cast<int>(Bits32Arg(info, 2, "flags"));
  mode_t mode = static_cast<mode_t>(IntegerArg(info, 3, "mode", 0, 07777));
  int fd = RetryEintr([&] { return openat(dirfd, name.c_str(), flags, mode); });
  if (fd < 0) {
    int err = errno;
    throw ErrnoError(env, err, "openat", &name);
  }
  return Napi::Number::New(env, fd);
}

// glibc 2.36 has no openat2 wrapper; the raw syscall returns ENOSYS on kernels before 5.6 (or
// under seccomp filters that do not know it), which the caller uses to pick its fallback.
Napi::Value Openat2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = DirFdArg(info, 0);
  std::string path = BytesArg(info, 1, "path");
  struct open_how how = {};
  how.flags = Bits32Arg(info, 2, "flags");
  how.mode = static_cast<uint64_t>(IntegerArg(info, 3, "mode", 0, 07777));
  how.resolve = static_cast<uint64_t>(IntegerArg(info, 4, "resolve", 0, UINT32_MAX));
  long fd = RetryEintr([&] { return syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how); });
  if (fd < 0) {
    int err = errno;
    throw ErrnoError(env, err, "openat2", &path);
  }
  return Napi::Number::New(env, static_cast<double>(fd));
}

// Not retried on EINTR: Linux releases the fd even then, and a retry could close an fd that
// another thread has just been given.
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  if (close(fd) < 0) {
    int err = errno;
    if (err != EINTR) throw ErrnoError(env, err, "close");
  }
  return env.Undefined();
}

Napi::Value Mkdirat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = DirFdArg(info, 0);
  std::string name = BytesArg(info, 1, "name");
  mode_t mode = static_cast<mode_t>(IntegerArg(info, 2, "mode", 0, 07777));
  if (RetryEintr([&] { return mkdirat(dirfd, name.c_str(), mode); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "mkdirat", &name);
  }
  return env.Undefined();
}

Napi::Value Unlinkat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = DirFdArg(info, 0);
  std::string name = BytesArg(info, 1, "name");
  int flags = IntArg(info, 2, "flags");
  if (RetryEintr([&] { return unlinkat(dirfd, name.c_str(), flags); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "unlinkat", &name);
  }
  return env.Undefined();
}

// Error shape follows Node's symlink: path is the target, dest the new link's name.
Napi::Value Symlinkat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string target = BytesArg(info, 0, "target");
  int dirfd = DirFdArg(info, 1);
  std::string name = BytesArg(info, 2, "name");
  if (RetryEintr([&] { return symlinkat(target.c_str(), dirfd, name.c_str()); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "symlinkat", &target, &name);
  }
  return env.Undefined();
}

// readlinkat does not say when it truncated; a result that fills the buffer may have been cut,
// so grow and read again.
Napi::Value Readlinkat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = DirFdArg(info, 0);
  std::string name = BytesArg(info, 1, "name");
  std::vector<char> buf(4096 + 1);
  for (;;) {
    ssize_t n = RetryEintr([&] { return readlinkat(dirfd, name.c_str(), buf.data(), buf.size()); });
    if (n < 0) {
      int err = errno;
      throw ErrnoError(env, err, "readlinkat", &name);
    }
    if (static_cast<size_t>(n) < buf.size()) {
      return Napi::Buffer<char>::Copy(env, buf.data(), static_cast<size_t>(n));
    }
    buf.resize(buf.size() * 2);
  }
}

Napi::Value Linkat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int olddirfd = DirFdArg(info, 0, "olddirfd");
  std::string oldname = BytesArg(info, 1, "oldname");
  int newdirfd = DirFdArg(info, 2, "newdirfd");
  std::string newname = BytesArg(info, 3, "newname");
  int flags = IntArg(info, 4, "flags");
  if (RetryEintr([&] {
        return linkat(olddirfd, oldname.c_str(), newdirfd, newname.c_str(), flags);
      }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "linkat", &oldname, &newname);
  }
  return env.Undefined();
}

Napi::Value Fchownat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = DirFdArg(info, 0);
  std::string name = BytesArg(info, 1, "name");
  uid_t uid = IdArg(info, 2, "uid");
  gid_t gid = IdArg(info, 3, "gid");
  int flags = IntArg(info, 4, "flags");
  if (RetryEintr([&] { return fchownat(dirfd, name.c_str(), uid, gid, flags); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "fchownat", &name);
  }
  return env.Undefined();
}

// No flags: Linux fchmodat(2) has none (glibc's AT_SYMLINK_NOFOLLOW emulation needs /proc).
// It follows a final symlink, so callers must only use it on entries they know are not links.
Napi::Value Fchmodat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = DirFdArg(info, 0);
  std::string name = BytesArg(info, 1, "name");
  mode_t mode = static_cast<mode_t>(IntegerArg(info, 2, "mode", 0, 07777));
  if (RetryEintr([&] { return fchmodat(dirfd, name.c_str(), mode, 0); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "fchmodat", &name);
  }
  return env.Undefined();
}

Napi::Value Fchmod(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  mode_t mode = static_cast<mode_t>(IntegerArg(info, 1, "mode", 0, 07777));
  if (RetryEintr([&] { return fchmod(fd, mode); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "fchmod");
  }
  return env.Undefined();
}

Napi::Value Fchown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  uid_t uid = IdArg(info, 1, "uid");
  gid_t gid = IdArg(info, 2, "gid");
  if (RetryEintr([&] { return fchown(fd, uid, gid); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "fchown");
  }
  return env.Undefined();
}

}  // namespace restore_native
