// SPDX-License-Identifier: MIT
// The timer wheel on its own: ordering across levels, cancellation, FIFO ties.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "timer_wheel.hpp"

namespace {
struct probe : aio::detail::timer_node {
  std::vector<std::uint64_t>* log = nullptr;
  std::uint64_t id = 0;
};
void record(aio::detail::timer_node* n) noexcept {
  auto* p = static_cast<probe*>(n);
  p->log->push_back(p->id);
}
}  // namespace

TEST(timer_wheel, fires_in_tick_order_across_levels) {
  aio::detail::timer_wheel w;
  std::vector<std::uint64_t> log;
  std::mt19937_64 rng(42);
  std::vector<probe> ps(5000);
  std::vector<std::uint64_t> ticks;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    std::uint64_t t = rng() % (std::uint64_t{1} << (6 + 6 * (i % 5)));
    ps[i].log = &log;
    ps[i].id = t;
    ps[i].fire_ = &record;
    w.insert(ps[i], t);
    ticks.push_back(t);
  }
  EXPECT_EQ(w.size(), ps.size());
  std::uint64_t now = 0;
  while (w.size()) {
    auto next = w.next_tick();
    ASSERT_TRUE(next);
    ASSERT_GE(*next, now);
    now = *next;
    w.advance(now);
  }
  std::sort(ticks.begin(), ticks.end());
  EXPECT_EQ(log, ticks);
}

TEST(timer_wheel, removal_and_fifo_ties) {
  aio::detail::timer_wheel w;
  std::vector<std::uint64_t> log;
  probe a, b, c, d;
  for (auto* p : {&a, &b, &c, &d}) {
    p->log = &log;
    p->fire_ = &record;
  }
  a.id = 1, b.id = 2, c.id = 3, d.id = 4;
  w.insert(a, 500);
  w.insert(b, 500);
  w.insert(c, 500);
  w.insert(d, 70);
  w.remove(b);
  w.remove(b);  // twice is harmless
  EXPECT_EQ(w.size(), 3u);
  w.advance(499);
  EXPECT_EQ(log, (std::vector<std::uint64_t>{4}));
  w.advance(500);
  EXPECT_EQ(log, (std::vector<std::uint64_t>{4, 1, 3}));
  EXPECT_FALSE(w.next_tick());
  // A timer in the past fires on the next advance.
  probe e;
  e.log = &log;
  e.fire_ = &record;
  e.id = 5;
  w.insert(e, 3);
  EXPECT_EQ(w.next_tick(), std::optional<std::uint64_t>(500));
  w.advance(500);
  EXPECT_EQ(log.back(), 5u);
}

// Ticks that cross the wheel's top window (2^36 ms) once time has moved, and
// ticks beyond its reach: each fires at its own tick, never earlier, in order.
TEST(timer_wheel, ticks_across_and_beyond_the_top_window) {
  aio::detail::timer_wheel w;
  std::vector<std::uint64_t> log;
  constexpr std::uint64_t window = std::uint64_t{1} << 36;
  probe start;
  start.log = &log;
  start.fire_ = &record;
  start.id = 5000;
  w.insert(start, 5000);
  w.advance(5000);  // elapsed is no longer 0
  std::vector<std::uint64_t> ticks = {window - 1, window, window + 7, 5000 + window + 3, 3 * window + 11,
                                      (std::uint64_t{1} << 44) + 1};  // parked and placed again 256 times
  std::vector<probe> ps(ticks.size());
  for (std::size_t i = 0; i < ps.size(); ++i) {
    ps[i].log = &log;
    ps[i].fire_ = &record;
    ps[i].id = ticks[i];
    w.insert(ps[i], ticks[i]);
  }
  std::uint64_t now = 5000;
  while (w.size()) {
    auto next = w.next_tick();
    ASSERT_TRUE(next);
    ASSERT_GE(*next, now);
    now = *next;
    const std::size_t before = log.size();
    w.advance(now);
    for (std::size_t i = before; i < log.size(); ++i) EXPECT_GE(now, log[i]) << "fired early";
  }
  std::vector<std::uint64_t> want = {5000};
  want.insert(want.end(), ticks.begin(), ticks.end());
  EXPECT_EQ(log, want);
}
