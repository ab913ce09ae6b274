// SPDX-License-Identifier: MIT
#include "aio/net/pipe.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace aio {

namespace {

std::unique_ptr<transport> pipe_transport(int fd, const char* what) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || (!(flags & O_NONBLOCK) && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    throw std::system_error(err, std::generic_category(),
                            std::string(what) + " (fd " + std::to_string(fd) + ")");
  }
  return make_fd_transport(fd, false);
}

}  // namespace

stream_reader connect_read_pipe(int fd, const stream_options& options) {
  return make_streams(pipe_transport(fd, "connect_read_pipe"), options).first;
}

stream_writer connect_write_pipe(int fd, const stream_options& options) {
  return make_streams(pipe_transport(fd, "connect_write_pipe"), options).second;
}

}  // namespace aio
