// SPDX-License-Identifier: MIT
#include "aio_test.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

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

task<int> value_after(int v, std::chrono::milliseconds d) {
  co_await aio::sleep(d);
  co_return v;
}

task<> fail_after(std::string what, std::chrono::milliseconds d) {
  co_await aio::sleep(d);
  throw std::runtime_error(what);
}

std::string thread_name() {
  char buf[32] = {};
  ::pthread_getname_np(::pthread_self(), buf, sizeof buf);
  return buf;
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

child_process::child_process(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  out = fds[0];
}

child_process::~child_process() {
  if (pid > 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  if (out >= 0) ::close(out);
}

std::string child_process::read_line() {
  std::string line;
  char c;
  while (::read(out, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

}  // namespace aio::test
