// SPDX-License-Identifier: MIT
// mkdir / makedirs / rmdir / remove / rename (io_uring ops) and listdir (pool).

#include <dirent.h>
#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>

#include "aio/exec/thread_pool_executor.hpp"
#include "aio/fs/directory.hpp"
#include "aio/fs/stat.hpp"
#include "file_io_impl.hpp"
#include "pool_call_impl.hpp"

namespace aio::fs {

using aio::detail::io_kind;

namespace {

task<> mkdir_impl(std::string path, mode_t mode) {
  detail::file_io_awaiter op(io_kind::mkdirat, AT_FDCWD, "mkdir", path);
  op.set_path(path);
  op.len_ = mode;
  co_await op;
}

task<> unlink_impl(std::string path, int flags, const char* what) {
  detail::file_io_awaiter op(io_kind::unlinkat, AT_FDCWD, what, path);
  op.set_path(path);
  op.flags_ = static_cast<std::uint32_t>(flags);
  co_await op;
}

task<> rename_impl(std::string from, std::string to) {
  std::string names = detail::two_paths(from, to);  // errors name both, as Python's do
  detail::file_io_awaiter op(io_kind::renameat, AT_FDCWD, "rename", names);
  op.set_path(from);
  op.buf2_ = const_cast<char*>(to.c_str());
  co_await op;
}

// "a/b/" names the directory "a/b", as in os.makedirs.
std::filesystem::path without_trailing_slash(std::filesystem::path p) {
  while (!p.has_filename() && p.has_relative_path()) p = p.parent_path();
  return p;
}

task<> makedirs_impl(std::filesystem::path path, mode_t mode, bool exist_ok) {
  int err = 0;
  try {
    co_await mkdir_impl(path.string(), mode);
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  if (err == ENOENT) {
    std::filesystem::path parent = without_trailing_slash(path.parent_path());
    if (!parent.empty() && parent != path) {
      co_await makedirs_impl(parent, mode, true);
      err = 0;
      try {
        co_await mkdir_impl(path.string(), mode);
      } catch (const std::system_error& e) {
        err = e.code().value();  // a concurrent makedirs may have made it
      }
    }
  }
  if (err == EEXIST && exist_ok) {
    if ((co_await stat(path)).is_dir()) co_return;
  }
  if (err != 0) detail::throw_fs_error(err, "makedirs", path.string());
}

std::vector<std::string> list_directory(const std::string& path) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), &::closedir);
  if (!dir) detail::throw_fs_error(errno, "listdir", path);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(dir.get());
    if (!e) {
      if (errno != 0) detail::throw_fs_error(errno, "listdir", path);
      break;
    }
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    names.emplace_back(e->d_name);
  }
  return names;
}

task<std::vector<std::string>> listdir_impl(std::string path) {
  co_return co_await aio::detail::internal_executor().submit(&list_directory, std::move(path));
}

}  // namespace

task<> mkdir(const std::filesystem::path& path, mode_t mode) { return mkdir_impl(path.string(), mode); }

task<> makedirs(const std::filesystem::path& path, mode_t mode, bool exist_ok) {
  return makedirs_impl(without_trailing_slash(path), mode, exist_ok);
}

task<> rmdir(const std::filesystem::path& path) { return unlink_impl(path.string(), AT_REMOVEDIR, "rmdir"); }

task<> remove(const std::filesystem::path& path) { return unlink_impl(path.string(), 0, "remove"); }

task<> rename(const std::filesystem::path& from, const std::filesystem::path& to) {
  return rename_impl(from.string(), to.string());
}

task<std::vector<std::string>> listdir(const std::filesystem::path& path) { return listdir_impl(path.string()); }

}  // namespace aio::fs
