// SPDX-License-Identifier: MIT
#pragma once
// Runs a test body as a coroutine under aio::run, once per backend, with a
// watchdog that aborts a hung test with its name instead of hanging ctest.
//
//   AIO_TEST_SUITE(sleep_test);
//   AIO_TEST(sleep_test, wakes_up) { co_await aio::sleep(1ms); }
//
// AIO_VTEST runs the body with virtual time (event_loop::set_virtual_time):
// sleeps and timeouts complete instantly, in order.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "aio/aio.hpp"

namespace aio::test {

/// Runs `body` under aio::run on `kind`, aborting after `limit`.
void run(backend_kind kind, const std::function<task<>()>& body, bool virtual_time,
         std::chrono::seconds limit = std::chrono::seconds(60));

struct backend_name {
  std::string operator()(const testing::TestParamInfo<backend_kind>& info) const {
    return info.param == backend_kind::uring ? "uring" : "epoll";
  }
};

/// A connected pair of non-blocking stream sockets (AF_UNIX), closed on destruction.
struct socket_pair {
  int a = -1, b = -1;
  socket_pair();
  ~socket_pair();
  socket_pair(const socket_pair&) = delete;
};

/// A non-blocking TCP listener on 127.0.0.1:0.
struct tcp_listener {
  int fd = -1;
  sock_address addr;
  tcp_listener();
  ~tcp_listener();
  tcp_listener(const tcp_listener&) = delete;
};

/// Returns `v` after sleeping `d` (a child for combinator tests).
task<int> value_after(int v, std::chrono::milliseconds d);
/// Throws std::runtime_error(`what`) after sleeping `d`.
task<> fail_after(std::string what, std::chrono::milliseconds d);
/// The name of the calling thread (pthread_getname_np).
std::string thread_name();

/// A non-blocking TCP socket (not connected).
int tcp_socket();

/// A child process with its stdout on a pipe; killed and reaped on destruction.
struct child_process {
  explicit child_process(const std::vector<std::string>& argv);
  ~child_process();
  child_process(const child_process&) = delete;
  /// Reads one line of the child's stdout (blocking; for start-up handshakes).
  std::string read_line();
  int pid = -1;
  int out = -1;
};

/// A fresh directory (mode 0700) under the temporary directory, named
/// <prefix><unique suffix>; removed with everything in it on destruction.
struct temp_dir {
  explicit temp_dir(std::string_view prefix = "aio-test-");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  /// The path of `name` inside the directory.
  std::string operator/(std::string_view name) const;
  std::filesystem::path path;
};

/// An anonymous file (O_TMPFILE: it has no name and vanishes when closed)
/// holding `content`, open read-write; closed on destruction.
struct temp_file {
  explicit temp_file(std::string_view content = {});
  ~temp_file();
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  int fd = -1;
};

}  // namespace aio::test

#define AIO_TEST_SUITE(suite)                                                             \
  class suite : public ::testing::TestWithParam<::aio::backend_kind> {};                  \
  INSTANTIATE_TEST_SUITE_P(backends, suite,                                               \
                           ::testing::Values(::aio::backend_kind::uring, ::aio::backend_kind::epoll), \
                           ::aio::test::backend_name{})

#define AIO_TEST_IMPL(suite, name, vt)                                                 \
  static ::aio::task<> suite##_##name##_body();                                        \
  TEST_P(suite, name) { ::aio::test::run(GetParam(), &suite##_##name##_body, vt); }    \
  static ::aio::task<> suite##_##name##_body()

#define AIO_TEST(suite, name) AIO_TEST_IMPL(suite, name, false)
#define AIO_VTEST(suite, name) AIO_TEST_IMPL(suite, name, true)

// gtest's ASSERT_* use `return`, which coroutines cannot: these end the body with co_return.
#define CO_ASSERT_TRUE(cond)                                          \
  if (!(cond)) {                                                      \
    ADD_FAILURE() << "CO_ASSERT_TRUE(" #cond ") failed";              \
    co_return;                                                        \
  }
#define CO_ASSERT_EQ(a, b)                                            \
  if (!((a) == (b))) {                                                \
    EXPECT_EQ(a, b);                                                  \
    co_return;                                                        \
  }

namespace aio::test {

/// A real DNS server for resolver tests: /usr/sbin/dnsmasq on 127.0.0.1 at a
/// free port, answering from `hosts` lines ("10.1.2.3 a.test") with TTL
/// `ttl` seconds; unknown names under .test and .invalid are NXDOMAIN, other
/// unknown names REFUSED (no upstream). It logs every query it receives.
/// `extra` options go to dnsmasq as they are (e.g. "--server=/slow.test/127.0.0.1#5300").
/// Throws (the test fails) when dnsmasq is missing or does not start.
/// Blocking set-up and tear-down: construct it before the first lookup.
struct dns_server {
  explicit dns_server(const std::vector<std::string>& hosts, int ttl = 60,
                      const std::vector<std::string>& extra = {});
  ~dns_server();
  dns_server(const dns_server&) = delete;
  /// "127.0.0.1:PORT", for resolver_options::servers.
  std::string address() const;
  /// How many queries of `type` ("A", "AAAA") for `name` (any case) the server has logged.
  int queries(const std::string& name, const std::string& type = "A") const;
  /// Kills the server: its port answers nothing afterwards.
  void stop();
  unsigned short port = 0;
  int pid = -1;
  temp_dir dir{"aio-dnsmasq-"};  // the hosts file and the query log
};

/// A UDP socket bound to 127.0.0.1 that never reads: a DNS server that never answers.
struct silent_udp_server {
  silent_udp_server();
  ~silent_udp_server();
  silent_udp_server(const silent_udp_server&) = delete;
  /// "127.0.0.1:PORT".
  std::string address() const;
  int fd = -1;
  unsigned short port = 0;
};

}  // namespace aio::test
