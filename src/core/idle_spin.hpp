// SPDX-License-Identifier: MIT
#pragma once
// The loop's spin before it sleeps (loop_options::spin). A completion that
// arrives within the spin costs neither a sleep nor a wake-up: no context
// switch here, and no wake-up for whoever completes it (on loopback, the
// peer's send pays for waking a sleeping receiver). A spin that finds
// nothing makes the next ones rarer, so an idle or slow-paced loop spends
// almost no CPU on it.

#include <chrono>
#include <cstdint>
#include <optional>

#include "backend/backend.hpp"

namespace aio::detail {

class idle_spin {
 public:
  /// `option` unset: AIO_SPIN_US from the environment, else the default.
  /// Throws std::invalid_argument for a negative or over-long spin.
  explicit idle_spin(std::optional<std::chrono::microseconds> option);

  /// Called where the loop would sleep up to `timeout_ns` (-1: no limit):
  /// watches `io` for up to the budget (never past the timeout). Returns how
  /// many operations completed meanwhile; 0 means sleep now, for what is
  /// left of `timeout_ns` (reduced by the time spun, so a timer is not late).
  int run(backend& io, std::int64_t& timeout_ns);

 private:
  std::int64_t budget_ns_;
  unsigned misses_ = 0;  // spins in a row that found nothing
  unsigned skip_ = 0;    // waits left that sleep at once (2^misses - 1 after a miss)
};

}  // namespace aio::detail
