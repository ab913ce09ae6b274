// SPDX-License-Identifier: MIT
// read_file's own path: one openat, fstat for the size, one read when the
// answer is short by exactly the extra byte asked for, else on to end of
// file. The edges: empty files, files whose size says nothing (/proc), a
// file exactly one kernel read long and one byte longer, and no fd left.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <latch>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/exec/thread_pool_executor.hpp"
#include "aio/fs/file.hpp"
#include "aio/fs/read_file.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::temp_dir;

namespace {

void put_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

}  // namespace

AIO_TEST_SUITE(fs_read_file_test);

AIO_TEST(fs_read_file_test, small_and_empty_files_read_whole) {
  temp_dir d;
  const int fds = fs::test::baseline_fd_count();
  put_file(d / "empty", "");
  EXPECT_EQ(co_await fs::read_file(d / "empty"), "");
  put_file(d / "one", "x");
  EXPECT_EQ(co_await fs::read_file(d / "one"), "x");
  const std::string page = fs::test::pattern(4096, 9);
  put_file(d / "page", page);
  EXPECT_TRUE(co_await fs::read_file(d / "page") == page);
  EXPECT_EQ(fs::test::open_fd_count(), fds);
}

AIO_TEST(fs_read_file_test, a_file_whose_size_says_nothing_is_read_to_its_end) {
  // /proc files report size 0 and still have content.
  const std::string status = co_await fs::read_file("/proc/self/status");
  EXPECT_EQ(status.rfind("Name:", 0), 0u) << status.substr(0, 40);
  EXPECT_NE(status.find("\nPid:"), std::string::npos);
}

AIO_TEST(fs_read_file_test, files_at_the_kernel_read_limit_are_read_on) {
  // 32 MiB is the largest single kernel read: a file of exactly that size
  // fills the first read (no short answer, so no conclusion), one byte more
  // needs a second read.
  temp_dir d;
  const std::string data = fs::test::pattern((32u << 20) + 1, 4);
  put_file(d / "limit", data.substr(0, 32u << 20));
  std::string back = co_await fs::read_file(d / "limit");
  EXPECT_EQ(back.size(), 32u << 20);
  EXPECT_TRUE(back == data.substr(0, 32u << 20));
  put_file(d / "over", data);
  back = co_await fs::read_file(d / "over");
  EXPECT_EQ(back.size(), data.size());
  EXPECT_TRUE(back == data);
}

AIO_TEST(fs_read_file_test, a_close_cancelled_while_queued_still_closes_the_fd) {
  // On the epoll backend the close is a pool job. With every pool thread
  // held, the close of a FIFO read to its end waits in the queue; a cancel
  // then drops the job, and the fd must still be closed.
  temp_dir d;
  const std::string fifo = d / "fifo";
  CO_ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int baseline = fs::test::baseline_fd_count();
  const int writer = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);  // never blocks
  CO_ASSERT_TRUE(writer >= 0);
  auto& pool = aio::detail::internal_executor();
  const auto growth = pool.get_growth();
  pool.set_growth({});  // no thread may join to take the close
  std::latch gate{1};
  std::vector<aio::concurrent_future<void>> held;
  auto hold = [&] { held.push_back(pool.submit([&gate] { gate.wait(); })); };
  for (std::size_t i = 1; i < fs::test::internal_pool_threads(); ++i) hold();
  auto reading = aio::create_task(fs::read_file(fifo));
  co_await aio::sleep(std::chrono::milliseconds(20));  // its read waits on the last thread
  hold();                                              // queued behind that read
  ::close(writer);                                     // end of file: the read returns 0
  co_await aio::sleep(std::chrono::milliseconds(20));  // its close is queued now
  reading.cancel();  // drops the queued close job, at once
  gate.count_down();  // before awaiting: had the read itself been queued, its close would wait here
  try {
    EXPECT_EQ(co_await reading, "");
  } catch (const aio::cancelled_error&) {
  }
  for (auto& h : held) co_await h;
  pool.set_growth(growth);
  EXPECT_EQ(co_await fs::test::settled_fd_count(baseline), baseline);
}

AIO_TEST(fs_read_file_test, more_fifo_readers_than_pool_threads_do_not_stall_their_writers) {
  // On the epoll backend each reader's open blocks a pool thread until its
  // writer opens; with more readers than threads, the writers' opens queue
  // behind them and only the pool's growth when stalled lets them run.
  temp_dir d;
  constexpr int n = 6;  // the internal pool has 4 threads
  for (int i = 0; i < n; ++i) CO_ASSERT_EQ(::mkfifo((d / std::to_string(i)).c_str(), 0600), 0);
  std::vector<aio::task_handle<std::string>> readers;
  for (int i = 0; i < n; ++i) readers.push_back(aio::create_task(fs::read_file(d / std::to_string(i))));
  co_await aio::sleep(std::chrono::milliseconds(20));  // every reader waits in its open
  for (int i = 0; i < n; ++i) {
    auto w = co_await fs::open(d / std::to_string(i), "w");
    co_await w.write("fifo " + std::to_string(i));
    co_await w.close();
  }
  for (int i = 0; i < n; ++i) EXPECT_EQ(co_await readers[i], "fifo " + std::to_string(i));
}
