// SPDX-License-Identifier: MIT
#include "aio/debug/dump_tasks.hpp"

#include <mutex>
#include <optional>

#include "aio/core/create_task.hpp"
#include "symbolizer.hpp"
#include "task_walk.hpp"

namespace aio {

namespace debug {

using detail::await_chain;
using detail::coroutine_of;
using detail::waiting_on;

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
      i.await_chain = await_chain(sym, *t);
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
    if (t.await_chain.size() > 1) {
      out += "    await chain:\n";
      for (const auto& c : t.await_chain) out += "      " + c + "\n";
    } else if (!t.suspended_in.empty() && t.suspended_in != t.coroutine) {
      out += "    suspended in: " + t.suspended_in + "\n";
    }
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
