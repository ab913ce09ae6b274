// SPDX-License-Identifier: MIT
#pragma once
// A FIFO of suspended tasks, for the synchronisation primitives and queues.
// Nodes live in the awaiters (in the waiting frames): no allocation.
//
// The awaiter pattern every primitive follows:
//   await_suspend: node.task = &enter_wait(); list.push_back(node); task->suspend(h, &node);
//   wake one:      list.wake_front()  (marks it woken, schedules its task)
//   cancel:        the default hook unlinks the node and wakes it as aborted;
//                  await_resume then calls node.resume_or_throw().
// A woken node whose task was cancelled before it ran does not throw (the
// wake-up is not lost); the cancel lands at the task's next suspension point.

#include "aio/core/detail/promise.hpp"

namespace aio::detail {

class wait_list;

struct wait_node : waiter {
  promise_base* task = nullptr;
  wait_node* prev = nullptr;
  wait_node* next = nullptr;
  wait_list* list = nullptr;  // set while linked
  bool woken = false;
  bool aborted = false;
  const char* what_ = "waiting";  // what the task waits on, for task dumps (set by each awaiter)

  wait_node() noexcept { cancel_ = &cancel_and_unlink; }
  /// Default cancel hook: leave the list, wake as aborted.
  static void cancel_and_unlink(waiter* w) noexcept;
  /// For await_resume: throws cancelled_error if the wait was aborted.
  void resume_or_throw() const {
    if (aborted) task->throw_cancelled();
  }
};

class wait_list {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  wait_node* front() const noexcept { return head_; }

  void push_back(wait_node& n) noexcept {
    n.prev = tail_;
    n.next = nullptr;
    n.list = this;
    if (tail_) tail_->next = &n; else head_ = &n;
    tail_ = &n;
    ++size_;
  }
  void remove(wait_node& n) noexcept {
    if (n.list != this) return;
    if (n.prev) n.prev->next = n.next; else head_ = n.next;
    if (n.next) n.next->prev = n.prev; else tail_ = n.prev;
    n.prev = n.next = nullptr;
    n.list = nullptr;
    --size_;
  }
  wait_node* pop_front() noexcept {
    wait_node* n = head_;
    if (n) remove(*n);
    return n;
  }
  /// Wakes the first waiter (FIFO). Returns it, or nullptr if none waited.
  wait_node* wake_front() noexcept {
    wait_node* n = pop_front();
    if (n) {
      n->woken = true;
      wake(*n->task);
    }
    return n;
  }
  /// Suspends the current task on this list (call from await_suspend).
  void suspend(wait_node& n, std::coroutine_handle<> h) {
    n.task = &enter_wait();
    push_back(n);
    n.task->suspend(h, &n);
  }

 private:
  wait_node* head_ = nullptr;
  wait_node* tail_ = nullptr;
  std::size_t size_ = 0;
};

inline void wait_node::cancel_and_unlink(waiter* w) noexcept {
  auto* n = static_cast<wait_node*>(w);
  if (n->list) n->list->remove(*n);
  n->aborted = true;
  wake(*n->task);
}

}  // namespace aio::detail
