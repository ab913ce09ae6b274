// SPDX-License-Identifier: MIT
#pragma once
// Reading a live task for reports: the coroutine a frame belongs to, what a
// suspension waits on, and the chain of coroutines awaiting one another.
// Loop thread only, with symbols_mutex() held.

#include <string>
#include <vector>

#include "aio/core/detail/promise.hpp"
#include "symbolizer.hpp"

namespace aio::debug::detail {

/// "function at file:line" of a suspended coroutine frame; empty for null.
std::string coroutine_of(symbolizer& sym, const void* frame);
/// "sleep", "socket read", "lock", "queue get", "task 'x'"…
std::string waiting_on(symbolizer& sym, aio::detail::waiter* w);
/// What an awaiter whose cancel hook is the function `hook` waits on, from
/// the name alone (no access to the awaiter: usable on another thread).
std::string waiting_on_hook(const std::string& hook);
/// The coroutines of a suspended task, outermost first: the task's own
/// coroutine, then each task<> it awaits inline, down to the one suspended.
/// A coroutine of another type than aio::task ends the walk.
std::vector<std::string> await_chain(symbolizer& sym, const aio::detail::promise_base& t);

}  // namespace aio::debug::detail
