// SPDX-License-Identifier: MIT
// Chooses the backend: AIO_BACKEND, else io_uring, else epoll (logged once).

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>

#include "backend.hpp"

namespace aio::detail {

std::unique_ptr<backend> make_backend(backend_kind kind) {
  if (kind == backend_kind::automatic) {
    if (const char* env = std::getenv("AIO_BACKEND"); env && *env) {
      std::string v = env;
      if (v == "uring" || v == "io_uring") kind = backend_kind::uring;
      else if (v == "epoll") kind = backend_kind::epoll;
      else throw std::invalid_argument("AIO_BACKEND must be 'uring' or 'epoll', not '" + v + "'");
    }
  }
  if (kind == backend_kind::epoll) return make_epoll_backend();
  if (auto b = make_uring_backend()) return b;
  int err = errno;
  if (kind == backend_kind::uring)
    throw std::system_error(err, std::generic_category(), "io_uring_queue_init (AIO_BACKEND=uring)");
  static std::once_flag logged;
  std::call_once(logged, [err] {
    std::fprintf(stderr, "aio: io_uring unavailable (%s); using epoll\n", std::strerror(err));
  });
  return make_epoll_backend();
}

}  // namespace aio::detail
