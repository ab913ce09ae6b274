// SPDX-License-Identifier: MIT
#pragma once
// The shared state of a datagram_endpoint: the socket and the operations in
// flight on it, so that close() can abandon them and close the fd only after
// the kernel has let go of every buffer.

#include <unistd.h>

#include <cstddef>
#include <string>
#include <vector>

#include "aio/net/datagram.hpp"

namespace aio {

namespace detail {
/// An operation of an endpoint while it is in the kernel.
struct dgram_link {
  dgram_link* prev = nullptr;
  dgram_link* next = nullptr;
  io_awaiter* io = nullptr;
  bool abandoned = false;  // close() cancelled it
};
}  // namespace detail

struct datagram_endpoint::state {
  int fd = -1;
  int family = AF_UNSPEC;
  bool closing = false;
  bool scratch_busy = false;       // a recvfrom is receiving into `scratch`
  std::vector<std::byte> scratch;  // recvfrom's buffer; the datagram is copied out at its size
  detail::dgram_link* in_flight = nullptr;

  state(int f, int fam) noexcept : fd(f), family(fam) {}
  state(const state&) = delete;
  ~state() {
    if (fd >= 0) ::close(fd);
  }

  void link(detail::dgram_link& l) noexcept {
    l.prev = nullptr;
    l.next = in_flight;
    if (in_flight) in_flight->prev = &l;
    in_flight = &l;
  }
  void unlink(detail::dgram_link& l) noexcept {
    if (l.prev)
      l.prev->next = l.next;
    else
      in_flight = l.next;
    if (l.next) l.next->prev = l.prev;
    l.prev = l.next = nullptr;
    close_if_idle();
  }
  // Closing under an operation would let the fd number be reused while the
  // kernel (or an epoll registration) still refers to it.
  void close_if_idle() noexcept {
    if (closing && !in_flight && fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }
  void close() noexcept;
  /// Throws std::system_error(EBADF) naming `what` when closing.
  void check_open(const char* what) const;
};

}  // namespace aio
