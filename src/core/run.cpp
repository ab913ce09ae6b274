// SPDX-License-Identifier: MIT
#include "aio/core/run.hpp"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace aio::detail {

namespace {

/// Stops the loop once every watched task is done.
struct stop_when_done : done_node {
  event_loop* loop;
  std::size_t* left;
};

void watch(event_loop& loop, promise_base& t, stop_when_done& n, std::size_t& left) {
  n.loop = &loop;
  n.left = &left;
  n.on_done_ = [](done_node* d, promise_base&) noexcept {
    auto* s = static_cast<stop_when_done*>(d);
    if (--*s->left == 0) s->loop->stop();
  };
  ++left;
  t.add_done(n);
}

/// Unlinks the watch nodes (on this stack frame) of tasks not done when
/// run_forever throws: the loop's destructor finishes those tasks later, and
/// their done callbacks must not reach this frame then.
struct unwatch_on_unwind {
  promise_base* const* tasks;
  stop_when_done* nodes;
  std::size_t count;
  ~unwatch_on_unwind() {
    for (std::size_t i = 0; i < count; ++i)
      if (!tasks[i]->done()) tasks[i]->remove_done(nodes[i]);
  }
};

bool sigint_is_default() {
  if (::getpid() != static_cast<pid_t>(::syscall(SYS_gettid))) return false;  // main thread only
  struct sigaction sa {};
  if (::sigaction(SIGINT, nullptr, &sa) != 0) return false;
  sigset_t cur;
  pthread_sigmask(SIG_SETMASK, nullptr, &cur);
  return sa.sa_handler == SIG_DFL && !sigismember(&cur, SIGINT);
}

}  // namespace

bool run_main(event_loop& loop, task_handle<> main, bool handle_sigint, bool shutdown) {
  bool interrupted = false;
  bool sigint = handle_sigint && sigint_is_default();
  if (sigint) {
    loop.add_signal_handler(SIGINT, [&interrupted, main]() mutable {
      interrupted = true;
      main.cancel("interrupted by SIGINT");
    });
  }
  std::size_t left = 0;
  stop_when_done main_node;
  watch(loop, *main.promise(), main_node, left);
  promise_base* const main_task = main.promise();
  try {
    unwatch_on_unwind unwatch{&main_task, &main_node, 1};
    loop.run_forever();
  } catch (...) {
    if (sigint) loop.remove_signal_handler(SIGINT);
    throw;
  }
  if (sigint) loop.remove_signal_handler(SIGINT);
  if (!shutdown) return interrupted;

  // Shutdown, as asyncio.run does: cancel what is left and let it unwind.
  std::vector<task_handle<>> rest;
  for (promise_base* p = loop.first_task(); p; p = p->task_next_) {
    p->add_ref();
    rest.emplace_back(p, std::false_type{});
  }
  if (!rest.empty()) {
    std::vector<stop_when_done> nodes(rest.size());
    std::vector<promise_base*> tasks(rest.size());
    left = 0;
    for (std::size_t i = 0; i < rest.size(); ++i) {
      rest[i].cancel();
      tasks[i] = rest[i].promise();
      watch(loop, *tasks[i], nodes[i], left);
    }
    unwatch_on_unwind unwatch{tasks.data(), nodes.data(), tasks.size()};
    loop.run_forever();
    for (auto& t : rest) {
      if (t.cancelled() || !t.promise()->exception_) continue;
      loop.call_exception_handler({"unhandled exception during aio::run() shutdown", t.promise()->exception_, t.get_name()});
      t.promise()->retrieved_ = true;
    }
  }
  return interrupted;
}

}  // namespace aio::detail
