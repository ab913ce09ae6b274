// SPDX-License-Identifier: MIT
#pragma once
// The non-template part of as_completed: a done_node per task (one vector),
// the completion order in a second array, an optional deadline, and at most
// one task waiting in next().

#include <cstddef>
#include <optional>
#include <vector>

#include "aio/core/detail/promise.hpp"

namespace aio::detail {

class as_completed_core : timer_node {
 public:
  /// Watches `tasks` from now on; tasks already done are queued in input order.
  as_completed_core(std::vector<promise_base*> tasks,
                    std::optional<event_loop::time_point> deadline);
  as_completed_core(const as_completed_core&) = delete;
  as_completed_core& operator=(const as_completed_core&) = delete;
  ~as_completed_core();

  /// The awaiter of next(): the input index of the next task to finish.
  class next_awaiter : waiter {
   public:
    explicit next_awaiter(as_completed_core& c) noexcept : core_(&c) {}
    bool await_ready() const noexcept { return core_->ready(); }
    void await_suspend(std::coroutine_handle<> h);
    std::optional<std::size_t> await_resume();

   private:
    friend class as_completed_core;
    static void on_cancel(waiter* w) noexcept;
    as_completed_core* core_;
    promise_base* self_ = nullptr;
    bool aborted_ = false;
  };

  /// How many tasks have not been delivered by next() yet.
  std::size_t remaining() const noexcept { return nodes_.size() - head_ - timeouts_; }

 private:
  struct node : done_node {
    as_completed_core* owner = nullptr;
    promise_base* task = nullptr;
    bool linked = false;
  };
  bool ready() const noexcept { return head_ < tail_ || remaining() == 0 || timed_out_; }
  std::optional<std::size_t> take();
  void push(std::size_t index) noexcept;
  void unlink_all() noexcept;
  static void on_task_done(done_node* n, promise_base& p) noexcept;
  static void on_deadline(timer_node* t) noexcept;

  std::vector<node> nodes_;
  std::vector<std::size_t> order_;  // input indices in completion order
  std::size_t head_ = 0;            // next to deliver
  std::size_t tail_ = 0;            // next free slot
  std::size_t timeouts_ = 0;        // timeout_errors handed out by next()
  event_loop* loop_;
  next_awaiter* waiting_ = nullptr;
  bool timed_out_ = false;
};

}  // namespace aio::detail
