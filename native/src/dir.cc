// dir.cc - readdirAt / readdirPacked: list an open directory fd without closing it or disturbing
// the caller. fdopendir takes ownership of the fd it is given, so it gets a private dup (closed by
// closedir). The dup shares the file offset with the caller's fd, hence the rewind before reading.
// readdirAt returns one {name, type} object per entry; readdirPacked returns the same listing as
// three values (one Buffer of NUL-terminated names, one Uint8Array of d_types, a count) so a
// directory costs a constant number of JS allocations however many entries it has.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "functions.h"

namespace restore_native {
namespace {

// A private, rewound DIR stream over a dup of dirfd; the caller's fd is never closed.
DIR* OpenPrivateStream(Napi::Env env, int dirfd) {
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
  return dir;
}

bool IsDotOrDotDot(const char* name) {
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

}  // namespace

Napi::Value ReaddirAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = FdArg(info, 0, "dirfd");
  DIR* dir = OpenPrivateStream(env, dirfd);

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
    if (IsDotOrDotDot(name)) continue;
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

// { names: Buffer ("a\0b\0..."), types: Uint8Array (d_type per entry), count }. The whole
// listing is gathered in C++ first and the DIR* closed before any JS value is created, so a
// throwing allocation cannot leak it.
Napi::Value ReaddirPacked(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = FdArg(info, 0, "dirfd");
  DIR* dir = OpenPrivateStream(env, dirfd);

  std::string names;
  std::vector<uint8_t> types;
  int err = 0;
  try {
    names.reserve(4096);
    types.reserve(128);
    for (;;) {
      errno = 0;
      struct dirent* entry = readdir(dir);
      if (entry == nullptr) {
        err = errno;
        break;
      }
      const char* name = entry->d_name;
      if (IsDotOrDotDot(name)) continue;
      names.append(name, std::strlen(name) + 1);  // keeps the terminating NUL
      types.push_back(entry->d_type);
    }
  } catch (...) {
    closedir(dir);  // std::bad_alloc while growing the buffers
    throw;
  }
  closedir(dir);
  if (err != 0) throw ErrnoError(env, err, "readdir");

  size_t count = types.size();
  Napi::ArrayBuffer typeBytes = Napi::ArrayBuffer::New(env, count);
  if (count > 0) std::memcpy(typeBytes.Data(), types.data(), count);
  Napi::Object result = Napi::Object::New(env);
  result.Set("names", Napi::Buffer<char>::Copy(env, names.data(), names.size()));
  result.Set("types", Napi::Uint8Array::New(env, count, typeBytes, 0));
  result.Set("count", Napi::Number::New(env, static_cast<double>(count)));
  return result;
}

}  // namespace restore_native
