// SPDX-License-Identifier: MIT
#include "aio/debug/dump_tasks.hpp"

#include <poll.h>

#include <mutex>
#include <optional>

#include "aio/core/create_task.hpp"
#include "aio/core/detail/wait_list.hpp"
#include "aio/core/sock.hpp"
#include "symbolizer.hpp"

namespace aio {

namespace debug {

namespace {

// Every C++ coroutine frame (GCC and Clang alike) starts with its resume
// function: symbolised, it names the coroutine. Only for live, suspended frames.
std::string coroutine_of(detail::symbolizer& sym, const void* frame) {
  if (!frame) return {};
  const auto fn = *static_cast<const std::uintptr_t*>(frame);
  return fn ? detail::describe(sym.resolve(fn, false)) : std::string();
}

std::string io_what(const aio::detail::io_op& op) {
  switch (op.kind_) {
    case aio::detail::io_kind::recv:
      return "socket read";
    case aio::detail::io_kind::send:
      return "socket write";
    case aio::detail::io_kind::accept:
      return "socket accept";
    case aio::detail::io_kind::connect:
      return "socket connect";
    case aio::detail::io_kind::poll:
      return (op.flags_ & POLLIN) ? "fd readable" : "fd writable";
    case aio::detail::io_kind::read:
      return "file read";
    case aio::detail::io_kind::write:
      return "file write";
  }
  return "I/O";
}

// What a suspension waits on. Primitives built on wait_list say it (what_);
// the other awaiters are told apart by their cancel hook, whose symbol
// names the awaiter's type (no field per awaiter: a sleeping task's frame
// stays as small as it is).
std::string waiting_on(detail::symbolizer& sym, aio::detail::waiter* w) {
  if (w->cancel_ == &aio::detail::wait_node::cancel_and_unlink)
    return static_cast<aio::detail::wait_node*>(w)->what_;
  const std::string hook =
      sym.resolve(reinterpret_cast<std::uintptr_t>(w->cancel_), false).function;
  auto has = [&hook](const char* s) { return hook.find(s) != std::string::npos; };
  if (has("sleep_awaiter")) return "sleep";
  if (has("io_awaiter")) return io_what(*static_cast<aio::detail::io_awaiter*>(w));
  if (has("handle_wait"))
    return "task '" + static_cast<aio::detail::handle_wait*>(w)->target->name() + "'";
  if (has("shield")) return "shield";
  if (has("gather")) return "gather";
  if (has("as_completed")) return "as_completed";
  if (has("task_group")) return "task_group";
  if (has("wait_core")) return "wait";
  if (has("barrier")) return "barrier";
  if (has("concurrent_future") || has("exec")) return "executor job";
  if (has("future")) return "future";
  return hook.empty() ? "waiting" : "waiting (" + hook + ")";
}

}  // namespace

std::vector<task_info> list_tasks(event_loop& loop) {
  loop.check_thread("list_tasks");
  std::lock_guard lock(detail::symbols_mutex());
  detail::symbolizer& sym = detail::symbols();
  std::vector<task_info> out;
  out.reserve(loop.task_count());
  for (aio::detail::promise_base* t = loop.first_task(); t; t = t->task_next_) {
    task_info i;
    i.name = t->name();
    i.cancelling = t->must_cancel_;
    i.created_at = t->creation_point();
    i.coroutine = coroutine_of(sym, t->continuation_.address());  // a spawned task's own frame
    if (t == loop.current_task()) {
      i.state = "running";  // its resume point may be a finished inner frame: not read
    } else if (!t->started_) {
      i.state = "created";
    } else if (t->waiter_) {
      i.state = "waiting";
      i.waiting_on = waiting_on(sym, t->waiter_);
      i.suspended_in = coroutine_of(sym, t->resume_.address());
    } else {
      i.state = "ready";
      i.suspended_in = coroutine_of(sym, t->resume_.address());
    }
    out.push_back(std::move(i));
  }
  return out;
}

std::string format_tasks(const std::vector<task_info>& tasks) {
  std::string out = std::to_string(tasks.size()) + " task(s)\n";
  for (const auto& t : tasks) {
    out += "  task '" + t.name + "': " + t.state;
    if (!t.waiting_on.empty()) out += " on " + t.waiting_on;
    if (t.cancelling) out += " (cancelling)";
    out += "\n    coroutine: " + (t.coroutine.empty() ? std::string("?") : t.coroutine) + "\n";
    if (!t.suspended_in.empty() && t.suspended_in != t.coroutine)
      out += "    suspended in: " + t.suspended_in + "\n";
    if (!t.created_at.empty()) out += "    created at: " + t.created_at + "\n";
  }
  return out;
}

}  // namespace debug

void dump_tasks(std::FILE* out) {
  const std::string text = "aio: tasks of the running loop: " +
                           debug::format_tasks(debug::list_tasks(get_running_loop()));
  std::fwrite(text.data(), 1, text.size(), out);
  std::fflush(out);
}

}  // namespace aio
