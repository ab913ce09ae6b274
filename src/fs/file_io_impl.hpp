// SPDX-License-Identifier: MIT
#pragma once
// One file-system operation awaited by the current task. On io_uring it is an
// SQE (openat, read, write, writev, statx, fsync, ftruncate, close, unlinkat,
// mkdirat, renameat); on epoll — and for an op the running kernel lacks
// (ftruncate before Linux 6.9) — the same io_op is
// performed by a thread of the library's internal pool, and the result comes
// back to the loop with call_soon_threadsafe.
//
// Cancellation never frees what the operation points to while it runs: the
// task resumes only once the ring (IORING_OP_ASYNC_CANCEL) or the pool is done
// with the op. A pool job not started yet is dropped and never runs; a running
// one is waited for. An op that completed anyway delivers its result (an fd
// from open is then owned by the caller); the cancel lands at the next
// suspension point.

#include <exception>
#include <string>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>

#include "aio/core/sock.hpp"
#include "aio/fs/stat.hpp"
#include "aio/exec/concurrent_future.hpp"
#include "inflight.hpp"

namespace aio::fs::detail {

/// Named so that the debug module's task dumps say what the task waits on
/// (its cancel hook's symbol contains "io_awaiter").
/// Set the op's fields (see io_kind in nodes.hpp) between construction and
/// co_await; `what` and `path` name it in errors and must outlive it.
/// Every op but a close takes a slot of the loop's bound (inflight.hpp) while
/// it runs, waiting in its FIFO when none is free.
struct file_io_awaiter : aio::detail::io_awaiter {
  concurrent_future<void> job;  // the pool path
  std::string_view what;
  std::string_view path;
  /// Set by a caller that holds an inflight_slot for the whole job: the op
  /// takes no slot of its own.
  bool admitted = false;

  file_io_awaiter(aio::detail::io_kind k, int fd, std::string_view what_, std::string_view path_) noexcept;
  bool await_suspend(std::coroutine_handle<> h);
  /// The result (bytes, fd, 0); std::system_error "<what> '<path>': <reason>",
  /// or cancelled_error when the op was abandoned.
  int await_resume() const;
  /// After it threw: true when the op never ran (refused at its start with a
  /// cancel pending, or a pool job dropped from the queue). A close that never
  /// ran leaves its fd open for the caller to close_detached.
  bool never_ran() const noexcept { return !handed_over_ || res_ == -ECANCELED; }
  /// Points buf_ at a NUL-terminated path.
  void set_path(const std::string& p) noexcept { buf_ = const_cast<char*>(p.c_str()); }

 private:
  bool start();  // true: finished at once, res_ set
  void start_pooled();
  void give_back_slot() noexcept;
  struct admission : inflight_node {
    file_io_awaiter* op = nullptr;
  };
  admission queued_;             // its place while it waits for a slot
  inflight* limiter_ = nullptr;  // while it holds or waits for a slot
  std::exception_ptr start_error_;  // a start that failed once the op was admitted
  bool handed_over_ = false;        // start() gave it to the kernel or the pool (or did it)
};

/// The hand-back of a pool job to the loop of the awaiting task (through
/// call_soon_threadsafe): sets the op's result and completes it.
struct hand_back {
  aio::detail::io_op* op;
  int res;
  void operator()() noexcept {
    op->res_ = res;
    op->complete_(op);
  }
};

/// True when `kind` runs on the pool for this loop (the epoll backend). On
/// io_uring, an op the running kernel lacks (mkdirat, symlinkat, linkat before
/// Linux 5.15, ftruncate before 6.9) is
/// answered -EOPNOTSUPP by the backend and then moves to the pool as well.
bool runs_on_pool(const event_loop& loop, aio::detail::io_kind kind) noexcept;

/// std::system_error with "<what> '<path>'" (or just <what> when path is empty).
[[noreturn]] void throw_fs_error(int err, std::string_view what, std::string_view path);

/// Largest single read or write handed to the kernel (longer ones are split).
inline constexpr std::size_t max_chunk = std::size_t{32} << 20;

/// Converts what statx gave.
stat_result to_stat_result(const struct ::statx& s) noexcept;

/// Closes `fd` off the loop (a pool thread), for destructors and cleanup.
void close_detached(int fd) noexcept;

}  // namespace aio::fs::detail
