// SPDX-License-Identifier: MIT
#pragma once
// Small socket helpers shared by open_connection and the servers: an owning
// fd, socket creation with the flags the loop needs, Unix addresses, and
// errors that name what failed.

#include <sys/socket.h>

#include <string>
#include <string_view>
#include <utility>

#include "aio/core/sock.hpp"
#include "aio/core/task.hpp"

namespace aio::detail {

/// Owns one file descriptor; closes it on destruction.
class unique_fd {
 public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~unique_fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

/// std::system_error(err) whose message is `what`.
[[noreturn]] void throw_os_error(int err, const std::string& what);

/// A non-blocking, close-on-exec socket; system_error naming the family on failure.
unique_fd open_socket(int family, int type = SOCK_STREAM, int protocol = 0);

/// setsockopt of an int option; system_error naming `what` on failure.
void set_int_option(int fd, int level, int name, int value, const char* what);

/// getsockname(fd); system_error on failure.
sock_address local_address(int fd);

/// "host:port", with an IPv6 literal in brackets: how messages name a target.
std::string host_port(std::string_view host, unsigned short port);

/// One step of an awaited backend operation that hands its raw result back
/// (bytes, events, or -errno) instead of throwing; cancellation still
/// throws cancelled_error.
struct raw_io : io_awaiter {
  raw_io(io_kind kind, int fd, std::uint32_t flags) noexcept {
    kind_ = kind;
    fd_ = fd;
    flags_ = flags;
  }
  int await_resume() const { return finish(); }
};

/// Waits until `fd` is readable (POLLIN); the raw poll result.
inline raw_io poll_readable(int fd) noexcept { return raw_io(io_kind::poll, fd, 0x001); }

}  // namespace aio::detail
