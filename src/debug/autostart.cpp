// SPDX-License-Identifier: MIT
// AIO_SLOW_STEP_MS=N turns the blocking detector on, threshold N ms, for
// every loop of a program linked with aiocpp::debug; AIO_DUMP_ON_SIGNAL=1
// makes SIGUSR1 write the loop's task dump to stderr. The target's link
// options keep this object in the program (--undefined=aio_debug_autostart)
// even though nothing calls into it.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "aio/debug/blocking_detector.hpp"
#include "aio/debug/dump_tasks.hpp"

extern "C" {
/// The symbol aiocpp::debug's link options ask for, so that this object (and its initializer) is
/// linked.
extern const int aio_debug_autostart;
const int aio_debug_autostart = 1;
}

namespace aio::debug {

namespace {

void on_loop_created(event_loop& loop) noexcept {
  if (const char* v = std::getenv("AIO_DUMP_ON_SIGNAL"); v && std::strcmp(v, "1") == 0) {
    try {
      loop.add_signal_handler(SIGUSR1, [] { dump_tasks(stderr); });
    } catch (const std::exception& e) {
      std::fprintf(stderr, "aio: AIO_DUMP_ON_SIGNAL=1 but SIGUSR1 could not be handled: %s\n",
                   e.what());
    }
  }
  const auto threshold = slow_step_threshold_from_env();
  if (threshold.count() == 0) return;
  try {
    enable_blocking_detector(loop, {.threshold = threshold});
  } catch (const std::exception& e) {
    std::fprintf(stderr,
                 "aio: AIO_SLOW_STEP_MS is set but the blocking detector could not start: %s\n",
                 e.what());
  }
}

[[maybe_unused]] const bool installed = [] {
  aio::detail::loop_created_hook.store(&on_loop_created, std::memory_order_release);
  return true;
}();

}  // namespace

}  // namespace aio::debug
