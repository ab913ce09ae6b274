// SPDX-License-Identifier: MIT
// What the exec module keeps per loop (a loop extension): the link that jobs
// use to hand results back, and the lazily created default executor.

#include <memory>
#include <mutex>

#include "aio/core/errors.hpp"
#include "aio/exec/to_thread.hpp"

namespace aio {

namespace {

const char state_key = 0;

struct exec_state final : loop_extension {
  explicit exec_state(event_loop& loop) : link(std::make_shared<detail::loop_link>()) {
    link->loop = &loop;
  }
  ~exec_state() override {
    // As asyncio.run's shutdown_default_executor: its jobs finish first (the
    // destructor's deadline bounds the wait). Their hand-backs may still be
    // queued on the loop; they are destroyed unrun with it.
    executor.reset();
    std::lock_guard lock(link->mutex);
    link->loop = nullptr;
  }
  std::shared_ptr<detail::loop_link> link;
  std::unique_ptr<thread_pool_executor> executor;
};

exec_state& state_of(event_loop& loop) {
  if (auto* e = loop.find_extension(&state_key)) return static_cast<exec_state&>(*e);
  return static_cast<exec_state&>(
      loop.add_extension(&state_key, std::make_unique<exec_state>(loop)));
}

}  // namespace

namespace detail {

const std::shared_ptr<loop_link>& link_of(event_loop& loop) { return state_of(loop).link; }

thread_pool_executor& internal_executor() {
  static thread_pool_executor* pool = [] {
    auto* p = new thread_pool_executor(4, "aio-internal");
    // Its jobs can wait on each other (FIFO opens and reads on the epoll
    // backend): a stuck pool grows rather than stalling every file call.
    p->set_growth({std::chrono::milliseconds(250), 60});
    return p;
  }();
  return *pool;
}

}  // namespace detail

thread_pool_executor& default_executor() {
  exec_state& s = state_of(get_running_loop());
  if (!s.executor) s.executor = std::make_unique<thread_pool_executor>(0, "aio-default");
  return *s.executor;
}

void set_default_executor(std::unique_ptr<thread_pool_executor> executor) {
  if (!executor) throw std::invalid_argument("set_default_executor: null executor");
  exec_state& s = state_of(get_running_loop());
  s.executor = std::move(executor);
}

}  // namespace aio
