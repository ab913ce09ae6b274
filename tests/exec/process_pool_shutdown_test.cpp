// SPDX-License-Identifier: MIT
// process_pool_executor shutdown: waiting, cancel_futures, the deadline, the
// destructor's deadline; no zombie and no descriptor left; many small jobs.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "process_test_jobs.hpp"

using namespace std::chrono_literals;
using namespace ptest;

AIO_TEST_SUITE(process_pool_shutdown_test);

AIO_TEST(process_pool_shutdown_test, shutdown_waits_for_queued_and_running_jobs) {
  aio::process_pool_executor pool(1);
  std::vector<aio::concurrent_future<int>> fs;
  for (int i = 0; i < 3; ++i) fs.push_back(pool.submit(nap, 30 + i));
  while (pool.worker_pids().empty()) co_await aio::sleep(1ms);
  auto pids = pool.worker_pids();
  pool.shutdown();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(fs[i].done());
    EXPECT_EQ(co_await fs[i], 30 + i);
  }
  EXPECT_TRUE(pool.worker_pids().empty());
  for (pid_t p : pids) EXPECT_TRUE(gone(p));
  EXPECT_THROW(pool.submit(add, 1, 2), aio::invalid_state_error);
  pool.shutdown();  // idempotent
}

AIO_TEST(process_pool_shutdown_test, shutdown_with_cancel_futures_drops_the_queue) {
  aio::process_pool_options o;
  o.max_workers = 1;
  o.pipeline_depth = 1;  // nothing waits inside the worker
  aio::process_pool_executor pool(o);
  scratch_dir dir;
  auto running = pool.submit(mark_and_nap, dir / "running", 200);
  auto q1 = pool.submit(touch, dir / "q1");
  auto q2 = pool.submit(touch, dir / "q2");
  co_await wait_for_file(dir / "running");
  pool.shutdown(true, true);
  EXPECT_EQ(co_await running, 200);
  EXPECT_TRUE(q1.cancelled());
  EXPECT_TRUE(q2.cancelled());
  EXPECT_THROW(co_await q1, aio::cancelled_error);
  EXPECT_THROW(co_await q2, aio::cancelled_error);
  EXPECT_EQ(::access((dir / "q1").c_str(), F_OK), -1);
}

AIO_TEST(process_pool_shutdown_test, shutdown_without_wait_lets_the_jobs_finish) {
  auto pool = std::make_unique<aio::process_pool_executor>(1);
  auto a = pool->submit(nap, 50);
  auto b = pool->submit(add, 2, 3);
  pool->shutdown(false);
  EXPECT_THROW(pool->submit(add, 1, 2), aio::invalid_state_error);
  EXPECT_EQ(co_await a, 50);
  EXPECT_EQ(co_await b, 5);
  pool.reset();
}

AIO_TEST(process_pool_shutdown_test, the_deadline_kills_busy_workers) {
  aio::process_pool_executor pool(2);
  scratch_dir dir;
  auto slow = pool.submit(mark_and_nap, dir / "slow", 30'000);
  auto queued1 = pool.submit(nap, 30'000);
  auto queued2 = pool.submit(nap, 1);
  co_await wait_for_file(dir / "slow");
  while (pool.worker_pids().size() < 2) co_await aio::sleep(1ms);
  auto pids = pool.worker_pids();
  pool.shutdown(true, false, 100ms);  // the deadline, not the jobs' 30 s: the errors below say so
  try {
    co_await slow;
    ADD_FAILURE() << "no error";
  } catch (const aio::broken_process_pool_error& e) {
    EXPECT_EQ(e.signal(), SIGKILL);
    EXPECT_NE(std::string(e.what()).find("shutdown deadline"), std::string::npos) << e.what();
  }
  // queued1 ran on the second worker (killed too); queued2, queued or sent
  // behind a running job, never started: dropped.
  EXPECT_THROW(co_await queued1, aio::broken_process_pool_error);
  EXPECT_THROW(co_await queued2, aio::cancelled_error);
  for (pid_t p : pids) EXPECT_TRUE(gone(p));
}

AIO_TEST(process_pool_shutdown_test, the_destructor_waits_but_not_forever) {
  scratch_dir dir;
  aio::concurrent_future<int> slow, quick;
  {
    aio::process_pool_options o;
    o.max_workers = 1;
    o.destructor_deadline = 100ms;
    aio::process_pool_executor pool(o);
    quick = pool.submit(nap, 1);
    slow = pool.submit(mark_and_nap, dir / "slow", 30'000);
    co_await wait_for_file(dir / "slow");
  }
  EXPECT_EQ(co_await quick, 1);
  EXPECT_THROW(co_await slow, aio::broken_process_pool_error);
}

AIO_TEST(process_pool_shutdown_test, no_zombie_and_no_descriptor_left) {
  std::size_t fds_before = open_fds();
  std::vector<pid_t> pids;
  {
    aio::process_pool_options o;
    o.max_workers = 2;
    o.max_tasks_per_child = 3;  // retired workers too
    aio::process_pool_executor pool(o);
    std::vector<aio::concurrent_future<int>> fs;
    for (int i = 0; i < 10; ++i) fs.push_back(pool.submit(my_pid));
    for (auto& f : fs) pids.push_back(co_await f);
    auto crash = pool.submit(do_abort);  // and a crashed one
    EXPECT_THROW(co_await crash, aio::broken_process_pool_error);
    for (pid_t p : pool.worker_pids()) pids.push_back(p);
    EXPECT_GT(open_fds(), fds_before);
  }
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  EXPECT_GE(pids.size(), 4u);
  for (pid_t p : pids) EXPECT_TRUE(gone(p)) << p;
  EXPECT_TRUE(grandchildren().empty());  // the fork server has no child left, not even a zombie
  EXPECT_EQ(open_fds(), fds_before);
}

AIO_TEST(process_pool_shutdown_test, a_thousand_small_jobs) {
  aio::process_pool_executor pool(2);
  std::vector<aio::concurrent_future<int>> fs;
  for (int i = 0; i < 1000; ++i) fs.push_back(pool.submit(add, i, 1));
  long sum = 0;
  for (auto& f : fs) sum += co_await f;
  EXPECT_EQ(sum, 1000L * 999 / 2 + 1000);
  // and one at a time
  for (int i = 0; i < 200; ++i) sum -= co_await pool.submit(add, i, 0);
  EXPECT_EQ(sum, 1000L * 999 / 2 + 1000 - 200L * 199 / 2);
}
