// SPDX-License-Identifier: MIT
// loop_options::spin: a loop with nothing to run watches its backend for a
// while before it sleeps; misses make the spins rarer. Both backends.
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <ctime>
#include <stdexcept>
#include <string>
#include <thread>

#include "aio_test.hpp"

using namespace std::chrono_literals;

namespace {

class idle_spin_test : public ::testing::TestWithParam<aio::backend_kind> {
 protected:
  aio::loop_options options(std::optional<std::chrono::microseconds> spin) const {
    aio::loop_options o;
    o.backend = GetParam();
    o.spin = spin;
    return o;
  }
};

INSTANTIATE_TEST_SUITE_P(backends, idle_spin_test,
                         ::testing::Values(aio::backend_kind::uring, aio::backend_kind::epoll),
                         aio::test::backend_name{});

long voluntary_switches() {
  rusage u{};
  ::getrusage(RUSAGE_THREAD, &u);
  return u.ru_nvcsw;
}

double thread_cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

// One side of a ping-pong over `fd`: `rounds` one-byte exchanges, the pinger
// speaking first. Returns the voluntary context switches of this thread
// during them (each sleep of the loop is one).
long ping_pong(aio::loop_options options, int fd, int rounds, bool pinger) {
  aio::event_loop loop(options);
  return aio::run_until_complete(loop, [](int fd, int rounds, bool pinger) -> aio::task<long> {
    char b = 'x';
    const long before = voluntary_switches();
    for (int i = 0; i < rounds; ++i) {
      if (pinger) co_await aio::sock_sendall(fd, std::string_view(&b, 1));
      const std::size_t n = co_await aio::sock_recv_into(fd, std::span<char>(&b, 1));
      if (n != 1) throw std::runtime_error("peer closed early");
      if (!pinger) co_await aio::sock_sendall(fd, std::string_view(&b, 1));
    }
    co_return voluntary_switches() - before;
  }(fd, rounds, pinger));
}

long pinger_switches(aio::loop_options options, int rounds) {
  aio::test::socket_pair pair;
  std::thread ponger([&] {
    try {
      ping_pong(options, pair.b, rounds, false);
    } catch (const std::exception&) {
      // the pinger failed and shut its end: its error is the one to report
    }
  });
  long switches = 0;
  try {
    switches = ping_pong(options, pair.a, rounds, true);
  } catch (...) {
    ::shutdown(pair.a, SHUT_RDWR);  // the ponger sees end of stream and stops
    ponger.join();
    throw;
  }
  ponger.join();
  return switches;
}

}  // namespace

TEST_P(idle_spin_test, out_of_range_spin_is_a_clear_error) {
  EXPECT_NE(error_of([&] { aio::event_loop loop(options(-1us)); }).find("loop_options::spin"), std::string::npos);
  EXPECT_NE(error_of([&] { aio::event_loop loop(options(2s)); }).find("not 2000000 µs"), std::string::npos);
  aio::event_loop zero(options(0us));  // the bounds themselves are fine
  aio::event_loop most(options(1s));
}

TEST_P(idle_spin_test, bad_AIO_SPIN_US_is_a_clear_error) {
  // The run's own setting (e.g. 0 to save CPU) comes back for the tests after this one.
  const char* was = std::getenv("AIO_SPIN_US");
  const std::optional<std::string> saved = was ? std::optional<std::string>(was) : std::nullopt;
  for (const char* bad : {"fast", "-5", "10us", "99999999999"}) {
    ::setenv("AIO_SPIN_US", bad, 1);
    const std::string what = error_of([&] { aio::event_loop loop(options(std::nullopt)); });
    EXPECT_NE(what.find("AIO_SPIN_US"), std::string::npos) << bad;
    EXPECT_NE(what.find(std::string("'") + bad + "'"), std::string::npos) << what;
  }
  ::setenv("AIO_SPIN_US", "0", 1);
  aio::event_loop off(options(std::nullopt));
  if (saved)
    ::setenv("AIO_SPIN_US", saved->c_str(), 1);
  else
    ::unsetenv("AIO_SPIN_US");
}

// Both loops spin: each answer arrives while the other side watches for it,
// so the loops hardly ever sleep. Without the spin every wait is a sleep.
TEST_P(idle_spin_test, spinning_loops_take_answers_without_sleeping) {
  constexpr int rounds = 200;
  const long sleeping = pinger_switches(options(0us), rounds);
  const long spinning = pinger_switches(options(100ms), rounds);
  EXPECT_LT(spinning, rounds / 4) << "without spinning: " << sleeping;
  // Relative: a preempted pinger may find an answer waiting and not sleep.
  EXPECT_GT(sleeping, 2 * spinning + 10) << "spinning: " << spinning;
}

// Every spin here misses (the timer is the only event and comes after the
// budget), so after each miss more waits sleep at once: 12 waits spin 3
// times (the 1st, 3rd and 7th), 60 ms of CPU, not 240 ms.
TEST_P(idle_spin_test, spins_that_miss_become_rare) {
  aio::event_loop loop(options(20ms));
  const double cpu0 = thread_cpu_seconds();
  aio::run_until_complete(loop, []() -> aio::task<> {
    for (int i = 0; i < 12; ++i) co_await aio::sleep(25ms);
  }());
  EXPECT_LT(thread_cpu_seconds() - cpu0, 0.15);
}

// A timer due within the budget: the spin ends at the timer, and the loop
// then waits only for what is left (it used to wait the whole timeout again).
TEST_P(idle_spin_test, a_timer_inside_the_spin_is_not_late) {
  aio::event_loop loop(options(1s));
  const auto t0 = std::chrono::steady_clock::now();
  aio::run_until_complete(loop, []() -> aio::task<> { co_await aio::sleep(300ms); }());
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 420ms) << std::chrono::duration<double>(took).count() << " s";  // was 512 ms: each wait spun, then slept its whole timeout
}
