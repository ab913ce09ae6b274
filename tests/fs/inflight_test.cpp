// SPDX-License-Identifier: MIT
// The per-loop bound on file operations in flight (src/fs/inflight.hpp): a
// huge gather of read_file comes back whole and in order while at most
// `limit` files are open; cancelling waiters takes them out of the queue and
// leaves nothing open; the loop's timers run between the bursts; a close
// never waits; ops that block for good (an empty FIFO) cannot starve the
// queue for ever.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../../src/fs/inflight.hpp"
#include "aio/core/create_task.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/gather.hpp"
#include "aio/core/sleep.hpp"
#include "aio/core/timeout.hpp"
#include "aio/fs/file.hpp"
#include "aio/fs/in_flight.hpp"
#include "aio/fs/read_file.hpp"
#include "aio/fs/stat.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::detail::inflight;
using fs::test::temp_dir;
using namespace std::chrono_literals;

namespace {

inflight& limiter() { return inflight::of(aio::get_running_loop()); }

std::string name_of(const temp_dir& d, std::size_t i) {
  char name[16];
  std::snprintf(name, sizeof name, "f%05zu", i);
  return d / name;
}

// File i holds i % 97 * 41 bytes of pattern i (some empty, none alike).
std::string content_of(std::size_t i) { return fs::test::pattern(i % 97 * 41, static_cast<std::uint32_t>(i) + 1); }

std::vector<std::string> make_files(const temp_dir& d, std::size_t n) {
  std::vector<std::string> paths;
  paths.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    paths.push_back(name_of(d, i));
    const std::string data = content_of(i);
    int fd = ::open(paths.back().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ::close(fd);
  }
  return paths;
}

struct watch {
  bool stop = false;
  int most_fds = 0;
  std::size_t most_in_flight = 0;
  std::size_t most_waiting = 0;
};

// Samples the fds open and the limiter's counts on every loop iteration.
aio::task<> watch_fds(watch& w) {
  while (!w.stop) {
    w.most_fds = std::max(w.most_fds, fs::test::open_fd_count());
    w.most_in_flight = std::max(w.most_in_flight, limiter().in_flight());
    w.most_waiting = std::max(w.most_waiting, limiter().waiting());
    co_await aio::sleep(0s);
  }
}

// A FIFO with a writer end kept open by the test (so that opening it for
// reading does not block); a read of it waits until write_byte().
struct fifo {
  explicit fifo(const temp_dir& d) : path(d / "fifo") {
    EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0);
    writer = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    EXPECT_GE(writer, 0);
  }
  ~fifo() { ::close(writer); }
  fifo(const fifo&) = delete;
  void write_byte() const { EXPECT_EQ(::write(writer, "x", 1), 1); }
  std::string path;
  int writer = -1;
};

aio::task<std::string> read_one_byte(fs::file& f) { co_return co_await f.read(1); }

aio::task<std::size_t> stat_size(std::string path) {
  const fs::stat_result st = co_await fs::stat(path);
  co_return static_cast<std::size_t>(st.size);
}

aio::task<std::string> read_whole(std::string path) { co_return co_await fs::read_file(path); }

aio::task<std::size_t> read_all(const std::vector<std::string>& paths) {
  std::vector<aio::task<std::string>> reads;
  reads.reserve(paths.size());
  for (const std::string& p : paths) reads.push_back(read_whole(p));
  const std::vector<std::string> got = co_await aio::gather(std::move(reads));
  co_return got.size();
}

// Waits (yielding) until the limiter's counts are reached; false if never.
aio::task<bool> until(std::size_t in_flight, std::size_t waiting) {
  for (int i = 0; i < 100; ++i) {
    if (limiter().in_flight() == in_flight && limiter().waiting() == waiting) co_return true;
    co_await aio::sleep(0s);
  }
  co_return false;
}

// Cancels `t` and awaits it: true when it ended by cancelled_error.
template <class T>
aio::task<bool> cancel_and_wait(aio::task_handle<T> t) {
  t.cancel();
  try {
    co_await t;
  } catch (const aio::cancelled_error&) {
    co_return true;
  }
  co_return false;
}

// One slot, and no stall guard before the test is over: a queued op stays queued.
void hold_the_queue() {
  limiter().set_stall_after(std::chrono::hours(1));
  limiter().set_limit(1);
}

// The bound cut to one slot, held by a read of an empty FIFO until finish().
struct slot_holder {
  explicit slot_holder(const temp_dir& d) : pipe(d) {}
  // `keep_queued`: no stall guard either (hold_the_queue). False if the read never got the slot.
  aio::task<bool> start(bool keep_queued) {
    f = co_await fs::open(pipe.path, "rb");
    if (keep_queued) hold_the_queue(); else limiter().set_limit(1);
    reader = aio::create_task(read_one_byte(f));
    const bool holds = co_await until(1, 0);
    co_return holds;
  }
  // Writes the byte the read waits for; true when it got it. Closes the FIFO.
  aio::task<bool> finish() {
    pipe.write_byte();
    const std::string got = co_await reader;
    co_await f.close();
    co_return got == "x";
  }
  fifo pipe;
  fs::file f;
  aio::task_handle<std::string> reader;
};

}  // namespace

AIO_TEST_SUITE(fs_inflight_test);

AIO_TEST(fs_inflight_test, ten_thousand_files_at_once_come_back_exact_in_order_within_the_bound) {
  temp_dir d;
  const std::vector<std::string> paths = make_files(d, 10'000);
  const int baseline = fs::test::baseline_fd_count();
  watch w;
  auto watcher = aio::create_task(watch_fds(w));
  std::vector<aio::task<std::string>> reads;
  reads.reserve(paths.size());
  for (const std::string& p : paths) reads.push_back(read_whole(p));
  const std::vector<std::string> got = co_await aio::gather(std::move(reads));
  w.stop = true;
  co_await watcher;
  CO_ASSERT_EQ(got.size(), paths.size());
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < got.size(); ++i) wrong += got[i] == content_of(i) ? 0 : 1;
  EXPECT_EQ(wrong, 0u);
  const std::size_t limit = limiter().limit();
  EXPECT_LE(w.most_in_flight, limit + 4);  // + a few let through by the stall guard on a loaded machine
  EXPECT_GT(w.most_waiting, 0u);  // the bound was reached: the rest queued
  EXPECT_LE(w.most_fds, baseline + static_cast<int>(limit) + 8) << "baseline " << baseline;
  EXPECT_EQ(limiter().in_flight(), 0u);
  EXPECT_EQ(limiter().waiting(), 0u);
  EXPECT_EQ(fs::test::open_fd_count(), baseline);
}

AIO_TEST(fs_inflight_test, a_cancelled_gather_of_read_files_leaves_no_fd_and_nothing_queued) {
  temp_dir d;
  const std::vector<std::string> paths = make_files(d, 2'000);
  const int baseline = fs::test::baseline_fd_count();
  for (int yields = 0; yields < 6; ++yields) {
    auto all = aio::create_task(read_all(paths));
    for (int i = 0; i < yields; ++i) co_await aio::sleep(0s);
    EXPECT_TRUE(co_await cancel_and_wait(all)) << "after " << yields << " yields";  // 2,000 take longer
    EXPECT_EQ(limiter().in_flight(), 0u) << "after " << yields << " yields";
    EXPECT_EQ(limiter().waiting(), 0u) << "after " << yields << " yields";
    EXPECT_EQ(co_await fs::test::settled_fd_count(baseline), baseline) << "after " << yields << " yields";
  }
}

namespace {
struct burst_clock {
  int ticks = 0;
  int first_done = -1;  // ticks when the first read finished
  int last_done = -1;
  bool stop = false;
};

aio::task<> ticker(burst_clock& c) {
  while (!c.stop) {
    co_await aio::sleep(1ms);
    ++c.ticks;
  }
}

aio::task<std::size_t> read_and_note(std::string path, burst_clock& c) {
  const std::string data = co_await fs::read_file(path);
  if (c.first_done < 0) c.first_done = c.ticks;
  c.last_done = c.ticks;
  co_return data.size();
}
}  // namespace

AIO_TEST(fs_inflight_test, a_timer_keeps_firing_during_a_burst_of_reads) {
  // All at once, 2,000 opens went to the kernel in one submission, and every
  // read finished in the same loop iteration: the ticker waited for all of
  // them. Bounded, the burst is split and the timer fires in between.
  temp_dir d;
  const std::vector<std::string> paths = make_files(d, 2'000);
  burst_clock c;
  auto tick = aio::create_task(ticker(c));
  co_await aio::sleep(0s);
  std::vector<aio::task<std::size_t>> reads;
  for (const std::string& p : paths) reads.push_back(read_and_note(p, c));
  const std::vector<std::size_t> sizes = co_await aio::gather(std::move(reads));
  c.stop = true;
  co_await tick;
  EXPECT_EQ(sizes.size(), paths.size());
  EXPECT_GT(c.last_done, c.first_done) << "the ticker did not run between the first and the last read";
}

AIO_TEST(fs_inflight_test, a_queued_op_cancelled_leaves_the_queue_holding_nothing) {
  temp_dir d;
  slot_holder blocked(d);
  CO_ASSERT_TRUE(co_await blocked.start(true));
  auto queued = aio::create_task(stat_size(blocked.pipe.path));
  CO_ASSERT_TRUE(co_await until(1, 1));
  EXPECT_TRUE(co_await cancel_and_wait(queued));
  EXPECT_EQ(limiter().waiting(), 0u);
  EXPECT_EQ(limiter().in_flight(), 1u);  // the cancelled op took no slot
  EXPECT_TRUE(co_await blocked.finish());
  EXPECT_EQ(limiter().in_flight(), 0u);
}

AIO_TEST(fs_inflight_test, a_read_file_queued_behind_a_full_bound_is_cancelled_cleanly) {
  temp_dir d;
  const std::vector<std::string> paths = make_files(d, 3);
  slot_holder blocked(d);
  CO_ASSERT_TRUE(co_await blocked.start(true));
  const int baseline = fs::test::baseline_fd_count();
  auto queued = aio::create_task(read_whole(paths[2]));
  CO_ASSERT_TRUE(co_await until(1, 1));
  EXPECT_TRUE(co_await cancel_and_wait(queued));
  EXPECT_EQ(limiter().waiting(), 0u);
  EXPECT_EQ(fs::test::open_fd_count(), baseline);  // it never opened its file
  EXPECT_TRUE(co_await blocked.finish());
  // The bound is free again: a read_file goes through at once.
  EXPECT_EQ(co_await fs::read_file(paths[2]), content_of(2));
}

AIO_TEST(fs_inflight_test, a_close_never_waits_for_a_slot) {
  temp_dir d;
  const std::vector<std::string> paths = make_files(d, 1);
  fs::file other = co_await fs::open(paths[0], "rb");
  slot_holder blocked(d);
  CO_ASSERT_TRUE(co_await blocked.start(true));
  const int baseline = fs::test::baseline_fd_count();
  auto closing = aio::create_task(other.close());
  co_await aio::sleep(0s);
  EXPECT_EQ(limiter().waiting(), 0u);  // not queued behind the blocked read
  co_await closing;
  EXPECT_EQ(fs::test::open_fd_count(), baseline - 1);
  EXPECT_TRUE(co_await blocked.finish());
}

AIO_TEST(fs_inflight_test, ops_blocked_for_good_cannot_starve_the_queue) {
  // Every slot is held by a read that waits for a writer; the op that would
  // end the wait is queued. After stall_after without a completion the first
  // waiter starts anyway.
  temp_dir d;
  const std::vector<std::string> paths = make_files(d, 1);
  slot_holder blocked(d);
  CO_ASSERT_TRUE(co_await blocked.start(false));
  const std::size_t size = co_await aio::wait_for(stat_size(paths[0]), 5s);
  EXPECT_EQ(size, content_of(0).size());
  EXPECT_FALSE(blocked.reader.done());  // still waiting: the stat went past the bound
  EXPECT_TRUE(co_await blocked.finish());
  EXPECT_EQ(limiter().in_flight(), 0u);
  EXPECT_EQ(limiter().waiting(), 0u);
}

AIO_TEST(fs_inflight_test, waiters_start_in_fifo_order_as_slots_free_up) {
  temp_dir d;
  const std::vector<std::string> paths = make_files(d, 20);
  slot_holder blocked(d);
  CO_ASSERT_TRUE(co_await blocked.start(true));
  std::vector<int> order;
  std::vector<aio::task_handle<>> tasks;
  for (int i = 0; i < 20; ++i)
    tasks.push_back(aio::create_task([](std::string p, std::vector<int>& out, int me) -> aio::task<> {
      co_await fs::read_file(p);
      out.push_back(me);
    }(paths[static_cast<std::size_t>(i)], order, i)));
  CO_ASSERT_TRUE(co_await until(1, 20));  // all queued, in creation order
  EXPECT_TRUE(co_await blocked.finish());
  for (auto& t : tasks) co_await t;
  // One slot: each read_file runs alone, in the order it queued.
  std::vector<int> expected(20);
  for (int i = 0; i < 20; ++i) expected[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(order, expected);
}

namespace {
aio::task<std::vector<std::size_t>> stat_all(std::vector<std::string> paths) {
  std::vector<aio::task<std::size_t>> stats;
  for (const std::string& p : paths) stats.push_back(stat_size(p));
  co_return co_await aio::gather(std::move(stats));
}
}  // namespace

AIO_TEST(fs_inflight_test, every_file_call_counts_against_the_bound) {
  temp_dir d;
  const std::vector<std::string> paths = make_files(d, 300);
  limiter().set_limit(4);
  watch w;
  auto watcher = aio::create_task(watch_fds(w));
  const std::vector<std::size_t> sizes = co_await stat_all(paths);
  w.stop = true;
  co_await watcher;
  CO_ASSERT_EQ(sizes.size(), paths.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) EXPECT_EQ(sizes[i], content_of(i).size()) << i;
  EXPECT_LE(w.most_in_flight, 4u + 2u);  // + what the stall guard may let through on a loaded machine
  EXPECT_GT(w.most_waiting, 200u);
}

AIO_TEST(fs_inflight_test, read_file_cancelled_at_every_point_leaves_no_fd_and_no_slot) {
  temp_dir d;
  const std::string path = d / "big";
  const std::string data = fs::test::pattern(1u << 20, 3);
  {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CO_ASSERT_TRUE(fd >= 0);
    EXPECT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ::close(fd);
  }
  limiter().set_limit(1);  // and one more reader in front, so the wait for the slot is a point too
  co_await fs::test::cancel_at_every_point(
      [&] {
        return [](std::string p) -> aio::task<> {
          auto first = aio::create_task(read_whole(p));
          co_await aio::sleep(0s);  // first takes the slot: second waits for it
          try {
            const std::string second = co_await read_whole(p);
          } catch (...) {
            first.cancel();  // not left running past the test
            throw;
          }
          co_await first;
        }(path);
      },
      10);
  // The last cancelled `first` unwinds once its op is back.
  bool idle = false;
  for (int i = 0; i < 2000 && !idle; ++i) {
    idle = limiter().in_flight() == 0 && limiter().waiting() == 0;
    if (!idle) co_await aio::sleep(1ms);
  }
  EXPECT_TRUE(idle) << limiter().in_flight() << " in flight, " << limiter().waiting() << " waiting";
}

AIO_TEST(fs_inflight_test, the_bound_is_read_and_set_through_the_public_calls) {
  const bool uring = aio::get_running_loop().backend_name() == "io_uring";
  EXPECT_EQ(fs::max_in_flight(), uring ? 64u : 128u);
  bool refused = false;
  try {
    fs::set_max_in_flight(0);
  } catch (const std::invalid_argument&) {
    refused = true;
  }
  EXPECT_TRUE(refused);
  EXPECT_EQ(fs::max_in_flight(), uring ? 64u : 128u);
  // A raise starts waiting calls at once, while the one holding the only
  // slot still waits.
  temp_dir d;
  const std::vector<std::string> paths = make_files(d, 1);
  slot_holder blocked(d);
  CO_ASSERT_TRUE(co_await blocked.start(true));
  auto queued = aio::create_task(stat_size(paths[0]));
  CO_ASSERT_TRUE(co_await until(1, 1));
  fs::set_max_in_flight(2);
  EXPECT_EQ(fs::max_in_flight(), 2u);
  EXPECT_EQ(limiter().waiting(), 0u);
  EXPECT_EQ(co_await queued, content_of(0).size());
  EXPECT_FALSE(blocked.reader.done());
  EXPECT_TRUE(co_await blocked.finish());
}
