// SPDX-License-Identifier: MIT
#include "idle_spin.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace aio::detail {

namespace {

// 50 µs covers a loopback round trip and the gap between a bulk sender's
// segments here; Linux's busy_poll settings are of the same order.
constexpr std::chrono::microseconds default_spin{50};
constexpr std::chrono::microseconds max_spin{1'000'000};
constexpr unsigned max_misses = 6;  // after a run of misses, one spin per 64 waits
constexpr std::chrono::microseconds yield_every{5};

std::chrono::microseconds from_environment() {
  const char* v = std::getenv("AIO_SPIN_US");
  if (!v || !*v) return default_spin;
  char* end = nullptr;
  errno = 0;
  const long long us = std::strtoll(v, &end, 10);
  if (*end != '\0' || errno != 0 || us < 0 || us > max_spin.count())
    throw std::invalid_argument("AIO_SPIN_US must be a number of microseconds from 0 to " +
                                std::to_string(max_spin.count()) + ", not '" + v + "'");
  return std::chrono::microseconds(us);
}

std::chrono::microseconds checked(std::optional<std::chrono::microseconds> option) {
  if (!option) return from_environment();
  if (option->count() < 0 || *option > max_spin)
    throw std::invalid_argument("loop_options::spin must be from 0 to " + std::to_string(max_spin.count()) +
                                " µs, not " + std::to_string(option->count()) + " µs");
  return *option;
}

}  // namespace

idle_spin::idle_spin(std::optional<std::chrono::microseconds> option)
    : budget_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(checked(option)).count()) {}

int idle_spin::run(backend& io, std::int64_t& timeout_ns) {
  if (budget_ns_ == 0 || timeout_ns == 0) return 0;
  if (skip_ != 0) {
    --skip_;
    return 0;
  }
  const std::int64_t budget = timeout_ns < 0 ? budget_ns_ : std::min(budget_ns_, timeout_ns);
  using steady = std::chrono::steady_clock;
  const auto start = steady::now();
  const auto until = start + std::chrono::nanoseconds(budget);
  auto yield_at = start + yield_every;
  for (;;) {
    if (int done = io.poll_ready(); done != 0) {
      misses_ = 0;
      return done;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    // Paced by the clock (a vDSO read), not by iterations: an epoll
    // poll_ready is a system call, several µs under a sanitizer.
    const auto now = steady::now();
    if (now >= until) break;
    if (now >= yield_at) {
      ::sched_yield();  // the thread this loop waits for (a pool worker) may need this CPU
      yield_at = now + yield_every;
    }
  }
  misses_ = std::min(misses_ + 1, max_misses);
  skip_ = (1u << misses_) - 1;
  if (timeout_ns > 0) {
    const auto spun = std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - start);
    timeout_ns = std::max<std::int64_t>(0, timeout_ns - spun.count());
  }
  return 0;
}

}  // namespace aio::detail
