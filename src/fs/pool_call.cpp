// SPDX-License-Identifier: MIT
#include <cerrno>
#include <memory>
#include <mutex>

#include "aio/exec/thread_pool_executor.hpp"
#include "file_io_impl.hpp"
#include "pool_call_impl.hpp"

namespace aio::fs::detail {

pool_call::pool_call(function fn, void* arg, std::string_view what,
                     const std::string& path) noexcept
    : fn_(fn), arg_(arg), what_(what), path_(&path) {
  cancel_ = [](aio::detail::waiter* w) noexcept {
    auto* c = static_cast<pool_call*>(w);
    c->cancelling_ = true;
    c->stop_.store(true, std::memory_order_relaxed);
    if (c->job_.cancel()) {  // not started: it never will
      c->res_ = -ECANCELED;
      c->complete_(c);
    }  // else running (it sees stop_) or done: its hand-back completes the call
  };
}

bool pool_call::await_suspend(std::coroutine_handle<> h) {
  task = &aio::detail::enter_wait();
  std::shared_ptr<aio::detail::loop_link> link = aio::detail::link_of(*task->loop_);
  job_ = aio::detail::internal_executor().submit([this, link] {
    int r = fn_(arg_, stop_);
    std::lock_guard lock(link->mutex);
    // The awaiting task waits for this hand-back, so its loop is still open.
    if (link->loop) link->loop->call_soon_threadsafe(hand_back{this, r});
  });
  task->suspend(h, this);
  return true;
}

int pool_call::await_resume() const {
  int r = finish();
  if (r < 0) throw_fs_error(-r, what_, *path_);
  return r;
}

std::string two_paths(std::string_view a, std::string_view b) {
  std::string s(a);
  s += "' -> '";
  s += b;
  return s;
}

std::string join_path(std::string_view dir, std::string_view name) {
  std::string s(dir);
  if (!s.empty() && s.back() != '/') s += '/';
  s += name;
  return s;
}

}  // namespace aio::fs::detail
