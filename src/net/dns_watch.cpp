// SPDX-License-Identifier: MIT
// How c-ares's sockets are watched: its socket-state callback names the
// sockets and the directions it cares about; each wanted direction gets a
// small task that waits on the loop's poller (one direction per wait, so
// both backends see a plain POLLIN or POLLOUT) and calls ares_process_fd.
// Tasks, not bare I/O operations, because the loop cancels and drains tasks
// before it frees anything: a loop that closes mid-lookup stays clean.

#include <poll.h>

#include <cerrno>
#include <string>

#include "aio/core/create_task.hpp"
#include "dns_resolver.hpp"

namespace aio::detail {

/// One wait of a watcher task for its socket to become ready in one direction.
/// Ended early in two ways: `abandon` (c-ares no longer wants it, or closes
/// the socket: the task loops or leaves) or the task's own cancellation.
struct dns_poll : io_op, waiter {
  dns_watch& watch;
  int dir;
  promise_base* task = nullptr;
  bool in_flight = false;
  bool cancel_sent = false;
  bool task_cancelled = false;

  dns_poll(dns_watch& w, int direction) noexcept : watch(w), dir(direction) {
    kind_ = io_kind::poll;
    fd_ = w.fd;
    flags_ = direction == 0 ? POLLIN : POLLOUT;
    complete_ = [](io_op* op) noexcept {
      auto* p = static_cast<dns_poll*>(op);
      p->in_flight = false;
      if (p->watch.poll[p->dir] == p) p->watch.poll[p->dir] = nullptr;
      wake(*p->task);
    };
    cancel_ = [](waiter* w) noexcept {
      auto* p = static_cast<dns_poll*>(w);
      p->task_cancelled = true;
      p->watch.owner->watcher_cancelled();
      p->abandon();
    };
  }
  dns_poll(const dns_poll&) = delete;

  void abandon() noexcept {
    if (!in_flight || cancel_sent) return;
    cancel_sent = true;
    task->loop_->cancel_io(*this);  // complete_ runs, now (epoll) or later (io_uring)
  }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    task = &enter_wait();
    if (task->loop_->start_io(*this)) return false;
    in_flight = true;
    watch.poll[dir] = this;
    task->suspend(h, this);
    return true;
  }
  /// Poll events, or -ECANCELED when abandoned; cancelled_error if the task was cancelled.
  int await_resume() const {
    if (task_cancelled && res_ < 0) task->throw_cancelled();
    return res_;
  }
};

namespace {

struct alive_mark {
  dns_watch& watch;
  int dir;
  ~alive_mark() { watch.alive[dir] = false; }
};

task<> watch_socket(std::shared_ptr<dns_watch> w, int dir) {
  alive_mark mark{*w, dir};
  while (!w->closed && w->want[dir]) {
    dns_poll poll(*w, dir);
    int res = co_await poll;
    // Abandoned (interest changed or socket closing): look at the state again.
    if (w->closed || res == -ECANCELED || !w->want[dir]) continue;
    w->owner->process(dir == 0 ? w->fd : ARES_SOCKET_BAD, dir == 1 ? w->fd : ARES_SOCKET_BAD);
  }
}

}  // namespace

void dns_resolver::interrupt(dns_watch& w, int dir) noexcept {
  if (dns_poll* p = w.poll[dir]) p->abandon();
}

void dns_resolver::on_sock_state(void* data, ares_socket_t fd, int readable,
                                 int writable) noexcept {
  auto& r = *static_cast<dns_resolver*>(data);
  auto it = r.watches_.find(fd);
  if (!readable && !writable) {
    // c-ares closes the socket right after this returns: every wait on it
    // must be withdrawn first (a reused fd number must not inherit it).
    if (it == r.watches_.end()) return;
    std::shared_ptr<dns_watch> w = std::move(it->second);
    r.watches_.erase(it);
    w->closed = true;
    w->want[0] = w->want[1] = false;
    interrupt(*w, 0);
    interrupt(*w, 1);
    return;
  }
  if (it == r.watches_.end()) {
    try {
      auto w = std::make_shared<dns_watch>();
      w->owner = &r;
      w->fd = fd;
      it = r.watches_.emplace(fd, std::move(w)).first;
    } catch (...) {
      return;  // out of memory: the socket goes unwatched and its queries time out
    }
  }
  dns_watch& w = *it->second;
  w.want[0] = readable != 0;
  w.want[1] = writable != 0;
  for (int dir = 0; dir < 2; ++dir)
    if (!w.want[dir]) interrupt(w, dir);
  r.spawn_watchers(it->second);
}

void dns_resolver::spawn_watchers(const std::shared_ptr<dns_watch>& w) noexcept {
  if (spawn_paused_ || destroying_) return;
  for (int dir = 0; dir < 2; ++dir) {
    if (!w->want[dir] || w->alive[dir]) continue;
    try {
      std::string name = "aio dns fd " + std::to_string(w->fd) + (dir == 0 ? " read" : " write");
      spawn(loop_, watch_socket(w, dir), std::move(name));
      w->alive[dir] = true;
    } catch (...) {
      // Left unwatched; the next lookup tries again (see start()).
    }
  }
}

}  // namespace aio::detail
