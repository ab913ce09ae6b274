// SPDX-License-Identifier: MIT
// loop_options::spin: two loops on two threads play ping-pong over a socket
// pair, once with loops that sleep as soon as they are idle (spin 0) and once
// with the default spin, which watches for the answer before sleeping.
// Prints round trips per second and the CPU each round trip cost.
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "aio/aio.hpp"

using namespace std::chrono_literals;

namespace {

constexpr int rounds = 20'000;

double process_cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

aio::task<> play(int fd, bool first) {
  char ball = 'o';
  for (int i = 0; i < rounds; ++i) {
    if (first) co_await aio::sock_sendall(fd, std::string_view(&ball, 1));
    if (co_await aio::sock_recv_into(fd, std::span<char>(&ball, 1)) != 1) break;
    if (!first) co_await aio::sock_sendall(fd, std::string_view(&ball, 1));
  }
}

void run_player(aio::loop_options options, int fd, bool first) {
  aio::event_loop loop(options);
  aio::run_until_complete(loop, play(fd, first));
}

void measure(const char* label, std::optional<std::chrono::microseconds> spin) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return;
  aio::loop_options options;
  options.spin = spin;  // unset: AIO_SPIN_US, else 50 µs
  const double cpu0 = process_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  std::thread other(run_player, options, fds[1], false);
  run_player(options, fds[0], true);
  other.join();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = process_cpu_seconds() - cpu0;
  std::printf("%-22s %9.0f round trips/s   %5.1f µs CPU per round trip\n", label, rounds / wall,
              cpu / rounds * 1e6);
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace

int main() {
  measure("spin 0 (sleep at once)", 0us);
  measure("spin default (50 µs)", std::nullopt);
}
