// SPDX-License-Identifier: MIT
// The accept loop of a listening socket and the task of each connection.
//
// The accept loop takes every pending connection with accept4 until EAGAIN
// (up to `backlog` in a row, then it lets the new handlers run), and only
// then waits for readability: under load one wake-up accepts a batch.
#include <sys/socket.h>

#include <cerrno>
#include <system_error>

#include "aio/core/create_task.hpp"
#include "aio/core/sleep.hpp"
#include "aio/core/timeout.hpp"
#include "server_impl.hpp"

namespace aio::detail {

namespace {

using namespace std::chrono_literals;

// How long the accept loop pauses when the process or system is out of
// descriptors or memory: connections wait in the backlog meanwhile, instead
// of the loop spinning on a readable socket it cannot accept from.
constexpr auto resource_backoff = 100ms;

bool transient(int err) {
  switch (err) {
    // accept(2): "Linux accept() passes already-pending network errors on
    // the new socket as an error code from accept()"; retry as for EAGAIN.
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case EPERM:  // a firewall rule refused it
      return true;
    default:
      return false;
  }
}

bool out_of_resources(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

std::exception_ptr accept_error(int err, const listener& l) {
  return std::make_exception_ptr(std::system_error(err, std::system_category(),
                                                   "accept on " + l.name.substr(sizeof "server")));
}

task<std::unique_ptr<transport>> handshake(server_core& c, std::unique_ptr<transport> t) {
  auto wrap = c.options.ssl->wrap_server(std::move(t), "");
  if (c.options.ssl_handshake_timeout <= c.options.ssl_handshake_timeout.zero())
    co_return co_await std::move(wrap);
  co_return co_await timeout(c.options.ssl_handshake_timeout).run(std::move(wrap));
}

}  // namespace

task<> accept_loop(server_core* c, listener* l) {
  const int fd = l->fd.get();
  const std::size_t batch_limit =
      c->options.backlog > 0 ? static_cast<std::size_t>(c->options.backlog) : 1;
  const std::size_t limit = c->options.max_connections;
  std::size_t batch = 0;
  while (!c->closed_) {
    if (limit && c->active_ >= limit) {
      co_await list_wait(c->capacity_waiters, "server at max_connections");
      continue;
    }
    sock_address peer;
    peer.size = sizeof peer.storage;
    int s = ::accept4(fd, peer.data(), &peer.size, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s >= 0) {
      try {
        c->start_connection(*l, s, peer);
      } catch (const std::exception&) {
        c->report("could not start a connection's handler", std::current_exception());
      }
      if (++batch >= batch_limit) {
        batch = 0;
        co_await sleep(0s);  // let the new handlers run before taking more
      }
      continue;
    }
    int err = errno;
    batch = 0;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      co_await poll_readable(fd);
    } else if (transient(err)) {
      continue;
    } else if (c->closed_) {
      break;
    } else {
      // Out of descriptors or memory (asyncio's "socket.accept() out of
      // system resource"), or an unexpected error: said once per server,
      // then the loop backs off instead of spinning.
      if (!c->accept_error_logged_) {
        c->accept_error_logged_ = true;
        c->report(out_of_resources(err)
                      ? "socket.accept() out of system resource; pausing accepts briefly"
                      : "socket.accept() failed; pausing accepts briefly",
                  accept_error(err, *l));
      }
      co_await sleep(resource_backoff);
    }
  }
}

task<> serve_connection(server_core* c, conn_record* rec, unique_fd fd) {
  std::unique_ptr<transport> t = make_fd_transport(fd.release(), true);
  if (c->options.ssl) {
    // A failed or timed-out handshake closes the connection quietly, as
    // asyncio does outside debug mode: the peer is not our handler's bug.
    try {
      t = co_await handshake(*c, std::move(t));
    } catch (const cancelled_error&) {
      throw;
    } catch (...) {
      co_return;
    }
  }
  rec->handed_over = true;
  try {
    co_await c->handler->serve(track(std::move(t), rec));
  } catch (const cancelled_error&) {
    throw;
  } catch (...) {
    if (rec->live) rec->live->close();
    exception_context ctx{"Unhandled exception in client_connected_cb",
                          std::current_exception(),
                          rec->task ? rec->task->name() : std::string(),
                          {}};
    try {
      c->loop.call_exception_handler(ctx);
    } catch (...) {  // the server goes on even if the handler of handlers throws
    }
  }
}

}  // namespace aio::detail
