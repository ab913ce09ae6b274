// SPDX-License-Identifier: MIT
// The process handle: its reaper task (pidfd readable -> waitid), wait,
// communicate, signals.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>
#include <utility>

#include "aio/core/create_task.hpp"
#include "aio/core/detail/signal_free_thread.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/gather.hpp"
#include "aio/core/sock.hpp"
#include "aio/net/pipe.hpp"
#include "subprocess_impl.hpp"

namespace aio {

namespace {

std::optional<int> decode(const siginfo_t& info) {
  if (info.si_pid == 0) return std::nullopt;  // WNOHANG: still running
  if (info.si_code == CLD_EXITED) return info.si_status;
  return -info.si_status;  // CLD_KILLED, CLD_DUMPED: -signal, as asyncio
}

// Owned by the loop from the spawn on: reaps the child as soon as it exits,
// whether or not anybody waits. If the loop closes first (this task is
// cancelled, or never started), the state's destructor takes over.
task<> reap(std::shared_ptr<process::state> st) {
  while (!st->try_reap()) co_await wait_readable(st->pidfd);
  st->exited.set();
}

task<> feed(stream_writer* in, const std::string* input) {
  try {
    if (!input->empty()) co_await in->write(*input);
    co_await in->drain();
  } catch (const std::system_error& e) {
    // The child closed its stdin early: what it did not read is not an
    // error (asyncio ignores BrokenPipeError and ConnectionResetError too).
    if (e.code().value() != EPIPE && e.code().value() != ECONNRESET) throw;
  }
  in->close();
}

task<> drain_into(stream_reader* from, std::string* to) { *to = co_await from->read(); }

task<> nothing() { co_return; }

}  // namespace

process::state::~state() {
  if (pidfd < 0) return;
  if (try_reap()) {
    ::close(pidfd);
    return;
  }
  // The loop closed while the child still runs (nobody is left to watch
  // its pidfd): a thread waits for it, so that it never becomes a zombie.
  // Python's ThreadedChildWatcher does this for every child; here only for
  // these leftovers.
  int fd = pidfd;
  try {
    detail::signal_free_thread([fd] {
      siginfo_t info{};
      while (::waitid(P_PIDFD, static_cast<id_t>(fd), &info, WEXITED) < 0 && errno == EINTR) {
      }
      ::close(fd);
    }).detach();
  } catch (const std::system_error&) {
    ::close(fd);  // no thread to be had: it stays a zombie until this program exits
  }
}

bool process::state::try_reap() noexcept {
  if (returncode) return true;
  siginfo_t info{};
  int r;
  while ((r = ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG)) < 0 &&
         errno == EINTR) {
  }
  if (r < 0) {
    // Somebody else reaped it (a waitpid(-1) elsewhere in the program):
    // like asyncio, report 255.
    returncode = 255;
    return true;
  }
  returncode = decode(info);
  return returncode.has_value();
}

process::process(std::shared_ptr<state> st) noexcept : st_(std::move(st)) {}

process& process::operator=(process&& o) noexcept {
  if (this != &o) {
    stdin = std::move(o.stdin);
    stdout = std::move(o.stdout);
    stderr = std::move(o.stderr);
    st_ = std::move(o.st_);
  }
  return *this;
}

process::~process() = default;

pid_t process::pid() const noexcept { return st_ ? st_->pid : -1; }

std::optional<int> process::returncode() const noexcept {
  return st_ ? st_->returncode : std::nullopt;
}

task<int> process::wait() {
  if (!st_) throw invalid_state_error("process::wait on an empty process");
  auto st = st_;
  while (!st->returncode) co_await st->exited.wait();
  co_return *st->returncode;
}

task<communicate_result> process::communicate(std::string input) {
  if (!st_) throw invalid_state_error("process::communicate on an empty process");
  communicate_result out;
  // Three concurrent children; the gather waits for all of them even when
  // this task is cancelled, so the pointers into this frame stay valid. (The
  // tasks are named: GCC 12 destroys a conditional's temporary twice when it
  // is built inside a co_await expression.)
  task<> in = stdin ? feed(&*stdin, &input) : nothing();
  task<> out_reader = stdout ? drain_into(&*stdout, &out.out) : nothing();
  task<> err_reader = stderr ? drain_into(&*stderr, &out.err) : nothing();
  co_await gather(cancel_on_error, std::move(in), std::move(out_reader), std::move(err_reader));
  co_await wait();
  co_return out;
}

void process::send_signal(int sig) {
  if (!st_) throw invalid_state_error("process::send_signal on an empty process");
  if (st_->returncode) return;
  if (detail::pidfd_send_signal(st_->pidfd, sig) != 0 && errno != ESRCH)
    throw std::system_error(
        errno, std::system_category(),
        "send signal " + std::to_string(sig) + " to process " + std::to_string(st_->pid));
}

namespace {

task<process> start(std::vector<std::string> argv, subprocess_options options) {
  detail::spawned_child c = detail::spawn_child(argv, options);
  std::shared_ptr<process::state> st;
  try {
    st = std::make_shared<process::state>(c.pid, c.pidfd);
  } catch (...) {  // out of memory: the pipes' ends close, so the child sees EOF
    for (int fd : {c.pidfd, c.stdin_fd, c.stdout_fd, c.stderr_fd})
      if (fd >= 0) ::close(fd);
    throw;
  }
  process p(st);
  // The reaper first: from now on the child is always reaped.
  create_task(reap(std::move(st)),
              "reap subprocess " + std::to_string(c.pid) + " (" + argv[0] + ")");
  // Each pipe end is owned by its stream as soon as the stream exists (the
  // connect functions close the fd themselves when they throw).
  try {
    if (c.stdin_fd >= 0)
      p.stdin = connect_write_pipe(std::exchange(c.stdin_fd, -1), options.limits);
    if (c.stdout_fd >= 0)
      p.stdout = connect_read_pipe(std::exchange(c.stdout_fd, -1), options.limits);
    if (c.stderr_fd >= 0)
      p.stderr = connect_read_pipe(std::exchange(c.stderr_fd, -1), options.limits);
  } catch (...) {
    for (int fd : {c.stdin_fd, c.stdout_fd, c.stderr_fd})
      if (fd >= 0) ::close(fd);
    throw;
  }
  co_return p;
}

}  // namespace

task<process> create_subprocess_exec(std::string program, std::vector<std::string> args,
                                     subprocess_options options) {
  args.insert(args.begin(), std::move(program));
  return start(std::move(args), std::move(options));
}

task<process> create_subprocess_exec(std::string program, std::vector<std::string> args) {
  return create_subprocess_exec(std::move(program), std::move(args), subprocess_options{});
}

task<process> create_subprocess_shell(std::string cmd) {
  return create_subprocess_shell(std::move(cmd), subprocess_options{});
}

task<process> create_subprocess_shell(std::string cmd, subprocess_options options) {
  std::vector<std::string> argv{"/bin/sh", "-c", std::move(cmd)};
  return start(std::move(argv), std::move(options));
}

}  // namespace aio
