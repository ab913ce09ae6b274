// SPDX-License-Identifier: MIT
// workers::run serving one listening socket opened before the fork: SIGTERM
// under load answers every request in flight; SIGHUP's rolling restart
// refuses no connection while a client connects in a loop.
#include <signal.h>

#include <set>

#include "servers.hpp"

namespace aio::test {
namespace {

using namespace std::chrono_literals;

class workers_serve : public ::testing::TestWithParam<backend_kind> {};
INSTANTIATE_TEST_SUITE_P(backends, workers_serve,
                         ::testing::Values(backend_kind::uring, backend_kind::epoll), backend_name{});

// The supervisor child: a shared socket, `n` workers serving it.
int serve_in_workers(backend_kind backend, std::size_t n, std::chrono::milliseconds grace) {
  workers::listening_socket sock("127.0.0.1", 0);
  emit("port " + std::to_string(sock.port()));
  auto o = logged_options(backend);
  o.wait_ready = true;
  o.shutdown_timeout = grace;
  const int fd = sock.fd();
  return workers::run(n, [fd](std::size_t i) { return serve_shared(i, fd); }, o);
}

TEST_P(workers_serve, sigterm_answers_every_request_in_flight) {
  supervised s([backend = GetParam()] { return serve_in_workers(backend, 2, 10s); });
  const auto port = static_cast<unsigned short>(field(s.until("port"), 1));
  ASSERT_FALSE(s.until("ready").empty());
  ASSERT_FALSE(s.until("ready").empty());
  constexpr int clients = 8;
  std::vector<int> fds;
  for (int i = 0; i < clients; ++i) {
    int fd = connect_local(port);
    ASSERT_GE(fd, 0) << std::strerror(-fd);
    ASSERT_TRUE(send_all(fd, "300\n"));  // answered after 300 ms
    fds.push_back(fd);
  }
  for (int i = 0; i < clients; ++i) ASSERT_FALSE(s.until("got").empty());  // all accepted, all in flight
  ::kill(s.pid, SIGTERM);
  int answered = 0;
  for (int fd : fds) {
    auto reply = read_line(fd);
    if (reply && reply->rfind("done ", 0) == 0) ++answered;
    ::close(fd);
  }
  EXPECT_EQ(answered, clients);
  EXPECT_EQ(exit_code(s.wait()), 0);
}

TEST_P(workers_serve, the_deadline_cuts_requests_that_take_longer) {
  supervised s([backend = GetParam()] { return serve_in_workers(backend, 1, 100ms); });
  const auto port = static_cast<unsigned short>(field(s.until("port"), 1));
  ASSERT_FALSE(s.until("ready").empty());
  int fd = connect_local(port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "60000\n"));  // a minute: past the deadline
  ASSERT_FALSE(s.until("got").empty());
  ::kill(s.pid, SIGTERM);
  EXPECT_EQ(read_line(fd), std::nullopt);  // closed without an answer when the deadline passed
  ::close(fd);
  EXPECT_EQ(exit_code(s.wait()), 0);
}

TEST_P(workers_serve, sighup_rolling_restart_refuses_no_connection) {
  supervised s([backend = GetParam()] { return serve_in_workers(backend, 2, 10s); });
  const auto port = static_cast<unsigned short>(field(s.until("port"), 1));
  std::set<long> old_pids;
  for (int i = 0; i < 2; ++i) old_pids.insert(field(s.until("ready"), 2));
  ASSERT_EQ(old_pids.size(), 2u);
  int failures = 0, requests = 0, after_done = 0;
  bool hup_sent = false, done = false;
  std::set<long> pids_after;
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (after_done < 20 && std::chrono::steady_clock::now() < give_up) {
    int fd = connect_local(port);
    ++requests;
    if (fd < 0) {
      ADD_FAILURE() << "connect: " << std::strerror(-fd);
      ++failures;
      continue;
    }
    auto reply = send_all(fd, "0\n") ? read_line(fd) : std::nullopt;
    ::close(fd);
    if (!reply) {
      ++failures;
      continue;
    }
    if (done) {
      pids_after.insert(field(*reply, 1));
      ++after_done;
    }
    if (requests == 10) {
      ::kill(s.pid, SIGHUP);
      hup_sent = true;
    }
    while (auto line = s.next(0ms))
      if (*line == "log rolling restart done") done = true;
  }
  EXPECT_TRUE(hup_sent);
  EXPECT_TRUE(done);
  EXPECT_EQ(failures, 0) << "of " << requests << " requests";
  for (long pid : pids_after) EXPECT_EQ(old_pids.count(pid), 0u) << "an old worker still answered";
  EXPECT_EQ(s.lines("log worker").size(), 2u);  // "… is replaced by pid …", once per worker
  ::kill(s.pid, SIGTERM);
  EXPECT_EQ(exit_code(s.wait()), 0);
}

}  // namespace
}  // namespace aio::test
