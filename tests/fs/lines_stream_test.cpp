// SPDX-License-Identifier: MIT
// Lines at scale and under cancellation: a file of hundreds of MiB iterated
// in bounded memory, a cancelled readline that loses nothing (regular file
// and pipe), no fd leaked, and one reader at a time.

#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "aio/core/create_task.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/sleep.hpp"
#include "aio/fs/file.hpp"
#include "aio/fs/read_file.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::temp_dir;
using namespace std::chrono_literals;

namespace {

// "line 000042\n": fixed width, so a position says which line starts there.
constexpr std::size_t line_width = 12;
std::string numbered(std::size_t i) {
  char buf[line_width + 1];
  std::snprintf(buf, sizeof buf, "line %06zu\n", i);
  return std::string(buf, line_width);
}

aio::task<> count_lines(fs::file& f, std::size_t& count) {
  auto lines = f.lines();
  while (auto line = co_await lines.next()) {
    EXPECT_EQ(*line, numbered(count));
    ++count;
  }
}

aio::task<std::size_t> open_and_count(std::string path) {
  auto f = co_await fs::open(path);
  std::size_t n = 0;
  co_await count_lines(f, n);
  co_await f.close();
  co_return n;
}

// A field of /proc/self/status in bytes (VmRSS, VmHWM).
std::size_t status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1)) * 1024;
  }
  return 0;
}

// Resets VmHWM (the peak RSS) to the current RSS.
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace

AIO_TEST_SUITE(fs_lines_stream_test);

AIO_TEST(fs_lines_stream_test, cancelled_iteration_loses_and_repeats_no_line) {
  temp_dir d;
  constexpr std::size_t total = 200000;  // 2.4 MiB: dozens of buffer fills
  std::string content;
  for (std::size_t i = 0; i < total; ++i) content += numbered(i);
  co_await fs::write_file(d / "n", content);
  auto f = co_await fs::open(d / "n");
  int cancelled = 0;
  for (int k = 0; k < 12; ++k) {
    co_await f.seek(0);
    std::size_t count = 0;
    auto t = aio::create_task(count_lines(f, count));
    for (int i = 0; i < k; ++i) co_await aio::sleep(0s);
    t.cancel();
    try {
      co_await t;
    } catch (const aio::cancelled_error&) {
      ++cancelled;
    }
    // The position is right after the last line handed out.
    EXPECT_EQ(f.tell(), count * line_width) << "cancelled after " << k << " yields";
    if (count < total) {
      EXPECT_EQ(co_await f.readline(), numbered(count)) << k;
    }
  }
  EXPECT_GT(cancelled, 0);
}

AIO_TEST(fs_lines_stream_test, cancelled_readers_leave_no_fd_open) {
  temp_dir d;
  std::string content;
  for (std::size_t i = 0; i < 100000; ++i) content += numbered(i);
  co_await fs::write_file(d / "n", content);
  std::string path = d / "n";
  co_await fs::test::cancel_at_every_point([&] { return open_and_count(path); }, 10);
}

AIO_TEST(fs_lines_stream_test, cancelled_readline_on_a_pipe_keeps_the_partial_line) {
  int p[2];
  CO_ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  fs::file f(p[0], "pipe", false, false);
  CO_ASSERT_EQ(::write(p[1], "part", 4), 4);
  // The line goes to `got` inside the task: a task that finishes while a
  // cancel is pending ends cancelled (asyncio's rule) and drops its result.
  std::string got;
  auto t = aio::create_task([](fs::file& file, std::string& out) -> aio::task<> { out = co_await file.readline(); }(f, got));
  for (int i = 0; i < 20; ++i) co_await aio::sleep(1ms);  // it has read "part" and waits for more
  EXPECT_FALSE(t.done());
  // A second reader while the first waits is refused, as asyncio's readline.
  bool refused = false;
  try {
    co_await f.readline();
  } catch (const aio::invalid_state_error&) {
    refused = true;
  }
  EXPECT_TRUE(refused);
  t.cancel();
  // On epoll a pool thread sits in read(2): the cancel lands once it returns
  // (then the line is complete and delivered); io_uring abandons the read.
  CO_ASSERT_EQ(::write(p[1], "ial\n", 4), 4);
  try {
    co_await t;
  } catch (const aio::cancelled_error&) {
  }
  if (got.empty()) {
    EXPECT_EQ(f.tell(), 0u);         // nothing was consumed
    got = co_await f.readline();     // and nothing is lost
  }
  EXPECT_EQ(got, "partial\n");
  CO_ASSERT_EQ(::write(p[1], "next\nrest", 9), 9);
  ::close(p[1]);
  EXPECT_EQ(co_await f.readline(), "next\n");
  EXPECT_EQ(co_await f.read(), "rest");  // read() takes the read-ahead first
  co_await f.close();
}

AIO_TEST(fs_lines_stream_test, hundreds_of_mib_line_by_line_in_bounded_memory) {
  temp_dir d;
  // 256 MiB of lines from 1 to 199 bytes, written in 4 MiB line-aligned blocks.
  std::string block;
  std::size_t block_lines = 0;
  for (std::size_t i = 0; block.size() < (4u << 20) - 200; ++i, ++block_lines) {
    block.append(1 + (i * 7919) % 198, static_cast<char>('a' + i % 26));
    block += '\n';
  }
  constexpr int blocks = 64;
  {
    auto w = co_await fs::open(d / "huge", "w");
    for (int i = 0; i < blocks; ++i) co_await w.write(block);
    co_await w.close();
  }
  auto f = co_await fs::open(d / "huge");
  bool peak_resettable = reset_peak_rss();
  std::size_t rss_before = status_bytes("VmRSS");
  std::size_t count = 0, bytes = 0, longest = 0;
  auto lines = f.lines();
  while (auto line = co_await lines.next()) {
    ++count;
    bytes += line->size();
    longest = std::max(longest, line->size());
  }
  std::size_t peak = peak_resettable ? status_bytes("VmHWM") : status_bytes("VmRSS");
  EXPECT_EQ(count, block_lines * blocks);
  EXPECT_EQ(bytes, block.size() * blocks);
  EXPECT_EQ(longest, 199u);
  // 256 MiB went through; the process grew by far less (one 64 KiB buffer,
  // plus allocator noise).
  EXPECT_LT(peak - std::min(peak, rss_before), std::size_t{16} << 20) << "peak " << peak << " before " << rss_before;
}

AIO_TEST(fs_lines_stream_test, a_huge_file_without_newlines_stops_at_max_line) {
  // 512 MiB of zeros (sparse) and no '\n': the buffer grows to max_line, not
  // to the file.
  temp_dir d;
  {
    auto w = co_await fs::open(d / "zeros", "w");
    co_await w.truncate(std::uint64_t{512} << 20);
    co_await w.close();
  }
  fs::open_options o;
  o.max_line = 4u << 20;
  auto f = co_await fs::open(d / "zeros", "r", o);
  bool peak_resettable = reset_peak_rss();
  std::size_t rss_before = status_bytes("VmRSS");
  bool threw = false;
  try {
    co_await f.readline();
  } catch (const aio::limit_overrun_error& e) {
    threw = e.consumed() >= o.max_line;
  }
  std::size_t peak = peak_resettable ? status_bytes("VmHWM") : status_bytes("VmRSS");
  EXPECT_TRUE(threw);
  EXPECT_EQ(f.tell(), 0u);
  EXPECT_LT(peak - std::min(peak, rss_before), std::size_t{32} << 20);
  EXPECT_EQ((co_await f.readline(10)).size(), 10u);  // still usable, in pieces
}
