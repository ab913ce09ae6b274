// SPDX-License-Identifier: MIT
#pragma once
// The parts of event_loop that the hot inline paths never touch.

#include <signal.h>
#include <sys/signalfd.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "aio/core/loop.hpp"
#include "backend/backend.hpp"
#include "idle_spin.hpp"
#include "timer_wheel.hpp"

namespace aio::detail {

/// A call_soon / call_later callback; shared by the loop and its handles.
struct callback_node : ready_node, timer_node {
  unique_function fn;
  event_loop* loop = nullptr;
  int refs = 1;  // the loop's, until it runs or is cancelled, plus each handle
  bool cancelled = false;
  bool finished = false;
  void release() noexcept {
    if (--refs == 0) delete this;
  }
};

struct loop_impl;
/// An internal operation or ready entry that knows its loop.
struct owned_op : io_op {
  loop_impl* owner = nullptr;
};
struct owned_ready : ready_node {
  loop_impl* owner = nullptr;
};

struct loop_impl {
  loop_impl(event_loop& l, const loop_options& options) : loop(l), spin(options.spin) {}

  event_loop& loop;
  std::unique_ptr<backend> io;
  idle_spin spin;
  timer_wheel timers;
  event_loop::time_point origin;
  bool virtual_time = false;
  event_loop::time_point virtual_now;
  bool running = false;
  bool stopping = false;
  std::thread::id owner;
  unsigned iteration = 0;

  // call_soon_threadsafe: a mutex-guarded batch, one eventfd write per batch.
  int wake_fd = -1;
  owned_op wake_op;
  std::uint64_t wake_buf = 0;
  std::mutex remote_mutex;
  std::vector<unique_function> remote;
  std::vector<unique_function> remote_spare;
  std::atomic<bool> wake_pending{false};
  owned_ready remote_node;       // runs the batch on the loop, in ready-queue order
  bool remote_scheduled = false;

  // Signals, through one signalfd.
  int signal_fd = -1;
  owned_op signal_op;
  sigset_t signal_mask;
  std::map<int, std::function<void()>> signal_handlers;
  std::map<int, bool> signal_was_blocked;

  std::function<void(event_loop&, const exception_context&)> exception_handler;
  std::vector<std::pair<const void*, std::unique_ptr<loop_extension>>> extensions;

  std::uint64_t tick_ceil(event_loop::time_point t) const noexcept;
  std::uint64_t tick_floor(event_loop::time_point t) const noexcept;
  event_loop::time_point tick_time(std::uint64_t tick) const noexcept;
  void drain_remote();
  void arm_wake();
  void arm_signals();
  void on_signals();
};

}  // namespace aio::detail
