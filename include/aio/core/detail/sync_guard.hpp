// SPDX-License-Identifier: MIT
#pragma once
// The RAII holder returned by `co_await lock.scoped()` and
// `co_await semaphore.scoped()`: what `async with lock:` is in Python.

#include <utility>

namespace aio::detail {

/// Holds one acquisition of `M` (a lock or a semaphore) and releases it when
/// destroyed, unless released or moved from first. Move-only.
template <class M>
class sync_guard {
 public:
  sync_guard() noexcept = default;
  explicit sync_guard(M& m) noexcept : m_(&m) {}
  sync_guard(sync_guard&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  sync_guard& operator=(sync_guard&& o) noexcept {
    if (this != &o) {
      reset();
      m_ = std::exchange(o.m_, nullptr);
    }
    return *this;
  }
  sync_guard(const sync_guard&) = delete;
  sync_guard& operator=(const sync_guard&) = delete;
  ~sync_guard() { reset(); }

  /// True while this guard holds an acquisition.
  bool owns() const noexcept { return m_ != nullptr; }
  explicit operator bool() const noexcept { return owns(); }
  /// Releases the acquisition now (no-op if none).
  void reset() noexcept {
    if (M* m = std::exchange(m_, nullptr)) m->release();
  }
  /// Gives the acquisition up without releasing it: the caller must release().
  M* detach() noexcept { return std::exchange(m_, nullptr); }

 private:
  M* m_ = nullptr;
};

}  // namespace aio::detail
