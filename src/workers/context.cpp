// SPDX-License-Identifier: MIT
// A worker's loop: its main as a task, its stop request, and the worker
// API (worker_index, stopping, notify_ready) answered from the thread_local.
#include "context.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <exception>

#include "aio/core/errors.hpp"
#include "aio/core/run.hpp"

namespace aio::workers {

namespace detail {

namespace {

thread_local worker_context* current_ = nullptr;

worker_context& require(const char* what) {
  if (!current_)
    throw invalid_state_error(std::string("aio::workers::") + what +
                              "() called outside a worker's loop thread");
  return *current_;
}

// Sets the thread's worker for the life of one worker loop.
class context_scope {
 public:
  explicit context_scope(worker_context& c) noexcept : prev_(current_) { current_ = &c; }
  ~context_scope() { current_ = prev_; }
  context_scope(const context_scope&) = delete;
  context_scope& operator=(const context_scope&) = delete;

 private:
  worker_context* prev_;
};

task<int> worker_body(worker_context& ctx, main_factory& make) {
  event_loop& loop = get_running_loop();
  ctx.loop = &loop;
  if (ctx.handle_signals) {
    loop.add_signal_handler(SIGTERM, [&ctx] { ctx.request_stop(); });
    loop.add_signal_handler(SIGINT, [&ctx] { ctx.request_stop(); });
  }
  ctx.main = create_task(make(ctx.index), "worker " + std::to_string(ctx.index) + " main");
  if (ctx.on_started) ctx.on_started(ctx);
  if (ctx.stop_requested) ctx.begin_stop();
  if (!ctx.opts->wait_ready) ctx.send_ready();
  int status = 0;
  try {
    status = co_await ctx.main;
  } catch (const cancelled_error&) {
    if (!ctx.stop_requested) throw;
  }
  ctx.deadline.cancel();
  co_return status;
}

}  // namespace

worker_context* current() noexcept { return current_; }

void worker_context::request_stop() {
  if (stop_requested) return;
  stop_requested = true;
  stop_event.set();
  if (loop && main) begin_stop();  // else worker_body does once main exists
}

void worker_context::begin_stop() {
  if (opts->cancel_main_on_stop) main.cancel("worker stopping");
  deadline = loop->call_later(opts->shutdown_timeout, [this] {
    if (!main.done()) main.cancel("worker shutdown_timeout passed");
  });
}

void worker_context::send_ready() noexcept {
  if (ready_sent || ready_fd < 0) return;
  ready_sent = true;
  const pid_t pid = ::getpid();
  // One write below PIPE_BUF is atomic: workers never interleave.
  [[maybe_unused]] ssize_t n = ::write(ready_fd, &pid, sizeof pid);
}

void log_line(const options& o, std::string_view line) noexcept {
  try {
    if (o.log) {
      o.log(line);
      return;
    }
  } catch (...) {  // a failing log must not take the supervisor down
  }
  std::string out = "aio.workers: ";
  out.append(line);
  out.push_back('\n');
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, out.data(), out.size());
}

int run_worker_loop(worker_context& ctx, main_factory& make) {
  context_scope scope(ctx);
  run_options ro;
  ro.loop = ctx.opts->loop;
  ro.handle_sigint = false;  // SIGINT is a stop request (handle_signals), not keyboard_interrupt
  std::string who = "worker " + std::to_string(ctx.index);
  if (ctx.ready_fd >= 0) who += " (pid " + std::to_string(::getpid()) + ")";
  try {
    return aio::run(worker_body(ctx, make), ro);
  } catch (const cancelled_error&) {
    log_line(*ctx.opts, who + ": main was cancelled without a stop request");
  } catch (const std::exception& e) {
    log_line(*ctx.opts, who + ": main failed: " + e.what());
  } catch (...) {
    log_line(*ctx.opts, who + ": main failed with an exception that is not a std::exception");
  }
  return 1;
}

task<int> exit_status_of(task<> main) {
  co_await std::move(main);
  co_return 0;
}

}  // namespace detail

std::size_t worker_index() { return detail::require("worker_index").index; }

std::size_t worker_count() { return detail::require("worker_count").count; }

bool in_worker() noexcept { return detail::current_ != nullptr; }

bool stop_requested() noexcept { return detail::current_ && detail::current_->stop_requested; }

task<> stopping() {
  detail::worker_context& ctx = detail::require("stopping");
  co_await ctx.stop_event.wait();
}

void notify_ready() { detail::require("notify_ready").send_ready(); }

}  // namespace aio::workers
