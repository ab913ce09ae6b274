// SPDX-License-Identifier: MIT
// temp_dir and temp_file of aio_test.hpp: the one place tests make scratch files.

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "aio_test.hpp"

namespace aio::test {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

temp_dir::temp_dir(std::string_view prefix) {
  // mkdtemp replaces the trailing six characters with a unique suffix.
  std::string templ = (std::filesystem::temp_directory_path() / prefix).string() + std::string(6, 'X');
  if (!::mkdtemp(templ.data())) fail("mkdtemp " + templ);
  path = std::move(templ);
}

temp_dir::~temp_dir() {
  std::error_code ec;
  // Tests may leave read-only subdirectories behind (permission tests).
  for (const auto& e : std::filesystem::recursive_directory_iterator(path, ec))
    if (e.is_directory(ec)) std::filesystem::permissions(e.path(), std::filesystem::perms::owner_all, ec);
  std::filesystem::permissions(path, std::filesystem::perms::owner_all, ec);
  std::filesystem::remove_all(path, ec);
}

std::string temp_dir::operator/(std::string_view name) const {
  return (path / name).string();
}

temp_file::temp_file(std::string_view content) {
  fd = ::open(std::filesystem::temp_directory_path().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) fail("open O_TMPFILE");
  for (std::size_t off = 0; off < content.size();) {
    ssize_t w = ::pwrite(fd, content.data() + off, content.size() - off, static_cast<off_t>(off));
    if (w <= 0) {
      int err = errno;
      ::close(fd);
      errno = err;
      fail("write temp file");
    }
    off += static_cast<std::size_t>(w);
  }
}

temp_file::~temp_file() {
  if (fd >= 0) ::close(fd);
}

}  // namespace aio::test
