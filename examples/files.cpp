// SPDX-License-Identifier: MIT
// aio::fs: open/read/write a file, whole-file helpers, an atomic replace,
// directories, and many files read concurrently — on io_uring every call is a
// kernel operation; on the epoll backend (AIO_BACKEND=epoll) the internal pool
// runs them, and the loop never blocks on the disk either way.
//
//   example_files            # works in a fresh directory under /tmp, then removes it
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "aio/aio.hpp"

namespace fs = aio::fs;

aio::task<> demo(std::string dir) {
  // A file opened like Python's open(path, "w+b").
  auto f = co_await fs::open(dir + "/notes.txt", "w+b");
  co_await f.write("first line\nsecond line\n");
  co_await f.seek(0);
  std::string head = co_await f.read(10);
  std::printf("read(10) -> '%s', tell() = %llu\n", head.c_str(), static_cast<unsigned long long>(f.tell()));
  co_await f.fsync();
  auto st = co_await f.stat();
  std::printf("size %llu, mode %o\n", static_cast<unsigned long long>(st.size), st.permissions());
  co_await f.close();

  // Whole files, and a config written atomically (old or new, never a mix).
  co_await fs::append_file(dir + "/notes.txt", "third line\n");
  std::string all = co_await fs::read_file(dir + "/notes.txt");
  std::printf("notes.txt:\n%s", all.c_str());
  co_await fs::write_file_atomic(dir + "/config.json", "{\"workers\": 4}\n");

  // Errors name the call and the path.
  try {
    co_await fs::open(dir + "/missing.txt");
  } catch (const std::system_error& e) {
    std::printf("error: %s\n", e.what());
  }

  // Directories; 100 small files written and read back concurrently.
  co_await fs::makedirs(dir + "/data/small", 0755, true);
  // write_file takes a string_view and its task is lazy: the data must live
  // until the task completes (here, in `blocks`), as for any awaited buffer.
  std::vector<std::string> blocks;
  for (int i = 0; i < 100; ++i) blocks.emplace_back(4096, static_cast<char>('a' + i % 26));
  std::vector<aio::task<>> writes;
  for (int i = 0; i < 100; ++i) writes.push_back(fs::write_file(dir + "/data/small/" + std::to_string(i), blocks[i]));
  co_await aio::gather(std::move(writes));
  std::vector<aio::task<std::string>> reads;
  for (int i = 0; i < 100; ++i) reads.push_back(fs::read_file(dir + "/data/small/" + std::to_string(i)));
  std::size_t total = 0;
  for (const auto& s : co_await aio::gather(std::move(reads))) total += s.size();
  auto names = co_await fs::listdir(dir + "/data/small");
  std::printf("%zu files, %zu bytes read back\n", names.size(), total);

  for (const auto& n : names) co_await fs::remove(dir + "/data/small/" + n);
  co_await fs::rmdir(dir + "/data/small");
  co_await fs::rmdir(dir + "/data");
  for (const char* n : {"notes.txt", "config.json"}) co_await fs::remove(dir + "/" + n);
}

aio::task<> amain() {
  // Like tempfile.TemporaryDirectory(): a fresh private directory, removed after.
  auto tmp = co_await fs::make_temporary_directory("aio-files-");
  co_await demo(tmp.path().string());
  co_await tmp.remove();
}

int main() {
  aio::run(amain());
  std::printf("backend used: %s\n", std::getenv("AIO_BACKEND") ? std::getenv("AIO_BACKEND") : "default");
}
