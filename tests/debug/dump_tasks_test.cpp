// SPDX-License-Identifier: MIT
// The task dump (python -m asyncio ps): every task with its state and what
// it waits on, and the coroutines it runs.

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(dump_tasks_test);

namespace {

aio::task<> sleeps_for_long() { co_await aio::sleep(60s); }

aio::task<> waits_for_the_lock(aio::lock& l) { auto g = co_await l.scoped(); }

aio::task<> reads_a_socket(int fd) {
  char buf[16];
  co_await aio::sock_recv_into(fd, std::span<char>(buf, sizeof buf));
}

aio::task<> gets_from_a_queue(aio::queue<int>& q) { co_await q.get(); }

aio::task<> awaits_another_task(aio::task_handle<> other) { co_await other; }

const aio::debug::task_info* find(const std::vector<aio::debug::task_info>& ts,
                                  const std::string& name) {
  auto it = std::find_if(ts.begin(), ts.end(), [&](const auto& t) { return t.name == name; });
  return it == ts.end() ? nullptr : &*it;
}

struct expected {
  const char* name;
  const char* state;
  const char* waiting_on;
  const char* coroutine;
};
const expected expectations[] = {
    {"sleeper", "waiting", "sleep", "sleeps_for_long"},
    {"locker", "waiting", "lock", "waits_for_the_lock"},
    {"reader", "waiting", "socket read", "reads_a_socket"},
    {"getter", "waiting", "queue get", "gets_from_a_queue"},
    {"waiter", "waiting", "task 'sleeper'", "awaits_another_task"},
    {"fresh", "created", "", "sleeps_for_long"},
};

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

AIO_TEST(dump_tasks_test, lists_each_task_with_what_it_waits_on) {
  aio::lock l;
  co_await l.acquire();
  aio::queue<int> q;
  aio::test::socket_pair p;
  auto sleeper = aio::create_task(sleeps_for_long(), "sleeper");
  auto locker = aio::create_task(waits_for_the_lock(l), "locker");
  auto reader = aio::create_task(reads_a_socket(p.b), "reader");
  auto getter = aio::create_task(gets_from_a_queue(q), "getter");
  auto waiter = aio::create_task(awaits_another_task(sleeper), "waiter");
  co_await aio::sleep(10ms);  // each reaches its suspension point
  auto fresh = aio::create_task(sleeps_for_long(), "fresh");

  auto ts = aio::debug::list_tasks(aio::get_running_loop());
  EXPECT_EQ(ts.size(), 7u);
  auto* t = find(ts, "main");
  CO_ASSERT_TRUE(t);
  EXPECT_EQ(t->state, "running");
  EXPECT_TRUE(contains(t->coroutine, "lists_each_task_with_what_it_waits_on")) << t->coroutine;

  for (std::size_t k = 0; k < std::size(expectations); ++k) {
    const expected& e = expectations[k];
    t = find(ts, e.name);
    CO_ASSERT_TRUE(t);
    EXPECT_EQ(t->state, e.state) << e.name;
    EXPECT_EQ(t->waiting_on, e.waiting_on) << e.name;
    EXPECT_TRUE(contains(t->coroutine, e.coroutine)) << e.name << ": " << t->coroutine;
    EXPECT_TRUE(contains(t->coroutine, "dump_tasks_test.cpp")) << t->coroutine;
    EXPECT_FALSE(t->cancelling);
  }
  // A task suspended in an inner coroutine says where.
  EXPECT_TRUE(contains(find(ts, "locker")->suspended_in, "waits_for_the_lock"))
      << find(ts, "locker")->suspended_in;

  const std::string text = aio::debug::format_tasks(ts);
  EXPECT_TRUE(contains(text, "7 task(s)"));
  EXPECT_TRUE(contains(text, "task 'reader': waiting on socket read"));
  EXPECT_TRUE(contains(text, "task 'locker': waiting on lock"));

  // A woken task is ready until it runs; a cancelled one says so.
  l.release();
  sleeper.cancel();
  ts = aio::debug::list_tasks(aio::get_running_loop());
  EXPECT_EQ(find(ts, "locker")->state, "ready");
  EXPECT_EQ(find(ts, "locker")->waiting_on, "");
  EXPECT_TRUE(find(ts, "waiter")->state == "waiting");

  reader.cancel();
  getter.cancel();
  waiter.cancel();
  fresh.cancel();
  ts = aio::debug::list_tasks(aio::get_running_loop());
  EXPECT_TRUE(find(ts, "fresh")->cancelling);
  std::vector<aio::task_handle<>> all;
  for (auto& h : {sleeper, locker, reader, getter, waiter, fresh}) all.push_back(h);
  co_await aio::wait(std::move(all));
  EXPECT_EQ(aio::debug::list_tasks(aio::get_running_loop()).size(), 1u);
}

namespace {
aio::task<int> innermost_reads(int fd) {
  std::array<char, 4> buf{};
  auto n = co_await aio::sock_recv_into(fd, std::span<char>(buf));
  co_return static_cast<int>(n);
}
aio::task<int> middle_parses(int fd) { co_return co_await innermost_reads(fd) + 1; }
aio::task<> outer_serves(int fd) { co_await middle_parses(fd); }
}  // namespace

AIO_TEST(dump_tasks_test, await_chain_lists_every_coroutine_outermost_first) {
  aio::test::socket_pair p;
  auto server = aio::create_task(outer_serves(p.b), "server");
  co_await aio::sleep(5ms);
  auto ts = aio::debug::list_tasks(aio::get_running_loop());
  const auto* t = find(ts, "server");
  CO_ASSERT_TRUE(t);
  EXPECT_EQ(t->waiting_on, "socket read");
  CO_ASSERT_EQ(t->await_chain.size(), 3u);
  EXPECT_TRUE(contains(t->await_chain[0], "outer_serves")) << t->await_chain[0];
  EXPECT_TRUE(contains(t->await_chain[1], "middle_parses")) << t->await_chain[1];
  EXPECT_TRUE(contains(t->await_chain[2], "innermost_reads")) << t->await_chain[2];
  EXPECT_TRUE(contains(t->await_chain[2], "dump_tasks_test.cpp")) << t->await_chain[2];
  const std::string text = aio::debug::format_tasks(ts);
  EXPECT_TRUE(contains(text, "await chain:")) << text;
  // A task suspended in its own coroutine has a chain of one.
  auto sleeper = aio::create_task(sleeps_for_long(), "alone");
  co_await aio::sleep(1ms);
  ts = aio::debug::list_tasks(aio::get_running_loop());
  EXPECT_EQ(find(ts, "alone")->await_chain.size(), 1u);
  sleeper.cancel();
  server.cancel();
  std::vector<aio::task_handle<>> both{sleeper, server};
  co_await aio::wait(std::move(both));
}

AIO_TEST(dump_tasks_test, dump_tasks_writes_the_table) {
  auto sleeper = aio::create_task(sleeps_for_long(), "napper");
  const int created_line = __LINE__ - 1;
  co_await aio::sleep(1ms);
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* f = ::open_memstream(&buf, &len);
  CO_ASSERT_TRUE(f);
  aio::dump_tasks(f);
  std::fclose(f);
  std::string text(buf, len);
  std::free(buf);
  EXPECT_TRUE(contains(text, "aio: tasks of the running loop: 2 task(s)")) << text;
  EXPECT_TRUE(contains(text, "task 'napper': waiting on sleep")) << text;
  EXPECT_TRUE(contains(text, "task 'main': running")) << text;
  EXPECT_TRUE(contains(text, "created at: ")) << text;
  EXPECT_TRUE(contains(text, "dump_tasks_test.cpp:" + std::to_string(created_line))) << text;
  sleeper.cancel();
  co_await aio::wait(std::vector<aio::task_handle<>>(1, sleeper));
}

TEST(dump_tasks_outside_a_loop, is_an_error) {
  EXPECT_THROW(aio::dump_tasks(), aio::invalid_state_error);
  aio::event_loop loop;
  std::thread other([&] { EXPECT_THROW(aio::debug::list_tasks(loop), aio::invalid_state_error); });
  other.join();
}

TEST(dump_tasks_on_signal, sigusr1_writes_the_dump_when_asked) {
  auto body = []() -> aio::task<> {
    auto sleeper = aio::create_task(sleeps_for_long(), "sleeping_beauty");
    co_await aio::sleep(1ms);
    ::pthread_kill(::pthread_self(), SIGUSR1);  // blocked here: the loop's signalfd reads it
    co_await aio::sleep(50ms);
    sleeper.cancel();
  };
  ::setenv("AIO_DUMP_ON_SIGNAL", "1", 1);
  testing::internal::CaptureStderr();
  aio::run(body(), {.handle_sigint = false});
  const std::string err = testing::internal::GetCapturedStderr();
  ::unsetenv("AIO_DUMP_ON_SIGNAL");
  EXPECT_TRUE(contains(err, "task 'sleeping_beauty': waiting on sleep")) << err;
  EXPECT_TRUE(contains(err, "2 task(s)")) << err;
}
