// SPDX-License-Identifier: MIT
// The epoll backend: readiness, one-shot. Each operation first tries its
// system call (most reads and writes on a busy socket succeed at once); only
// on EAGAIN does it queue on the fd and arm EPOLLONESHOT. Arming per wait
// costs one epoll_ctl, but a closed and reused fd number can never leave a
// stale registration behind, whoever closed it.

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <system_error>
#include <vector>

#include "backend.hpp"

namespace aio::detail {

namespace {

struct op_queue {
  io_op* head = nullptr;
  io_op* tail = nullptr;
  void push(io_op& op) noexcept {
    op.wait_next_ = nullptr;
    if (tail) tail->wait_next_ = &op; else head = &op;
    tail = &op;
  }
  io_op* pop() noexcept {
    io_op* op = head;
    head = op->wait_next_;
    if (!head) tail = nullptr;
    op->wait_next_ = nullptr;
    return op;
  }
  bool remove(io_op& op) noexcept {
    io_op* prev = nullptr;
    for (io_op* p = head; p; prev = p, p = p->wait_next_) {
      if (p != &op) continue;
      if (prev) prev->wait_next_ = p->wait_next_; else head = p->wait_next_;
      if (tail == p) tail = prev;
      p->wait_next_ = nullptr;
      return true;
    }
    return false;
  }
};

struct fd_state {
  op_queue readers;
  op_queue writers;
};

bool wants_write(const io_op& op) noexcept {
  switch (op.kind_) {
    case io_kind::send:
    case io_kind::sendmsg:
    case io_kind::connect:
    case io_kind::write:
      return true;
    case io_kind::poll:
      return !(op.flags_ & EPOLLIN) && (op.flags_ & EPOLLOUT);
    default:
      return false;
  }
}

class epoll_backend final : public backend {
 public:
  epoll_backend() : ep_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (ep_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
    events_.resize(256);
  }
  ~epoll_backend() override { ::close(ep_); }

  const char* name() const noexcept override { return "epoll"; }
  bool has_pending() const noexcept override { return false; }

  bool start(io_op& op) override {
    if (op.kind_ >= io_kind::openat) {  // file kinds: cannot be polled (see nodes.hpp)
      op.res_ = perform_io(op);
      return true;
    }
    if (op.kind_ == io_kind::connect) {
      int r = perform_io(op);
      if (r != -EINPROGRESS && r != -EAGAIN) {
        op.res_ = r;
        return true;
      }
      op.tried_ = true;
    } else if (op.kind_ != io_kind::poll) {
      int r = perform_io(op);
      if (r != -EAGAIN) {
        op.res_ = r;
        return true;
      }
    }
    fd_state& s = state(op.fd_);
    op_queue& q = wants_write(op) ? s.writers : s.readers;
    q.push(op);
    if (int err = arm(op.fd_, s); err != 0) {
      // The fd cannot be polled (EPERM: a regular file): this op completes
      // now, as start() promises (never through complete_ from in here); any
      // other op waiting on the fd fails with it.
      q.remove(op);
      op.res_ = err;
      fail_all(s, err);
      return true;
    }
    return false;
  }

  void cancel(io_op& op) noexcept override {
    if (op.fd_ < 0 || static_cast<std::size_t>(op.fd_) >= fds_.size()) return;
    fd_state& s = fds_[op.fd_];
    if (!s.readers.remove(op) && !s.writers.remove(op)) return;  // already completed
    op.res_ = -ECANCELED;
    op.complete_(&op);
  }

  int poll(std::int64_t timeout_ns) override {
    // Clamped: a timer more than 24.8 days away must not wrap to a negative
    // (infinite) timeout; the loop simply polls again then.
    const std::int64_t max_ms = std::numeric_limits<int>::max();
    int ms = timeout_ns < 0 ? -1 : static_cast<int>(std::min<std::int64_t>((timeout_ns + 999'999) / 1'000'000, max_ms));
    int n = ::epoll_wait(ep_, events_.data(), static_cast<int>(events_.size()), ms);
    if (n < 0) {
      if (errno == EINTR) return 0;
      throw std::system_error(errno, std::generic_category(), "epoll_wait");
    }
    int done = 0;
    for (int i = 0; i < n; ++i) done += service(events_[i].data.fd, events_[i].events);
    if (n == static_cast<int>(events_.size())) events_.resize(events_.size() * 2);
    return done;
  }

  int poll_ready() override { return poll(0); }

 private:
  fd_state& state(int fd) {
    if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(static_cast<std::size_t>(fd) * 2 + 16);
    return fds_[fd];
  }

  // Registers the fd for what its queues wait for; -errno if epoll refuses.
  int arm(int fd, fd_state& s) noexcept {
    std::uint32_t mask = 0;
    for (io_op* op = s.readers.head; op; op = op->wait_next_)
      mask |= op->kind_ == io_kind::poll ? op->flags_ : EPOLLIN;
    if (s.writers.head) mask |= EPOLLOUT;
    if (!mask) return 0;
    epoll_event ev{};
    ev.events = mask | EPOLLONESHOT;
    ev.data.fd = fd;
    int r = ::epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &ev);
    if (r < 0 && errno == ENOENT) r = ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
    return r < 0 ? -errno : 0;  // e.g. EPERM: a regular file cannot be polled
  }

  // Returns how many ops it completed (poll's count includes them).
  int fail_all(fd_state& s, int err) noexcept {
    int done = 0;
    for (op_queue* q : {&s.readers, &s.writers}) {
      while (q->head) {
        io_op* op = q->pop();
        op->res_ = err;
        op->complete_(op);
        ++done;
      }
    }
    return done;
  }

  int service(int fd, std::uint32_t events) noexcept {
    fd_state& s = fds_[fd];
    int done = 0;
    bool err = events & (EPOLLERR | EPOLLHUP);
    // A poll for both directions waits with the readers: writability alone must reach it too.
    const io_op* first = s.readers.head;
    const bool out_for_reader = (events & EPOLLOUT) && first && first->kind_ == io_kind::poll &&
                                (first->flags_ & EPOLLOUT);
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLPRI) || err || out_for_reader) done += drain(s.readers, events);
    if (events & EPOLLOUT || err) done += drain(s.writers, events);
    if (int e = arm(fd, s); e != 0) done += fail_all(s, e);
    return done;
  }

  // Completes the ops queued when the event arrived, in order, until one is
  // not ready. Ops queued by completions (a task re-arming at once) wait for
  // the next event: `events` describes the past, not them.
  int drain(op_queue& q, std::uint32_t events) noexcept {
    op_queue snapshot = q;
    q = {};
    int done = 0;
    while (snapshot.head) {
      io_op* op = snapshot.head;
      int r;
      if (op->kind_ == io_kind::poll) {
        r = static_cast<int>(events & (op->flags_ | EPOLLERR | EPOLLHUP));
        if (!r) break;
      } else if (op->kind_ == io_kind::connect && op->tried_) {
        int so_error = 0;
        socklen_t len = sizeof so_error;
        r = ::getsockopt(op->fd_, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0 ? -errno : -so_error;
      } else {
        r = perform_io(*op);
        if (r == -EAGAIN) break;
      }
      snapshot.pop();
      op->res_ = r;
      op->complete_(op);
      ++done;
    }
    if (snapshot.head) {  // not ready: back to the front, ahead of newer ops
      snapshot.tail->wait_next_ = q.head;
      if (!q.tail) q.tail = snapshot.tail;
      q.head = snapshot.head;
    }
    return done;
  }

  int ep_;
  std::vector<fd_state> fds_;
  std::vector<epoll_event> events_;
};

}  // namespace

std::unique_ptr<backend> make_epoll_backend() { return std::make_unique<epoll_backend>(); }

}  // namespace aio::detail
