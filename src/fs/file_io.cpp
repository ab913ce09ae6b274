// SPDX-License-Identifier: MIT
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "file_io_impl.hpp"
#include "aio/exec/thread_pool_executor.hpp"

namespace aio::fs::detail {

bool runs_on_pool(const event_loop& loop, aio::detail::io_kind) noexcept {
  return loop.backend_name() != "io_uring";
}

file_io_awaiter::file_io_awaiter(aio::detail::io_kind k, int fd, std::string_view what_,
                                 std::string_view path_) noexcept
    : what(what_), path(path_) {
  kind_ = k;
  fd_ = fd;
  complete_ = [](aio::detail::io_op* op) noexcept {
    auto* a = static_cast<file_io_awaiter*>(op);
    a->give_back_slot();
    aio::detail::wake(*a->task);
  };
  queued_.op = this;
  queued_.what_ = "a file-operation slot";
  queued_.admit_ = [](inflight_node* n) noexcept {
    auto* a = static_cast<admission*>(n)->op;
    bool done = true;
    try {
      done = a->start();
    } catch (...) {
      a->start_error_ = std::current_exception();
    }
    if (done) a->complete_(a);
  };
  cancel_ = [](aio::detail::waiter* w) noexcept {
    auto* a = static_cast<file_io_awaiter*>(w);
    a->cancelling_ = true;
    if (a->queued_.list) {  // never started: leave the queue, holding nothing
      a->limiter_->dequeue(a->queued_);
      a->limiter_ = nullptr;
      a->res_ = -ECANCELED;
      aio::detail::wake(*a->task);
    } else if (!a->job.valid()) {
      a->task->loop_->cancel_io(*a);
    } else if (a->job.cancel()) {  // not started: it never will
      a->res_ = -ECANCELED;
      a->complete_(a);
    }  // else running or done: its hand-back completes the op
  };
}

bool file_io_awaiter::await_suspend(std::coroutine_handle<> h) {
  task = &aio::detail::enter_wait();
  if (!admitted && kind_ != aio::detail::io_kind::close) {  // a close frees an fd: it never waits
    limiter_ = &inflight::of(*task->loop_);
    if (!limiter_->try_take()) {
      queued_.task = task;
      limiter_->enqueue(queued_);  // admit_ starts it
      task->suspend(h, this);
      return true;
    }
  }
  bool done = true;
  try {
    done = start();
  } catch (...) {
    give_back_slot();
    throw;
  }
  if (done) {
    give_back_slot();
    return false;
  }
  task->suspend(h, this);
  return true;
}

bool file_io_awaiter::start() {
  if (runs_on_pool(*task->loop_, kind_)) {
    start_pooled();
  } else if (task->loop_->start_io(*this)) {
    // A kernel older than the op (mkdirat, symlinkat, linkat before Linux
    // 5.15, ftruncate before 6.9): the pool does it.
    if (res_ != -EOPNOTSUPP) {
      handed_over_ = true;
      return true;
    }
    start_pooled();
  }
  handed_over_ = true;  // not reached when a start throws
  return false;
}

void file_io_awaiter::give_back_slot() noexcept {
  if (inflight* l = limiter_) {
    limiter_ = nullptr;
    l->release();
  }
}

void file_io_awaiter::start_pooled() {
  std::shared_ptr<aio::detail::loop_link> link = aio::detail::link_of(*task->loop_);
  job = aio::detail::internal_executor().submit([op = static_cast<aio::detail::io_op*>(this), link] {
    int r = aio::detail::perform_io(*op);
    std::lock_guard lock(link->mutex);
    // A loop closes only once its tasks are done, and this op's task waits for
    // this hand-back: the loop is still there.
    if (link->loop) link->loop->call_soon_threadsafe(hand_back{op, r});
  });
}

int file_io_awaiter::await_resume() const {
  if (start_error_) std::rethrow_exception(start_error_);
  int r = finish();
  if (r < 0) throw_fs_error(-r, what, path);
  return r;
}

void throw_fs_error(int err, std::string_view what, std::string_view path) {
  std::string msg(what);
  if (!path.empty()) {
    msg += " '";
    msg += path;
    msg += '\'';
  }
  throw std::system_error(err, std::generic_category(), msg);
}

void close_detached(int fd) noexcept {
  if (fd < 0) return;
  try {
    aio::detail::internal_executor().submit([fd] { ::close(fd); });
  } catch (...) {
    ::close(fd);  // no thread could take it: better a short block than a leak
  }
}

}  // namespace aio::fs::detail
