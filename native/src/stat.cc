// stat.cc - fstatat/fstat returning every field as a BigInt (inode numbers, sizes and ns times do
// not fit a double) plus split device numbers as plain numbers for convenience.
// fstatatInto/fstatInto are the allocation-free variants for hot loops: they write the fields
// into a caller-owned BigInt64Array (layout kStatFields below = STAT_FIELDS in src/sys/native.ts)
// and read a Buffer name in place, so a call creates no JS value and touches no heap.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstring>

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

// BigInt64Array slots written by FillStat; keep in step with STAT_FIELDS in src/sys/native.ts.
enum StatField : size_t {
  kDev, kIno, kMode, kNlink, kUid, kGid, kRdev, kSize, kBlocks,
  kAtimeNs, kMtimeNs, kCtimeNs, kBlksize, kRdevMajor, kRdevMinor,
  kStatFields  // = 15, the minimum length of `out`
};

// Unsigned kernel fields (dev, ino, rdev) keep their 64-bit pattern: a value >= 2^63 reads back
// negative, BigInt.asUintN(64, v) recovers it.
void FillStat(int64_t* out, const struct stat& st) {
  out[kDev] = static_cast<int64_t>(st.st_dev);
  out[kIno] = static_cast<int64_t>(st.st_ino);
  out[kMode] = static_cast<int64_t>(st.st_mode);
  out[kNlink] = static_cast<int64_t>(st.st_nlink);
  out[kUid] = static_cast<int64_t>(st.st_uid);
  out[kGid] = static_cast<int64_t>(st.st_gid);
  out[kRdev] = static_cast<int64_t>(st.st_rdev);
  out[kSize] = static_cast<int64_t>(st.st_size);
  out[kBlocks] = static_cast<int64_t>(st.st_blocks);
  out[kAtimeNs] = TimespecToNs(st.st_atim);
  out[kMtimeNs] = TimespecToNs(st.st_mtim);
  out[kCtimeNs] = TimespecToNs(st.st_ctim);
  out[kBlksize] = static_cast<int64_t>(st.st_blksize);
  out[kRdevMajor] = static_cast<int64_t>(major(st.st_rdev));
  out[kRdevMinor] = static_cast<int64_t>(minor(st.st_rdev));
}

void CheckStatus(Napi::Env env, napi_status status) {
  if (status != napi_ok) throw Napi::Error::New(env);
}

// A typed array argument of element type `want` (`typeName` for the error): its data and length.
void* TypedArrayArg(const Napi::CallbackInfo& info, size_t index, napi_typedarray_type want, const char* what,
                    const char* typeName, size_t* length) {
  napi_env env = info.Env();
  bool isTypedArray = false;
  napi_typedarray_type type = napi_uint8_array;
  void* data = nullptr;
  *length = 0;
  CheckStatus(env, napi_is_typedarray(env, info[index], &isTypedArray));
  if (isTypedArray) {
    CheckStatus(env, napi_get_typedarray_info(env, info[index], &type, length, &data, nullptr, nullptr));
  }
  if (!isTypedArray || type != want) throw ArgTypeError(info.Env(), ArgName(index, what) + " must be " + typeName);
  return data;
}

// The `out` argument: a BigInt64Array of at least kStatFields elements.
int64_t* StatOutArg(const Napi::CallbackInfo& info, size_t index) {
  size_t length = 0;
  void* data = TypedArrayArg(info, index, napi_bigint64_array, "out", "a BigInt64Array", &length);
  if (length < kStatFields || data == nullptr) {
    throw ArgTypeError(info.Env(),
                       ArgName(index, "out") + " must have at least " +
                           std::to_string(static_cast<size_t>(kStatFields)) + " elements, got " +
                           std::to_string(length),
                       "ERR_INVALID_ARG_VALUE");
  }
  return static_cast<int64_t*>(data);
}

// A name/path argument made NUL-terminated without touching the heap when it is short (every
// real directory entry name is <= 255 bytes): a Buffer's bytes are read in place and copied to
// the stack, a string is encoded straight into it. Same rules as BytesArg: string (UTF-8) or
// Buffer/Uint8Array, no embedded NUL.
class NameArg {
 public:
  NameArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
    napi_env env = info.Env();
    napi_value value = info[index];
    bool isTypedArray = false;
    CheckStatus(env, napi_is_typedarray(env, value, &isTypedArray));
    if (isTypedArray) {
      napi_typedarray_type type = napi_uint8_array;
      size_t length = 0;
      void* data = nullptr;
      CheckStatus(env, napi_get_typedarray_info(env, value, &type, &length, &data, nullptr, nullptr));
      if (type != napi_uint8_array) {
        throw ArgTypeError(info.Env(), ArgName(index, what) + " must be a string or Buffer");
      }
      Assign(static_cast<const char*>(data), length);
    } else {
      napi_valuetype valueType = napi_undefined;
      CheckStatus(env, napi_typeof(env, value, &valueType));
      if (valueType != napi_string) {
        throw ArgTypeError(info.Env(), ArgName(index, what) + " must be a string or Buffer");
      }
      size_t copied = 0;
      CheckStatus(env, napi_get_value_string_utf8(env, value, inline_, sizeof inline_, &copied));
      // Encoding stops early (at a character boundary) when the buffer is too small; anything
      // that came within a UTF-8 sequence of the end is redone at full length.
      if (copied + 4 >= sizeof inline_) {
        heap_ = Napi::Value(env, value).As<Napi::String>().Utf8Value();
        data_ = heap_.c_str();
        length_ = heap_.size();
      } else {
        data_ = inline_;
        length_ = copied;
      }
    }
    if (length_ > 0 && std::memchr(data_, '\0', length_) != nullptr) {
      throw ArgTypeError(info.Env(), ArgName(index, what) + " must not contain null bytes",
                         "ERR_INVALID_ARG_VALUE");
    }
  }
  NameArg(const NameArg&) = delete;
  NameArg& operator=(const NameArg&) = delete;

  const char* c_str() const { return data_; }
  // Owned copy for error messages (the slow path only).
  std::string str() const { return std::string(data_, length_); }

 private:
  void Assign(const char* bytes, size_t length) {
    if (length < sizeof inline_) {
      if (length > 0) std::memcpy(inline_, bytes, length);
      inline_[length] = '\0';
      data_ = inline_;
    } else {
      heap_.assign(bytes, length);
      data_ = heap_.c_str();
    }
    length_ = length;
  }

  char inline_[1024];
  std::string heap_;
  const char* data_ = inline_;
  size_t length_ = 0;
};

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

// fstatatInto(dirfd, name, flags, out: BigInt64Array) -> undefined
Napi::Value FstatatInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = DirFdArg(info, 0);
  NameArg name(info, 1, "name");
  int flags = IntArg(info, 2, "flags");
  int64_t* out = StatOutArg(info, 3);
  struct stat st;
  if (RetryEintr([&] { return fstatat(dirfd, name.c_str(), &st, flags); }) < 0) {
    int err = errno;
    std::string path = name.str();
    throw ErrnoError(env, err, "fstatat", &path);
  }
  FillStat(out, st);
  return env.Undefined();
}

// fstatatMany(dirfd, names: Buffer, start, count, flags, out: BigInt64Array, errnos: Int32Array)
// -> undefined. fstatat of each of the `count` NUL-terminated names in `names` from byte `start`
// (part of a readdirPacked listing): entry i's fields into out[i*kStatFields ...] and 0 into
// errnos[i], or its errno into errnos[i] (its slots left as they were). One call per directory instead of one
// per entry: on a no-change walk the per-call cost (argument checks, the JS/C++ crossing) was
// about half of each fstatatInto. Several syscalls in one function, unlike the rest of the addon,
// for that reason alone; per-entry errors are data, never exceptions.
Napi::Value FstatatMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = DirFdArg(info, 0);
  if (info.Length() < 7 || !info[1].IsBuffer()) {
    throw ArgTypeError(env, ArgName(1, "names") + " must be a Buffer");
  }
  Napi::Buffer<char> names = info[1].As<Napi::Buffer<char>>();
  int start = IntArg(info, 2, "start");
  int count = IntArg(info, 3, "count");
  int flags = IntArg(info, 4, "flags");
  if (start < 0 || static_cast<size_t>(start) > names.Length()) {
    throw ArgTypeError(env, ArgName(2, "start") + " must be within names", "ERR_OUT_OF_RANGE");
  }
  if (count < 0) throw ArgTypeError(env, ArgName(3, "count") + " must be >= 0", "ERR_OUT_OF_RANGE");
  size_t outLength = 0;
  size_t errLength = 0;
  void* outData = TypedArrayArg(info, 5, napi_bigint64_array, "out", "a BigInt64Array", &outLength);
  void* errData = TypedArrayArg(info, 6, napi_int32_array, "errnos", "an Int32Array", &errLength);
  size_t n = static_cast<size_t>(count);
  if (outLength < n * kStatFields || errLength < n) {
    throw ArgTypeError(env,
                       "out must hold count*" + std::to_string(static_cast<size_t>(kStatFields)) +
                           " and errnos count elements",
                       "ERR_INVALID_ARG_VALUE");
  }
  int64_t* out = static_cast<int64_t*>(outData);
  int32_t* errnos = static_cast<int32_t*>(errData);
  const char* p = names.Data() + start;
  const char* end = names.Data() + names.Length();
  for (size_t i = 0; i < n; i++) {
    const char* stop = static_cast<const char*>(std::memchr(p, '\0', static_cast<size_t>(end - p)));
    size_t length = stop == nullptr ? 0 : static_cast<size_t>(stop - p);
    // One component each, as readdir gives them: never a path, "." or "..".
    bool dots = length > 0 && p[0] == '.' && (length == 1 || (length == 2 && p[1] == '.'));
    if (length == 0 || dots || std::memchr(p, '/', length) != nullptr) {
      throw ArgTypeError(env,
                         ArgName(1, "names") +
                             " must hold count file names (NUL-terminated, no '/', not . or ..) from start",
                         "ERR_INVALID_ARG_VALUE");
    }
    struct stat st;
    if (RetryEintr([&] { return fstatat(dirfd, p, &st, flags); }) < 0) {
      errnos[i] = errno;
    } else {
      FillStat(out + i * kStatFields, st);
      errnos[i] = 0;
    }
    p = stop + 1;
  }
  return env.Undefined();
}

// fstatInto(fd, out: BigInt64Array) -> undefined
Napi::Value FstatInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  int64_t* out = StatOutArg(info, 1);
  struct stat st;
  if (RetryEintr([&] { return fstat(fd, &st); }) < 0) {
    int err = errno;
    throw ErrnoError(env, err, "fstat");
  }
  FillStat(out, st);
  return env.Undefined();
}

}  // namespace restore_native
