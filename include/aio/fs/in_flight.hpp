// SPDX-License-Identifier: MIT
#pragma once
// The bound on file operations a loop keeps in flight (docs/files.md, "How
// many at once"). Beyond it, aio::fs calls wait in a FIFO and start as others
// finish; read_file holds its place from open to close, a close never waits.
//
//   aio::fs::set_max_in_flight(256);  // deep queues of O_DIRECT reads on NVMe

#include <cstddef>

namespace aio::fs {

/// How many file operations the running loop keeps in flight: 64 on io_uring,
/// 128 on the epoll backend's pool, unless set_max_in_flight changed it.
/// asyncio has no such bound (aiofiles is limited by its executor's threads).
/// Throws aio::invalid_state_error without a running loop.
std::size_t max_in_flight();

/// Sets the bound for the running loop, at once: a raise starts that many more
/// of the waiting calls, a cut lets the ones in flight finish. Raise it for
/// deep queues on fast devices (direct I/O on NVMe wants 128 or more); lower
/// it to hold fewer fds and buffers. Throws std::invalid_argument for 0 and
/// aio::invalid_state_error without a running loop.
void set_max_in_flight(std::size_t n);

}  // namespace aio::fs
