// SPDX-License-Identifier: MIT
// Signal handlers through signalfd: the signal is blocked in the loop's
// thread and read as data, so the handler runs as an ordinary callback on the
// loop with no async-signal-safety constraints.

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

#include "loop_impl.hpp"

namespace aio {

namespace {
void on_signal_ready(detail::io_op* op) noexcept {
  if (op->res_ == -ECANCELED) return;
  static_cast<detail::owned_op*>(op)->owner->on_signals();
}
}  // namespace

void detail::loop_impl::arm_signals() {
  static_cast<io_op&>(signal_op) = {};
  signal_op.owner = this;
  signal_op.kind_ = io_kind::poll;
  signal_op.fd_ = signal_fd;
  signal_op.flags_ = POLLIN;
  signal_op.complete_ = &on_signal_ready;
  if (io->start(signal_op)) on_signal_ready(&signal_op);
}

void detail::loop_impl::on_signals() {
  signalfd_siginfo info;
  while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    auto it = signal_handlers.find(static_cast<int>(info.ssi_signo));
    if (it == signal_handlers.end()) continue;
    std::function<void()> fn = it->second;
    loop.call_soon([fn = std::move(fn)] { fn(); });
  }
  arm_signals();
}

void event_loop::add_signal_handler(int signum, std::function<void()> fn) {
  check_thread("add_signal_handler");
  if (signum <= 0 || signum >= NSIG || signum == SIGKILL || signum == SIGSTOP)
    throw std::invalid_argument("add_signal_handler: signal " + std::to_string(signum) + " cannot be caught");
  if (!fn) throw std::invalid_argument("add_signal_handler: empty handler");
  auto& im = *impl_;
  if (!im.signal_handlers.count(signum)) {
    sigset_t one, old;
    sigemptyset(&one);
    sigaddset(&one, signum);
    pthread_sigmask(SIG_BLOCK, &one, &old);
    sigaddset(&im.signal_mask, signum);
    int fd = ::signalfd(im.signal_fd, &im.signal_mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      sigdelset(&im.signal_mask, signum);
      if (!sigismember(&old, signum)) pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
      throw std::system_error(err, std::generic_category(), "signalfd");
    }
    im.signal_was_blocked[signum] = sigismember(&old, signum);
    if (im.signal_fd < 0) {
      im.signal_fd = fd;
      im.arm_signals();
    }
  }
  im.signal_handlers[signum] = std::move(fn);
}

bool event_loop::remove_signal_handler(int signum) {
  check_thread("remove_signal_handler");
  auto& im = *impl_;
  if (!im.signal_handlers.erase(signum)) return false;
  sigdelset(&im.signal_mask, signum);
  ::signalfd(im.signal_fd, &im.signal_mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (!im.signal_was_blocked[signum]) {
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, signum);
    pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  }
  im.signal_was_blocked.erase(signum);
  return true;
}

}  // namespace aio
