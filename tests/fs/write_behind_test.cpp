// SPDX-License-Identifier: MIT
// Write-behind of regular files: small writes queue and return at once; the
// bytes land in order; every other call waits for the queue; backpressure at
// the high-water mark (observed by a second task while the internal pool is
// held busy, so the writer provably cannot run); deferred errors (EFBIG under
// RLIMIT_FSIZE) thrown once with the path; destructor, move, cancellation.

#include <signal.h>
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/sleep.hpp"
#include "aio/exec/thread_pool_executor.hpp"
#include "aio/fs/file.hpp"
#include "aio/fs/read_file.hpp"
#include "aio/net/subprocess.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::caught;
using fs::test::error_of;
using fs::test::temp_dir;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kib = 1024;
constexpr std::size_t mib = 1024 * kib;

// Holds every thread of the library's internal pool (4) on a latch, so that
// the writer job, queued behind them, cannot run until release().
class pool_blocker {
 public:
  pool_blocker() {
    for (int i = 0; i < threads; ++i)
      jobs_.push_back(aio::detail::internal_executor().submit([this] {
        started_.fetch_add(1);
        gate_.wait();
      }));
  }
  ~pool_blocker() {
    release();
    for (auto& j : jobs_) j.result();  // they end at once: none may outlive this
  }
  pool_blocker(const pool_blocker&) = delete;
  /// True once every pool thread is held (polled, bounded).
  aio::task<bool> held() {
    for (int i = 0; i < 5000 && started_.load() < threads; ++i) co_await aio::sleep(1ms);
    co_return started_.load() == threads;
  }
  void release() {
    if (!released_) gate_.count_down();
    released_ = true;
  }

 private:
  static constexpr int threads = 4;
  std::atomic<int> started_{0};
  std::latch gate_{1};
  bool released_ = false;
  std::vector<aio::concurrent_future<void>> jobs_;
};

// Writes `n` copies of `chunk`, counting each completed write.
aio::task<> write_chunks(fs::file& f, std::string_view chunk, int n, int& done) {
  for (int i = 0; i < n; ++i) {
    co_await f.write(chunk);
    ++done;
  }
}

aio::task<> flush_file(fs::file& f) { co_await f.flush(); }
aio::task<> close_file(fs::file& f) { co_await f.close(); }

// The size of `path` once it is `want`, or after five seconds.
aio::task<std::uintmax_t> settled_size(std::filesystem::path path, std::uintmax_t want) {
  std::error_code ec;
  std::uintmax_t n = std::filesystem::file_size(path, ec);
  for (int i = 0; i < 5000 && (ec || n != want); ++i) {
    co_await aio::sleep(1ms);
    n = std::filesystem::file_size(path, ec);
  }
  co_return ec ? 0 : n;
}

// RLIMIT_FSIZE at `limit` with SIGXFSZ ignored (so a write past it fails
// with EFBIG instead of killing the process); both restored on destruction.
class file_size_limit {
 public:
  explicit file_size_limit(rlim_t limit) {
    ::getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit r = old_;
    r.rlim_cur = limit;
    ::setrlimit(RLIMIT_FSIZE, &r);
  }
  ~file_size_limit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }
  file_size_limit(const file_size_limit&) = delete;

 private:
  rlimit old_{};
  sighandler_t old_handler_ = SIG_DFL;
};

}  // namespace

AIO_TEST_SUITE(fs_write_behind_test);

AIO_TEST(fs_write_behind_test, many_small_writes_land_in_order) {
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

AIO_TEST(fs_write_behind_test, mixed_sizes_small_and_staged_land_in_order) {
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

AIO_TEST(fs_write_behind_test, writelines_and_readline_after_seek) {
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

AIO_TEST(fs_write_behind_test, append_mode_goes_to_the_end_and_tell_follows) {
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

AIO_TEST(fs_write_behind_test, interleaved_write_pread_write) {
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

AIO_TEST(fs_write_behind_test, a_large_write_after_small_ones_keeps_the_order) {
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

AIO_TEST(fs_write_behind_test, a_write_past_the_high_water_mark_waits_for_the_writer) {
  temp_dir d;
  auto f = co_await fs::open(d / "b", "w");
  const std::string chunk = fs::test::pattern(64 * kib, 9);
  int done = 0;
  {
    pool_blocker pool;
    const bool held = co_await pool.held();
    CO_ASSERT_TRUE(held);
    auto writer = aio::create_task(write_chunks(f, chunk, 80, done));
    for (int i = 0; i < 5; ++i) co_await aio::sleep(0s);
    // 64 writes (4 MiB) were queued without suspending; the 65th waits.
    EXPECT_EQ(done, 64);
    EXPECT_FALSE(writer.done());
    pool.release();
    co_await writer;
  }
  EXPECT_EQ(done, 80);
  co_await f.close();
  const std::string back = co_await fs::read_file(d / "b");
  CO_ASSERT_EQ(back.size(), 80 * chunk.size());
  EXPECT_TRUE(back.substr(79 * chunk.size()) == chunk);
}

AIO_TEST(fs_write_behind_test, a_cancelled_waiting_write_writes_nothing) {
  temp_dir d;
  auto f = co_await fs::open(d / "c", "w+");
  const std::string chunk(64 * kib, 'a');
  const std::string other(64 * kib, 'b');
  int done = 0;
  {
    pool_blocker pool;
    const bool held = co_await pool.held();
    CO_ASSERT_TRUE(held);
    auto writer = aio::create_task(write_chunks(f, chunk, 80, done));
    for (int i = 0; i < 5; ++i) co_await aio::sleep(0s);
    EXPECT_EQ(done, 64);
    writer.cancel();
    bool cancelled = false;
    try {
      co_await writer;
    } catch (const aio::cancelled_error&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
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

AIO_TEST(fs_write_behind_test, a_failed_queued_write_is_thrown_by_flush_once) {
  temp_dir d;
  const std::string data = fs::test::pattern(128 * kib, 11);
  const std::string path = d / "big";
  auto f = co_await fs::open(path, "w");
  caught c;
  {
    file_size_limit limit(64 * kib);
    {
      pool_blocker pool;  // every write is queued before the writer starts
      const bool held = co_await pool.held();
      CO_ASSERT_TRUE(held);
      for (std::size_t at = 0; at < data.size(); at += 4 * kib)
        EXPECT_EQ(co_await f.write(std::string_view(data).substr(at, 4 * kib)), 4 * kib);  // queued: no error yet
    }
    c = co_await error_of(f.flush());
  }
  EXPECT_EQ(c.err, EFBIG);
  EXPECT_EQ(c.what, "write '" + path + "': File too large");
  EXPECT_EQ(f.tell(), 64 * kib);  // where the failed write stopped
  EXPECT_EQ((co_await error_of(f.flush())).what, "no error");  // once
  co_await f.close();
  const std::string back = co_await fs::read_file(path);
  EXPECT_EQ(back.size(), 64 * kib);
  EXPECT_TRUE(back == data.substr(0, 64 * kib));
}

AIO_TEST(fs_write_behind_test, a_failed_queued_write_is_thrown_by_close_and_the_fd_is_released) {
  temp_dir d;
  const int fds = fs::test::open_fd_count();
  const std::string path = d / "big";
  auto f = co_await fs::open(path, "w");
  caught c;
  {
    file_size_limit limit(64 * kib);
    {
      pool_blocker pool;
      const bool held = co_await pool.held();
      CO_ASSERT_TRUE(held);
      const std::string piece(4 * kib, 'z');
      for (int i = 0; i < 32; ++i) co_await f.write(piece);
    }
    c = co_await error_of(f.close());
  }
  EXPECT_EQ(c.err, EFBIG);
  EXPECT_EQ(c.what, "write '" + path + "': File too large");
  EXPECT_FALSE(f.is_open());
  EXPECT_EQ(fs::test::open_fd_count(), fds);
  EXPECT_EQ((co_await fs::read_file(path)).size(), 64 * kib);
  // After the error the next file writes normally.
  auto g = co_await fs::open(path, "a");
  co_await g.write("more");
  co_await g.close();
  EXPECT_EQ((co_await fs::read_file(path)).size(), 64 * kib + 4);
}

AIO_TEST(fs_write_behind_test, the_next_call_of_any_kind_reports_the_error) {
  temp_dir d;
  const std::string path = d / "big";
  auto f = co_await fs::open(path, "w+");
  caught c;
  {
    file_size_limit limit(16 * kib);
    {
      pool_blocker pool;
      const bool held = co_await pool.held();
      CO_ASSERT_TRUE(held);
      const std::string piece(4 * kib, 'q');
      for (int i = 0; i < 8; ++i) co_await f.write(piece);
    }
    c = co_await error_of(f.stat());
  }
  EXPECT_EQ(c.err, EFBIG);
  EXPECT_EQ(c.what, "write '" + path + "': File too large");
  EXPECT_EQ((co_await f.stat()).size, 16 * kib);
  co_await f.seek(0);
  EXPECT_EQ((co_await f.read()).size(), 16 * kib);
  co_await f.close();
}

AIO_TEST(fs_write_behind_test, a_later_write_reports_the_error_and_copies_nothing) {
  temp_dir d;
  const std::string path = d / "big";
  auto f = co_await fs::open(path, "w");
  caught c;
  std::uint64_t queued = 0;
  {
    file_size_limit limit(8 * kib);
    co_await f.write(std::string(16 * kib, 'w'));
    // Small writes keep queuing until the writer has failed; the first one
    // after that throws its error instead of queuing.
    for (int i = 0; i < 5000 && c.err == 0; ++i) {
      c = co_await error_of(f.write("x"));
      if (c.err == 0) ++queued;
      co_await aio::sleep(1ms);
    }
  }
  EXPECT_EQ(c.err, EFBIG);
  EXPECT_EQ(c.what, "write '" + path + "': File too large");
  EXPECT_EQ(f.tell(), 8 * kib);  // where the failed write stopped; what came after was dropped
  co_await f.write("after");      // the file stays usable
  co_await f.close();
  EXPECT_EQ(co_await fs::read_file(path), std::string(8 * kib, 'w') + "after");
}

AIO_TEST(fs_write_behind_test, the_destructor_writes_the_queue_then_closes) {
  temp_dir d;
  const int fds = fs::test::open_fd_count();
  const std::string data = fs::test::pattern(2 * mib + 3, 13);
  {
    auto f = co_await fs::open(d / "dropped", "w");
    for (std::size_t at = 0; at < data.size(); at += 1000) co_await f.write(std::string_view(data).substr(at, 1000));
  }  // no close
  EXPECT_EQ(co_await settled_size(d / "dropped", data.size()), data.size());
  EXPECT_EQ(co_await fs::test::settled_fd_count(fds), fds);
  EXPECT_TRUE(co_await fs::read_file(d / "dropped") == data);
}

AIO_TEST(fs_write_behind_test, a_file_dropped_just_before_exit_is_still_written) {
  constexpr const char* child_env = "AIO_FS_TEST_WRITE_BEHIND_FILE";
  const std::string data = fs::test::pattern(3 * mib, 21);  // under the high-water mark: all of it queued
  if (const char* path = std::getenv(child_env)) {
    // The child: every pool thread busy for a while (so the writer has not
    // started when main ends), 3 MiB queued, the file dropped, then exit at
    // once.
    static std::atomic<int> busy{0};
    for (int i = 0; i < 4; ++i)
      aio::detail::internal_executor().submit([] {
        busy.fetch_add(1);
        std::this_thread::sleep_for(300ms);
      });
    for (int i = 0; i < 5000 && busy.load() < 4; ++i) co_await aio::sleep(1ms);
    {
      auto f = co_await fs::open(path, "w");
      for (std::size_t at = 0; at < data.size(); at += 4 * kib) co_await f.write(std::string_view(data).substr(at, 4 * kib));
    }
    std::exit(0);
  }
  temp_dir d;
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  aio::subprocess_options o;
  o.stdout = aio::subprocess::pipe;
  o.stderr = aio::subprocess::stdout;
  o.extra_env[child_env] = d / "out";
  o.extra_env["ASAN_OPTIONS"] = "detect_leaks=0";  // it exits with frames still alive, on purpose
  std::vector<std::string> args(1, "--gtest_filter=*a_file_dropped_just_before_exit_is_still_written/uring");
  auto p = co_await aio::create_subprocess_exec(self, args, o);
  auto out = co_await p.communicate();
  EXPECT_EQ(co_await p.wait(), 0) << out.out;
  EXPECT_TRUE(co_await fs::read_file(d / "out") == data) << out.out;
}

AIO_TEST(fs_write_behind_test, a_moved_file_keeps_its_queue) {
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

AIO_TEST(fs_write_behind_test, a_cancelled_close_or_flush_leaves_the_queue_draining) {
  temp_dir d;
  const int fds = fs::test::open_fd_count();
  const std::string data = fs::test::pattern(512 * kib, 17);
  auto f = co_await fs::open(d / "cf", "w");
  {
    pool_blocker pool;
    const bool held = co_await pool.held();
    CO_ASSERT_TRUE(held);
    co_await f.write(data);
    auto fl = aio::create_task(flush_file(f));
    co_await aio::sleep(0s);
    EXPECT_FALSE(fl.done());  // waits for the writer, which cannot run
    fl.cancel();
    bool cancelled = false;
    try {
      co_await fl;
    } catch (const aio::cancelled_error&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_TRUE(f.is_open());
    co_await f.write(data);
    auto cl = aio::create_task(close_file(f));
    co_await aio::sleep(0s);
    EXPECT_FALSE(cl.done());
    cl.cancel();
    cancelled = false;
    try {
      co_await cl;
    } catch (const aio::cancelled_error&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_FALSE(f.is_open());  // the fd is the writer's to close now
    pool.release();
  }
  EXPECT_EQ(co_await settled_size(d / "cf", 2 * data.size()), 2 * data.size());
  EXPECT_EQ(co_await fs::test::settled_fd_count(fds), fds);
  EXPECT_TRUE(co_await fs::read_file(d / "cf") == data + data);
}

AIO_TEST(fs_write_behind_test, opened_without_write_behind_each_write_is_in_the_kernel) {
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

AIO_TEST(fs_write_behind_test, no_fd_is_leaked) {
  temp_dir d;
  const int fds = fs::test::open_fd_count();
  for (int i = 0; i < 20; ++i) {
    auto f = co_await fs::open(d / ("f" + std::to_string(i)), "w");
    co_await f.write("x");
    if (i % 2 == 0) co_await f.close();  // the odd ones: the destructor
  }
  EXPECT_EQ(co_await fs::test::settled_fd_count(fds), fds);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(co_await settled_size(d / ("f" + std::to_string(i)), 1), 1u);
}
