// SPDX-License-Identifier: MIT
#include "aio/core/condition.hpp"

#include <exception>
#include <string>

namespace aio {

void condition::require_locked(const char* what) const {
  if (!lock_->locked())
    throw invalid_state_error(std::string("condition.") + what + "(): lock is not acquired");
}

void condition::wake(std::size_t n) noexcept {
  for (; n > 0 && waiters_.wake_front(); --n) {
  }
}

void condition::notify(std::size_t n) {
  require_locked("notify");
  wake(n);
}

void condition::notify_all() {
  require_locked("notify_all");
  wake(waiters_.size());
}

task<> condition::wait() {
  require_locked("wait");
  lock_->release();
  std::exception_ptr err;
  wait_awaiter w;
  w.list = &waiters_;
  try {
    co_await w;
  } catch (...) {
    err = std::current_exception();
  }
  // The lock must be held again on the way out, even when cancelled; only a
  // cancellation of the re-acquire is caught, so nothing else can spin here.
  for (;;) {
    try {
      co_await lock_->acquire();
      break;
    } catch (const cancelled_error&) {
      err = std::current_exception();
    }
  }
  if (err) {
    // Woken, then cancelled while re-acquiring: hand the notification on.
    if (w.woken) wake(1);
    std::rethrow_exception(err);
  }
}

}  // namespace aio
