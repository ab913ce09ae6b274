// SPDX-License-Identifier: MIT
// Exit waits for the detached work of the internal pool (thread_pool_executor.hpp).
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>

#include "aio/exec/thread_pool_executor.hpp"

namespace aio::detail {

namespace {

struct pending_work {
  std::mutex mutex;
  std::condition_variable idle;
  int count = 0;

  static pending_work& get() {
    static auto* p = new pending_work;  // never destroyed: used by the exit handler
    static std::once_flag registered;
    std::call_once(registered, [] { std::atexit(&wait_for_exit_work); });
    return *p;
  }
};

}  // namespace

void exit_waits_for(int delta) noexcept {
  pending_work& p = pending_work::get();
  std::lock_guard lock(p.mutex);
  p.count += delta;
  if (p.count == 0) p.idle.notify_all();
}

void wait_for_exit_work() noexcept {
  pending_work& p = pending_work::get();
  std::unique_lock lock(p.mutex);
  p.idle.wait_for(lock, std::chrono::seconds(30), [&] { return p.count == 0; });
}

}  // namespace aio::detail
