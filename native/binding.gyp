# Builds restore_native.node: a thin, synchronous syscall addon (see docs DESIGN "Native addon").
# C++ exceptions are enabled (node_addon_api_except): every failing syscall throws a Napi::Error
# that node-addon-api turns into a JS exception, so no call site can forget to return early.
# NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: when a worker thread is terminated during a call (the
# scan pool is destroyed, a thread is stopped), the JS exception cannot be thrown any more; without
# it node-addon-api rethrows as a C++ exception nobody catches and the whole process aborts
# ("terminate called after throwing an instance of 'Napi::Error'"). test/sys-native-terminate.
{
  "targets": [
    {
      "target_name": "restore_native",
      "sources": [
        "src/addon.cc",
        "src/constants.cc",
        "src/xattr.cc",
        "src/stat.cc",
        "src/dir.cc",
        "src/open.cc",
        "src/rename.cc",
        "src/mknod.cc",
        "src/utimens.cc",
        "src/seek.cc",
        "src/falloc.cc",
        "src/flock.cc",
        "src/flags.cc",
        "src/malloc.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "_GNU_SOURCE",
        "_FILE_OFFSET_BITS=64"
      ],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20", "-fno-exceptions"],
      "cflags!": ["-fno-exceptions"]
    }
  ]
}
