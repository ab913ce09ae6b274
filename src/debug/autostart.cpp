// SPDX-License-Identifier: MIT
// AIO_SLOW_STEP_MS=N turns the blocking detector on, threshold N ms, for
// every loop of a program linked with aiocpp::debug. The target's link
// options keep this object in the program (--undefined=aio_debug_autostart)
// even though nothing calls into it.

#include <cstdio>

#include "aio/debug/blocking_detector.hpp"

extern "C" {
/// The symbol aiocpp::debug's link options ask for, so that this object (and its initializer) is linked.
extern const int aio_debug_autostart;
const int aio_debug_autostart = 1;
}

namespace aio::debug {

namespace {

void on_loop_created(event_loop& loop) noexcept {
  const auto threshold = slow_step_threshold_from_env();
  if (threshold.count() == 0) return;
  try {
    enable_blocking_detector(loop, {.threshold = threshold});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aio: AIO_SLOW_STEP_MS is set but the blocking detector could not start: %s\n", e.what());
  }
}

[[maybe_unused]] const bool installed = [] {
  aio::detail::loop_created_hook.store(&on_loop_created, std::memory_order_release);
  return true;
}();

}  // namespace

}  // namespace aio::debug
