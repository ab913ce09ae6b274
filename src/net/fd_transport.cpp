// SPDX-License-Identifier: MIT
// The plain transport: a socket (recv/send through the loop's backend) or a
// pipe (read/write when poll says so: io_uring hands -EAGAIN back for
// O_NONBLOCK pipes instead of waiting).
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "aio/net/transport.hpp"
#include "plain_transport.hpp"

namespace aio {

std::optional<std::string> transport::extra_info(std::string_view name) const {
  int s = fd();
  if (s < 0) return std::nullopt;
  sock_address a;
  a.size = sizeof a.storage;
  int r = -1;
  if (name == "peername") r = ::getpeername(s, a.data(), &a.size);
  else if (name == "sockname") r = ::getsockname(s, a.data(), &a.size);
  if (r != 0) return std::nullopt;
  return a.to_string();
}

namespace {

[[noreturn]] void throw_errno(int err, const char* what, int fd) {
  throw std::system_error(err, std::system_category(), std::string(what) + " (fd " + std::to_string(fd) + ")");
}

// One backend operation that close() can abandon: it then ends with
// -ECANCELED, which the transport turns into end of stream / EPIPE. A task
// cancel still throws cancelled_error (io_awaiter::finish).
struct abandonable_io : detail::io_awaiter {
  bool abandoned = false;
  abandonable_io(detail::io_kind kind, int fd, void* buf, std::size_t len, std::uint32_t flags) noexcept {
    kind_ = kind;
    fd_ = fd;
    buf_ = buf;
    len_ = len;
    flags_ = flags;
    cancel_ = [](detail::waiter* w) noexcept {
      auto* a = static_cast<abandonable_io*>(w);
      a->cancelling_ = true;
      if (!a->abandoned) a->task->loop_->cancel_io(*a);
    };
  }
  int await_resume() const { return finish(); }
  bool in_flight() const noexcept { return task && task->waiter_ == this; }
  void abandon() noexcept {
    if (!in_flight() || abandoned || cancelling_) return;
    abandoned = true;
    task->loop_->cancel_io(*this);
  }
};

// Points `slot` at the op while it is awaited. On the way out, with a result
// or with cancelled_error (a task cancel that met close() on the same op),
// the owner closes its fd if close() came meanwhile.
template <class Owner>
struct op_slot {
  Owner& owner;
  abandonable_io*& slot;
  op_slot(Owner& o, abandonable_io*& s, abandonable_io& op) noexcept : owner(o), slot(s) { slot = &op; }
  ~op_slot() {
    slot = nullptr;
    owner.finish_op();
  }
};

constexpr std::uint32_t poll_in = 0x001, poll_out = 0x004;

// write(2) to a pipe whose reader is gone raises SIGPIPE, and unlike send it
// has no MSG_NOSIGNAL: block the signal in this thread around the call and
// swallow the one it raised (unless the thread had it blocked already).
ssize_t pipe_writev(int fd, const iovec* iov, int count) {
  sigset_t pipe_only, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  ssize_t r = ::writev(fd, iov, count);
  int err = errno;
  if (r < 0 && err == EPIPE && !sigismember(&old, SIGPIPE)) {
    timespec zero{};
    ::sigtimedwait(&pipe_only, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return r;
}

class fd_transport final : public detail::plain_transport {
 public:
  fd_transport(int fd, bool is_socket) noexcept : fd_(fd), socket_(is_socket) {}
  ~fd_transport() override {
    // Streams finish their operations before dropping the transport.
    if (fd_ >= 0) ::close(fd_);
  }

  task<std::size_t> read_some(std::span<std::byte> buf) override {
    for (;;) {
      if (closing_) co_return 0;
      // A pipe is always read at once (see above); a socket when its last
      // read filled the whole buffer, so more is likely queued: that saves a
      // round through the backend per read on a busy stream, and costs no
      // wasted syscall on a request/response one.
      if (!socket_ || eager_) {
        ssize_t r = socket_ ? ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT) : ::read(fd_, buf.data(), buf.size());
        if (r >= 0) {
          eager_ = static_cast<std::size_t>(r) == buf.size();
          co_return static_cast<std::size_t>(r);
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN) throw_errno(errno, socket_ ? "recv" : "read from pipe", fd_);
        eager_ = false;
      }
      abandonable_io op(socket_ ? detail::io_kind::recv : detail::io_kind::poll, fd_, buf.data(), buf.size(),
                        socket_ ? 0 : poll_in);
      int r;
      {
        op_slot in(*this, reading_, op);
        r = co_await op;
      }
      if (closing_) co_return 0;
      if (r < 0) throw_errno(-r, socket_ ? "recv" : "wait for pipe", fd_);
      if (socket_) {
        eager_ = static_cast<std::size_t>(r) == buf.size();
        co_return static_cast<std::size_t>(r);
      }
    }
  }

  task<std::size_t> write_some(std::span<const std::byte> buf) override {
    for (;;) {
      if (closing_) throw_errno(EPIPE, "write to a closed transport", fd_);
      // Try the kernel first: a socket with room takes the bytes now,
      // without a round through the backend.
      iovec one{const_cast<std::byte*>(buf.data()), buf.size()};
      ssize_t r = socket_ ? ::send(fd_, buf.data(), buf.size(), MSG_DONTWAIT | MSG_NOSIGNAL)
                          : pipe_writev(fd_, &one, 1);
      if (r >= 0) co_return static_cast<std::size_t>(r);
      if (errno == EINTR) continue;
      if (errno != EAGAIN) throw_errno(errno, socket_ ? "send" : "write to pipe", fd_);
      abandonable_io op(detail::io_kind::poll, fd_, nullptr, 0, poll_out);
      int w;
      {
        op_slot in(*this, writing_, op);
        w = co_await op;
      }
      if (closing_) throw_errno(EPIPE, "write to a closed transport", fd_);
      if (w < 0) throw_errno(-w, "wait for writable", fd_);
    }
  }

  task<> write_eof() override {
    if (closing_) co_return;
    if (socket_) {
      if (::shutdown(fd_, SHUT_WR) != 0 && errno != ENOTCONN) throw_errno(errno, "shutdown(SHUT_WR)", fd_);
    } else {
      close();  // a pipe's write end: closing it is its end of stream
    }
    co_return;
  }

  std::size_t try_write(std::span<const std::string_view> parts) override {
    if (closing_) throw_errno(EPIPE, "write to a closed transport", fd_);
    std::size_t total = 0;
    while (!parts.empty()) {
      iovec iov[64];
      std::size_t count = std::min<std::size_t>(parts.size(), 64), want = 0;
      for (std::size_t i = 0; i < count; ++i) {
        iov[i] = {const_cast<char*>(parts[i].data()), parts[i].size()};
        want += parts[i].size();
      }
      ssize_t r;
      do {
        if (socket_) {
          msghdr m{};
          m.msg_iov = iov;
          m.msg_iovlen = count;
          r = ::sendmsg(fd_, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
        } else {
          r = pipe_writev(fd_, iov, static_cast<int>(count));
        }
      } while (r < 0 && errno == EINTR);
      if (r < 0) {
        // What was taken is reported; a lasting error shows again next time.
        if (errno == EAGAIN || total > 0) return total;
        throw_errno(errno, socket_ ? "send" : "write to pipe", fd_);
      }
      total += static_cast<std::size_t>(r);
      if (static_cast<std::size_t>(r) < want) break;
      parts = parts.subspan(count);
    }
    return total;
  }

  void shutdown_write() override {
    if (closing_) return;
    if (!socket_) {
      close();
    } else if (::shutdown(fd_, SHUT_WR) != 0 && errno != ENOTCONN) {
      throw_errno(errno, "shutdown(SHUT_WR)", fd_);
    }
  }

  task<bool> wait_writable() override {
    if (closing_) co_return false;
    abandonable_io op(detail::io_kind::poll, fd_, nullptr, 0, poll_out);
    int w;
    {
      op_slot in(*this, writing_, op);
      w = co_await op;
    }
    if (closing_) co_return false;
    if (w < 0) throw_errno(-w, "wait for writable", fd_);
    co_return true;
  }

  bool is_socket() const noexcept override { return socket_; }

  void close() noexcept override {
    if (closing_) return;
    closing_ = true;
    if (reading_) reading_->abandon();
    if (writing_) writing_->abandon();
    finish_op();
  }
  bool is_closing() const noexcept override { return closing_; }
  int fd() const noexcept override { return closing_ ? -1 : fd_; }

  // The fd is closed only when no operation uses it any more: closing it
  // under an epoll registration would lose the wake-up.
  void finish_op() noexcept {
    if (closing_ && !reading_ && !writing_ && fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_;
  bool socket_;
  bool closing_ = false;
  bool eager_ = false;  // try recv before asking the backend (see read_some)
  abandonable_io* reading_ = nullptr;
  abandonable_io* writing_ = nullptr;
};

}  // namespace

std::unique_ptr<transport> make_fd_transport(int fd, bool is_socket) {
  try {
    return std::make_unique<fd_transport>(fd, is_socket);
  } catch (...) {
    ::close(fd);  // it was handed over: without a transport nobody else closes it
    throw;
  }
}

}  // namespace aio
