// SPDX-License-Identifier: MIT
// mkdtemp / mkstemp as io_uring mkdirat / openat(O_EXCL) under random names,
// and the owners that remove what they made.
//
// Not libc's mkdtemp/mkstemp on a pool thread: those run the very same loop
// (random name, mkdir or O_CREAT|O_EXCL, retry on EEXIST), so the atomicity
// is the kernel's either way; as io_uring operations they cost no thread hop
// and can be cancelled like any other file call.

#include "aio/fs/temporary.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <random>
#include <string>
#include <system_error>
#include <utility>

#include "aio/fs/directory.hpp"
#include "file_io_impl.hpp"
#include "pool_call_impl.hpp"
#include "remove_tree_impl.hpp"

namespace aio::fs {

namespace {

constexpr int max_tries = 100;  // 37^8 names: a collision is already rare

std::string random_name(std::string_view prefix, std::string_view suffix) {
  // Python's alphabet for tempfile names.
  static constexpr std::string_view letters = "abcdefghijklmnopqrstuvwxyz0123456789_";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string s(prefix);
  std::uniform_int_distribution<std::size_t> pick(0, letters.size() - 1);
  for (int i = 0; i < 8; ++i) s += letters[pick(rng)];
  s += suffix;
  return s;
}

std::filesystem::path base_dir(const std::filesystem::path& dir) {
  return dir.empty() ? std::filesystem::temp_directory_path() : dir;
}

// "<dir>/<prefix>XXXXXXXX<suffix>": how errors name what was tried.
std::string pattern(const std::filesystem::path& dir, std::string_view prefix,
                    std::string_view suffix) {
  return (dir / (std::string(prefix) + "XXXXXXXX" + std::string(suffix))).string();
}

task<std::filesystem::path> mkdtemp_impl(std::string prefix, std::string suffix,
                                         std::filesystem::path dir) {
  dir = base_dir(dir);
  for (int i = 0; i < max_tries; ++i) {
    std::filesystem::path path = dir / random_name(prefix, suffix);
    int err = 0;
    try {
      co_await mkdir(path, 0700);
    } catch (const std::system_error& e) {
      err = e.code().value();
    }
    if (err == 0) co_return path;
    if (err != EEXIST) detail::throw_fs_error(err, "mkdtemp", pattern(dir, prefix, suffix));
  }
  detail::throw_fs_error(EEXIST, "mkdtemp", pattern(dir, prefix, suffix));
}

task<file> mkstemp_impl(std::string prefix, std::string suffix, std::filesystem::path dir) {
  dir = base_dir(dir);
  open_options options;
  options.permissions = 0600;
  for (int i = 0; i < max_tries; ++i) {
    std::filesystem::path path = dir / random_name(prefix, suffix);
    int err = 0;
    try {
      file f = co_await open(path, "x+b", options);
      co_return f;
    } catch (const std::system_error& e) {
      err = e.code().value();
    }
    if (err != EEXIST) detail::throw_fs_error(err, "mkstemp", pattern(dir, prefix, suffix));
  }
  detail::throw_fs_error(EEXIST, "mkstemp", pattern(dir, prefix, suffix));
}

task<temporary_directory> make_directory_impl(std::string prefix, std::string suffix,
                                              std::filesystem::path dir) {
  // Owned as soon as made: the directory's path comes back with the await.
  std::filesystem::path path =
      co_await mkdtemp_impl(std::move(prefix), std::move(suffix), std::move(dir));
  co_return temporary_directory(std::move(path));
}

task<temporary_file> make_file_impl(std::string prefix, std::string suffix,
                                    std::filesystem::path dir) {
  file f = co_await mkstemp_impl(std::move(prefix), std::move(suffix), std::move(dir));
  co_return temporary_file(std::move(f));
}

int owned_tree_call(void* arg, const std::atomic<bool>& stop) noexcept {
  return detail::remove_tree_blocking(*static_cast<detail::tree_removal*>(arg), stop);
}

}  // namespace

task<std::filesystem::path> mkdtemp(std::string_view prefix, std::string_view suffix,
                                    const std::filesystem::path& dir) {
  return mkdtemp_impl(std::string(prefix), std::string(suffix), dir);
}

task<file> mkstemp(std::string_view prefix, std::string_view suffix,
                   const std::filesystem::path& dir) {
  return mkstemp_impl(std::string(prefix), std::string(suffix), dir);
}

task<temporary_directory> make_temporary_directory(std::string_view prefix, std::string_view suffix,
                                                   const std::filesystem::path& dir) {
  return make_directory_impl(std::string(prefix), std::string(suffix), dir);
}

task<temporary_file> make_temporary_file(std::string_view prefix, std::string_view suffix,
                                         const std::filesystem::path& dir) {
  return make_file_impl(std::string(prefix), std::string(suffix), dir);
}

// --- temporary_directory ---

temporary_directory::temporary_directory(temporary_directory&& o) noexcept
    : path_(std::exchange(o.path_, {})) {}

temporary_directory& temporary_directory::operator=(temporary_directory&& o) noexcept {
  if (this != &o) {
    if (!path_.empty()) detail::remove_detached(path_.string(), true);
    path_ = std::exchange(o.path_, {});
  }
  return *this;
}

temporary_directory::~temporary_directory() {
  if (!path_.empty()) detail::remove_detached(path_.string(), true);
}

task<> temporary_directory::remove() {
  if (path_.empty()) co_return;
  detail::tree_removal t;
  t.path = path_.string();
  t.failed = t.path;
  t.fix_permissions = true;
  detail::pool_call call(&owned_tree_call, &t, "remove_tree", t.failed);
  co_await call;
  path_.clear();
}

std::filesystem::path temporary_directory::release() noexcept { return std::exchange(path_, {}); }

// --- temporary_file ---

temporary_file::temporary_file(fs::file f) noexcept : file_(std::move(f)), path_(file_.name()) {}

temporary_file::temporary_file(temporary_file&& o) noexcept
    : file_(std::move(o.file_)), path_(std::exchange(o.path_, {})) {}

temporary_file& temporary_file::operator=(temporary_file&& o) noexcept {
  if (this != &o) {
    discard();
    file_ = std::move(o.file_);
    path_ = std::exchange(o.path_, {});
  }
  return *this;
}

temporary_file::~temporary_file() { discard(); }

void temporary_file::discard() noexcept {
  if (!path_.empty()) detail::remove_detached(std::exchange(path_, {}).string(), false);
  file_ = fs::file();  // its destructor closes it on the pool
}

task<> temporary_file::remove() {
  if (path_.empty()) co_return;
  co_await file_.close();
  co_await fs::remove(path_);
  path_.clear();
}

fs::file temporary_file::release() noexcept {
  path_.clear();
  return std::move(file_);
}

}  // namespace aio::fs
