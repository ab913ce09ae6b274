// SPDX-License-Identifier: MIT
#include "aio/core/task_group.hpp"

#include <string>

#include "aio_test.hpp"

using namespace std::chrono_literals;

using aio::test::fail_after;
using aio::test::value_after;

AIO_TEST_SUITE(task_group_test);

namespace {
std::vector<std::string> messages(const aio::exception_group& g) {
  std::vector<std::string> out;
  for (const auto& e : g.exceptions()) out.push_back(aio::describe(e));
  return out;
}
// Sleeps `d`; records whether it was cancelled.
aio::task<> sleeper(std::chrono::milliseconds d, bool& cancelled) {
  try {
    co_await aio::sleep(d);
  } catch (const aio::cancelled_error&) {
    cancelled = true;
    throw;
  }
}
}  // namespace

AIO_VTEST(task_group_test, waits_for_every_child) {
  int sum = 0;
  aio::task_handle<int> h;
  co_await aio::with_task_group([&](aio::task_group& tg) -> aio::task<> {
    h = tg.create_task(value_after(1, 30ms));
    tg.create_task([](int& s) -> aio::task<> {
      co_await aio::sleep(10ms);
      s += 2;
    }(sum));
    EXPECT_EQ(tg.size(), 2u);
    co_return;
  });
  EXPECT_TRUE(h.done());
  EXPECT_EQ(h.result(), 1);
  EXPECT_EQ(sum, 2);
}

AIO_VTEST(task_group_test, body_result_is_returned) {
  int r = co_await aio::with_task_group([](aio::task_group& tg) -> aio::task<int> {
    auto h = tg.create_task(value_after(20, 5ms));
    co_return co_await h + 1;
  });
  EXPECT_EQ(r, 21);
}

AIO_VTEST(task_group_test, two_failures_come_out_together_in_failure_order) {
  bool other_cancelled = false;
  bool body_cancelled = false;
  try {
    co_await aio::with_task_group([&](aio::task_group& tg) -> aio::task<> {
      tg.create_task(fail_after("second", 20ms));
      tg.create_task(fail_after("first", 10ms));
      tg.create_task(sleeper(1s, other_cancelled));
      try {
        co_await aio::sleep(1s);
      } catch (const aio::cancelled_error&) {
        body_cancelled = true;
        throw;
      }
    });
    ADD_FAILURE() << "no exception_group";
  } catch (const aio::exception_group& g) {
    // "second" was cancelled before it could fail: only the first failure remains.
    EXPECT_EQ(messages(g), (std::vector<std::string>{"first"}));
  }
  EXPECT_TRUE(other_cancelled);
  EXPECT_TRUE(body_cancelled);
  EXPECT_EQ(aio::current_task().cancelling(), 0u);  // the group's own cancel was taken back
  co_await aio::sleep(1ms);                         // and no cancel is left pending
}

AIO_VTEST(task_group_test, failures_in_the_same_step_and_during_cancellation) {
  auto fails_on_cancel = [](std::string what) -> aio::task<> {
    bool cancelled = false;
    try {
      co_await aio::sleep(1s);
    } catch (const aio::cancelled_error&) {
      cancelled = true;
    }
    if (cancelled) throw std::runtime_error(what);
  };
  try {
    co_await aio::with_task_group([&](aio::task_group& tg) -> aio::task<> {
      tg.create_task(fail_after("a", 10ms));
      tg.create_task(fail_after("b", 10ms));
      tg.create_task(fails_on_cancel("c"));
      co_return;
    });
    ADD_FAILURE() << "no exception_group";
  } catch (const aio::exception_group& g) {
    EXPECT_EQ(messages(g), (std::vector<std::string>{"a", "b", "c"}));
  }
}

AIO_VTEST(task_group_test, outer_cancel_with_failing_children_propagates_cancelled_error) {
  std::vector<aio::exception_context> reported;
  aio::get_running_loop().set_exception_handler(
      [&](aio::event_loop&, const aio::exception_context& c) { reported.push_back(c); });
  bool reached_after = false;
  auto body = [&]() -> aio::task<> {
    co_await aio::with_task_group([&](aio::task_group& tg) -> aio::task<> {
      tg.create_task(fail_after("x", 10ms));
      tg.create_task(fail_after("y", 10ms));
      co_await aio::sleep(1s);
    });
    reached_after = true;
  };
  auto outer = aio::create_task(body());
  auto canceller = [&]() -> aio::task<> {
    co_await aio::sleep(10ms);  // same tick as the failures: both cancels meet
    outer.cancel("outer");
  };
  auto c = aio::create_task(canceller());
  try {
    co_await outer;
    ADD_FAILURE() << "outer cancel was swallowed";
  } catch (const aio::cancelled_error&) {
  } catch (const aio::exception_group&) {
    ADD_FAILURE() << "outer cancel turned into exception_group";
  }
  co_await c;
  EXPECT_FALSE(reached_after);
  EXPECT_TRUE(outer.cancelled());
  EXPECT_EQ(reported.size(), 2u);  // the two failures are not lost silently
  aio::get_running_loop().set_exception_handler(nullptr);
}

AIO_VTEST(task_group_test, outer_cancel_cancels_children_and_waits) {
  bool a = false, b = false, cleaned = false;
  auto slow_cleanup = [&]() -> aio::task<> {
    bool cancelled = false;
    try {
      co_await aio::sleep(1s);
    } catch (const aio::cancelled_error&) {
      cancelled = true;
    }
    if (cancelled) {
      co_await aio::sleep(20ms);
      cleaned = true;
      throw aio::cancelled_error();
    }
  };
  auto body = [&]() -> aio::task<> {
    co_await aio::with_task_group([&](aio::task_group& tg) -> aio::task<> {
      tg.create_task(sleeper(1s, a));
      tg.create_task(sleeper(1s, b));
      tg.create_task(slow_cleanup());
      co_return;  // the cancel reaches the join
    });
  };
  auto outer = aio::create_task(body());
  co_await aio::sleep(5ms);
  outer.cancel();
  EXPECT_THROW(co_await outer, aio::cancelled_error);
  EXPECT_TRUE(a && b);
  EXPECT_TRUE(cleaned);  // joined after the slow child, not before
}

AIO_VTEST(task_group_test, repeated_outer_cancels_during_join) {
  bool cleaned = false;
  auto cancel_resistant = [&]() -> aio::task<> {
    bool cancelled = false;
    try {
      co_await aio::sleep(1s);
    } catch (const aio::cancelled_error&) {
      cancelled = true;
    }
    if (cancelled) co_await aio::sleep(20ms);  // cleanup outlasts the second cancel
    cleaned = true;
  };
  auto body = [&]() -> aio::task<> {
    aio::task_group tg;
    tg.create_task(cancel_resistant());
    co_await tg.join();
  };
  auto outer = aio::create_task(body());
  co_await aio::sleep(5ms);
  outer.cancel();
  co_await aio::sleep(5ms);
  outer.cancel();  // a second cancel while still joining
  EXPECT_THROW(co_await outer, aio::cancelled_error);
  EXPECT_TRUE(cleaned);
  EXPECT_EQ(outer.cancelling(), 2u);
}

AIO_VTEST(task_group_test, body_raising_cancels_children_and_joins_the_group) {
  bool child_cancelled = false;
  try {
    co_await aio::with_task_group([&](aio::task_group& tg) -> aio::task<> {
      tg.create_task(sleeper(1s, child_cancelled));
      co_await aio::sleep(5ms);
      throw std::logic_error("body");
    });
    ADD_FAILURE() << "no exception_group";
  } catch (const aio::exception_group& g) {
    EXPECT_EQ(messages(g), (std::vector<std::string>{"body"}));
  }
  EXPECT_TRUE(child_cancelled);
}

AIO_VTEST(task_group_test, child_failure_then_body_error_orders_children_first) {
  try {
    co_await aio::with_task_group([&](aio::task_group& tg) -> aio::task<> {
      tg.create_task(fail_after("child", 5ms));
      bool cancelled = false;
      try {
        co_await aio::sleep(1s);
      } catch (const aio::cancelled_error&) {
        cancelled = true;
      }
      if (cancelled) throw std::logic_error("body");
    });
    ADD_FAILURE() << "no exception_group";
  } catch (const aio::exception_group& g) {
    EXPECT_EQ(messages(g), (std::vector<std::string>{"child", "body"}));
  }
}

AIO_VTEST(task_group_test, nested_groups) {
  bool outer_child_cancelled = false;
  try {
    co_await aio::with_task_group([&](aio::task_group& outer) -> aio::task<> {
      outer.create_task(sleeper(1s, outer_child_cancelled));
      co_await aio::with_task_group([&](aio::task_group& inner) -> aio::task<> {
        inner.create_task(fail_after("inner", 5ms));
        co_await aio::sleep(1s);
      });
    });
    ADD_FAILURE() << "no exception_group";
  } catch (const aio::exception_group& g) {
    CO_ASSERT_EQ(g.exceptions().size(), 1u);  // the inner group, raised by the outer body
    try {
      std::rethrow_exception(g.exceptions()[0]);
    } catch (const aio::exception_group& in) {
      EXPECT_EQ(messages(in), (std::vector<std::string>{"inner"}));
    }
  }
  EXPECT_TRUE(outer_child_cancelled);
  EXPECT_EQ(aio::current_task().cancelling(), 0u);
}

AIO_VTEST(task_group_test, outer_group_failure_cancels_inner_body) {
  bool inner_child_cancelled = false;
  bool inner_raised_cancelled = false;
  try {
    co_await aio::with_task_group([&](aio::task_group& outer) -> aio::task<> {
      outer.create_task(fail_after("outer", 5ms));
      try {
        co_await aio::with_task_group([&](aio::task_group& inner) -> aio::task<> {
          inner.create_task(sleeper(1s, inner_child_cancelled));
          co_await aio::sleep(1s);
        });
      } catch (const aio::cancelled_error&) {
        inner_raised_cancelled = true;  // not ours to swallow: the inner group passes it on
        throw;
      }
    });
    ADD_FAILURE() << "no exception_group";
  } catch (const aio::exception_group& g) {
    EXPECT_EQ(messages(g), (std::vector<std::string>{"outer"}));
  }
  EXPECT_TRUE(inner_child_cancelled);
  EXPECT_TRUE(inner_raised_cancelled);
}

AIO_VTEST(task_group_test, create_task_when_shutting_down_or_finished) {
  aio::task_group* seen = nullptr;
  bool refused_while_shutting_down = false;
  try {
    co_await aio::with_task_group([&](aio::task_group& tg) -> aio::task<> {
      seen = &tg;
      tg.create_task(fail_after("x", 1ms));
      try {
        co_await aio::sleep(1s);
      } catch (const aio::cancelled_error&) {
      }
      try {
        tg.create_task(value_after(1, 1ms));
      } catch (const aio::invalid_state_error&) {
        refused_while_shutting_down = true;
      }
    });
  } catch (const aio::exception_group&) {
  }
  EXPECT_TRUE(refused_while_shutting_down);
  aio::task_group tg;
  co_await tg.join();
  EXPECT_THROW(tg.create_task(value_after(1, 1ms)), aio::invalid_state_error);
  EXPECT_THROW(co_await tg.join(), aio::invalid_state_error);
  (void)seen;
}

AIO_VTEST(task_group_test, explicit_form_and_children_spawning_children) {
  aio::task_group tg;
  std::vector<int> order;
  auto grandchild = [&]() -> aio::task<> {
    co_await aio::sleep(20ms);
    order.push_back(2);
  };
  auto child = [&]() -> aio::task<> {
    co_await aio::sleep(10ms);
    tg.create_task(grandchild());  // allowed while the parent is joining
    order.push_back(1);
  };
  tg.create_task(child());
  co_await tg.join();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_EQ(tg.size(), 0u);
}

AIO_VTEST(task_group_test, destroyed_without_join_cancels_and_reports) {
  std::vector<std::string> reported;
  aio::get_running_loop().set_exception_handler(
      [&](aio::event_loop&, const aio::exception_context& c) { reported.push_back(c.message); });
  bool cancelled = false;
  aio::task_handle<> h;
  {
    aio::task_group tg;
    h = tg.create_task(sleeper(1s, cancelled));
    co_await aio::sleep(1ms);
  }
  CO_ASSERT_EQ(reported.size(), 1u);
  EXPECT_NE(reported[0].find("without join"), std::string::npos);
  EXPECT_THROW(co_await h, aio::cancelled_error);
  EXPECT_TRUE(cancelled);
  aio::get_running_loop().set_exception_handler(nullptr);
}

AIO_VTEST(task_group_test, cancel_pending_when_joining) {
  bool child_cancelled = false;
  auto body = [&]() -> aio::task<> {
    aio::task_group tg;
    tg.create_task(sleeper(1s, child_cancelled));
    co_await aio::sleep(1ms);
    aio::current_task().cancel();
    co_await tg.join();
  };
  auto h = aio::create_task(body());
  EXPECT_THROW(co_await h, aio::cancelled_error);
  EXPECT_TRUE(child_cancelled);
}

TEST(task_group_plain, outside_a_task_is_an_error) {
  EXPECT_THROW(aio::task_group{}, aio::invalid_state_error);
}

AIO_VTEST(task_group_test, many_children_one_failure) {
  int cancelled = 0;
  try {
    co_await aio::with_task_group([&](aio::task_group& tg) -> aio::task<> {
      for (int i = 0; i < 2000; ++i)
        tg.create_task([](int& c) -> aio::task<> {
          try {
            co_await aio::sleep(1s);
          } catch (const aio::cancelled_error&) {
            ++c;
            throw;
          }
        }(cancelled));
      tg.create_task(fail_after("one", 5ms));
      co_return;
    });
    ADD_FAILURE() << "no exception_group";
  } catch (const aio::exception_group& g) {
    EXPECT_EQ(messages(g), (std::vector<std::string>{"one"}));
  }
  EXPECT_EQ(cancelled, 2000);
}
