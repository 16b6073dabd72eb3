# Builds restore_native.node: a thin, synchronous syscall addon (see docs DESIGN "Native addon").
# C++ exceptions are enabled (node_addon_api_except): every failing syscall throws a Napi::Error
# that node-addon-api turns into a JS exception, so no call site can forget to return early.
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
        "_GNU_SOURCE",
        "_FILE_OFFSET_BITS=64"
      ],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20", "-fno-exceptions"],
      "cflags!": ["-fno-exceptions"]
    }
  ]
}
