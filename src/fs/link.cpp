// SPDX-License-Identifier: MIT
// link / symlink (io_uring linkat, symlinkat) and readlink (pool).

#include "aio/fs/link.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "file_io_impl.hpp"
#include "pool_call_impl.hpp"

namespace aio::fs {

using aio::detail::io_kind;

namespace {

task<> link_impl(std::string src, std::string dst, bool follow) {
  std::string names = detail::two_paths(src, dst);
  detail::file_io_awaiter op(io_kind::linkat, AT_FDCWD, "link", names);
  op.set_path(src);
  op.buf2_ = dst.data();
  op.flags_ = follow ? AT_SYMLINK_FOLLOW : 0;
  co_await op;
}

task<> symlink_impl(std::string target, std::string link_path) {
  std::string names = detail::two_paths(target, link_path);
  detail::file_io_awaiter op(io_kind::symlinkat, AT_FDCWD, "symlink", names);
  op.set_path(target);
  op.buf2_ = link_path.data();
  co_await op;
}

struct readlink_call {
  std::string path;
  std::string text;
};

int read_link(void* arg, const std::atomic<bool>&) noexcept {
  auto& a = *static_cast<readlink_call*>(arg);
  try {
    // A link's text may be longer than any first guess: grow until it fits.
    for (std::size_t size = 256;; size *= 2) {
      a.text.resize(size);
      ssize_t n = ::readlink(a.path.c_str(), a.text.data(), size);
      if (n < 0) return -errno;
      if (static_cast<std::size_t>(n) < size) {
        a.text.resize(static_cast<std::size_t>(n));
        return 0;
      }
    }
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
}

task<std::string> readlink_impl(std::string path) {
  readlink_call a{std::move(path), {}};
  detail::pool_call call(&read_link, &a, "readlink", a.path);
  co_await call;
  co_return std::move(a.text);
}

}  // namespace

task<> link(const std::filesystem::path& src, const std::filesystem::path& dst,
            bool follow_symlinks) {
  return link_impl(src.string(), dst.string(), follow_symlinks);
}

task<> symlink(const std::filesystem::path& target, const std::filesystem::path& link_path) {
  return symlink_impl(target.string(), link_path.string());
}

task<std::string> readlink(const std::filesystem::path& path) {
  return readlink_impl(path.string());
}

}  // namespace aio::fs
