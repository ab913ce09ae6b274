// SPDX-License-Identifier: MIT
// run_threads: n worker threads, each running its main on its own loop;
// the calling thread waits for them and turns SIGTERM/SIGINT into stop
// requests posted to every loop.
#include "aio/workers/run_threads.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "aio/core/errors.hpp"
#include "aio/exec/detail/job.hpp"
#include "aio/workers/run_on.hpp"
#include "context.hpp"

namespace aio::workers {

namespace detail {

namespace {

struct thread_group {
  std::mutex mutex;
  std::condition_variable all_started;  // every loop is linked (or the start failed)
  std::size_t started = 0;
  bool aborted = false;
  bool stopping = false;
  std::vector<std::shared_ptr<aio::detail::loop_link>> links;  // null until a loop runs
  std::vector<worker_context*> contexts;
};

// Tells worker `i` to stop, on its loop thread. Group mutex held.
void post_stop(thread_group& g, std::size_t i) {
  if (!g.links[i]) return;  // not started: on_started sees `stopping`
  worker_context* ctx = g.contexts[i];
  post(g.links[i], [ctx] { ctx->request_stop(); });
}

void on_thread_started(worker_context& ctx) noexcept {
  auto& g = *static_cast<thread_group*>(ctx.owner);
  bool stop;
  {
    // No main runs before every loop can be reached: peer(i) works from
    // the first step of any main. (A short wait at startup, before the
    // loop has anything else to do.)
    std::unique_lock lock(g.mutex);
    g.links[ctx.index] = aio::detail::link_of(*ctx.loop);
    if (++g.started == g.links.size()) g.all_started.notify_all();
    g.all_started.wait(lock, [&g] { return g.started == g.links.size() || g.aborted; });
    stop = g.stopping;
  }
  if (stop) ctx.request_stop();
}

thread_group& group_of_caller(const char* what) {
  worker_context* ctx = current();
  if (!ctx || ctx->on_started != &on_thread_started)
    throw invalid_state_error(std::string("aio::workers::") + what + "() called outside a run_threads worker");
  return *static_cast<thread_group*>(ctx->owner);
}

void drain(int fd, std::size_t size) {
  char buf[sizeof(signalfd_siginfo)];
  while (::read(fd, buf, size) == static_cast<ssize_t>(size)) {
  }
}

}  // namespace

bool post(const std::shared_ptr<aio::detail::loop_link>& link, aio::detail::unique_function fn) {
  if (!link) return false;
  std::lock_guard lock(link->mutex);
  if (!link->loop) return false;
  link->loop->call_soon_threadsafe(std::move(fn));
  return true;
}

std::shared_ptr<aio::detail::loop_link> caller_link() { return aio::detail::link_of(get_running_loop()); }

std::shared_ptr<aio::detail::loop_link> peer_link(std::size_t i) {
  thread_group& g = group_of_caller("run_on");
  std::lock_guard lock(g.mutex);
  if (i >= g.links.size())
    throw std::out_of_range("aio::workers: no worker " + std::to_string(i) + " (there are " +
                            std::to_string(g.links.size()) + ")");
  return g.links[i];
}

int run_thread_group(std::size_t n, main_factory make, const options& o) {
  if (try_get_running_loop())
    throw invalid_state_error("aio::workers::run_threads() cannot be called from a running event loop");
  if (n == 0) n = usable_cores();
  thread_group g;
  g.links.resize(n);
  std::vector<worker_context> contexts(n);
  std::vector<int> statuses(n, 0);

  // SIGTERM/SIGINT: blocked here before the threads start (they inherit the
  // mask), read on this thread.
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &set, &old);
  const int sfd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  const int done_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  auto restore = [&] {
    if (sfd >= 0) {
      drain(sfd, sizeof(signalfd_siginfo));  // nothing left pending to kill us once unblocked
      ::close(sfd);
    }
    if (done_fd >= 0) ::close(done_fd);
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  };
  if (sfd < 0 || done_fd < 0) {
    const int err = errno;
    restore();
    throw std::system_error(err, std::generic_category(), "aio::workers::run_threads: signalfd/eventfd");
  }

  std::vector<std::thread> threads;
  threads.reserve(n);
  auto stop_all = [&] {
    std::lock_guard lock(g.mutex);
    g.stopping = true;
    for (std::size_t i = 0; i < n; ++i) post_stop(g, i);
  };
  auto abort_start = [&] {
    stop_all();
    std::lock_guard lock(g.mutex);
    g.aborted = true;
    g.all_started.notify_all();
  };
  try {
    for (std::size_t i = 0; i < n; ++i) {
      worker_context& ctx = contexts[i];
      ctx.index = i;
      ctx.count = n;
      ctx.opts = &o;
      ctx.owner = &g;
      ctx.on_started = &on_thread_started;
      g.contexts.push_back(&ctx);
    }
    for (std::size_t i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        statuses[i] = run_worker_loop(contexts[i], make);
        const std::uint64_t one = 1;
        [[maybe_unused]] ssize_t w = ::write(done_fd, &one, sizeof one);
      });
    }
  } catch (...) {
    abort_start();
    for (auto& t : threads) t.join();
    restore();
    throw;
  }

  std::size_t finished = 0;
  while (finished < n) {
    pollfd fds[2] = {{sfd, POLLIN, 0}, {done_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;  // cannot happen with valid fds
    signalfd_siginfo info;
    int signo = 0;
    while (::read(sfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info))
      signo = static_cast<int>(info.ssi_signo);
    if (signo) {
      log_line(o, std::string(signo == SIGINT ? "SIGINT" : "SIGTERM") + ": stopping the worker threads");
      stop_all();
    }
    std::uint64_t count = 0;
    if (::read(done_fd, &count, sizeof count) == static_cast<ssize_t>(sizeof count))
      finished += static_cast<std::size_t>(count);
  }
  for (auto& t : threads) t.join();
  restore();
  for (int s : statuses)
    if (s != 0) return s;
  return 0;
}

}  // namespace detail

bool worker_ref::call_soon_threadsafe(aio::detail::unique_function fn) const {
  return detail::post(link_, std::move(fn));
}

worker_ref peer(std::size_t i) { return worker_ref(i, detail::peer_link(i)); }

}  // namespace aio::workers
