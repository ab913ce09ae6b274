// SPDX-License-Identifier: MIT
#include "aio_test.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <system_error>
#include <thread>

namespace aio::test {

void run(backend_kind kind, const std::function<task<>()>& body, bool virtual_time,
         std::chrono::seconds limit) {
  std::mutex m;
  std::condition_variable cv;
  bool finished = false;
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::thread watchdog([&] {
    std::unique_lock lock(m);
    if (!cv.wait_for(lock, limit, [&] { return finished; })) {
      std::fprintf(stderr, "watchdog: test %s still running after %llds; aborting\n", name.c_str(),
                   static_cast<long long>(limit.count()));
      std::abort();
    }
  });
  try {
    aio::run(body(), {.loop = {.backend = kind}, .handle_sigint = false, .virtual_time = virtual_time});
  } catch (...) {
    {
      std::lock_guard lock(m);
      finished = true;
    }
    cv.notify_one();
    watchdog.join();
    throw;
  }
  {
    std::lock_guard lock(m);
    finished = true;
  }
  cv.notify_one();
  watchdog.join();
}

socket_pair::socket_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  a = fds[0];
  b = fds[1];
}
socket_pair::~socket_pair() {
  if (a >= 0) ::close(a);
  if (b >= 0) ::close(b);
}

int tcp_socket() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

tcp_listener::tcp_listener() {
  fd = tcp_socket();
  addr = sock_address::from_ip("127.0.0.1", 0);
  if (::bind(fd, addr.data(), addr.size) != 0 || ::listen(fd, 128) != 0)
    throw std::system_error(errno, std::generic_category(), "bind/listen 127.0.0.1:0");
  addr.size = sizeof addr.storage;
  ::getsockname(fd, addr.data(), &addr.size);
}
tcp_listener::~tcp_listener() {
  if (fd >= 0) ::close(fd);
}

}  // namespace aio::test
