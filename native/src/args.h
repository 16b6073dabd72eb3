// args.h - argument conversion shared by every syscall family.
// Paths and names arrive as a string (UTF-8) or a Buffer/Uint8Array (raw bytes, passed through
// unchanged because Linux names need not be valid UTF-8). An embedded NUL is refused: the
// kernel would silently stop at it and act on a different, shorter name.
// Numbers must be integral and in range; the TS wrapper validates too, this is the last line.
#pragma once

#include <napi.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <string>

#include "errors.h"

namespace restore_native {

// 2^53: the largest range in which every integer is exact as a JS number.
constexpr int64_t kMaxSafeInteger = 9007199254740991LL;

inline std::string ArgName(size_t index, const char* what) {
  return std::string("The \"") + what + "\" argument (#" + std::to_string(index + 1) + ")";
}

struct ByteView {
  const char* data;
  size_t length;
};

// Borrowed view of a Buffer/Uint8Array argument; valid for the duration of the call.
inline ByteView BufferArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  Napi::Value value = info[index];
  if (value.IsTypedArray()) {
    Napi::TypedArray array = value.As<Napi::TypedArray>();
    if (array.TypedArrayType() == napi_uint8_array) {
      Napi::Uint8Array bytes = value.As<Napi::Uint8Array>();
      return {reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength()};
    }
  }
  throw ArgTypeError(info.Env(), ArgName(index, what) + " must be a Buffer or Uint8Array");
}

// Owned NUL-terminated copy of a path/name argument.
inline std::string BytesArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  Napi::Value value = info[index];
  std::string bytes;
  if (value.IsString()) {
    bytes = value.As<Napi::String>().Utf8Value();
  } else if (value.IsTypedArray()) {
    ByteView view = BufferArg(info, index, what);
    bytes.assign(view.data, view.length);
  } else {
    throw ArgTypeError(info.Env(), ArgName(index, what) + " must be a string or Buffer");
  }
  if (bytes.find('\0') != std::string::npos) {
    throw ArgTypeError(info.Env(), ArgName(index, what) + " must not contain null bytes",
                       "ERR_INVALID_ARG_VALUE");
  }
  return bytes;
}

// An integral JS number within [min, max].
inline int64_t IntegerArg(const Napi::CallbackInfo& info, size_t index, const char* what,
                          int64_t min, int64_t max) {
  Napi::Value value = info[index];
  if (!value.IsNumber()) {
    throw ArgTypeError(info.Env(), ArgName(index, what) + " must be a number");
  }
  double d = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::trunc(d) != d || d < static_cast<double>(min) ||
      d > static_cast<double>(max)) {
    throw ArgRangeError(info.Env(), ArgName(index, what) + " must be an integer in [" +
                                        std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return static_cast<int64_t>(d);
}

inline int FdArg(const Napi::CallbackInfo& info, size_t index, const char* what = "fd") {
  return static_cast<int>(IntegerArg(info, index, what, 0, INT32_MAX));
}

// A directory fd for *at calls: a real fd or AT_FDCWD (negative).
inline int DirFdArg(const Napi::CallbackInfo& info, size_t index, const char* what = "dirfd") {
  return static_cast<int>(IntegerArg(info, index, what, INT32_MIN, INT32_MAX));
}

inline int IntArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  return static_cast<int>(IntegerArg(info, index, what, INT32_MIN, INT32_MAX));
}

// Bit masks (flags, modes) may use bit 31, so accept the unsigned 32-bit range too.
inline uint32_t Bits32Arg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  return static_cast<uint32_t>(IntegerArg(info, index, what, INT32_MIN, UINT32_MAX));
}

inline int64_t OffsetArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  return IntegerArg(info, index, what, 0, kMaxSafeInteger);
}

// uid/gid: 0..2^32-2, or -1 for "leave unchanged" (as chown(2) takes it).
inline uint32_t IdArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  return static_cast<uint32_t>(IntegerArg(info, index, what, -1, UINT32_MAX - 1));
}

inline int64_t BigIntArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  Napi::Value value = info[index];
  if (!value.IsBigInt()) {
    throw ArgTypeError(info.Env(), ArgName(index, what) + " must be a bigint");
  }
  bool lossless = false;
  int64_t result = value.As<Napi::BigInt>().Int64Value(&lossless);
  if (!lossless) {
    throw ArgRangeError(info.Env(), ArgName(index, what) + " must fit in a signed 64-bit integer");
  }
  return result;
}

// Runs a syscall-like expression again while it fails with EINTR. Not for close(2): on Linux the
// fd is gone even when close reports EINTR, and retrying could close someone else's new fd.
template <typename F>
inline auto RetryEintr(F&& call) -> decltype(call()) {
  decltype(call()) result;
  do {
    result = call();
  } while (result == -1 && errno == EINTR);
  return result;
}

}  // namespace restore_native
