// SPDX-License-Identifier: MIT
#pragma once
// The frames between a pool and its workers, on a blocking stream socket:
//
//   request   u32 length | u8 type | u32 seq | (job: u16 name length | job name | encoded arguments)
//             type job: run it after the ones before; type give_back: hand job
//             `seq` back unrun if it has not started (a reply `returned`), else nothing
//   response  u32 length | u8 kind | u32 seq | payload
//             kind value: the encoded result; kind error: two encoded strings,
//             the exception's type name and its what(); kind returned: none
//
// (length counts the bytes after itself). seq numbers a worker's jobs; the
// results of the jobs come in the order they were sent.

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace aio::detail::wire {

enum class kind : std::uint8_t { value = 0, error = 1, returned = 2 };
enum class request : std::uint8_t { job = 0, give_back = 1 };

inline constexpr std::size_t request_header = 9;   // u32 length + u8 type + u32 seq
inline constexpr std::size_t response_header = 9;  // u32 length + u8 kind + u32 seq
/// The largest payload a frame carries (its length is a u32).
inline constexpr std::size_t max_frame = 0xffff'0000;

/// Writes every byte of the iovecs (modified in place). False if the peer is gone.
inline bool write_all(int fd, iovec* iov, int count) noexcept {
  while (count > 0) {
    msghdr h{};
    h.msg_iov = iov;
    h.msg_iovlen = static_cast<std::size_t>(count);
    ssize_t n = ::sendmsg(fd, &h, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    auto left = static_cast<std::size_t>(n);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

/// Reads exactly n bytes. False on end of stream or error.
inline bool read_exact(int fd, void* p, std::size_t n) noexcept {
  auto* c = static_cast<char*>(p);
  while (n > 0) {
    ssize_t r = ::read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    c += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace aio::detail::wire
