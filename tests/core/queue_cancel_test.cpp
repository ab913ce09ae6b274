// SPDX-License-Identifier: MIT
// Cancellation of queue operations at each suspension point: a waiting get,
// a waiting put, a join; the woken-then-cancelled races; and cancellation
// storms proving that no item is lost or delivered twice.
#include <algorithm>
#include <cstdint>
#include <map>

#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(queue_cancel_test);

namespace {
aio::task<> yield(int n = 1) {
  for (int i = 0; i < n; ++i) co_await aio::sleep(0s);
}

struct lcg {
  std::uint32_t s;
  std::uint32_t next(std::uint32_t n) {
    s = s * 1103515245u + 12345u;
    return (s >> 8) % n;
  }
};
}  // namespace

AIO_TEST(queue_cancel_test, cancelled_waiting_getter_takes_nothing) {
  aio::queue<int> q;
  auto getter = [&]() -> aio::task<int> { co_return co_await q.get(); };
  auto a = aio::create_task(getter());
  auto b = aio::create_task(getter());
  co_await yield();
  a.cancel();
  EXPECT_THROW(co_await a, aio::cancelled_error);
  q.put_nowait(1);
  q.put_nowait(2);
  EXPECT_EQ(co_await b, 1);  // b is now first in line
  EXPECT_EQ(q.get_nowait(), 2);
}

AIO_TEST(queue_cancel_test, woken_then_cancelled_getter_still_gets_its_item) {
  aio::queue<int> q;
  int got = -1;
  bool cancelled_later = false;
  auto getter = [&]() -> aio::task<> {
    got = co_await q.get();
    try {
      co_await yield();
    } catch (const aio::cancelled_error&) {
      cancelled_later = true;
      throw;
    }
  };
  auto t = aio::create_task(getter());
  co_await yield();
  q.put_nowait(42);  // handed to t, which has not run yet
  t.cancel();
  EXPECT_TRUE(q.empty());
  EXPECT_THROW(co_await t, aio::cancelled_error);
  EXPECT_EQ(got, 42);
  EXPECT_TRUE(cancelled_later);
  EXPECT_TRUE(q.empty());
}

AIO_TEST(queue_cancel_test, cancelled_waiting_putter_never_inserts) {
  aio::queue<int> q(1);
  q.put_nowait(0);
  auto putter = [&](int v) -> aio::task<> { co_await q.put(v); };
  auto a = aio::create_task(putter(1));
  auto b = aio::create_task(putter(2));
  co_await yield();
  a.cancel();
  EXPECT_THROW(co_await a, aio::cancelled_error);
  EXPECT_EQ(q.unfinished_tasks(), 1u);
  EXPECT_EQ(co_await q.get(), 0);
  EXPECT_EQ(co_await q.get(), 2);
  co_await b;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.unfinished_tasks(), 2u);
}

AIO_TEST(queue_cancel_test, woken_then_cancelled_putter_has_put_its_item) {
  aio::queue<int> q(1);
  q.put_nowait(0);
  bool returned = false;
  auto putter = [&]() -> aio::task<> {
    co_await q.put(1);
    returned = true;
    co_await yield();  // the cancel lands here
  };
  auto t = aio::create_task(putter());
  co_await yield();
  EXPECT_EQ(q.get_nowait(), 0);  // takes the putter's 1 in
  t.cancel();
  EXPECT_THROW(co_await t, aio::cancelled_error);
  EXPECT_TRUE(returned);
  EXPECT_EQ(q.get_nowait(), 1);
  EXPECT_TRUE(q.empty());
}

AIO_TEST(queue_cancel_test, pending_cancel_throws_only_where_the_queue_would_wait) {
  aio::queue<int> q(1);
  auto body = [&]() -> aio::task<> {
    aio::current_task().cancel();
    co_await q.put(1);               // room: no suspension, no throw
    EXPECT_EQ(co_await q.get(), 1);  // an item: no suspension, no throw
    co_await q.get();                // empty: throws, takes nothing
  };
  EXPECT_THROW(co_await aio::create_task(body()), aio::cancelled_error);
  q.put_nowait(5);
  auto body2 = [&]() -> aio::task<> {
    aio::current_task().cancel();
    co_await q.put(6);  // full: throws, inserts nothing
  };
  EXPECT_THROW(co_await aio::create_task(body2()), aio::cancelled_error);
  EXPECT_EQ(q.qsize(), 1u);
  EXPECT_EQ(q.get_nowait(), 5);
}

AIO_VTEST(queue_cancel_test, get_and_put_under_timeout) {
  aio::queue<int> q(1);
  EXPECT_THROW(co_await aio::wait_for(q.get(), 5ms), aio::timeout_error);
  q.put_nowait(1);
  EXPECT_THROW(co_await aio::wait_for(q.put(2), 5ms), aio::timeout_error);
  EXPECT_EQ(q.qsize(), 1u);
  EXPECT_EQ(q.get_nowait(), 1);
  EXPECT_THROW(q.get_nowait(), aio::queue_empty);
}

AIO_VTEST(queue_cancel_test, getter_cancellation_storm_loses_and_duplicates_nothing) {
  constexpr int n = 1000;
  aio::queue<int> q;
  std::vector<int> got(n, -1);
  std::vector<int> received;
  auto getter = [&](int id) -> aio::task<> {
    int v = co_await q.get();
    got[id] = v;
    received.push_back(v);
    co_await aio::sleep(0s);  // where the cancel of a woken getter lands
  };
  std::vector<aio::task_handle<>> ts;
  for (int i = 0; i < n; ++i) ts.push_back(aio::create_task(getter(i)));
  std::vector<bool> cancel_sent(n, false);
  int cancels = 0, sent = 0, next_item = 0, lowest = 0;
  lcg rng{2024};
  while (next_item < n || (cancels < n / 2 && sent < n)) {
    switch (rng.next(6)) {
      case 0:
        if (next_item < n) q.put_nowait(next_item++);
        break;
      case 1:
      case 2:  // a random getter, most likely one still waiting
        if (cancels < n / 2) {
          int id = static_cast<int>(rng.next(n));
          if (!cancel_sent[id]) {
            cancel_sent[id] = true;
            ++sent;
            if (ts[id].cancel()) ++cancels;  // false: it had already finished
          }
        }
        break;
      case 3:  // right after a put: the oldest getter, likely just handed an item
        if (cancels < n / 2 && next_item < n) {
          q.put_nowait(next_item++);
          while (lowest < n && (cancel_sent[lowest] || got[lowest] >= 0)) ++lowest;
          if (lowest < n) {
            cancel_sent[lowest] = true;
            ++sent;
            if (ts[lowest].cancel()) ++cancels;
          }
        }
        break;
      case 4:
        co_await aio::sleep(0s);
        break;
      default:
        co_await aio::sleep(std::chrono::milliseconds(rng.next(3)));
        break;
    }
  }
  co_await yield(3);
  std::vector<int> left;
  while (!q.empty()) left.push_back(q.get_nowait());
  q.shutdown();  // getters still waiting (more getters than items) leave
  int finished = 0, cancelled_waiting = 0, cancelled_after_item = 0, shut = 0;
  for (int i = 0; i < n; ++i) {
    try {
      co_await ts[i];
      ++finished;
    } catch (const aio::cancelled_error&) {
      if (got[i] >= 0)
        ++cancelled_after_item;
      else
        ++cancelled_waiting;
    } catch (const aio::queue_shut_down&) {
      ++shut;
    }
  }
  EXPECT_EQ(cancelled_waiting + cancelled_after_item, cancels);
  EXPECT_GE(cancels, n / 2);
  EXPECT_GT(cancelled_waiting, 0);
  EXPECT_GT(cancelled_after_item, 0);  // the woken-then-cancelled race happened
  EXPECT_EQ(finished + cancelled_after_item, static_cast<int>(received.size()));
  std::vector<int> all = received;
  all.insert(all.end(), left.begin(), left.end());
  std::sort(all.begin(), all.end());
  std::vector<int> expected(n);
  for (int i = 0; i < n; ++i) expected[i] = i;
  EXPECT_EQ(all, expected);  // every item exactly once
  EXPECT_EQ(shut + static_cast<int>(received.size()) + cancelled_waiting, n);
}

AIO_VTEST(queue_cancel_test, putter_cancellation_storm_inserts_only_completed_puts) {
  constexpr int n = 300;
  aio::queue<int> q(4);
  std::vector<bool> put_ok(n, false);
  auto putter = [&](int id) -> aio::task<> {
    co_await q.put(id);
    put_ok[id] = true;
    co_await aio::sleep(0s);  // where the cancel of a woken putter lands
  };
  std::vector<aio::task_handle<>> ts;
  for (int i = 0; i < n; ++i) ts.push_back(aio::create_task(putter(i)));
  std::vector<int> received;
  lcg rng{77};
  int cancels = 0;
  while (received.size() + static_cast<std::size_t>(cancels) < static_cast<std::size_t>(n) ||
         !q.empty()) {
    switch (rng.next(5)) {
      case 0:
      case 1:
        if (!q.empty()) received.push_back(q.get_nowait());
        break;
      case 2: {
        int id = static_cast<int>(rng.next(n));
        if (!ts[id].done() && ts[id].cancel()) ++cancels;
        break;
      }
      case 3:
        co_await aio::sleep(0s);
        break;
      default:
        co_await aio::sleep(std::chrono::milliseconds(rng.next(3)));
        break;
    }
    bool all_done = std::all_of(ts.begin(), ts.end(), [](auto& t) { return t.done(); });
    if (all_done && q.empty()) break;
  }
  int cancelled_waiting = 0, cancelled_after_put = 0;
  for (int i = 0; i < n; ++i) {
    try {
      co_await ts[i];
    } catch (const aio::cancelled_error&) {
      if (put_ok[i])
        ++cancelled_after_put;
      else
        ++cancelled_waiting;
    }
  }
  while (!q.empty()) received.push_back(q.get_nowait());
  EXPECT_GT(cancelled_waiting, 0);
  std::sort(received.begin(), received.end());
  std::vector<int> expected;
  for (int i = 0; i < n; ++i)
    if (put_ok[i]) expected.push_back(i);
  EXPECT_EQ(received, expected);  // completed puts exactly once, cancelled ones never
  EXPECT_EQ(q.unfinished_tasks(), expected.size());
  EXPECT_GT(cancelled_after_put, 0);  // the woken-then-cancelled race happened
}
