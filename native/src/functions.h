// functions.h - every JS-callable function of the addon, grouped by the .cc file that owns it.
// addon.cc registers them; each family file keeps its helpers in an anonymous namespace.
#pragma once

#include <napi.h>

namespace restore_native {

// malloc.cc
Napi::Value LimitMallocArenas(const Napi::CallbackInfo& info);
Napi::Value ReleaseArrayBuffer(const Napi::CallbackInfo& info);

// xattr.cc
Napi::Value LGetXattr(const Napi::CallbackInfo& info);
Napi::Value LSetXattr(const Napi::CallbackInfo& info);
Napi::Value LListXattr(const Napi::CallbackInfo& info);
Napi::Value LRemoveXattr(const Napi::CallbackInfo& info);
Napi::Value FGetXattr(const Napi::CallbackInfo& info);
Napi::Value FSetXattr(const Napi::CallbackInfo& info);
Napi::Value FListXattr(const Napi::CallbackInfo& info);
Napi::Value FRemoveXattr(const Napi::CallbackInfo& info);

// stat.cc
Napi::Value Fstatat(const Napi::CallbackInfo& info);
Napi::Value Fstat(const Napi::CallbackInfo& info);
Napi::Value FstatatInto(const Napi::CallbackInfo& info);
Napi::Value FstatInto(const Napi::CallbackInfo& info);
Napi::Value FstatatMany(const Napi::CallbackInfo& info);

// dir.cc
Napi::Value ReaddirAt(const Napi::CallbackInfo& info);
Napi::Value ReaddirPacked(const Napi::CallbackInfo& info);

// open.cc
Napi::Value Openat(const Napi::CallbackInfo& info);
Napi::Value Openat2(const Napi::CallbackInfo& info);
Napi::Value Close(const Napi::CallbackInfo& info);
Napi::Value Mkdirat(const Napi::CallbackInfo& info);
Napi::Value Unlinkat(const Napi::CallbackInfo& info);
Napi::Value Symlinkat(const Napi::CallbackInfo& info);
Napi::Value Readlinkat(const Napi::CallbackInfo& info);
Napi::Value Linkat(const Napi::CallbackInfo& info);
Napi::Value Fchownat(const Napi::CallbackInfo& info);
Napi::Value Fchmodat(const Napi::CallbackInfo& info);
Napi::Value Fchmod(const Napi::CallbackInfo& info);
Napi::Value Fchown(const Napi::CallbackInfo& info);

// rename.cc
Napi::Value Renameat2(const Napi::CallbackInfo& info);

// mknod.cc
Napi::Value Mknodat(const Napi::CallbackInfo& info);

// utimens.cc
Napi::Value Utimensat(const Napi::CallbackInfo& info);
Napi::Value Futimens(const Napi::CallbackInfo& info);

// seek.cc
Napi::Value LseekData(const Napi::CallbackInfo& info);
Napi::Value LseekHole(const Napi::CallbackInfo& info);

// falloc.cc
Napi::Value Fallocate(const Napi::CallbackInfo& info);
Napi::Value Ftruncate(const Napi::CallbackInfo& info);
Napi::Value Fsync(const Napi::CallbackInfo& info);
Napi::Value Fdatasync(const Napi::CallbackInfo& info);
Napi::Value Syncfs(const Napi::CallbackInfo& info);
Napi::Value Pwrite(const Napi::CallbackInfo& info);

// flock.cc
Napi::Value Flock(const Napi::CallbackInfo& info);

// flags.cc
Napi::Value GetFlags(const Napi::CallbackInfo& info);
Napi::Value SetFlags(const Napi::CallbackInfo& info);

// constants.cc: a fresh frozen object per module instance (no shared state between threads).
Napi::Object MakeConstants(Napi::Env env);

}  // namespace restore_native
