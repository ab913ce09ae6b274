// SPDX-License-Identifier: MIT
// Write-behind of regular files: small writes queue and return at once; the
// bytes land in order whatever the sizes, seeks, appends and direct writes in
// between; every other call waits for the queue; backpressure at the
// high-water mark (observed by a second task while the internal pool is held
// busy, so the writer provably cannot run). Errors, close, the destructor and
// exit: write_behind_errors_test.cpp.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/sleep.hpp"
#include "aio/fs/file.hpp"
#include "aio/fs/read_file.hpp"
#include "aio/fs/stat.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"
#include "write_behind_util.hpp"

namespace fs = aio::fs;
using namespace fs::test;
using namespace std::chrono_literals;

AIO_TEST_SUITE(fs_write_behind_thread_test);

AIO_TEST(fs_write_behind_thread_test, many_small_writes_land_in_order) {
  temp_dir d;
  const std::string data = fs::test::pattern(3 * mib + 12345, 7);
  auto f = co_await fs::open(d / "w", "w+");
  // Pieces of every size from 1 byte to ~8 KiB, so blocks fill unevenly.
  std::size_t at = 0;
  for (std::size_t i = 1; at < data.size(); ++i) {
    std::size_t n = std::min((i * 37) % 8191 + 1, data.size() - at);
    EXPECT_EQ(co_await f.write(std::string_view(data).substr(at, n)), n);
    at += n;
    CO_ASSERT_EQ(f.tell(), at);
  }
  EXPECT_EQ(co_await f.pread(100, 1000), data.substr(1000, 100));  // waits for the queue
  EXPECT_EQ((co_await f.stat()).size, data.size());
  co_await f.seek(0);
  const std::string back = co_await f.read();
  EXPECT_EQ(fs::test::checksum(back), fs::test::checksum(data));
  co_await f.close();
  EXPECT_EQ(fs::test::checksum(co_await fs::read_file(d / "w")), fs::test::checksum(data));
}

AIO_TEST(fs_write_behind_thread_test, mixed_sizes_small_and_staged_land_in_order) {
  // Writes under 8 KiB are copied into the tail block; larger ones are
  // staged in whole blocks: interleaved, with seeks back and forth.
  temp_dir d;
  std::string want = fs::test::pattern(5 * mib, 19);
  const std::string src = fs::test::pattern(5 * mib, 23);
  auto f = co_await fs::open(d / "x", "w+");
  co_await f.write(want);  // the base content, written directly (above the threshold)
  std::uint64_t at = 0;
  for (std::size_t i = 0; i < 200; ++i) {
    std::size_t n = (i % 3 == 0) ? (i * 7919) % 300000 + 1 : (i * 131) % 9000 + 1;
    if (at + n > want.size()) at = (i * 104729) % (want.size() / 2);
    if (i % 17 == 0) co_await f.seek(static_cast<std::int64_t>(at));
    else at = f.tell();
    if (at + n > want.size()) continue;
    std::string_view piece = std::string_view(src).substr(i * 1000, n);
    co_await f.write(piece);
    want.replace(at, n, piece);
    at += n;
  }
  co_await f.seek(0);
  EXPECT_EQ(fs::test::checksum(co_await f.read()), fs::test::checksum(want));
  auto g = co_await fs::open(d / "a", "a");
  std::string appended;
  for (std::size_t i = 0; i < 50; ++i) {
    std::string_view piece = std::string_view(src).substr(i * 20000, 20000 + i);
    co_await g.write(piece);
    appended += piece;
  }
  EXPECT_EQ(g.tell(), appended.size());
  co_await g.close();
  co_await f.close();
  EXPECT_TRUE(co_await fs::read_file(d / "a") == appended);
  EXPECT_EQ(fs::test::checksum(co_await fs::read_file(d / "x")), fs::test::checksum(want));
}

AIO_TEST(fs_write_behind_thread_test, writelines_and_readline_after_seek) {
  temp_dir d;
  std::vector<std::string> lines;
  std::string all;
  for (int i = 0; i < 5000; ++i) {
    lines.push_back("line " + std::to_string(i) + "\n");
    all += lines.back();
  }
  auto f = co_await fs::open(d / "l", "w+");
  EXPECT_EQ(co_await f.writelines(lines), all.size());
  EXPECT_EQ(f.tell(), all.size());
  co_await f.seek(0);
  EXPECT_EQ(co_await f.readline(), "line 0\n");
  co_await f.seek(0, fs::whence::end);
  auto t = f.writelines({"tail\n"});
  EXPECT_EQ(co_await std::move(t), 5u);
  co_await f.close();
  EXPECT_EQ(co_await fs::read_file(d / "l"), all + "tail\n");
}

AIO_TEST(fs_write_behind_thread_test, append_mode_goes_to_the_end_and_tell_follows) {
  temp_dir d;
  co_await fs::write_file(d / "log", "start\n");
  auto f = co_await fs::open(d / "log", "a+");
  co_await f.seek(0);  // appends still go to the end
  std::string want = "start\n";
  for (int i = 0; i < 1000; ++i) {
    std::string line = "entry " + std::to_string(i) + "\n";
    co_await f.write(line);
    want += line;
    CO_ASSERT_EQ(f.tell(), want.size());
  }
  EXPECT_EQ((co_await f.stat()).size, want.size());
  EXPECT_EQ(f.tell(), want.size());
  co_await f.seek(0);
  EXPECT_EQ(co_await f.read(), want);
  co_await f.close();
  EXPECT_EQ(co_await fs::read_file(d / "log"), want);
}

AIO_TEST(fs_write_behind_thread_test, append_tell_follows_a_direct_write_between_queued_ones) {
  // A write of 1 MiB or more bypasses the queue; the next queued append must
  // know the end it left.
  temp_dir d;
  auto f = co_await fs::open(d / "mix", "a");
  const std::string big(1 << 20, 'B');
  co_await f.write("small1\n");
  co_await f.write(big);
  EXPECT_EQ(f.tell(), 7 + big.size());
  co_await f.write("small2\n");
  EXPECT_EQ(f.tell(), 14 + big.size());
  co_await f.write("small3\n");
  EXPECT_EQ(f.tell(), 21 + big.size());
  co_await f.close();
  EXPECT_EQ(co_await fs::read_file(d / "mix"), "small1\n" + big + "small2\nsmall3\n");
}

AIO_TEST(fs_write_behind_thread_test, interleaved_write_pread_write) {
  temp_dir d;
  auto f = co_await fs::open(d / "i", "w+");
  co_await f.write("abc");
  EXPECT_EQ(co_await f.pread(10, 0), "abc");
  co_await f.write("def");
  EXPECT_EQ(co_await f.pread(10, 0), "abcdef");
  co_await f.pwrite("XY", 1);  // not queued: after the queue
  co_await f.write("ghi");
  EXPECT_EQ(co_await f.pread(10, 0), "aXYdefghi");
  co_await f.seek(2);
  co_await f.write("__");  // over bytes already written
  co_await f.truncate(8);
  co_await f.close();
  EXPECT_EQ(co_await fs::read_file(d / "i"), "aX__efgh");
}

AIO_TEST(fs_write_behind_thread_test, a_large_write_after_small_ones_keeps_the_order) {
  temp_dir d;
  const std::string big = fs::test::pattern(3 * mib, 3);  // above the threshold: written directly
  auto f = co_await fs::open(d / "m", "w");
  std::string want;
  for (int i = 0; i < 100; ++i) {
    std::string s = "small " + std::to_string(i) + "\n";
    co_await f.write(s);
    want += s;
  }
  co_await f.write(big);
  want += big;
  co_await f.write("after\n");
  want += "after\n";
  co_await f.seek(10);  // a seek in the middle of the queue changes where the next write goes
  co_await f.write("SEEK");
  want.replace(10, 4, "SEEK");
  co_await f.close();
  const std::string back = co_await fs::read_file(d / "m");
  EXPECT_EQ(back.size(), want.size());
  EXPECT_TRUE(back == want);
}

AIO_TEST(fs_write_behind_thread_test, a_write_past_the_high_water_mark_waits_for_the_writer) {
  temp_dir d;
  auto f = co_await fs::open(d / "b", "w");
  const std::string chunk = fs::test::pattern(64 * kib, 9);
  int done = 0;
  {
    pool_blocker pool;
    const bool held = co_await pool.held();
    CO_ASSERT_TRUE(held);
    aio::task_handle<> writer = co_await writer_at_high_water(f, chunk, done);
    pool.release();
    co_await writer;
  }
  EXPECT_EQ(done, 80);
  co_await f.close();
  const std::string back = co_await fs::read_file(d / "b");
  CO_ASSERT_EQ(back.size(), 80 * chunk.size());
  EXPECT_TRUE(back.substr(79 * chunk.size()) == chunk);
}

AIO_TEST(fs_write_behind_thread_test, a_cancelled_waiting_write_writes_nothing) {
  temp_dir d;
  auto f = co_await fs::open(d / "c", "w+");
  const std::string chunk(64 * kib, 'a');
  const std::string other(64 * kib, 'b');
  int done = 0;
  {
    pool_blocker pool;
    const bool held = co_await pool.held();
    CO_ASSERT_TRUE(held);
    aio::task_handle<> writer = co_await writer_at_high_water(f, chunk, done);
    writer.cancel();
    EXPECT_TRUE(co_await ended_cancelled(writer));
    EXPECT_EQ(f.tell(), 64 * chunk.size());  // the cancelled write did not move it
    pool.release();
  }
  // The file stays usable: what was queued is there, then the next write.
  co_await f.write(other);
  EXPECT_EQ((co_await f.stat()).size, 65 * chunk.size());
  EXPECT_EQ(co_await f.pread(4, 64 * chunk.size() - 2), "aabb");
  co_await f.close();
  EXPECT_EQ((co_await fs::read_file(d / "c")).size(), 65 * chunk.size());
}

AIO_TEST(fs_write_behind_thread_test, a_write_waiting_when_another_task_closes_the_file_is_refused) {
  // Overlapping a write with close is the caller's race; it must not queue
  // bytes for an fd being closed (or reused), nor touch the freed queue.
  temp_dir d;
  auto f = co_await fs::open(d / "wc", "w");
  const std::string chunk(64 * kib, 'c');
  int done = 0;
  aio::task_handle<> writer;
  aio::task_handle<> closer;
  {
    pool_blocker pool;
    const bool held = co_await pool.held();
    CO_ASSERT_TRUE(held);
    writer = co_await writer_at_high_water(f, chunk, done);
    closer = aio::create_task(close_file(f));
    co_await aio::sleep(std::chrono::seconds(0));
    pool.release();
  }
  co_await closer;  // the 64 queued chunks are written, the fd closed
  std::string what = "no error";
  try {
    co_await writer;
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EBADF);
    what = e.what();
  }
  EXPECT_EQ(what, "write '" + d / "wc" + "': Bad file descriptor");
  EXPECT_EQ(done, 64);
  EXPECT_FALSE(f.is_open());
  EXPECT_EQ((co_await fs::stat(d / "wc")).size, 64 * chunk.size());
}

AIO_TEST(fs_write_behind_thread_test, a_moved_file_keeps_its_queue) {
  temp_dir d;
  auto f = co_await fs::open(d / "mv", "w");
  co_await f.write("one ");
  fs::file g = std::move(f);
  EXPECT_FALSE(f.is_open());
  co_await g.write("two ");
  fs::file h;
  h = std::move(g);
  co_await h.write("three");
  EXPECT_EQ(h.tell(), 13u);
  co_await h.close();
  EXPECT_EQ(co_await fs::read_file(d / "mv"), "one two three");
}

AIO_TEST(fs_write_behind_thread_test, opened_without_write_behind_each_write_is_in_the_kernel) {
  temp_dir d;
  fs::open_options direct;
  direct.write_behind = false;
  auto f = co_await fs::open(d / "o", "w", direct);
  co_await f.write("seen");
  EXPECT_EQ(std::filesystem::file_size(d / "o"), 4u);
  fs::open_options sync;
  sync.sync = true;  // O_SYNC: never queued
  auto g = co_await fs::open(d / "s", "w", sync);
  co_await g.write("now");
  EXPECT_EQ(std::filesystem::file_size(d / "s"), 3u);
  co_await f.close();
  co_await g.close();
}
