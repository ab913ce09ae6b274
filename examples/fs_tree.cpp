// SPDX-License-Identifier: MIT
// aio::fs file-system calls: a temporary directory that cleans up, scandir
// with file types, symlinks, copy_file (no user-space copy) and remove_tree —
// Python's tempfile, os.scandir, os.symlink, shutil.copyfile and
// shutil.rmtree, none of them blocking the loop.
//
//   example_fs_tree          # AIO_BACKEND=epoll runs the same on the pool
#include <cstdio>
#include <string>
#include <system_error>

#include "aio/aio.hpp"

namespace fs = aio::fs;

aio::task<> demo() {
  // Made under $TMPDIR (or /tmp) with mode 0700; removed at the end.
  auto tmp = co_await fs::make_temporary_directory("aio-tree-");
  const std::filesystem::path root = tmp.path();
  std::printf("working in %s\n", root.c_str());

  co_await fs::makedirs(root / "releases/v1");
  co_await fs::makedirs(root / "releases/v2");
  co_await fs::write_file(root / "releases/v2/app.conf", "workers = 4\n");
  co_await fs::symlink("releases/v2", root / "current");
  co_await fs::symlink("releases/v3", root / "next");  // dangling: v3 does not exist yet

  // copy_file_range on a pool thread: the bytes stay in the kernel.
  std::uint64_t n =
      co_await fs::copy_file(root / "current/app.conf", root / "releases/v1/app.conf");
  std::printf("copied %llu bytes\n", static_cast<unsigned long long>(n));

  // Types come with the listing (d_type); symlinks are followed like os.DirEntry.
  for (const auto& e : co_await fs::scandir(root)) {
    const char* kind = e.is_dir() ? "dir" : e.is_file() ? "file" : "broken";
    std::printf("  %-10s %-6s%s\n", std::string(e.name()).c_str(), kind,
                e.is_symlink() ? " (symlink)" : "");
  }
  std::printf("current -> %s\n", (co_await fs::readlink(root / "current")).c_str());

  // Errors name the call and both paths.
  try {
    co_await fs::symlink("elsewhere", root / "current");
  } catch (const std::system_error& e) {
    std::printf("error: %s\n", e.what());
  }

  // A scratch file that removes itself; then the whole tree goes.
  auto scratch = co_await fs::make_temporary_file("scratch-", ".bin", root);
  co_await scratch.file().write("temporary bytes");
  co_await scratch.remove();
  co_await tmp.remove();
  std::printf("removed: %s\n", (co_await fs::exists(root)) ? "no" : "yes");
}

int main() { aio::run(demo()); }
