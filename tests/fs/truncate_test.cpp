// SPDX-License-Identifier: MIT
// file::truncate: an io_uring op where the kernel has IORING_OP_FTRUNCATE
// (Linux 6.9), the internal pool otherwise (and on epoll).

#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <system_error>
#include <thread>

#include "aio/core/loop.hpp"
#include "aio/core/sleep.hpp"
#include "aio/core/timeout.hpp"
#include "aio/exec/thread_pool_executor.hpp"
#include "aio/fs/file.hpp"
#include "aio/fs/read_file.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::temp_dir;
using namespace std::chrono_literals;

namespace {

bool kernel_at_least(int major, int minor) {
  utsname u{};
  if (::uname(&u) != 0) return false;
  int ma = 0, mi = 0;
  if (std::sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

}  // namespace

AIO_TEST_SUITE(fs_truncate_test);

AIO_TEST(fs_truncate_test, shrinks_and_extends_with_zeros) {
  temp_dir d;
  auto f = co_await fs::open(d / "t", "w+b");
  co_await f.write("0123456789");
  co_await f.truncate(4);
  EXPECT_EQ((co_await f.stat()).size, 4u);
  co_await f.truncate(8);
  EXPECT_EQ(co_await f.pread(100, 0), std::string("0123") + std::string(4, '\0'));
  co_await f.truncate(0);
  EXPECT_EQ(co_await fs::read_file(d / "t"), "");
  EXPECT_EQ(f.tell(), 10u);  // the position does not move
}

AIO_TEST(fs_truncate_test, read_only_file_fails_naming_the_path) {
  temp_dir d;
  co_await fs::write_file(d / "ro", "data");
  auto f = co_await fs::open(d / "ro", "r");
  int code = 0;
  std::string what;
  try {
    co_await f.truncate(1);
  } catch (const std::system_error& e) {
    code = e.code().value();
    what = e.what();
  }
  EXPECT_EQ(code, EINVAL);  // Linux's answer for an fd not open for writing
  EXPECT_NE(what.find("truncate '" + (d / "ro") + "'"), std::string::npos) << what;
  EXPECT_EQ(co_await fs::read_file(d / "ro"), "data");
}

AIO_TEST(fs_truncate_test, on_io_uring_it_needs_no_pool_thread) {
  // With every thread of the internal pool held busy, a truncate that went to
  // the pool would wait behind them; an io_uring op completes regardless.
  if (aio::get_running_loop().backend_name() != "io_uring" || !kernel_at_least(6, 9)) co_return;
  temp_dir d;
  auto f = co_await fs::open(d / "u", "w+");
  co_await f.write(std::string(4096, 'u'));
  auto& pool = aio::detail::internal_executor();
  const auto growth = pool.get_growth();
  pool.set_growth({});  // a grown thread would hide a truncate sent to the pool
  const std::size_t threads = fs::test::internal_pool_threads();
  std::atomic<bool> release{false};
  std::atomic<std::size_t> busy{0};
  std::vector<aio::concurrent_future<void>> blockers;
  for (std::size_t i = 0; i < threads; ++i) {
    blockers.push_back(pool.submit([&] {
      ++busy;
      while (!release) std::this_thread::sleep_for(1ms);
    }));
  }
  for (int i = 0; i < 5000 && busy < threads; ++i) co_await aio::sleep(1ms);
  EXPECT_EQ(busy.load(), threads);
  bool done = false;
  try {
    co_await aio::wait_for(f.truncate(100), 2s);
    done = true;
  } catch (const aio::timeout_error&) {
  }
  release = true;
  for (auto& b : blockers) co_await b;
  pool.set_growth(growth);
  EXPECT_TRUE(done) << "truncate waited for a pool thread";
  EXPECT_EQ((co_await f.stat()).size, 100u);
}
