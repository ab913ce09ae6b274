// SPDX-License-Identifier: MIT
#pragma once
// The harness of the workers::run tests. workers::run blocks signals and
// forks, so each test runs it in a child of the test process (forked while
// the test process is single-threaded: no test of this binary leaves a
// thread behind), in its own process group. The child and its workers
// report what happens as lines on a pipe (emit); the test reads them,
// signals the supervisor, plays the client over blocking sockets, and
// reaps the child.

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "aio_test.hpp"

namespace aio::test {

/// The write end of the events pipe in the supervisor child and its workers.
inline int events_fd = -1;

/// Sends one line to the test (atomic: shorter than PIPE_BUF).
inline void emit(const std::string& line) {
  std::string l = line + "\n";
  [[maybe_unused]] ssize_t n = ::write(events_fd, l.data(), l.size());
}

/// Options whose log goes to the test as "log <line>", on `backend`.
inline workers::options logged_options(backend_kind backend) {
  workers::options o;
  o.loop.backend = backend;
  o.log = [](std::string_view line) { emit("log " + std::string(line)); };
  return o;
}

class supervised {
 public:
  /// Forks the supervisor child: it runs `body` and exits with its result.
  explicit supervised(const std::function<int()>& body) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
    pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      ::close(fds[0]);
      events_fd = fds[1];
      int rc = 70;
      try {
        rc = body();
      } catch (const std::exception& e) {
        emit(std::string("exception ") + e.what());
      }
      std::fflush(nullptr);
      ::_exit(rc);
    }
    ::setpgid(pid, pid);
    ::close(fds[1]);
    events = fds[0];
  }
  ~supervised() {
    if (pid > 0) {
      ::kill(-pid, SIGKILL);
      int st;
      ::waitpid(pid, &st, 0);
    }
    ::close(events);
  }
  supervised(const supervised&) = delete;

  /// The next line, or nullopt when none came within `limit` (or EOF).
  std::optional<std::string> next(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        seen.push_back(line);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() < 0) return std::nullopt;
      pollfd p{events, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char chunk[512];
      ssize_t n = ::read(events, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buf_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  /// Reads lines until one starts with `prefix`; returns it (empty string if none came).
  std::string until(const std::string& prefix, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() < 0) return {};
      auto line = next(left);
      if (!line) return {};
      if (line->rfind(prefix, 0) == 0) return *line;
    }
  }
  /// Every line read so far that starts with `prefix`.
  std::vector<std::string> lines(const std::string& prefix) const {
    std::vector<std::string> out;
    for (const auto& l : seen)
      if (l.rfind(prefix, 0) == 0) out.push_back(l);
    return out;
  }
  /// Reads the remaining lines, then reaps the child: its wait status, or
  /// nullopt (after killing it) if it did not exit within `limit`.
  std::optional<int> wait(std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    while (next(limit)) {
    }
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        pid = -1;
        return st;
      }
      ::usleep(10'000);
    }
    return std::nullopt;
  }

  pid_t pid = -1;
  int events = -1;
  std::vector<std::string> seen;

 private:
  std::string buf_;
};

/// The exit code of a wait status (-1 if it was killed by a signal).
inline int exit_code(std::optional<int> st) {
  return st && WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
}

/// The `i`th space-separated field of `line`, as a number.
inline long field(const std::string& line, int i) {
  std::size_t pos = 0;
  for (int k = 0; k < i; ++k) pos = line.find(' ', pos) + 1;
  return std::strtol(line.c_str() + pos, nullptr, 10);
}

/// A blocking client connection to 127.0.0.1:`port` (10 s timeouts), or -errno.
inline int connect_local(unsigned short port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sock_address a = sock_address::from_ip("127.0.0.1", port);
  if (::connect(fd, a.data(), a.size) != 0) {
    int err = errno;
    ::close(fd);
    return -err;
  }
  return fd;
}

/// Reads one line from a blocking socket (without the newline); nullopt at
/// end of stream, on an error or a timeout.
inline std::optional<std::string> read_line(int fd) {
  std::string out;
  char c;
  for (;;) {
    ssize_t n = ::recv(fd, &c, 1, 0);
    if (n <= 0) return std::nullopt;
    if (c == '\n') return out;
    out.push_back(c);
  }
}

inline bool send_all(int fd, const std::string& s) {
  return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
}

}  // namespace aio::test

namespace aio::test {

/// How many file descriptors this process has open.
inline int open_fds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n - 1;  // the directory's own
}

}  // namespace aio::test
