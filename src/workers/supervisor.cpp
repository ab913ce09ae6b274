// SPDX-License-Identifier: MIT
// workers::run's supervisor: forks the workers, restarts the ones that die
// (with backoff, giving up on a worker that keeps failing at startup), and
// stops them all on SIGTERM/SIGINT. See run.hpp for the policy and why this
// is a plain poll loop.
#include "supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "aio/core/errors.hpp"
#include "aio/core/loop.hpp"
#include "aio/exec/thread_pool_executor.hpp"
#include "context.hpp"
#include "process_util.hpp"

namespace aio::workers::detail {

namespace {

std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace

supervisor::supervisor(std::size_t n, main_factory& make, const options& o)
    : n_(n), make_(make), o_(o), self_(::getpid()) {
  if (try_get_running_loop())
    throw invalid_state_error("aio::workers::run() cannot be called from a running event loop");
  if (o.max_startup_failures < 1)
    throw std::invalid_argument("aio::workers::options: max_startup_failures must be at least 1");
  if (std::size_t threads = user_thread_count(); threads > 1)
    throw invalid_state_error(
        "aio::workers::run(): the process runs " + std::to_string(threads) +
        " threads; fork is only safe while single-threaded: call it before starting threads "
        "(thread pools, to_thread, a debug watchdog)");
  if (n_ == 0) n_ = usable_cores();
  slots_.resize(n_);

  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, &old_mask_);
  signal_fd_ = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  int fds[2];
  if (signal_fd_ < 0 || ::pipe2(fds, O_CLOEXEC) != 0) {
    int err = errno;
    if (signal_fd_ >= 0) ::close(signal_fd_);
    ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
    throw std::system_error(err, std::generic_category(), "aio::workers::run: signalfd/pipe");
  }
  ready_r_ = fds[0];
  ready_w_ = fds[1];
  ::fcntl(ready_r_, F_SETFL, O_NONBLOCK);
  // Children of a process ignoring SIGCHLD are reaped by the kernel, and
  // waitpid could not tell how a worker died.
  struct sigaction sa {};
  ::sigaction(SIGCHLD, nullptr, &sa);
  if (sa.sa_handler == SIG_IGN || (sa.sa_flags & SA_NOCLDWAIT)) {
    old_sigchld_ = sa;
    restore_sigchld_ = true;
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGCHLD, &dfl, nullptr);
  }
}

supervisor::~supervisor() {
  // Only on an unexpected error: no worker outlives run().
  for (proc& p : procs_) ::kill(p.pid, SIGKILL);
  for (proc& p : procs_) {
    int st;
    while (::waitpid(p.pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
  // Signals that arrived last must not stay pending once unblocked (a
  // second SIGTERM would kill the caller after run() returned).
  signalfd_siginfo info;
  while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
  }
  ::close(signal_fd_);
  ::close(ready_r_);
  ::close(ready_w_);
  if (restore_sigchld_) ::sigaction(SIGCHLD, &old_sigchld_, nullptr);
  ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
}

int supervisor::run() {
  for (std::size_t i = 0; i < n_; ++i) start(i, false);
  while (!finished()) {
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {ready_r_, POLLIN, 0}};
    if (::poll(fds, 2, poll_timeout()) < 0 && errno != EINTR)
      throw std::system_error(errno, std::generic_category(), "aio::workers supervisor: poll");
    signalfd_siginfo info;
    while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info))
      if (info.ssi_signo != SIGCHLD) on_signal(static_cast<int>(info.ssi_signo));
    read_ready();  // before reaping: a worker that said "ready" and died was ready
    reap();
    fire_timers();
  }
  if (fatal_) throw supervisor_error(*fatal_);
  return status_;
}

bool supervisor::finished() const noexcept {
  if (!procs_.empty()) return false;
  if (shutting_down_) return true;
  return std::none_of(slots_.begin(), slots_.end(), [](const slot_state& s) { return s.restart_at.has_value(); });
}

pid_t supervisor::start(std::size_t slot, bool replacement) {
  slot_state& s = slots_[slot];
  s.restart_at.reset();
  std::fflush(nullptr);  // or the child would print the parent's buffered output again
  pid_t pid = ::fork();
  if (pid == 0) child(slot);
  if (pid < 0) {
    // Out of processes or memory: a failure at startup like any other.
    int err = errno;
    log("worker " + std::to_string(slot) + ": fork failed: " + std::strerror(err));
    if (!replacement) {
      proc p;
      p.slot = slot;
      p.started = clock::now();
      on_failure(p, 1 << 8);  // as if it had exited with status 1
    }
    return 0;
  }
  proc p;
  p.pid = pid;
  p.slot = slot;
  p.started = clock::now();
  procs_.push_back(p);
  if (!replacement) s.current = pid;
  return pid;
}

void supervisor::child(std::size_t slot) {
  int status = 1;
  try {
    ::close(signal_fd_);
    ::close(ready_r_);
    // A supervisor killed outright still stops its workers (gracefully).
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != self_) ::_exit(1);
    if (restore_sigchld_) ::sigaction(SIGCHLD, &old_sigchld_, nullptr);
    // SIGTERM and SIGINT stay blocked until the worker's loop reads them
    // (signalfd): one arriving in between waits instead of killing it.
    sigset_t mask = old_mask_;
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    ::sigprocmask(SIG_SETMASK, &mask, nullptr);
    worker_context ctx;
    ctx.index = slot;
    ctx.count = n_;
    ctx.opts = &o_;
    ctx.ready_fd = ready_w_;
    ctx.handle_signals = true;
    status = run_worker_loop(ctx, make_);
  } catch (const std::exception& e) {
    log("worker " + std::to_string(slot) + " (pid " + std::to_string(::getpid()) +
        "): could not start: " + e.what());
  } catch (...) {
    log("worker " + std::to_string(slot) + ": could not start");
  }
  // _exit skips atexit: wait here for the files and temporaries this worker
  // dropped, which the internal pool is still writing or removing.
  aio::detail::wait_for_exit_work();
  std::fflush(nullptr);
  ::_exit(status & 0xff);
}

supervisor::proc* supervisor::find(pid_t pid) noexcept {
  for (proc& p : procs_)
    if (p.pid == pid) return &p;
  return nullptr;
}

std::string supervisor::who(const proc& p) const {
  return "worker " + std::to_string(p.slot) + " (pid " + std::to_string(p.pid) + ")";
}

void supervisor::log(const std::string& line) const noexcept { log_line(o_, line); }

void supervisor::reap() {
  for (std::size_t i = 0; i < procs_.size();) {
    int st = 0;
    pid_t r = ::waitpid(procs_[i].pid, &st, WNOHANG);
    if (r == procs_[i].pid) {
      proc p = procs_[i];
      procs_.erase(procs_.begin() + static_cast<std::ptrdiff_t>(i));
      on_exit(p, st);
      i = 0;  // on_exit may start or drop processes
      continue;
    }
    ++i;
  }
}

void supervisor::on_exit(proc p, int st) {
  if (roll_exit(p, st)) return;
  slot_state& s = slots_[p.slot];
  if (s.current == p.pid) s.current = 0;
  const bool clean = WIFEXITED(st) && WEXITSTATUS(st) == 0;
  if (p.retired) return;
  if (p.stopping || shutting_down_) {
    if (!clean) {
      log(who(p) + " " + describe_exit(st) + " while stopping");
      if (status_ == 0) status_ = exit_code_of(st);
    }
    return;
  }
  if (clean) {
    s.finished = true;  // its main is done: nothing to restart
    return;
  }
  on_failure(p, st);
}

void supervisor::on_failure(const proc& p, int st) {
  slot_state& s = slots_[p.slot];
  const auto uptime = clock::now() - p.started;
  const bool at_startup = !p.ready || uptime < o_.min_uptime;
  s.startup_failures = at_startup ? s.startup_failures + 1 : 0;
  const std::string how = (p.pid ? who(p) : "worker " + std::to_string(p.slot)) + " " +
                          describe_exit(st) + (at_startup ? " at startup" : "");
  if (s.startup_failures >= o_.max_startup_failures) {
    fatal_ = how + ", " + std::to_string(s.startup_failures) +
             " failures at startup in a row: giving up";
    log(*fatal_);
    shutdown();
    return;
  }
  auto delay = o_.restart_delay;
  for (int i = 1; i < s.startup_failures && delay < o_.max_restart_delay; ++i) delay *= 2;
  delay = std::min(delay, o_.max_restart_delay);
  log(how + "; restarting it in " + millis(delay));
  s.restart_at = clock::now() + delay;
}

void supervisor::on_signal(int sig) {
  if (sig == SIGHUP) {
    if (shutting_down_) return;
    if (rolling_) {
      roll_again_ = true;
      log("SIGHUP: a rolling restart is under way; another one follows it");
      return;
    }
    log("SIGHUP: rolling restart");
    roll_begin();
    return;
  }
  // SIGTERM, SIGINT
  if (!shutting_down_) {
    log(std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") + ": stopping the workers (deadline " +
        millis(o_.shutdown_timeout) + ")");
    shutdown();
    return;
  }
  log("second SIGTERM/SIGINT: killing the workers");
  for (proc& p : procs_) {
    ::kill(p.pid, SIGKILL);
    p.killed = true;
  }
}

void supervisor::read_ready() {
  pid_t pid;
  while (::read(ready_r_, &pid, sizeof pid) == static_cast<ssize_t>(sizeof pid))
    if (proc* p = find(pid); p && !p->ready) on_ready(*p);
}

void supervisor::on_ready(proc& p) {
  p.ready = true;
  roll_ready(p);
}

void supervisor::stop(proc& p) {
  if (p.stopping) return;
  p.stopping = true;
  p.kill_at = clock::now() + o_.shutdown_timeout + o_.kill_timeout;
  ::kill(p.pid, SIGTERM);
}

void supervisor::shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  rolling_ = false;
  roll_again_ = false;
  for (slot_state& s : slots_) s.restart_at.reset();
  for (proc& p : procs_) stop(p);
}

void supervisor::fire_timers() {
  const auto now = clock::now();
  for (proc& p : procs_) {
    if (p.stopping && !p.killed && now >= p.kill_at) {
      log(who(p) + " still runs " + millis(o_.shutdown_timeout + o_.kill_timeout) +
          " after it was told to stop: killing it");
      ::kill(p.pid, SIGKILL);
      p.killed = true;
    }
  }
  if (rolling_ && roll_new_ && now >= roll_deadline_) roll_timeout();
  if (shutting_down_) return;
  for (std::size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].restart_at && now >= *slots_[i].restart_at) start(i, false);
}

int supervisor::poll_timeout() const {
  std::optional<clock::time_point> next;
  auto consider = [&next](clock::time_point t) {
    if (!next || t < *next) next = t;
  };
  for (const proc& p : procs_)
    if (p.stopping && !p.killed) consider(p.kill_at);
  if (rolling_ && roll_new_) consider(roll_deadline_);
  if (!shutting_down_)
    for (const slot_state& s : slots_)
      if (s.restart_at) consider(*s.restart_at);
  if (!next) return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(*next - clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

int supervise(std::size_t n, main_factory make, const options& o) {
  supervisor s(n, make, o);
  return s.run();
}

}  // namespace aio::workers::detail
