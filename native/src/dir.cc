// dir.cc - readdirAt: lists an open directory fd without closing it or disturbing the caller.
// fdopendir takes ownership of the fd it is given, so it gets a private dup (closed by closedir).
// The dup shares the file offset with the caller's fd, hence the rewind before reading.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "args.h"
#include "functions.h"

namespace restore_native {

Napi::Value ReaddirAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = FdArg(info, 0, "dirfd");
  int dup = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) {
    int err = errno;
    throw ErrnoError(env, err, "fcntl");
  }
  DIR* dir = fdopendir(dup);
  if (dir == nullptr) {
    int err = errno;
    close(dup);
    throw ErrnoError(env, err, "fdopendir");
  }
  rewinddir(dir);

  Napi::Array entries = Napi::Array::New(env);
  uint32_t count = 0;
  for (;;) {
    errno = 0;
    struct dirent* entry = readdir(dir);
    if (entry == nullptr) {
      int err = errno;
      closedir(dir);
      if (err != 0) throw ErrnoError(env, err, "readdir");
      break;
    }
    const char* name = entry->d_name;
    if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
    // Creating JS values may throw (e.g. out of memory); never leak the DIR* when it does.
    try {
      Napi::Object item = Napi::Object::New(env);
      item.Set("name", Napi::Buffer<char>::Copy(env, name, std::strlen(name)));
      item.Set("type", Napi::Number::New(env, entry->d_type));
      entries.Set(count++, item);
    } catch (...) {
      closedir(dir);
      throw;
    }
  }
  return entries;
}

}  // namespace restore_native
