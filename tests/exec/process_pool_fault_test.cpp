// SPDX-License-Identifier: MIT
// process_pool_executor faults: a worker killed, aborting or crashing fails
// only its job (the pool replaces it); max_tasks_per_child; cancellation of
// queued and running jobs, with and without kill_on_cancel.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "process_test_jobs.hpp"

using namespace std::chrono_literals;
using namespace ptest;

AIO_TEST_SUITE(process_pool_fault_test);

namespace {

// Runs `job` in a one-worker pool, expects broken_process_pool_error, then
// checks that the dead worker was reaped and a replacement runs the next job.
template <class F>
aio::task<aio::broken_process_pool_error> expect_broken(aio::process_pool_executor& pool, F job) {
  auto f = pool.submit(job);
  std::optional<aio::broken_process_pool_error> error;
  try {
    co_await f;
  } catch (const aio::broken_process_pool_error& e) {
    error = e;
  }
  if (!error) {
    ADD_FAILURE() << "no broken_process_pool_error";
    co_return aio::broken_process_pool_error("none", 0, 0, 0);
  }
  EXPECT_NE(error->pid(), 0);
  EXPECT_TRUE(gone(error->pid()));
  EXPECT_EQ(co_await pool.submit(add, 2, 2), 4);  // the pool goes on
  int pid = co_await pool.submit(my_pid);
  EXPECT_NE(pid, error->pid());
  co_return *error;
}

template <class R>
aio::task<R> await_future(aio::concurrent_future<R> f) {
  co_return co_await f;
}

}  // namespace

AIO_TEST(process_pool_fault_test, sigkill_mid_job_fails_that_job_and_the_pool_goes_on) {
  aio::process_pool_executor pool(1);
  scratch_dir dir;
  auto f = pool.submit(mark_and_nap, dir / "started", 30'000);
  auto queued = pool.submit(add, 1, 2);  // waits behind it, then runs on the replacement
  co_await wait_for_file(dir / "started");
  while (pool.worker_pids().empty()) co_await aio::sleep(1ms);  // the fork server's answer
  auto pids = pool.worker_pids();
  CO_ASSERT_EQ(pids.size(), 1u);
  CO_ASSERT_TRUE(::kill(pids[0], SIGKILL) == 0);
  try {
    co_await f;
    ADD_FAILURE() << "no error";
  } catch (const aio::broken_process_pool_error& e) {
    EXPECT_EQ(e.signal(), SIGKILL);
    EXPECT_EQ(e.exit_status(), -1);
    EXPECT_EQ(e.pid(), pids[0]);
    std::string what = e.what();
    EXPECT_NE(what.find("SIGKILL"), std::string::npos) << what;
    EXPECT_NE(what.find("'ptest::mark_and_nap'"), std::string::npos) << what;
  }
  EXPECT_EQ(co_await queued, 3);
  EXPECT_TRUE(gone(pids[0]));
  EXPECT_EQ(pool.workers_started(), 2u);
}

AIO_TEST(process_pool_fault_test, abort_in_a_job) {
  aio::process_pool_executor pool(1);
  auto e = co_await expect_broken(pool, do_abort);
  EXPECT_EQ(e.signal(), SIGABRT);
  EXPECT_NE(std::string(e.what()).find("SIGABRT"), std::string::npos) << e.what();
}

AIO_TEST(process_pool_fault_test, segfault_in_a_job) {
  aio::process_pool_executor pool(1);
  auto e = co_await expect_broken(pool, do_segfault);
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer catches the fault and prints its report, then exits
  // with 1, or aborts when ASAN_OPTIONS has abort_on_error=1 (scripts/test).
  EXPECT_TRUE(e.exit_status() == 1 || e.signal() == SIGABRT) << e.what();
#elif defined(__SANITIZE_THREAD__)
  EXPECT_EQ(e.exit_status(), 66) << e.what();  // ThreadSanitizer's exit code
#else
  EXPECT_EQ(e.signal(), SIGSEGV) << e.what();
  EXPECT_NE(std::string(e.what()).find("SIGSEGV"), std::string::npos) << e.what();
#endif
}

AIO_TEST(process_pool_fault_test, a_job_that_exits_the_worker) {
  aio::process_pool_executor pool(1);
  auto f = pool.submit(do_exit, 7);
  try {
    co_await f;
    ADD_FAILURE() << "no error";
  } catch (const aio::broken_process_pool_error& e) {
    EXPECT_EQ(e.signal(), 0);
    EXPECT_EQ(e.exit_status(), 7);
    EXPECT_NE(std::string(e.what()).find("exited with status 7"), std::string::npos) << e.what();
  }
  EXPECT_EQ(co_await pool.submit(add, 1, 1), 2);
}

AIO_TEST(process_pool_fault_test, max_tasks_per_child_replaces_workers) {
  aio::process_pool_options o;
  o.max_workers = 1;
  o.max_tasks_per_child = 2;
  aio::process_pool_executor pool(o);
  std::vector<int> pids;
  for (int i = 0; i < 5; ++i) pids.push_back(co_await pool.submit(my_pid));
  EXPECT_EQ(pids[0], pids[1]);
  EXPECT_EQ(pids[2], pids[3]);
  EXPECT_NE(pids[0], pids[2]);
  EXPECT_NE(pids[2], pids[4]);
  EXPECT_NE(pids[0], pids[4]);
  EXPECT_EQ(pool.workers_started(), 3u);
  pool.shutdown();
  for (int p : pids) EXPECT_TRUE(gone(p)) << p;
}

AIO_TEST(process_pool_fault_test, cancelling_the_awaiter_drops_a_queued_job) {
  aio::process_pool_options o;
  o.max_workers = 1;
  o.pipeline_depth = 1;  // the second job stays in the pool's queue
  aio::process_pool_executor pool(o);
  scratch_dir dir;
  auto busy = pool.submit(mark_and_nap, dir / "busy", 300);
  co_await wait_for_file(dir / "busy");
  auto t = aio::create_task(await_future(pool.submit(touch, dir / "never")));
  co_await aio::sleep(20ms);
  t.cancel();
  EXPECT_THROW(co_await t, aio::cancelled_error);
  auto direct = pool.submit(touch, dir / "never2");
  EXPECT_TRUE(direct.cancel());
  EXPECT_TRUE(direct.cancelled());
  EXPECT_THROW(co_await direct, aio::cancelled_error);
  EXPECT_EQ(co_await busy, 300);
  EXPECT_TRUE(co_await pool.submit(touch, dir / "after"));  // the queue went past them
  EXPECT_NE(::access((dir / "after").c_str(), F_OK), -1);
  EXPECT_EQ(::access((dir / "never").c_str(), F_OK), -1);
  EXPECT_EQ(::access((dir / "never2").c_str(), F_OK), -1);
}

AIO_TEST(process_pool_fault_test, cancelling_a_running_job_kills_its_worker_when_configured) {
  aio::process_pool_options o;
  o.max_workers = 1;
  o.kill_on_cancel = true;
  aio::process_pool_executor pool(o);
  scratch_dir dir;
  int first = co_await pool.submit(my_pid);
  auto t = aio::create_task(await_future(pool.submit(mark_and_nap, dir / "running", 30'000)));
  co_await aio::sleep(1ms);  // t runs up to its co_await
  co_await wait_for_file(dir / "running");
  t.cancel();
  EXPECT_THROW(co_await t, aio::cancelled_error);
  int second = co_await pool.submit(my_pid);  // a replacement, at once (not after 30 s)
  EXPECT_NE(first, second);
  EXPECT_TRUE(co_await wait_gone(first));  // the replacement may start before it is reaped
  EXPECT_EQ(pool.workers_started(), 2u);

  // future.request_stop() does the same, the job's outcome is cancelled_error.
  auto f = pool.submit(mark_and_nap, dir / "running2", 30'000);
  co_await wait_for_file(dir / "running2");
  EXPECT_TRUE(f.request_stop());
  EXPECT_THROW(co_await f, aio::cancelled_error);
  EXPECT_TRUE(gone(second));  // the outcome came from its exit report
  EXPECT_EQ(co_await pool.submit(add, 1, 2), 3);
}

AIO_TEST(process_pool_fault_test, cancelling_a_running_job_without_kill_on_cancel_lets_it_finish) {
  aio::process_pool_executor pool(1);
  scratch_dir dir;
  int first = co_await pool.submit(my_pid);
  auto f = pool.submit(mark_and_nap, dir / "running", 300);
  auto t = aio::create_task(await_future(std::move(f)));
  co_await aio::sleep(1ms);  // t runs up to its co_await
  co_await wait_for_file(dir / "running");
  t.cancel();
  EXPECT_THROW(co_await t, aio::cancelled_error);  // at once, as asyncio's awaiter
  EXPECT_EQ(co_await pool.submit(my_pid), first);  // the same worker, after the job ended
  EXPECT_EQ(pool.workers_started(), 1u);
}

AIO_TEST(process_pool_fault_test, a_job_sent_behind_a_running_one_counts_as_running) {
  aio::process_pool_options o;
  o.max_workers = 1;
  o.pipeline_depth = 2;  // the worker holds the next job, the third stays queued
  aio::process_pool_executor pool(o);
  scratch_dir dir;
  auto a = pool.submit(mark_and_nap, dir / "a", 200);
  auto b = pool.submit(add, 1, 2);
  auto c = pool.submit(add, 3, 4);  // a third one waits in the pool's queue
  co_await wait_for_file(dir / "a");
  EXPECT_TRUE(b.running());
  EXPECT_FALSE(b.cancel());  // as Python's futures once in the call queue
  EXPECT_TRUE(c.cancel());
  EXPECT_EQ(co_await a, 200);
  EXPECT_EQ(co_await b, 3);
  EXPECT_THROW(co_await c, aio::cancelled_error);
}

AIO_TEST(process_pool_fault_test, a_job_behind_a_long_one_moves_to_an_idle_worker) {
  aio::process_pool_executor pool(2);  // pipeline_depth 4: jobs wait inside the workers
  scratch_dir dir;
  auto a = pool.submit(mark_and_wait, dir / "a", dir / "go");  // runs until told
  auto b = pool.submit(nap, 200);
  auto c = pool.submit(my_pid);  // sent behind a or b
  auto d = pool.submit(my_pid);
  auto e = pool.submit(my_pid);
  co_await wait_for_file(dir / "a");
  EXPECT_EQ(co_await b, 200);
  co_await c;  // those behind a are given back to b's idle worker: a never ends by itself
  co_await d;
  co_await e;
  EXPECT_FALSE(a.done());
  touch(dir / "go");
  EXPECT_EQ(co_await a, 1);
}

// A program that ignores SIGCHLD before its first pool (a daemon idiom) still
// sees its workers exit: the fork server reaps them itself. Two tests that
// need the exit reports (a crash; workers retired by max_tasks_per_child and
// shut down) run again in a child of this binary with SIGCHLD ignored from
// the start; without the reports they would hang.
AIO_TEST(process_pool_fault_test, a_program_that_ignores_sigchld_still_sees_its_workers_exit) {
  if (std::getenv("AIO_TEST_IGNORE_SIGCHLD")) co_return;  // that child itself
  aio::subprocess_options o;
  o.extra_env["AIO_TEST_IGNORE_SIGCHLD"] = "1";
  o.stdout = aio::subprocess::pipe;
  std::vector<std::string> args{"--gtest_filter=*process_pool_fault_test.segfault_in_a_job*:"
                                "*process_pool_fault_test.max_tasks_per_child_replaces_workers*"};
  auto child = co_await aio::create_subprocess_exec("/proc/self/exe", args, o);
  aio::communicate_result r;
  bool hung = false;
  try {
    r = co_await aio::wait_for(child.communicate(), 100s);
  } catch (const aio::timeout_error&) {
    hung = true;
  }
  if (hung) child.kill();
  const int status = co_await child.wait();
  EXPECT_FALSE(hung) << "the child hung: worker exits were lost";
  EXPECT_EQ(status, 0) << r.out;
  // Both tests, on both backends, ran there and passed.
  EXPECT_NE(r.out.find("[  PASSED  ] 4 tests."), std::string::npos) << r.out;
}

// The pool's supervisor thread takes no signal, so a Ctrl-C reaches the loop
// (aio::run cancels main) instead of killing the program from that thread.
AIO_TEST(process_pool_fault_test, the_supervisor_thread_blocks_every_signal) {
  aio::process_pool_options o;
  o.name = "sigtest";
  aio::process_pool_executor pool(o);
  EXPECT_EQ(co_await pool.submit(add, 1, 2), 3);
  bool found = false;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name != "sigtest-sup") continue;
    found = true;
    std::ifstream status(entry.path() / "status");
    std::string line, blocked;
    while (std::getline(status, line))
      if (line.rfind("SigBlk:", 0) == 0) blocked = line.substr(7);
    const unsigned long long mask = std::stoull(blocked, nullptr, 16);
    EXPECT_TRUE(mask & (1ULL << (SIGINT - 1))) << line;
    EXPECT_TRUE(mask & (1ULL << (SIGTERM - 1))) << line;
  }
  EXPECT_TRUE(found);
}

// A job cannot start a pool of its own (its worker is a fork of the fork
// server): a clear error, not a hang on the lock the fork server was made under.
AIO_TEST(process_pool_fault_test, a_pool_inside_a_job_is_refused) {
  aio::process_pool_executor pool(1);
  const std::string what = co_await pool.submit(nested_pool);
  EXPECT_NE(what.find("cannot be created inside a process pool's worker"), std::string::npos) << what;
}

// A program a job runs (system, popen) does not inherit the worker's socket to
// the pool, where it could write into the pool's protocol.
AIO_TEST(process_pool_fault_test, the_workers_socket_is_close_on_exec) {
  aio::process_pool_executor pool(1);
  const int flags = co_await pool.submit(pool_socket_flags);
  CO_ASSERT_TRUE(flags >= 0);
  EXPECT_TRUE(flags & FD_CLOEXEC);
}
