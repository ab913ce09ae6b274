// SPDX-License-Identifier: MIT
#include "timer_wheel.hpp"

#include <algorithm>
#include <bit>

namespace aio::detail {

namespace {
constexpr std::uint64_t slot_mask = timer_wheel::slots - 1;
constexpr int bits_per_level = 6;
constexpr std::uint64_t max_span = (std::uint64_t{1} << (bits_per_level * timer_wheel::levels)) - 1;

int level_for(std::uint64_t elapsed, std::uint64_t when) noexcept {
  std::uint64_t masked = (elapsed ^ when) | slot_mask;
  int significant = 63 - std::countl_zero(masked);
  return significant / bits_per_level;
}
}  // namespace

timer_wheel::timer_wheel() noexcept = default;

void timer_wheel::push(slot_list& l, timer_node& n) noexcept {
  n.timer_next_ = nullptr;
  n.timer_prev_ = l.tail;
  if (l.tail) l.tail->timer_next_ = &n; else l.head = &n;
  l.tail = &n;
}

timer_wheel::slot_list& timer_wheel::list_of(const timer_node& n) noexcept {
  return n.level_ == expired_level ? expired_ : wheel_[n.level_][n.slot_];
}

void timer_wheel::place(timer_node& n) noexcept {
  if (n.tick_ <= elapsed_) {
    n.level_ = expired_level;
    push(expired_, n);
    return;
  }
  // The top level's slots wrap (next_in_level), so a tick in the next 2^36 ms
  // window still has a slot there. A tick beyond the wheel's reach (about 795
  // days) is parked at the farthest one: it is placed again, by its real
  // tick, when that slot comes due, and never fires early.
  const std::uint64_t at = n.tick_ - elapsed_ > max_span ? elapsed_ + max_span : n.tick_;
  int level = std::min(level_for(elapsed_, at), levels - 1);
  auto slot = static_cast<std::uint8_t>((at >> (level * bits_per_level)) & slot_mask);
  n.level_ = static_cast<std::int8_t>(level);
  n.slot_ = slot;
  push(wheel_[level][slot], n);
  occupied_[level] |= std::uint64_t{1} << slot;
}

void timer_wheel::insert(timer_node& n, std::uint64_t tick) noexcept {
  n.tick_ = tick;
  place(n);
  ++size_;
}

void timer_wheel::remove(timer_node& n) noexcept {
  if (n.level_ < 0) return;
  slot_list& l = list_of(n);
  if (n.timer_prev_) n.timer_prev_->timer_next_ = n.timer_next_; else l.head = n.timer_next_;
  if (n.timer_next_) n.timer_next_->timer_prev_ = n.timer_prev_; else l.tail = n.timer_prev_;
  if (!l.head && n.level_ != expired_level) occupied_[n.level_] &= ~(std::uint64_t{1} << n.slot_);
  n.timer_prev_ = n.timer_next_ = nullptr;
  n.level_ = -1;
  --size_;
}

std::optional<std::uint64_t> timer_wheel::next_in_level(int level) const noexcept {
  std::uint64_t occ = occupied_[level];
  if (!occ) return std::nullopt;
  int shift = level * bits_per_level;
  std::uint64_t slot_range = std::uint64_t{1} << shift;
  std::uint64_t level_range = slot_range << bits_per_level;
  // Scanned from the slot after the current one: the current slot can only
  // hold ticks of the next window (the top level wraps), so it comes last.
  const int from = static_cast<int>(((elapsed_ >> shift) + 1) & slot_mask);
  int zeros = std::countr_zero(std::rotr(occ, from));
  std::uint64_t slot = (static_cast<std::uint64_t>(zeros + from)) & slot_mask;
  std::uint64_t level_start = elapsed_ & ~(level_range - 1);
  std::uint64_t deadline = level_start + slot * slot_range;
  if (deadline <= elapsed_) deadline += level_range;  // wrapped into the next window
  return deadline;
}

std::optional<std::uint64_t> timer_wheel::next_tick() const noexcept {
  if (expired_.head) return elapsed_;
  for (int level = 0; level < levels; ++level) {
    if (auto d = next_in_level(level)) {
      // A timer in a higher-level slot fires no earlier than its own tick, but
      // the slot opens at `d`: report the slot start so cascading happens on time.
      return d;
    }
  }
  return std::nullopt;
}

std::size_t timer_wheel::advance(std::uint64_t now) noexcept {
  std::size_t fired = 0;
  for (;;) {
    while (timer_node* n = expired_.head) {
      remove(*n);
      n->fire_(n);
      ++fired;
    }
    int level = -1;
    std::optional<std::uint64_t> when;
    for (int l = 0; l < levels; ++l) {
      if ((when = next_in_level(l))) {
        level = l;
        break;
      }
    }
    if (level < 0 || *when > now) break;
    elapsed_ = *when;
    auto slot = static_cast<std::uint8_t>((*when >> (level * bits_per_level)) & slot_mask);
    if (level == 0) {
      // Every timer here is due: fire in place, one at a time, so that a fire
      // that cancels a neighbour (a timeout cancelling a sleep) finds it linked.
      while (timer_node* n = wheel_[0][slot].head) {
        remove(*n);
        n->fire_(n);
        ++fired;
      }
      continue;
    }
    slot_list l = wheel_[level][slot];
    wheel_[level][slot] = {};
    occupied_[level] &= ~(std::uint64_t{1} << slot);
    // Cascade (or expire) in list order, so equal ticks keep their FIFO order.
    for (timer_node* n = l.head; n;) {
      timer_node* next = n->timer_next_;
      place(*n);
      n = next;
    }
  }
  if (now > elapsed_) elapsed_ = now;
  return fired;
}

}  // namespace aio::detail
