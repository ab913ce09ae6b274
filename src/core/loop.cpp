// SPDX-License-Identifier: MIT
#include "aio/core/loop.hpp"

#include <linux/futex.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "aio/core/detail/promise.hpp"
#include "loop_impl.hpp"

namespace aio {

using detail::callback_node;
using detail::loop_impl;

namespace {
constexpr auto tick = std::chrono::milliseconds(1);

void run_callback(detail::ready_node* n) noexcept;
void fire_callback(detail::timer_node* t) noexcept;
void run_remote(detail::ready_node* n) noexcept;

void default_exception_handler(event_loop&, const exception_context& c) {
  std::string line = "aio: " + c.message;
  if (!c.task_name.empty()) line += "\n  task: " + c.task_name;
  if (!c.created_at.empty()) line += "\n  created at: " + c.created_at;
  if (c.exception) line += "\n  exception: " + describe(c.exception);
  std::fprintf(stderr, "%s\n", line.c_str());
}
}  // namespace

// --- ticks --------------------------------------------------------------------

std::uint64_t loop_impl::tick_ceil(event_loop::time_point t) const noexcept {
  if (t <= origin) return 0;
  auto d = t - origin;
  return static_cast<std::uint64_t>((d + tick - event_loop::duration(1)) / tick);
}
std::uint64_t loop_impl::tick_floor(event_loop::time_point t) const noexcept {
  if (t <= origin) return 0;
  return static_cast<std::uint64_t>((t - origin) / tick);
}
event_loop::time_point loop_impl::tick_time(std::uint64_t t) const noexcept {
  return origin + std::chrono::duration_cast<event_loop::duration>(tick * t);
}

// --- construction -------------------------------------------------------------

event_loop::event_loop(loop_options options) : impl_(std::make_unique<loop_impl>(*this, options)) {
  auto& im = *impl_;
  im.owner = std::this_thread::get_id();
  im.io = detail::make_backend(options.backend);
  im.origin = event_loop::clock::now();
  im.virtual_now = im.origin;
  im.exception_handler = default_exception_handler;

  im.remote_node.run_ = &run_remote;
  im.remote_node.owner = &im;
  im.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (im.wake_fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  im.arm_wake();
  sigemptyset(&im.signal_mask);
  if (auto* hook = detail::loop_created_hook.load(std::memory_order_acquire)) hook(*this);
}

event_loop::~event_loop() {
  auto& im = *impl_;
  // Tasks still pending own buffers the kernel may write into: cancel them and
  // let them unwind before anything is freed (asyncio warns and leaks instead).
  if (tasks_) {
    event_loop* prev = detail::running_loop_;
    detail::running_loop_ = this;
    for (detail::promise_base* t = tasks_; t; t = t->task_next_) t->cancel();
    for (int i = 0; tasks_ && i < 100000; ++i) run_once();
    detail::running_loop_ = prev;
    if (tasks_)
      std::fprintf(stderr, "aio: event loop destroyed with %zu task(s) still pending\n", task_count_);
  }
  // Higher layers go first (an executor joins its threads), newest first.
  while (!im.extensions.empty()) {
    im.extensions.back().second.reset();
    im.extensions.pop_back();
  }
  // Callbacks never run: drop the loop's references.
  while (ready_head_) {
    detail::ready_node* n = ready_head_;
    ready_head_ = n->ready_next_;
    if (n->run_ == &run_callback) static_cast<callback_node*>(n)->release();
  }
  ready_tail_ = nullptr;
  // call_later / call_at callbacks still waiting for their time: their
  // captures are destroyed now, not leaked.
  im.timers.drain([](detail::timer_node* t) noexcept {
    if (t->fire_ == &fire_callback) static_cast<callback_node*>(t)->release();
  });
  im.io->cancel(im.wake_op);
  if (im.signal_fd >= 0) im.io->cancel(im.signal_op);
  im.io->poll(0);
  for (auto& [sig, _] : im.signal_handlers) {
    if (!im.signal_was_blocked[sig]) {
      sigset_t one;
      sigemptyset(&one);
      sigaddset(&one, sig);
      pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
    }
  }
  im.io.reset();
  ::close(im.wake_fd);
  if (im.signal_fd >= 0) ::close(im.signal_fd);
}

event_loop& get_running_loop() {
  if (!detail::running_loop_) throw invalid_state_error("no running event loop on this thread");
  return *detail::running_loop_;
}

void event_loop::check_thread(const char* what) const {
  if (std::this_thread::get_id() != impl_->owner)
    throw invalid_state_error(std::string(what) +
                              " called from a thread that does not own this event loop "
                              "(use call_soon_threadsafe)");
}

std::string_view event_loop::backend_name() const noexcept { return impl_->io->name(); }

event_loop::time_point event_loop::time() const noexcept {
  return impl_->virtual_time ? impl_->virtual_now : clock::now();
}

void event_loop::set_virtual_time(bool on) {
  check_thread("set_virtual_time");
  if (on && !impl_->virtual_time) impl_->virtual_now = clock::now();
  impl_->virtual_time = on;
}
bool event_loop::virtual_time() const noexcept { return impl_->virtual_time; }

// --- running ------------------------------------------------------------------

bool event_loop::is_running() const noexcept { return impl_->running; }
void event_loop::stop() noexcept { impl_->stopping = true; }

void event_loop::run_forever() {
  check_thread("run_forever");
  auto& im = *impl_;
  if (im.running) throw invalid_state_error("this event loop is already running");
  if (detail::running_loop_)
    throw invalid_state_error("cannot run an event loop while another loop is running on this thread");
  detail::running_loop_ = this;
  im.running = true;
  struct restore {
    loop_impl& im;
    event_loop& loop;
    ~restore() {
      loop.progress_.idle.fetch_or(detail::loop_progress::not_running, std::memory_order_release);
      im.running = false;
      im.stopping = false;
      detail::running_loop_ = nullptr;
    }
  } guard{im, *this};
  leave_idle(detail::loop_progress::not_running);
  while (!im.stopping) run_once();
}

void event_loop::run_once() {
  auto& im = *impl_;
  progress_.bump();
  if (ready_head_) {
    // Busy: poll I/O without waiting, and not on every iteration, so that
    // CPU-bound task switching makes no system call per switch.
    if (im.io->has_pending() || (++im.iteration & 31) == 0) im.io->poll(0);
  } else if (im.stopping) {
    im.io->poll(0);
  } else {
    std::int64_t timeout = -1;
    auto next = im.timers.size() ? im.timers.next_tick() : std::nullopt;
    if (next) {
      auto now = time();
      auto deadline = im.tick_time(*next);
      timeout = deadline > now ? std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now).count() : 0;
    }
    if (im.virtual_time && next) {
      im.io->poll(0);
      if (!ready_head_ && timeout > 0) im.virtual_now = im.tick_time(*next);
    } else if (timeout == 0) {
      im.io->poll(0);
    } else {
      // Waiting is not stalling: tell the watchdog, which then sleeps too.
      if (progress_.stalled.load(std::memory_order_relaxed)) end_stall();
      progress_.idle.fetch_or(detail::loop_progress::in_poller, std::memory_order_release);
      // Sleeps unless the spin completed something (or made a task ready:
      // a completion the backend did not count must not wait for the next).
      if (im.spin.run(*im.io, timeout) == 0 && !ready_head_) im.io->poll(timeout);
      leave_idle(detail::loop_progress::in_poller);
      progress_.bump();
    }
  }
  if (im.timers.size()) im.timers.advance(im.tick_floor(time()));
  run_ready();
}

void event_loop::run_ready() {
  detail::ready_node* n = ready_head_;
  ready_head_ = ready_tail_ = nullptr;
  while (n) {
    detail::ready_node* next = n->ready_next_;
    if (progress_.bump() % detail::loop_progress::sample_every == 0 && progress_.sample_steps) [[unlikely]]
      run_timed(n);
    else
      n->run_(n);
    if (progress_.stalled.load(std::memory_order_relaxed)) [[unlikely]]
      end_stall();
    n = next;
  }
}

void event_loop::run_timed(detail::ready_node* n) noexcept {
  auto t0 = clock::now();
  n->run_(n);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - t0).count();
  std::size_t bucket = us <= 0 ? 0 : static_cast<std::size_t>(std::bit_width(static_cast<std::uint64_t>(us)));
  bucket = std::min(bucket, detail::loop_progress::histogram_buckets - 1);
  ++progress_.step_histogram[bucket];
}

void event_loop::leave_idle(std::uint32_t why) noexcept {
  constexpr auto watched = detail::loop_progress::watched;
  if (progress_.idle.fetch_and(~(why | watched), std::memory_order_acq_rel) & watched)
    ::syscall(SYS_futex, &progress_.idle, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

void event_loop::end_stall(detail::promise_base* task) noexcept {
  progress_.stalled.store(false, std::memory_order_relaxed);
  if (progress_.on_stall_end) progress_.on_stall_end(*this, task);
}

// --- timers and I/O -------------------------------------------------------------

void event_loop::add_timer(detail::timer_node& t, time_point when) noexcept {
  impl_->timers.insert(t, impl_->tick_ceil(when));
}
void event_loop::cancel_timer(detail::timer_node& t) noexcept { impl_->timers.remove(t); }
bool event_loop::start_io(detail::io_op& op) { return impl_->io->start(op); }
void event_loop::cancel_io(detail::io_op& op) noexcept { impl_->io->cancel(op); }

void event_loop::link_task(detail::promise_base& t) noexcept {
  t.task_prev_ = nullptr;
  t.task_next_ = tasks_;
  if (tasks_) tasks_->task_prev_ = &t;
  tasks_ = &t;
  ++task_count_;
}
void event_loop::unlink_task(detail::promise_base& t) noexcept {
  if (t.task_prev_) t.task_prev_->task_next_ = t.task_next_; else tasks_ = t.task_next_;
  if (t.task_next_) t.task_next_->task_prev_ = t.task_prev_;
  t.task_prev_ = t.task_next_ = nullptr;
  --task_count_;
}

// --- callbacks ------------------------------------------------------------------

namespace {
void run_callback(detail::ready_node* n) noexcept {
  auto* cb = static_cast<callback_node*>(n);
  if (!cb->cancelled) {
    try {
      cb->fn();
    } catch (...) {
      cb->loop->call_exception_handler({"exception in callback", std::current_exception(), {}});
    }
  }
  cb->finished = true;
  cb->fn.reset();
  cb->release();
}
void fire_callback(detail::timer_node* t) noexcept {
  auto* cb = static_cast<callback_node*>(t);
  cb->loop->schedule(*cb);
}
callback_node* new_callback(event_loop& loop, detail::unique_function fn) {
  auto* cb = new callback_node;
  cb->fn = std::move(fn);
  cb->loop = &loop;
  cb->run_ = &run_callback;
  cb->fire_ = &fire_callback;
  return cb;
}
}  // namespace

callback_handle event_loop::call_soon(detail::unique_function fn) {
  check_thread("call_soon");
  callback_node* cb = new_callback(*this, std::move(fn));
  schedule(*cb);
  return callback_handle(cb);
}

callback_handle event_loop::call_later(duration delay, detail::unique_function fn) {
  return call_at(time() + delay, std::move(fn));
}

callback_handle event_loop::call_at(time_point when, detail::unique_function fn) {
  check_thread("call_at");
  callback_node* cb = new_callback(*this, std::move(fn));
  add_timer(*cb, when);
  return callback_handle(cb);
}

callback_handle::callback_handle(callback_node* n) noexcept : node_(n) { ++node_->refs; }
callback_handle::callback_handle(const callback_handle& o) noexcept : node_(o.node_) {
  if (node_) ++node_->refs;
}
callback_handle& callback_handle::operator=(callback_handle o) noexcept {
  std::swap(node_, o.node_);
  return *this;
}
callback_handle::~callback_handle() {
  if (node_) node_->release();
}
void callback_handle::cancel() noexcept {
  if (!node_ || node_->cancelled || node_->finished) return;
  node_->cancelled = true;
  if (node_->level_ >= 0) {  // still in the wheel: leave it now, drop the loop's reference
    node_->loop->cancel_timer(*node_);
    node_->finished = true;
    node_->fn.reset();
    node_->release();
  }
}
bool callback_handle::cancelled() const noexcept { return node_ && node_->cancelled; }

// --- call_soon_threadsafe ---------------------------------------------------------

namespace {
void on_wake(detail::io_op* op) noexcept {
  auto* im = static_cast<detail::owned_op*>(op)->owner;
  if (op->res_ == -ECANCELED) return;
  std::uint64_t v;
  while (::read(im->wake_fd, &v, sizeof v) > 0) {
  }
  im->arm_wake();
  if (!im->remote_scheduled) {
    im->remote_scheduled = true;
    im->loop.schedule(im->remote_node);
  }
}

void run_remote(detail::ready_node* n) noexcept {
  auto* im = static_cast<detail::owned_ready*>(n)->owner;
  im->remote_scheduled = false;
  im->drain_remote();
}
}  // namespace

void loop_impl::arm_wake() {
  static_cast<detail::io_op&>(wake_op) = {};
  wake_op.owner = this;
  wake_op.kind_ = detail::io_kind::poll;
  wake_op.fd_ = wake_fd;
  wake_op.flags_ = POLLIN;
  wake_op.complete_ = &on_wake;
  if (io->start(wake_op)) on_wake(&wake_op);
}

void loop_impl::drain_remote() {
  wake_pending.store(false, std::memory_order_seq_cst);
  {
    std::lock_guard lock(remote_mutex);
    remote.swap(remote_spare);
  }
  for (auto& fn : remote_spare) {
    try {
      fn();
    } catch (...) {
      loop.call_exception_handler({"exception in callback", std::current_exception(), {}});
    }
  }
  remote_spare.clear();
}

void event_loop::call_soon_threadsafe(detail::unique_function fn) {
  auto& im = *impl_;
  {
    std::lock_guard lock(im.remote_mutex);
    im.remote.push_back(std::move(fn));
  }
  if (!im.wake_pending.exchange(true, std::memory_order_seq_cst)) {
    std::uint64_t one = 1;
    while (::write(im.wake_fd, &one, sizeof one) < 0 && errno == EINTR) {
    }
  }
}

// --- extensions ----------------------------------------------------------------------

loop_extension* event_loop::find_extension(const void* key) const noexcept {
  for (auto& [k, e] : impl_->extensions)
    if (k == key) return e.get();
  return nullptr;
}

loop_extension& event_loop::add_extension(const void* key, std::unique_ptr<loop_extension> ext) {
  check_thread("add_extension");
  if (find_extension(key)) throw invalid_state_error("add_extension: this loop already has that extension");
  impl_->extensions.emplace_back(key, std::move(ext));
  return *impl_->extensions.back().second;
}

// --- exception handler --------------------------------------------------------------

void event_loop::set_exception_handler(
    std::function<void(event_loop&, const exception_context&)> handler) {
  impl_->exception_handler = handler ? std::move(handler) : default_exception_handler;
}

void event_loop::call_exception_handler(const exception_context& context) {
  try {
    impl_->exception_handler(*this, context);
  } catch (...) {
    // A failing handler must not take the loop down; fall back to stderr.
    default_exception_handler(*this, {"exception in exception handler", std::current_exception(), {}});
    default_exception_handler(*this, context);
  }
}

}  // namespace aio
