// SPDX-License-Identifier: MIT
// process_pool_executor's public members: construction (fork server, the
// supervisor thread), submit's queue, shutdown with its deadline.

#include "aio/exec/process_pool_executor.hpp"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <system_error>
#include <thread>

#include "aio/core/detail/signal_free_thread.hpp"
#include "fork_server.hpp"
#include "process_pool_core.hpp"

namespace aio {

namespace detail {

namespace {
std::size_t workers_for(std::size_t n) {
  return n ? n : std::max(1u, std::thread::hardware_concurrency());
}
}  // namespace

process_pool_core::process_pool_core(const process_pool_options& options)
    : options_(options), max_workers_(workers_for(options.max_workers)) {
  if (options_.name.empty()) throw std::invalid_argument("process_pool_executor: empty name");
  server_ = fork_server::connect();  // starts the fork server: before our thread exists
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    int err = errno;
    ::close(server_);
    throw std::system_error(err, std::generic_category(), "process_pool_executor: eventfd");
  }
  try {
    thread_ = detail::signal_free_thread([this] {
      std::string name = options_.name.substr(0, 11) + "-sup";
      ::pthread_setname_np(::pthread_self(), name.c_str());
      supervise();
    });
  } catch (...) {
    ::close(server_);
    ::close(wake_fd_);
    throw;
  }
}

process_pool_core::~process_pool_core() {
  if (thread_.joinable()) thread_.join();
  ::close(wake_fd_);
}

void process_pool_core::wake() noexcept {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wake_fd_, &one, sizeof one);
}

}  // namespace detail

process_pool_executor::process_pool_executor(std::size_t max_workers)
    : process_pool_executor([&] {
        process_pool_options o;
        o.max_workers = max_workers;
        return o;
      }()) {}

process_pool_executor::process_pool_executor(const process_pool_options& options)
    : core_(std::make_unique<detail::process_pool_core>(options)),
      kill_on_cancel_(options.kill_on_cancel) {}

process_pool_executor::~process_pool_executor() {
  auto& k = *core_;
  shutdown(false);
  std::unique_lock lock(k.mutex_);
  if (!k.finished_cv_.wait_for(lock, k.options_.destructor_deadline, [&] { return k.finished_; })) {
    std::fprintf(stderr,
                 "aio: process_pool_executor '%s' destroyed with jobs still running after %lld ms; "
                 "dropping the queued jobs and killing the workers\n",
                 k.options_.name.c_str(), static_cast<long long>(k.options_.destructor_deadline.count()));
    k.kill_all_ = true;
    lock.unlock();
    k.wake();
    lock.lock();
    k.finished_cv_.wait(lock, [&] { return k.finished_; });
  }
  // ~process_pool_core joins the supervisor.
}

void process_pool_executor::enqueue(detail::remote_call* call) {
  auto& k = *core_;
  {
    std::lock_guard lock(k.mutex_);
    if (k.shutdown_)
      throw invalid_state_error("process_pool_executor '" + k.options_.name +
                                "': submit after shutdown");
    if (!k.broken_.empty()) throw broken_process_pool_error(k.broken_, 0, -1, 0);
    call->base().add_ref();  // the queue's
    k.push(call);
  }
  // The supervisor sets sleeping_ before it checks the queue one last time.
  if (k.sleeping_.load() && k.sleeping_.exchange(false)) k.wake();
}

void process_pool_executor::shutdown(bool wait, bool cancel_futures,
                                     std::chrono::milliseconds deadline) {
  auto& k = *core_;
  detail::remote_call* cancelled = nullptr;
  {
    std::lock_guard lock(k.mutex_);
    k.shutdown_ = true;
    if (cancel_futures) {
      cancelled = k.head_;
      k.head_ = k.tail_ = nullptr;
    }
  }
  while (cancelled) {
    detail::remote_call* c = cancelled;
    cancelled = c->next;
    c->base().drop(true);
    c->base().release();  // the queue's
  }
  k.wake();
  if (!wait) return;
  std::unique_lock lock(k.mutex_);
  if (deadline < std::chrono::hours(24 * 365) &&
      !k.finished_cv_.wait_for(lock, deadline, [&] { return k.finished_; })) {
    k.kill_all_ = true;
    lock.unlock();
    k.wake();
    lock.lock();
  }
  k.finished_cv_.wait(lock, [&] { return k.finished_; });
}

const std::string& process_pool_executor::name() const noexcept { return core_->options_.name; }
std::size_t process_pool_executor::max_workers() const noexcept { return core_->max_workers_; }
std::vector<pid_t> process_pool_executor::worker_pids() const {
  std::lock_guard lock(core_->mutex_);
  return core_->pids_;
}
std::size_t process_pool_executor::workers_started() const noexcept {
  return core_->started_.load(std::memory_order_relaxed);
}

}  // namespace aio
