// addon.cc - registers the addon's functions and constants; no logic lives here.
// Node-API modules are context-aware: Init runs once per thread (main and every worker) that
// loads the addon, and everything it creates belongs to that thread's env. The addon keeps no
// static mutable state, so it needs no instance data and is safe to load in any number of workers.
#include <napi.h>

#include "functions.h"

namespace restore_native {
namespace {

struct Entry {
  const char* name;
  Napi::Function::Callback callback;
};

constexpr Entry kFunctions[] = {
    {"lgetxattr", LGetXattr},     {"lsetxattr", LSetXattr},
    {"llistxattr", LListXattr},   {"lremovexattr", LRemoveXattr},
    {"fgetxattr", FGetXattr},     {"fsetxattr", FSetXattr},
    {"flistxattr", FListXattr},   {"fremovexattr", FRemoveXattr},
    {"fstatat", Fstatat},         {"fstat", Fstat},
    {"readdirAt", ReaddirAt},     {"openat", Openat},
    {"openat2", Openat2},         {"close", Close},
    {"mkdirat", Mkdirat},         {"unlinkat", Unlinkat},
    {"symlinkat", Symlinkat},     {"readlinkat", Readlinkat},
    {"linkat", Linkat},           {"fchownat", Fchownat},
    {"fchmodat", Fchmodat},       {"fchmod", Fchmod},
    {"fchown", Fchown},           {"renameat2", Renameat2},
    {"mknodat", Mknodat},         {"utimensat", Utimensat},
    {"futimens", Futimens},       {"lseekData", LseekData},
    {"lseekHole", LseekHole},     {"fallocate", Fallocate},
    {"ftruncate", Ftruncate},     {"fsync", Fsync},
    {"fdatasync", Fdatasync},     {"syncfs", Syncfs},
    {"pwrite", Pwrite},           {"flock", Flock},
    {"getFlags", GetFlags},       {"setFlags", SetFlags},
    {"fstatatInto", FstatatInto}, {"fstatInto", FstatInto},
    {"readdirPacked", ReaddirPacked},
    {"fstatatMany", FstatatMany},
    {"limitMallocArenas", LimitMallocArenas},
    {"releaseArrayBuffer", ReleaseArrayBuffer},
};

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (const Entry& entry : kFunctions) {
    exports.Set(entry.name, Napi::Function::New(env, entry.callback, entry.name));
  }
  exports.Set("constants", MakeConstants(env));
  return exports;
}

}  // namespace restore_native

// NODE_API_MODULE pastes its second argument into an identifier, so it must be unqualified.
static Napi::Object InitRestoreNative(Napi::Env env, Napi::Object exports) {
  return restore_native::Init(env, exports);
}

NODE_API_MODULE(restore_native, InitRestoreNative)
