// malloc.cc - glibc allocator tuning. Each thread that allocates (libuv's pool running zstd, the
// worker threads) gets its own malloc arena by default, up to 8 per core, and freed memory stays
// in them: the process's RSS grows far past what it uses. Capping the arenas is a Linux/glibc
// call Node has no API for.
#include <malloc.h>

#include "functions.h"

namespace restore_native {

// limitMallocArenas(n): mallopt(M_ARENA_MAX, n); returns whether glibc accepted it.
Napi::Value LimitMallocArenas(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "limitMallocArenas(n): n must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) {
    Napi::RangeError::New(env, "limitMallocArenas(n): n must be >= 1").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Boolean::New(env, mallopt(M_ARENA_MAX, n) == 1);
}

}  // namespace restore_native
