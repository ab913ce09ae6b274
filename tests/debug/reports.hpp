// SPDX-License-Identifier: MIT
#pragma once
// A logger for the blocking detector's tests: collects the reports (from the
// watchdog thread and the loop thread) and lets a test wait for them.

#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "aio/debug/blocking_detector.hpp"
#include "aio_test.hpp"

namespace aio::test {

class report_log {
 public:
  std::function<void(const debug::stall_report&)> logger() {
    return [this](const debug::stall_report& r) {
      std::lock_guard lock(m_);
      reports_.push_back(r);
    };
  }
  std::vector<debug::stall_report> all() const {
    std::lock_guard lock(m_);
    return reports_;
  }
  std::vector<debug::stall_report> of_kind(debug::stall_report::kind k) const {
    std::vector<debug::stall_report> out;
    for (auto& r : all())
      if (r.what == k) out.push_back(r);
    return out;
  }
  std::size_t count(debug::stall_report::kind k) const { return of_kind(k).size(); }

  /// Keeps the loop turning until `n` reports of kind `k` came in (or 10 s passed).
  task<bool> wait_for(debug::stall_report::kind k, std::size_t n) {
    for (int i = 0; i < 1000; ++i) {
      if (count(k) >= n) co_return true;
      co_await sleep(std::chrono::milliseconds(10));
    }
    co_return false;
  }

 private:
  mutable std::mutex m_;
  std::vector<debug::stall_report> reports_;
};

/// Stops the loop's detector when the test body ends (its logger dies with it).
struct detector_guard {
  event_loop& loop;
  ~detector_guard() { debug::disable_blocking_detector(loop); }
};

/// True if some frame's function contains `function`, and that frame's file ends with `file`.
inline bool stack_names(const debug::stall_report& r, const std::string& function,
                        const std::string& file) {
  return std::any_of(r.stack.begin(), r.stack.end(), [&](const debug::stack_frame& f) {
    return f.function.find(function) != std::string::npos && f.file.size() >= file.size() &&
           f.file.compare(f.file.size() - file.size(), file.size(), file) == 0 && f.line > 0;
  });
}

/// stack_names, except that under ThreadSanitizer a capture cut short inside
/// the TSan runtime (its functions have no unwind tables libunwind can use;
/// a CPU spin spends most of its time in them) is accepted as well.
inline bool stack_names_or_tsan_cut(const debug::stall_report& r, const std::string& function,
                                    const std::string& file) {
  if (stack_names(r, function, file)) return true;
#if defined(__SANITIZE_THREAD__)
  return !r.stack.empty() && r.stack.size() <= 3 && r.stack[0].function.rfind("__tsan", 0) == 0;
#else
  return false;
#endif
}

}  // namespace aio::test
