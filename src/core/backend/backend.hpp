// SPDX-License-Identifier: MIT
#pragma once
// The one internal interface both I/O backends implement. An io_op lives in
// an awaiter inside a coroutine frame; the backend keeps only pointers to it
// and calls op.complete_ exactly once, after which it never touches the op.

#include <cstdint>
#include <memory>

#include "aio/core/detail/nodes.hpp"
#include "aio/core/loop.hpp"

namespace aio::detail {

class backend {
 public:
  virtual ~backend() = default;
  virtual const char* name() const noexcept = 0;
  /// Starts `op`. Returns true if it finished at once: res_ is set and
  /// complete_ will not be called. Otherwise complete_ runs later, from poll().
  virtual bool start(io_op& op) = 0;
  /// Abandons `op`. complete_ still runs once, with -ECANCELED or with the
  /// result if the operation won the race; possibly from inside cancel().
  virtual void cancel(io_op& op) noexcept = 0;
  /// Submits queued work, waits up to `timeout_ns` (-1: no limit, 0: do not
  /// wait) for completions and dispatches them. Returns how many completed.
  virtual int poll(std::int64_t timeout_ns) = 0;
  /// poll(0) when there may be something to dispatch. io_uring tells from its
  /// rings, with no system call while nothing is there; epoll asks the kernel.
  /// For the loop's spin before it sleeps (idle_spin).
  virtual int poll_ready() = 0;
  /// True when operations were queued since the last poll (io_uring SQEs).
  virtual bool has_pending() const noexcept = 0;
};

/// io_uring, or nullptr with errno set when the kernel refuses it.
std::unique_ptr<backend> make_uring_backend();
std::unique_ptr<backend> make_epoll_backend();
std::unique_ptr<backend> make_backend(backend_kind kind);

/// The blocking-free system call an op stands for; -errno on failure.
int perform_io(io_op& op) noexcept;

}  // namespace aio::detail
