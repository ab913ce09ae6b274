// SPDX-License-Identifier: MIT
// io_uring ops newer than the ring's minimum kernel (5.11): mkdirat,
// symlinkat, linkat (5.15) and ftruncate (6.9). On a kernel without them the
// backend answers EOPNOTSUPP at once and the call runs on the internal pool.
// AIO_URING_WITHOUT makes this kernel pretend, in a child of this binary.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "aio/core/create_task.hpp"
#include "aio/core/sleep.hpp"
#include "aio/fs/directory.hpp"
#include "aio/fs/file.hpp"
#include "aio/fs/link.hpp"
#include "aio/fs/read_file.hpp"
#include "aio/fs/stat.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"
#include "write_behind_util.hpp"

namespace fs = aio::fs;
using fs::test::temp_dir;
using namespace std::chrono_literals;

namespace {
constexpr const char* without_env = "AIO_URING_WITHOUT";

// With the internal pool held, `call` must wait (it went to the pool), then
// finish once the pool is released.
aio::task<bool> waits_for_the_pool(aio::task<> call) {
  fs::test::pool_blocker pool;
  if (!co_await pool.held()) co_return false;
  auto t = aio::create_task(std::move(call));
  co_await aio::sleep(50ms);
  const bool waited = !t.done();
  pool.release();
  co_await t;
  co_return waited;
}

aio::task<> truncate_to(std::string path, std::uint64_t size) {
  auto f = co_await fs::open(path, "r+");
  co_await f.truncate(size);
  co_await f.close();
}
}  // namespace

AIO_TEST_SUITE(fs_late_ops_test);

AIO_TEST(fs_late_ops_test, ops_the_kernel_lacks_run_on_the_pool) {
  if (std::getenv(without_env)) {  // the child, on io_uring
    temp_dir d;
    EXPECT_TRUE(co_await waits_for_the_pool(fs::mkdir(d / "dir")));
    EXPECT_TRUE((co_await fs::stat(d / "dir")).is_dir());
    co_await fs::write_file(d / "file", "0123456789");
    EXPECT_TRUE(co_await waits_for_the_pool(fs::symlink("file", d / "sym")));
    EXPECT_EQ(co_await fs::readlink(d / "sym"), "file");
    EXPECT_TRUE(co_await waits_for_the_pool(fs::link(d / "file", d / "hard")));
    EXPECT_EQ((co_await fs::stat(d / "hard")).nlink, 2u);
    auto f = co_await fs::open(d / "file", "r+");
    EXPECT_TRUE(co_await waits_for_the_pool(f.truncate(4)));
    co_await f.close();
    EXPECT_EQ(co_await fs::read_file(d / "file"), "0123");
    // Errors keep their meaning on the pool path.
    auto again = co_await fs::test::error_of(fs::mkdir(d / "dir"));
    EXPECT_EQ(again.err, EEXIST);
    co_await truncate_to(d / "hard", 2);
    EXPECT_EQ(co_await fs::read_file(d / "file"), "01");
    co_return;
  }
  auto child = co_await fs::test::run_self_as_child(without_env, "mkdirat,symlinkat,linkat,ftruncate",
                                                    "ops_the_kernel_lacks_run_on_the_pool");
  EXPECT_EQ(child.status, 0) << child.out;
  EXPECT_NE(child.out.find("[  PASSED  ] 1 test"), std::string::npos) << child.out;
}
