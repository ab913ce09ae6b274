// SPDX-License-Identifier: MIT
// aio::fs lines: `async for line in f` in C++ — a log written with
// writelines (one writev for many strings), then read back line by line in
// bounded memory, counted, and cut with truncate.
//
//   example_lines            # works in a fresh directory under /tmp, then removes it
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "aio/aio.hpp"

namespace fs = aio::fs;

aio::task<> demo(std::string dir) {
  std::string path = dir + "/app.log";

  // 100,000 lines; writelines hands up to 1,024 strings to the kernel at once.
  std::vector<std::string> lines;
  for (int i = 0; i < 100000; ++i) lines.push_back((i % 10 == 7 ? "ERROR " : "INFO ") + std::to_string(i) + "\n");
  auto out = co_await fs::open(path, "w");
  std::size_t written = co_await out.writelines(lines);
  co_await out.close();
  std::printf("wrote %zu lines, %zu bytes\n", lines.size(), written);

  // Line by line: one 64 KiB buffer, whatever the file's size. Each line is a
  // string_view into it, valid until the next call.
  auto f = co_await fs::open(path, "r+");
  auto reader = f.lines();
  std::size_t errors = 0, total = 0;
  std::uint64_t last_error_at = 0;
  while (auto line = co_await reader.next()) {
    ++total;
    if (line->starts_with("ERROR")) {
      ++errors;
      last_error_at = f.tell() - line->size();
    }
  }
  std::printf("%zu lines, %zu errors, the last at offset %llu\n", total, errors,
              static_cast<unsigned long long>(last_error_at));

  // readline after a seek; then keep only what came before the last error.
  co_await f.seek(static_cast<std::int64_t>(last_error_at));
  std::string last = co_await f.readline();
  std::printf("last error line: %s", last.c_str());
  co_await f.truncate(last_error_at);
  std::printf("truncated to %llu bytes\n", static_cast<unsigned long long>((co_await f.stat()).size));
  co_await f.close();

  // A line longer than max_line is an error, not unbounded memory.
  fs::open_options small;
  small.max_line = 16;
  co_await fs::write_file(dir + "/long.txt", std::string(100, 'x') + "\n");
  auto g = co_await fs::open(dir + "/long.txt", "r", small);
  try {
    co_await g.readline();
  } catch (const aio::limit_overrun_error& e) {
    std::printf("error: %s\n", e.what());
  }
  std::string piece = co_await g.readline(16);  // Python's readline(size): a piece of the line
  std::printf("readline(16) -> %zu bytes\n", piece.size());
  co_await g.close();

}

aio::task<> amain() {
  auto tmp = co_await fs::make_temporary_directory("aio-lines-");  // removed with its files
  co_await demo(tmp.path().string());
  co_await tmp.remove();
}

int main() { aio::run(amain()); }
