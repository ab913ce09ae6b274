// SPDX-License-Identifier: MIT
#pragma once
// The library's own threads (executor workers, a process pool's supervisor,
// reapers) are born with every signal blocked. The kernel hands a
// process-directed signal to any thread that does not block it, and the loop
// takes its signals (SIGINT for aio::run, add_signal_handler's) through a
// signalfd with the signal blocked in its own thread only: a helper thread
// left open to them would take a Ctrl-C meant for the loop and die of it,
// with the whole process. Signals sent to one thread (pthread_kill) and
// faults are not affected.

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

namespace aio::detail {

/// std::thread(f, args...) with every signal blocked in the new thread; the
/// caller's mask is unchanged. Throws what std::thread throws.
template <class F, class... Args>
std::thread signal_free_thread(F&& f, Args&&... args) {
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  struct restore {
    sigset_t* old;
    ~restore() { ::pthread_sigmask(SIG_SETMASK, old, nullptr); }
  } restore_on_exit{&old};
  return std::thread(std::forward<F>(f), std::forward<Args>(args)...);
}

}  // namespace aio::detail
