// SPDX-License-Identifier: MIT
#pragma once
// Streams over pipe fds, like asyncio's loop.connect_read_pipe /
// loop.connect_write_pipe with a StreamReader or StreamWriter on top: the
// subprocess pipes, or any pipe or FIFO a program is handed.
//
//   int p[2]; ::pipe2(p, O_CLOEXEC);
//   auto in = aio::connect_read_pipe(p[0]);
//   auto out = aio::connect_write_pipe(p[1]);
//   co_await out.write("hello\n");
//   std::string line = co_await in.readline();

#include "aio/net/stream.hpp"

namespace aio {

/// Like `loop.connect_read_pipe` + a StreamReader: takes ownership of `fd`
/// (the read end of a pipe or FIFO, or a character device), makes it
/// non-blocking and returns a reader over it; the fd closes when the reader
/// is destroyed. Not a coroutine (nothing to wait for). Throws
/// std::system_error if the fd is invalid (and then closes it).
stream_reader connect_read_pipe(int fd, const stream_options& options = {});

/// Like `loop.connect_write_pipe` + a StreamWriter: takes ownership of the
/// write end `fd`, makes it non-blocking and returns a writer over it;
/// write_eof() and close() close the fd (after the buffered bytes are
/// written). A reader that went away is a std::system_error (EPIPE) from
/// write/drain, never a SIGPIPE. Throws std::system_error if the fd is
/// invalid (and then closes it).
stream_writer connect_write_pipe(int fd, const stream_options& options = {});

}  // namespace aio
