// SPDX-License-Identifier: MIT
#pragma once
// Hierarchical timer wheel: 6 levels of 64 slots, 1 ms ticks (asyncio's
// epoll timeout has the same granularity). Insert and cancel are O(1) and
// touch only the node and its slot; a timer cascades at most 5 times before
// it fires. A cancelled timer leaves the wheel at once.
//
// Timers due in the same tick fire in the order they were added.

#include <array>
#include <cstdint>
#include <optional>

#include "aio/core/detail/nodes.hpp"

namespace aio::detail {

class timer_wheel {
 public:
  static constexpr int levels = 6;
  static constexpr int slots = 64;
  static constexpr int expired_level = levels;

  timer_wheel() noexcept;
  timer_wheel(const timer_wheel&) = delete;

  /// Adds `n` to fire at `tick` (a timer due now or earlier fires on the next advance).
  void insert(timer_node& n, std::uint64_t tick) noexcept;
  void remove(timer_node& n) noexcept;
  /// The tick of the earliest timer, if any.
  std::optional<std::uint64_t> next_tick() const noexcept;
  /// Fires every timer due at or before `now`, in order. Returns how many fired.
  std::size_t advance(std::uint64_t now) noexcept;
  std::size_t size() const noexcept { return size_; }
  /// Removes every timer, calling f(node) on each (the loop's destructor).
  template <class F>
  void drain(F&& f) noexcept {
    auto take = [&](slot_list& l) {
      while (timer_node* n = l.head) {
        remove(*n);
        f(n);
      }
    };
    for (auto& level : wheel_)
      for (auto& l : level) take(l);
    take(expired_);
  }
  std::uint64_t elapsed() const noexcept { return elapsed_; }

 private:
  struct slot_list {
    timer_node* head = nullptr;
    timer_node* tail = nullptr;
  };
  void place(timer_node& n) noexcept;
  void push(slot_list& l, timer_node& n) noexcept;
  slot_list& list_of(const timer_node& n) noexcept;
  std::optional<std::uint64_t> next_in_level(int level) const noexcept;

  std::array<std::array<slot_list, slots>, levels> wheel_{};
  std::array<std::uint64_t, levels> occupied_{};
  slot_list expired_{};
  std::uint64_t elapsed_ = 0;
  std::size_t size_ = 0;
};

}  // namespace aio::detail
