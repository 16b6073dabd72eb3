// xattr.cc - extended attributes by path (l*: never follows a final symlink) or by fd.
// Reads start with a 4 KiB stack buffer (one syscall for almost every attribute); on ERANGE they
// ask for the size and retry, looping if the value grew between the two calls.
#include <sys/xattr.h>

#include <vector>

#include "args.h"
#include "functions.h"

namespace restore_native {
namespace {

constexpr size_t kFirstTry = 4096;
// A value can only grow between the size query and the read if something else is rewriting it;
// bound the retries so a hostile writer cannot keep us spinning forever.
constexpr int kMaxGrowRetries = 64;

// The object an xattr call acts on: a path (l* calls) or an open fd (f* calls).
struct Target {
  bool byFd;
  int fd;
  std::string path;
};

Target PathTarget(const Napi::CallbackInfo& info) {
  return Target{false, -1, BytesArg(info, 0, "path")};
}

Target FdTarget(const Napi::CallbackInfo& info) { return Target{true, FdArg(info, 0), {}}; }

Napi::Error XattrError(Napi::Env env, int err, const Target& t, const char* lcall, const char* fcall,
                       const std::string& name) {
  Napi::Error error = t.byFd ? ErrnoError(env, err, fcall) : ErrnoError(env, err, lcall, &t.path);
  if (!name.empty()) error.Value().Set("xattrName", Napi::String::New(env, name));
  return error;
}

ssize_t Get(const Target& t, const char* name, void* buf, size_t size) {
  return RetryEintr([&] {
    return t.byFd ? fgetxattr(t.fd, name, buf, size) : lgetxattr(t.path.c_str(), name, buf, size);
  });
}

ssize_t List(const Target& t, char* buf, size_t size) {
  return RetryEintr(
      [&] { return t.byFd ? flistxattr(t.fd, buf, size) : llistxattr(t.path.c_str(), buf, size); });
}

Napi::Value GetImpl(const Napi::CallbackInfo& info, const Target& t) {
  Napi::Env env = info.Env();
  std::string name = BytesArg(info, 1, "name");
  char first[kFirstTry];
  ssize_t n = Get(t, name.c_str(), first, sizeof first);
  if (n >= 0) return Napi::Buffer<char>::Copy(env, first, static_cast<size_t>(n));
  if (errno != ERANGE) throw XattrError(env, errno, t, "lgetxattr", "fgetxattr", name);

  std::vector<char> buf;
  for (int attempt = 0; attempt < kMaxGrowRetries; attempt++) {
    ssize_t size = Get(t, name.c_str(), nullptr, 0);
    if (size < 0) throw XattrError(env, errno, t, "lgetxattr", "fgetxattr", name);
    // Never pass a zero length: that would be a size query again, not a read.
    buf.resize(static_cast<size_t>(size) + 1);
    n = Get(t, name.c_str(), buf.data(), buf.size());
    if (n >= 0) return Napi::Buffer<char>::Copy(env, buf.data(), static_cast<size_t>(n));
    if (errno != ERANGE) throw XattrError(env, errno, t, "lgetxattr", "fgetxattr", name);
  }
  throw XattrError(env, ERANGE, t, "lgetxattr", "fgetxattr", name);
}

Napi::Value ListImpl(const Napi::CallbackInfo& info, const Target& t) {
  Napi::Env env = info.Env();
  std::vector<char> buf;
  ssize_t n = -1;
  for (int attempt = 0; attempt < kMaxGrowRetries && n < 0; attempt++) {
    ssize_t size = List(t, nullptr, 0);
    if (size < 0) throw XattrError(env, errno, t, "llistxattr", "flistxattr", "");
    buf.resize(static_cast<size_t>(size) + 1);
    n = List(t, buf.data(), buf.size());
    if (n < 0 && errno != ERANGE) throw XattrError(env, errno, t, "llistxattr", "flistxattr", "");
  }
  if (n < 0) throw XattrError(env, ERANGE, t, "llistxattr", "flistxattr", "");

  // The kernel returns "name1\0name2\0...".
  Napi::Array names = Napi::Array::New(env);
  uint32_t count = 0;
  size_t start = 0;
  for (size_t i = 0; i < static_cast<size_t>(n); i++) {
    if (buf[i] != '\0') continue;
    if (i > start) names.Set(count++, Napi::Buffer<char>::Copy(env, buf.data() + start, i - start));
    start = i + 1;
  }
  return names;
}

Napi::Value SetImpl(const Napi::CallbackInfo& info, const Target& t) {
  Napi::Env env = info.Env();
  std::string name = BytesArg(info, 1, "name");
  ByteView value = BufferArg(info, 2, "value");
  int flags = IntArg(info, 3, "flags");
  int rc = RetryEintr([&] {
    return t.byFd ? fsetxattr(t.fd, name.c_str(), value.data, value.length, flags)
                  : lsetxattr(t.path.c_str(), name.c_str(), value.data, value.length, flags);
  });
  if (rc < 0) throw XattrError(env, errno, t, "lsetxattr", "fsetxattr", name);
  return env.Undefined();
}

Napi::Value RemoveImpl(const Napi::CallbackInfo& info, const Target& t) {
  Napi::Env env = info.Env();
  std::string name = BytesArg(info, 1, "name");
  int rc = RetryEintr([&] {
    return t.byFd ? fremovexattr(t.fd, name.c_str()) : lremovexattr(t.path.c_str(), name.c_str());
  });
  if (rc < 0) throw XattrError(env, errno, t, "lremovexattr", "fremovexattr", name);
  return env.Undefined();
}

}  // namespace

Napi::Value LGetXattr(const Napi::CallbackInfo& info) { return GetImpl(info, PathTarget(info)); }
Napi::Value LSetXattr(const Napi::CallbackInfo& info) { return SetImpl(info, PathTarget(info)); }
Napi::Value LListXattr(const Napi::CallbackInfo& info) { return ListImpl(info, PathTarget(info)); }
Napi::Value LRemoveXattr(const Napi::CallbackInfo& info) {
  return RemoveImpl(info, PathTarget(info));
}
Napi::Value FGetXattr(const Napi::CallbackInfo& info) { return GetImpl(info, FdTarget(info)); }
Napi::Value FSetXattr(const Napi::CallbackInfo& info) { return SetImpl(info, FdTarget(info)); }
Napi::Value FListXattr(const Napi::CallbackInfo& info) { return ListImpl(info, FdTarget(info)); }
Napi::Value FRemoveXattr(const Napi::CallbackInfo& info) {
  return RemoveImpl(info, FdTarget(info));
}

}  // namespace restore_native
