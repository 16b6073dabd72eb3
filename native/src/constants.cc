// constants.cc - the numeric constants the TypeScript side needs, taken from the C headers this
// addon is compiled against, so TS never hard-codes a Linux ABI value.
#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "functions.h"

namespace restore_native {

Napi::Object MakeConstants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  auto set = [&](const char* name, double value) { c.Set(name, Napi::Number::New(env, value)); };
#define RN_CONST(name) set(#name, static_cast<double>(name))
  // *at flags
  RN_CONST(AT_FDCWD);
  RN_CONST(AT_SYMLINK_NOFOLLOW);
  RN_CONST(AT_REMOVEDIR);
  RN_CONST(AT_EMPTY_PATH);
  RN_CONST(AT_SYMLINK_FOLLOW);
  // open flags
  RN_CONST(O_RDONLY);
  RN_CONST(O_WRONLY);
  RN_CONST(O_RDWR);
  RN_CONST(O_CREAT);
  RN_CONST(O_EXCL);
  RN_CONST(O_TRUNC);
  RN_CONST(O_APPEND);
  RN_CONST(O_NONBLOCK);
  RN_CONST(O_PATH);
  RN_CONST(O_DIRECTORY);
  RN_CONST(O_NOFOLLOW);
  RN_CONST(O_NOATIME);
  RN_CONST(O_CLOEXEC);
  RN_CONST(O_TMPFILE);
  // openat2 resolve flags
  RN_CONST(RESOLVE_BENEATH);
  RN_CONST(RESOLVE_NO_SYMLINKS);
  RN_CONST(RESOLVE_NO_MAGICLINKS);
  RN_CONST(RESOLVE_NO_XDEV);
  RN_CONST(RESOLVE_IN_ROOT);
  // renameat2
  RN_CONST(RENAME_NOREPLACE);
  RN_CONST(RENAME_EXCHANGE);
  // xattrs
  RN_CONST(XATTR_CREATE);
  RN_CONST(XATTR_REPLACE);
  // fallocate
  RN_CONST(FALLOC_FL_KEEP_SIZE);
  RN_CONST(FALLOC_FL_PUNCH_HOLE);
  RN_CONST(FALLOC_FL_ZERO_RANGE);
  // flock
  RN_CONST(LOCK_SH);
  RN_CONST(LOCK_EX);
  RN_CONST(LOCK_NB);
  RN_CONST(LOCK_UN);
  // inode flags (FS_IOC_GETFLAGS / FS_IOC_SETFLAGS)
  RN_CONST(FS_IMMUTABLE_FL);
  RN_CONST(FS_APPEND_FL);
  RN_CONST(FS_NODUMP_FL);
  RN_CONST(FS_NOATIME_FL);
  // file types
  RN_CONST(S_IFMT);
  RN_CONST(S_IFREG);
  RN_CONST(S_IFDIR);
  RN_CONST(S_IFLNK);
  RN_CONST(S_IFCHR);
  RN_CONST(S_IFBLK);
  RN_CONST(S_IFIFO);
  RN_CONST(S_IFSOCK);
  // readdir d_type
  RN_CONST(DT_UNKNOWN);
  RN_CONST(DT_FIFO);
  RN_CONST(DT_CHR);
  RN_CONST(DT_DIR);
  RN_CONST(DT_BLK);
  RN_CONST(DT_REG);
  RN_CONST(DT_LNK);
  RN_CONST(DT_SOCK);
#undef RN_CONST
  c.Freeze();
  return c;
}

}  // namespace restore_native
