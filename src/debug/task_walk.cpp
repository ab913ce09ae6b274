// SPDX-License-Identifier: MIT
#include "task_walk.hpp"

#include <poll.h>

#include <algorithm>
#include <coroutine>

#include "aio/core/create_task.hpp"
#include "aio/core/detail/wait_list.hpp"
#include "aio/core/sock.hpp"

namespace aio::debug::detail {

namespace {

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
    case aio::detail::io_kind::writev:
      return "file write";
    case aio::detail::io_kind::recvmsg:
      return "datagram receive";
    case aio::detail::io_kind::sendmsg:
      return "datagram send";
    case aio::detail::io_kind::openat:
      return "file open";
    case aio::detail::io_kind::close:
      return "file close";
    case aio::detail::io_kind::statx:
      return "file stat";
    case aio::detail::io_kind::fsync:
      return "file sync";
    case aio::detail::io_kind::ftruncate:
      return "file truncate";
    case aio::detail::io_kind::unlinkat:
      return "file remove";
    case aio::detail::io_kind::mkdirat:
      return "mkdir";
    case aio::detail::io_kind::renameat:
      return "file rename";
    case aio::detail::io_kind::symlinkat:
      return "symlink";
    case aio::detail::io_kind::linkat:
      return "link";
  }
  return "I/O";
}

}  // namespace

// Every C++ coroutine frame (GCC and Clang alike) starts with its resume
// function: symbolised, it names the coroutine. Only for live, suspended frames.
std::string coroutine_of(symbolizer& sym, const void* frame) {
  if (!frame) return {};
  const auto fn = *static_cast<const std::uintptr_t*>(frame);
  return fn ? describe(sym.resolve(fn, false)) : std::string();
}

// Primitives built on wait_list say what they are (what_); the other
// awaiters are told apart by their cancel hook, whose symbol names the
// awaiter's type (no field per awaiter: a sleeping task's frame stays as
// small as it is).
std::string waiting_on(symbolizer& sym, aio::detail::waiter* w) {
  if (w->cancel_ == &aio::detail::wait_node::cancel_and_unlink)
    return static_cast<aio::detail::wait_node*>(w)->what_;
  const std::string hook = sym.resolve(reinterpret_cast<std::uintptr_t>(w->cancel_), false).function;
  auto has = [&hook](const char* s) { return hook.find(s) != std::string::npos; };
  if (has("sleep_awaiter")) return "sleep";
  if (has("io_awaiter") || has("abandonable_io")) return io_what(*static_cast<aio::detail::io_awaiter*>(w));
  if (has("handle_wait")) return "task '" + static_cast<aio::detail::handle_wait*>(w)->target->name() + "'";
  return waiting_on_hook(hook);
}

std::string waiting_on_hook(const std::string& hook) {
  auto has = [&hook](const char* s) { return hook.find(s) != std::string::npos; };
  if (has("sleep_awaiter")) return "sleep";
  if (has("io_awaiter") || has("abandonable_io")) return "I/O";
  if (has("handle_wait")) return "a task";
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

std::vector<std::string> await_chain(symbolizer& sym, const aio::detail::promise_base& t) {
  using aio::detail::promise_base;
  std::vector<std::string> chain;
  const void* root = t.continuation_.address();  // a spawned task's own frame
  void* frame = t.resume_.address();             // where it is suspended
  // Each task<> awaited inline keeps its awaiter in continuation_: walk up
  // from the innermost frame to the task's own. The promise of every
  // aio::task frame is a promise_base at the same place in the frame.
  for (int depth = 0; frame && depth < 64; ++depth) {
    chain.push_back(coroutine_of(sym, frame));
    if (frame == root) break;
    const auto& p = std::coroutine_handle<promise_base>::from_address(frame).promise();
    if (p.spawned() || p.state_ != aio::detail::task_state::pending || !p.continuation_) break;
    frame = p.continuation_.address();
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

}  // namespace aio::debug::detail
