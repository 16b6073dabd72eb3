// stat.cc - fstatat/fstat returning every field as a BigInt (inode numbers, sizes and ns times do
// not fit a double) plus split device numbers as plain numbers for convenience.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "args.h"
#include "functions.h"

namespace restore_native {
namespace {

int64_t TimespecToNs(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + static_cast<int64_t>(ts.tv_nsec);
}

Napi::Object StatToObject(Napi::Env env, const struct stat& st) {
  Napi::Object o = Napi::Object::New(env);
  auto u64 = [&](const char* key, uint64_t v) { o.Set(key, Napi::BigInt::New(env, v)); };
  auto i64 = [&](const char* key, int64_t v) { o.Set(key, Napi::BigInt::New(env, v)); };
  u64("dev", st.st_dev);
  u64("ino", st.st_ino);
  u64("mode", st.st_mode);
  u64("nlink", st.st_nlink);
  u64("uid", st.st_uid);
  u64("gid", st.st_gid);
  u64("rdev", st.st_rdev);
  i64("size", st.st_size);
  i64("blksize", st.st_blksize);
  i64("blocks", st.st_blocks);
  i64("atimeNs", TimespecToNs(st.st_atim));
  i64("mtimeNs", TimespecToNs(st.st_mtim));
  i64("ctimeNs", TimespecToNs(st.st_ctim));
  o.Set("rdevMajor", Napi::Number::New(env, major(st.st_rdev)));
  o.Set("rdevMinor", Napi::Number::New(env, minor(st.st_rdev)));
  o.Set("devMajor", Napi::Number::New(env, major(st.st_dev)));
  o.Set("devMinor", Napi::Number::New(env, minor(st.st_dev)));
  return o;
}

}  // namespace

Napi::Value Fstatat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = DirFdArg(info, 0);
  std::string name = BytesArg(info, 1, "name");
  int flags = IntArg(info, 2, "flags");
  struct stat st;
  if (RetryEintr([&] { return fstatat(dirfd, name.c_str(), &st, flags); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "fstatat", &name);
  }
  return StatToObject(env, st);
}

Napi::Value Fstat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  struct stat st;
  if (RetryEintr([&] { return fstat(fd, &st); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "fstat");
  }
  return StatToObject(env, st);
}

}  // namespace restore_native
