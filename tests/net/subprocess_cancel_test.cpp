// SPDX-License-Identifier: MIT
// Subprocess cancellation and cleanup: cancelled wait and communicate leave
// the child alone, nothing leaks (fds), nothing stays a zombie — also when
// the handle is dropped early or the loop closes under a running child.
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "aio/net/subprocess.hpp"
#include "aio_test.hpp"

using namespace std::chrono_literals;
namespace sp = aio::subprocess;

namespace {

std::vector<std::string> sh(std::string script) { return {"-c", std::move(script)}; }
aio::subprocess_options in_pipe() {
  aio::subprocess_options o;
  o.stdin = sp::pipe;
  return o;
}
aio::subprocess_options all_pipes() {
  aio::subprocess_options o;
  o.stdin = sp::pipe;
  o.stdout = sp::pipe;
  o.stderr = sp::pipe;
  return o;
}

int open_fds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n - 1;  // the directory's own fd
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

// True once `pid` is no child of ours any more (reaped), polling for up to ~5 s.
aio::task<bool> reaped_soon(pid_t pid) {
  for (int i = 0; i < 500; ++i) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) < 0 &&
        errno == ECHILD)
      co_return true;
    co_await aio::sleep(10ms);
  }
  co_return false;
}

}  // namespace

AIO_TEST_SUITE(subprocess_cancel_test);

AIO_TEST(subprocess_cancel_test, cancelled_wait_leaves_the_child_running) {
  auto p = co_await aio::create_subprocess_exec("cat", {}, in_pipe());
  auto waiter = aio::create_task(p.wait());
  co_await aio::sleep(2ms);
  EXPECT_FALSE(waiter.done());
  waiter.cancel();
  EXPECT_THROW(co_await waiter, aio::cancelled_error);
  EXPECT_TRUE(alive(p.pid()));
  EXPECT_FALSE(p.returncode().has_value());
  // Several waiters at once, all answered by one exit.
  auto w1 = aio::create_task(p.wait());
  auto w2 = aio::create_task(p.wait());
  co_await aio::sleep(1ms);
  p.stdin->close();
  EXPECT_EQ(co_await w1, 0);
  EXPECT_EQ(co_await w2, 0);
  EXPECT_EQ(co_await p.wait(), 0);
}

AIO_TEST(subprocess_cancel_test, cancelled_communicate_keeps_the_output_and_the_child) {
  auto p = co_await aio::create_subprocess_exec(
      "/bin/sh", sh("read x; echo got:$x; echo oops >&2; exec sleep 1000"), all_pipes());
  auto c = aio::create_task(p.communicate("input\n"));
  // communicate has fed stdin and read what the child printed; it now waits
  // for end of stream, which never comes while `sleep` holds the pipes.
  for (int i = 0; i < 500 && p.stdout->buffer_size() < 7; ++i) co_await aio::sleep(2ms);
  EXPECT_FALSE(c.done());
  c.cancel();
  EXPECT_THROW(co_await c, aio::cancelled_error);
  EXPECT_TRUE(alive(p.pid()));
  EXPECT_FALSE(p.returncode().has_value());
  // What was read before the cancel is still there.
  EXPECT_EQ(co_await p.stdout->readline(), "got:input\n");
  EXPECT_EQ(co_await p.stderr->readline(), "oops\n");
  p.kill();
  auto r = co_await p.communicate();  // ends now: the pipes close with the child
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(p.returncode(), -SIGKILL);
}

AIO_TEST(subprocess_cancel_test, cancelled_while_feeding_a_child_that_does_not_read) {
  // sleep never reads: the input fills the pipe and communicate waits to write.
  aio::subprocess_options o = all_pipes();
  std::vector<std::string> args{"1000"};
  auto p = co_await aio::create_subprocess_exec("sleep", args, o);
  auto c = aio::create_task(p.communicate(std::string(4 * 1024 * 1024, 'x')));
  co_await aio::sleep(5ms);
  EXPECT_FALSE(c.done());
  c.cancel();
  EXPECT_THROW(co_await c, aio::cancelled_error);
  EXPECT_TRUE(alive(p.pid()));
  EXPECT_FALSE(p.stdin->is_closing());  // stdin stays open: the caller decides
  p.kill();
  EXPECT_EQ(co_await p.wait(), -SIGKILL);
}

AIO_TEST(subprocess_cancel_test, no_fd_leaks_across_spawns_failures_and_cancels) {
  int before = open_fds();
  for (int i = 0; i < 5; ++i) {
    auto p = co_await aio::create_subprocess_exec("cat", {}, all_pipes());
    auto r = co_await p.communicate("x");
    EXPECT_EQ(r.out, "x");
    EXPECT_THROW(co_await aio::create_subprocess_exec("aio-missing-program", {}, all_pipes()),
                 std::system_error);
    aio::subprocess_options bad_cwd = all_pipes();
    bad_cwd.cwd = "/nonexistent";
    EXPECT_THROW(co_await aio::create_subprocess_exec("cat", {}, bad_cwd), std::system_error);
    auto q = co_await aio::create_subprocess_exec("cat", {}, all_pipes());
    auto w = aio::create_task(q.wait());
    co_await aio::sleep(1ms);
    w.cancel();
    EXPECT_THROW(co_await w, aio::cancelled_error);
    q.kill();
    co_await q.wait();
  }
  EXPECT_EQ(open_fds(), before);
}

AIO_TEST(subprocess_cancel_test, a_dropped_handle_is_still_reaped) {
  pid_t pid;
  {
    auto p = co_await aio::create_subprocess_exec("cat", {}, in_pipe());
    pid = p.pid();
  }  // stdin closes with the handle: cat exits, nobody waits for it
  EXPECT_TRUE(co_await reaped_soon(pid));
  // And one killed without a wait.
  {
    auto p = co_await aio::create_subprocess_exec("cat", {}, in_pipe());
    pid = p.pid();
    p.kill();
  }
  EXPECT_TRUE(co_await reaped_soon(pid));
}

AIO_TEST(subprocess_cancel_test, no_zombies_after_many_children) {
  std::vector<aio::task_handle<int>> runs;
  for (int i = 0; i < 20; ++i)
    runs.push_back(aio::create_task([](int i) -> aio::task<int> {
      auto p = co_await aio::create_subprocess_exec("/bin/sh", sh("exit " + std::to_string(i)));
      co_return co_await p.wait();
    }(i)));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(co_await runs[i], i);
  // Every child was reaped by its own pidfd: none is left for waitpid(-1).
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

// The loop closes while a child runs: it keeps running (not killed), and
// once it exits it is reaped anyway.
class subprocess_loop_close : public ::testing::TestWithParam<aio::backend_kind> {};
INSTANTIATE_TEST_SUITE_P(backends, subprocess_loop_close,
                         ::testing::Values(aio::backend_kind::uring, aio::backend_kind::epoll),
                         aio::test::backend_name{});

TEST_P(subprocess_loop_close, a_child_outliving_its_loop_is_reaped_when_it_exits) {
  static pid_t pid;
  pid = -1;
  aio::test::run(
      GetParam(),
      []() -> aio::task<> {
        std::vector<std::string> args{"1000"};
        auto p = co_await aio::create_subprocess_exec("sleep", args);
        pid = p.pid();
      },
      false);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(alive(pid));
  ::kill(pid, SIGKILL);
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    siginfo_t info{};
    gone = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) < 0 &&
           errno == ECHILD;
    if (!gone) ::usleep(10'000);
  }
  EXPECT_TRUE(gone) << "the child of a closed loop stayed a zombie";
}
