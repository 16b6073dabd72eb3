// malloc.cc - memory the JS side cannot give back by itself.
// glibc allocator tuning: each thread that allocates (libuv's pool running zstd, the worker
// threads) gets its own malloc arena by default, up to 8 per core, and freed memory stays in them:
// the process's RSS grows far past what it uses. Capping the arenas is a Linux/glibc call Node has
// no API for.
// Freeing an ArrayBuffer now: V8 frees a dead buffer's memory only when a garbage collection
// finds its holder dead, and the writer thread drops ~1 GB of written records in a first snapshot.
// Detaching frees the backing store at once (ArrayBuffer.prototype.transfer does the same from
// JS, but only from Node 21 on).
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

// releaseArrayBuffer(ab): detaches `ab`, so its memory is freed now (when nothing else shares its
// backing store); every view of it reads as empty afterwards. Returns the bytes it held, or 0 when
// V8 does not let it be detached (a WebAssembly memory, say): then it is left to the collector.
Napi::Value ReleaseArrayBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) {
    Napi::TypeError::New(env, "releaseArrayBuffer(ab): ab must be an ArrayBuffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  size_t bytes = ab.ByteLength();
  // The C call, not ab.Detach(): a buffer that cannot be detached is not an error here.
  if (napi_detach_arraybuffer(env, ab) != napi_ok) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, static_cast<double>(bytes));
}

}  // namespace restore_native
