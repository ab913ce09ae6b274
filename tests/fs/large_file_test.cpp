// SPDX-License-Identifier: MIT
// Big files, concurrent preads, and a loop that stays responsive meanwhile.

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/core/gather.hpp"
#include "aio/core/sleep.hpp"
#include "aio/fs/file.hpp"
#include "aio/fs/read_file.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::temp_dir;
using namespace std::chrono_literals;

AIO_TEST_SUITE(fs_large_file_test);

AIO_TEST(fs_large_file_test, sixty_four_mib_round_trip_checksummed) {
  temp_dir d;
  const std::string data = fs::test::pattern(64u << 20);
  {
    auto f = co_await fs::open(d / "big", "wb");
    EXPECT_EQ(co_await f.write(data), data.size());  // split into several kernel writes
    co_await f.fsync();
    co_await f.close();
  }
  std::string back = co_await fs::read_file(d / "big");
  CO_ASSERT_EQ(back.size(), data.size());
  EXPECT_EQ(fs::test::checksum(back), fs::test::checksum(data));
  EXPECT_TRUE(back == data);

  // read() to EOF from the middle, and read(n) larger than one kernel read.
  auto f = co_await fs::open(d / "big");
  co_await f.seek(static_cast<std::int64_t>(data.size() / 2 + 3));
  std::string tail = co_await f.read();
  EXPECT_TRUE(tail == data.substr(data.size() / 2 + 3));
  co_await f.seek(1);
  std::string most = co_await f.read(data.size());  // asks one byte too many: short at EOF
  EXPECT_EQ(most.size(), data.size() - 1);
  EXPECT_TRUE(most == data.substr(1));
}

AIO_TEST(fs_large_file_test, concurrent_preads_of_one_file) {
  temp_dir d;
  const std::string data = fs::test::pattern(1u << 20, 7);
  co_await fs::write_file(d / "p", data);
  auto f = co_await fs::open(d / "p");
  std::vector<aio::task<std::string>> reads;
  for (std::uint64_t i = 0; i < 64; ++i) reads.push_back(f.pread(4096, (i * 40503) % (data.size() - 4096)));
  std::vector<std::string> got = co_await aio::gather(std::move(reads));
  for (std::uint64_t i = 0; i < 64; ++i) EXPECT_TRUE(got[i] == data.substr((i * 40503) % (data.size() - 4096), 4096)) << i;
}

AIO_TEST(fs_large_file_test, concurrent_pwrites_of_one_file) {
  temp_dir d;
  auto f = co_await fs::open(d / "w", "w+");
  std::vector<std::string> blocks;
  for (int i = 0; i < 32; ++i) blocks.push_back(std::string(8192, static_cast<char>('a' + i % 26)));
  std::vector<aio::task<std::size_t>> writes;
  for (std::uint64_t i = 0; i < 32; ++i) writes.push_back(f.pwrite(blocks[i], i * 8192));
  co_await aio::gather(std::move(writes));
  std::string all = co_await f.read();
  CO_ASSERT_EQ(all.size(), 32u * 8192);
  for (std::size_t i = 0; i < 32; ++i) EXPECT_TRUE(all.substr(i * 8192, 8192) == blocks[i]) << i;
}

AIO_TEST(fs_large_file_test, loop_stays_responsive_during_a_big_read) {
  // One 32 MiB read (one kernel op): a loop that performed it itself would
  // finish it before the ticker could run again.
  temp_dir d;
  co_await fs::write_file(d / "r", fs::test::pattern(32u << 20, 3));
  auto f = co_await fs::open(d / "r");
  std::string buf(32u << 20, '\0');
  bool done = false;
  long ticks = 0;
  auto ticker = aio::create_task([](bool& stop, long& n) -> aio::task<> {
    while (!stop) {
      ++n;
      co_await aio::sleep(0s);
    }
  }(done, ticks));
  co_await aio::sleep(0s);
  long before = ticks;
  std::size_t n = co_await f.pread_into(std::as_writable_bytes(std::span(buf)), 0);
  long during = ticks - before;
  done = true;
  co_await ticker;
  EXPECT_EQ(n, buf.size());
  EXPECT_GT(during, 0);
}
