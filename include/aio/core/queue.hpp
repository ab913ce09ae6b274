// SPDX-License-Identifier: MIT
#pragma once
// `aio::queue<T>` is asyncio.Queue: a FIFO for passing items between tasks of
// one loop, optionally bounded (put waits while it is full). `lifo_queue`
// and `priority_queue` are asyncio.LifoQueue and asyncio.PriorityQueue.
// task_done()/join() track work, shutdown() closes the queue (Python 3.13).
//
//   aio::queue<job> q(100);
//   co_await q.put(job{…});             // producer
//   job j = co_await q.get();           // consumer
//   …; q.task_done();
//   co_await q.join();                  // every item processed
//
// Fair (FIFO among waiting getters and among waiting putters, no barging):
// an item put while a getter waits is handed straight to the first getter,
// and a get from a full queue with waiting putters takes the first putter's
// item in at once. Items are moved, never copied; T may be move-only.
// Not thread-safe: use it from the loop's own thread.

#include <coroutine>
#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <utility>

#include "aio/core/detail/queue_storage.hpp"
#include "aio/core/detail/wait_list.hpp"

namespace aio {

/// get_nowait() on an empty queue. Like `asyncio.QueueEmpty`.
class queue_empty : public std::runtime_error {
 public:
  queue_empty() : std::runtime_error("queue is empty") {}
};
/// put_nowait() on a full queue. Like `asyncio.QueueFull`.
class queue_full : public std::runtime_error {
 public:
  queue_full() : std::runtime_error("queue is full") {}
};
/// The queue was shut down. Like `asyncio.QueueShutDown` (Python 3.13).
class queue_shut_down : public std::runtime_error {
 public:
  queue_shut_down() : std::runtime_error("queue is shut down") {}
};

namespace detail {

[[noreturn]] void throw_task_done_too_many();

/// What queue, lifo_queue and priority_queue share; `Storage` orders the items.
template <class T, class Storage>
class basic_queue {
 public:
  using value_type = T;

  /// Like `asyncio.Queue(maxsize)`: 0 means unbounded; `args` construct the
  /// storage (priority_queue passes its Compare).
  template <class... Args>
  explicit basic_queue(std::size_t maxsize, Args&&... args)
      : items_(std::forward<Args>(args)...), maxsize_(maxsize) {}
  basic_queue(const basic_queue&) = delete;
  basic_queue& operator=(const basic_queue&) = delete;

  /// The awaiter of get(). The item handed to it waits in the awaiting frame.
  struct get_awaiter : wait_node {
    basic_queue* q;
    std::optional<T> item;
    bool shut = false;
    explicit get_awaiter(basic_queue& bq) noexcept : q(&bq) {}
    bool await_ready() const noexcept { return !q->items_.empty() || q->shutdown_; }
    void await_suspend(std::coroutine_handle<> h) {
      what_ = "queue get";
      q->getters_.suspend(*this, h);
    }
    T await_resume() {
      resume_or_throw();
      if (item) return std::move(*item);
      if (shut || q->items_.empty()) throw queue_shut_down();
      return q->take();
    }
  };
  /// The awaiter of put(). The item waits in the awaiting frame until it fits.
  struct put_awaiter : wait_node {
    basic_queue* q;
    T item;
    bool shut = false;
    put_awaiter(basic_queue& bq, T&& v) : q(&bq), item(std::move(v)) {}
    bool await_ready() const noexcept { return !q->full() || q->shutdown_; }
    void await_suspend(std::coroutine_handle<> h) {
      what_ = "queue put";
      q->putters_.suspend(*this, h);
    }
    void await_resume() {
      resume_or_throw();
      if (woken) {  // a getter took our item in, or shutdown() woke us
        if (shut) throw queue_shut_down();
        return;
      }
      if (q->shutdown_) throw queue_shut_down();
      q->insert(std::move(item));
    }
  };
  /// The awaiter of join().
  struct join_awaiter : wait_node {
    basic_queue* q;
    explicit join_awaiter(basic_queue& bq) noexcept : q(&bq) {}
    bool await_ready() const noexcept { return q->unfinished_ == 0; }
    void await_suspend(std::coroutine_handle<> h) {
      what_ = "queue join";
      q->joiners_.suspend(*this, h);
    }
    void await_resume() const { resume_or_throw(); }
  };

  /// Like `await Queue.get()`: removes and returns the next item, waiting
  /// (FIFO among getters) while the queue is empty. Does not suspend when an
  /// item is there. Throws queue_shut_down once the queue is shut down and
  /// empty (at once after shutdown(true)). Cancel-safe: a getter cancelled
  /// while waiting takes nothing and throws cancelled_error; a getter already
  /// handed an item returns it (the cancel lands at its next suspension
  /// point). No item is lost or delivered twice.
  [[nodiscard]] get_awaiter get() noexcept { return get_awaiter(*this); }
  /// Like `await Queue.put(item)`: adds `v`, waiting (FIFO among putters)
  /// while the queue is full. Throws queue_shut_down if the queue is, or is
  /// shut down while waiting (the item is then dropped). Cancel-safe: a
  /// putter cancelled while waiting never inserts its item; one whose item
  /// was already taken in returns normally (the cancel lands later).
  [[nodiscard]] put_awaiter put(T v) { return put_awaiter(*this, std::move(v)); }
  /// Like `Queue.get_nowait()`. Throws queue_empty, or queue_shut_down when
  /// shut down and empty.
  T get_nowait() {
    if (items_.empty()) {
      if (shutdown_) throw queue_shut_down();
      throw queue_empty();
    }
    return take();
  }
  /// Like `Queue.put_nowait(item)`. Throws queue_shut_down, or queue_full.
  void put_nowait(T v) {
    if (shutdown_) throw queue_shut_down();
    if (full()) throw queue_full();
    insert(std::move(v));
  }

  /// Like `Queue.task_done()`: one item got earlier is processed. Throws
  /// invalid_state_error (asyncio's ValueError) if called more times than
  /// items were put.
  void task_done() {
    if (unfinished_ == 0) throw_task_done_too_many();
    if (--unfinished_ == 0) wake_all(joiners_);
  }
  /// Like `await Queue.join()`: waits until every item put has been marked
  /// task_done(). Does not suspend if none is pending. Cancel-safe: a
  /// cancelled join() leaves the queue untouched.
  [[nodiscard]] join_awaiter join() noexcept { return join_awaiter(*this); }
  /// Like `Queue.shutdown(immediate)` (Python 3.13): put() and put_nowait()
  /// throw queue_shut_down from now on; get() does once the queue is empty.
  /// Waiting putters and getters are woken with queue_shut_down. With
  /// `immediate`, the queue is also emptied (each dropped item counts as
  /// task_done, which may release join()), so get() throws at once.
  void shutdown(bool immediate = false) {
    shutdown_ = true;
    if (immediate) {
      while (!items_.empty()) {
        (void)items_.pop();
        if (unfinished_ > 0) --unfinished_;
      }
      if (unfinished_ == 0) wake_all(joiners_);
    }
    while (wait_node* n = getters_.pop_front()) wake_shut(static_cast<get_awaiter*>(n));
    while (wait_node* n = putters_.pop_front()) wake_shut(static_cast<put_awaiter*>(n));
  }

  /// Like `Queue.qsize()`. An item handed straight to a waiting getter is
  /// not counted (it is no longer in the queue).
  std::size_t qsize() const noexcept { return items_.size(); }
  /// Like `Queue.empty()`.
  bool empty() const noexcept { return items_.empty(); }
  /// Like `Queue.full()`: never true for an unbounded queue.
  bool full() const noexcept { return maxsize_ > 0 && items_.size() >= maxsize_; }
  /// Like `Queue.maxsize`.
  std::size_t maxsize() const noexcept { return maxsize_; }
  /// True once shutdown() was called.
  bool is_shut_down() const noexcept { return shutdown_; }
  /// Items put and not yet marked task_done() (asyncio's `_unfinished_tasks`).
  std::size_t unfinished_tasks() const noexcept { return unfinished_; }

 private:
  // Waiting getters imply an empty queue, so the item goes straight to the first.
  void insert(T&& v) {
    ++unfinished_;
    if (wait_node* n = getters_.pop_front()) {
      auto* g = static_cast<get_awaiter*>(n);
      g->item.emplace(std::move(v));
      g->woken = true;
      wake(*g->task);
    } else {
      items_.push(std::move(v));
    }
  }
  // Waiting putters imply a full queue: refill from the first of them.
  T take() {
    T v = items_.pop();
    if (wait_node* n = putters_.pop_front()) {
      auto* p = static_cast<put_awaiter*>(n);
      ++unfinished_;
      items_.push(std::move(p->item));
      p->woken = true;
      wake(*p->task);
    }
    return v;
  }
  template <class A>
  static void wake_shut(A* a) noexcept {
    a->shut = true;
    a->woken = true;
    wake(*a->task);
  }
  static void wake_all(wait_list& l) noexcept {
    while (l.wake_front()) {
    }
  }

  Storage items_;
  wait_list getters_;
  wait_list putters_;
  wait_list joiners_;
  std::size_t maxsize_;
  std::size_t unfinished_ = 0;
  bool shutdown_ = false;
};

}  // namespace detail

/// Like `asyncio.Queue`: first in, first out. See detail::basic_queue for the operations.
template <class T>
class queue : public detail::basic_queue<T, detail::ring_storage<T>> {
 public:
  /// Like `asyncio.Queue(maxsize)`: 0 (the default) means unbounded.
  explicit queue(std::size_t maxsize = 0)
      : detail::basic_queue<T, detail::ring_storage<T>>(maxsize) {}
};

/// Like `asyncio.LifoQueue`: last in, first out.
template <class T>
class lifo_queue : public detail::basic_queue<T, detail::lifo_storage<T>> {
 public:
  /// Like `asyncio.LifoQueue(maxsize)`: 0 (the default) means unbounded.
  explicit lifo_queue(std::size_t maxsize = 0)
      : detail::basic_queue<T, detail::lifo_storage<T>>(maxsize) {}
};

/// Like `asyncio.PriorityQueue`: get() returns the smallest item under
/// `Compare` (std::less: smallest first, as heapq). Equal items come out in
/// no particular order, as in asyncio; put (priority, sequence) pairs for
/// FIFO among equals.
template <class T, class Compare = std::less<T>>
class priority_queue : public detail::basic_queue<T, detail::heap_storage<T, Compare>> {
 public:
  /// Like `asyncio.PriorityQueue(maxsize)`: 0 (the default) means unbounded.
  explicit priority_queue(std::size_t maxsize = 0, Compare c = Compare())
      : detail::basic_queue<T, detail::heap_storage<T, Compare>>(maxsize, std::move(c)) {}
};

}  // namespace aio
