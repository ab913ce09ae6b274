// SPDX-License-Identifier: MIT
// datagram_endpoint's operations: recvmsg/sendmsg through the loop's backend,
// each linked into the endpoint while in flight so that close() can abandon it.
#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "aio/net/getaddrinfo.hpp"
#include "datagram_impl.hpp"

namespace aio {

namespace {

using state = datagram_endpoint::state;

[[noreturn]] void throw_closed(const char* what) {
  throw std::system_error(EBADF, std::system_category(),
                          std::string(what) + " on a closed datagram endpoint");
}

// "127.0.0.1:5000" or "127.0.0.1:5000 connected to 127.0.0.1:9": how errors name an endpoint.
std::string describe(const state& st) {
  sock_address a;
  a.size = sizeof a.storage;
  std::string out = ::getsockname(st.fd, a.data(), &a.size) == 0 ? a.to_string() : std::string("?");
  if (out.empty()) out = "(unbound)";
  a.size = sizeof a.storage;
  if (::getpeername(st.fd, a.data(), &a.size) == 0) out += " connected to " + a.to_string();
  return out;
}

// A core datagram awaiter (Io) that the endpoint tracks while it is in the kernel.
template <class Io>
struct endpoint_op : Io, detail::dgram_link {
  state* st;

  template <class... A>
  explicit endpoint_op(state& s, A&&... args) noexcept
      : Io(s.fd, std::forward<A>(args)...), st(&s) {
    io = this;
    this->complete_ = [](detail::io_op* op) noexcept {
      auto* self = static_cast<endpoint_op*>(op);
      self->st->unlink(*self);
      detail::wake(*self->task);
    };
    this->cancel_ = [](detail::waiter* w) noexcept {
      auto* self = static_cast<endpoint_op*>(w);
      self->cancelling_ = true;
      if (!self->abandoned) self->task->loop_->cancel_io(*self);
    };
  }
  endpoint_op(const endpoint_op&) = delete;

  bool await_suspend(std::coroutine_handle<> h) {
    this->point_msghdr();
    this->task = &detail::enter_wait();
    st->link(*this);
    if (this->task->loop_->start_io(*this)) {
      st->unlink(*this);
      return false;
    }
    this->task->suspend(h, static_cast<detail::waiter*>(this));
    return true;
  }
  void await_resume() const noexcept {}

  /// The raw result (bytes or -errno); cancelled_error if the task was
  /// cancelled, EBADF if close() abandoned the operation.
  int result(const char* what) const {
    if (this->res_ < 0) {
      if (this->cancelling_) this->task->throw_cancelled();
      if (abandoned) throw_closed(what);
    }
    return this->res_;
  }
};

task<received_from> receive(std::shared_ptr<state> st, std::span<std::byte> buf) {
  st->check_open("recvfrom");
  endpoint_op<detail::recvfrom_awaiter> op(*st, buf);
  co_await op;
  int r = op.result("recvfrom");
  if (r < 0)
    throw std::system_error(-r, std::system_category(),
                            "recvfrom on datagram endpoint " + describe(*st));
  received_from out;
  auto n = static_cast<std::size_t>(r);
  // recvmsg ran with MSG_TRUNC: a result past the buffer is the datagram's real length.
  out.truncated = n > buf.size() || (op.msg.msg_flags & MSG_TRUNC) != 0;
  out.size = n > buf.size() ? buf.size() : n;
  out.from = op.from;
  out.from.size = op.msg.msg_namelen;
  co_return out;
}

task<datagram> receive_copy(std::shared_ptr<state> st, std::size_t max) {
  st->check_open("recvfrom");
  // One scratch buffer per endpoint, so that the datagram is copied out at
  // its real size (a 64 KiB string per datagram would pin 64 KiB each);
  // concurrent receivers beyond the first use their own.
  std::vector<std::byte> own;
  std::span<std::byte> buf;
  bool use_scratch = !st->scratch_busy;
  if (use_scratch) {
    if (st->scratch.size() < max) st->scratch.resize(max);
    buf = std::span<std::byte>(st->scratch.data(), max);
    st->scratch_busy = true;
  } else {
    own.resize(max);
    buf = own;
  }
  struct release {
    state* s;
    bool on;
    ~release() {
      if (on) s->scratch_busy = false;
    }
  } guard{st.get(), use_scratch};
  received_from r = co_await receive(st, buf);
  datagram out;
  out.data.assign(reinterpret_cast<const char*>(buf.data()), r.size);
  out.from = r.from;
  out.truncated = r.truncated;
  co_return out;
}

task<> send_one(std::shared_ptr<state> st, std::string_view data, sock_address to,
                const char* what) {
  st->check_open(what);
  endpoint_op<detail::sendto_awaiter> op(
      *st, std::as_bytes(std::span<const char>(data.data(), data.size())), to);
  co_await op;
  int r = op.result(what);
  if (r < 0) {
    std::string msg = std::string(what) + ": " + std::to_string(data.size()) + "-byte datagram to ";
    if (to.size) {
      msg += to.to_string();
    } else {
      sock_address peer;
      peer.size = sizeof peer.storage;
      msg += ::getpeername(st->fd, peer.data(), &peer.size) == 0 ? peer.to_string()
                                                                 : std::string("no peer");
    }
    throw std::system_error(-r, std::system_category(), msg + " from " + describe(*st));
  }
}

task<> send_to_host(std::shared_ptr<state> st, std::string_view data, std::string host,
                    unsigned short port) {
  st->check_open("sendto");
  if (st->family == AF_UNIX)
    throw std::invalid_argument(
        "sendto(host, port) on a Unix datagram endpoint: use sock_address::from_unix");
  auto infos = co_await getaddrinfo(host, port, st->family, SOCK_DGRAM);
  if (infos.empty())
    throw std::system_error(EADDRNOTAVAIL, std::system_category(),
                            "sendto: '" + host + "' has no address");
  co_await send_one(std::move(st), data, infos.front().address, "sendto");
}

}  // namespace

void datagram_endpoint::state::close() noexcept {
  if (closing) return;
  closing = true;
  for (detail::dgram_link* l = in_flight; l;) {
    detail::dgram_link* next = l->next;  // an epoll cancel completes (and unlinks) at once
    if (!l->abandoned && !l->io->cancelling_) {
      l->abandoned = true;
      l->io->task->loop_->cancel_io(*l->io);
    }
    l = next;
  }
  close_if_idle();
}

void datagram_endpoint::state::check_open(const char* what) const {
  if (closing) throw_closed(what);
}

datagram_endpoint& datagram_endpoint::operator=(datagram_endpoint&& o) noexcept {
  if (this != &o) {
    close();
    st_ = std::move(o.st_);
  }
  return *this;
}

datagram_endpoint::~datagram_endpoint() { close(); }

task<datagram> datagram_endpoint::recvfrom(std::size_t max) {
  if (!st_) throw_closed("recvfrom");
  return receive_copy(st_, max);
}

task<received_from> datagram_endpoint::recvfrom_into(std::span<std::byte> buf) {
  if (!st_) throw_closed("recvfrom");
  return receive(st_, buf);
}

task<> datagram_endpoint::sendto(std::string_view data, const sock_address& to) {
  if (!st_) throw_closed("sendto");
  return send_one(st_, data, to, "sendto");
}

task<> datagram_endpoint::sendto(std::string_view data, std::string host, unsigned short port) {
  if (!st_) throw_closed("sendto");
  return send_to_host(st_, data, std::move(host), port);
}

task<> datagram_endpoint::send(std::string_view data) {
  if (!st_) throw_closed("send");
  return send_one(st_, data, sock_address{}, "send");
}

sock_address datagram_endpoint::sockname() const {
  if (!st_ || st_->closing) throw_closed("sockname");
  sock_address a;
  a.size = sizeof a.storage;
  if (::getsockname(st_->fd, a.data(), &a.size) != 0)
    throw std::system_error(errno, std::system_category(), "getsockname of a datagram endpoint");
  return a;
}

std::optional<sock_address> datagram_endpoint::peername() const {
  if (!st_ || st_->closing) return std::nullopt;
  sock_address a;
  a.size = sizeof a.storage;
  if (::getpeername(st_->fd, a.data(), &a.size) != 0) return std::nullopt;
  return a;
}

int datagram_endpoint::family() const noexcept {
  return st_ && !st_->closing ? st_->family : AF_UNSPEC;
}

int datagram_endpoint::fd() const noexcept { return st_ && !st_->closing ? st_->fd : -1; }

void datagram_endpoint::close() noexcept {
  if (st_) st_->close();
}

bool datagram_endpoint::is_closing() const noexcept { return !st_ || st_->closing; }

}  // namespace aio
