// SPDX-License-Identifier: MIT
#pragma once
// to_thread runs a blocking function on the running loop's default executor
// and lets the calling coroutine await its result: the remedy for a blocking
// call inside a coroutine (which would stall every task on the loop).
//
//   auto text = co_await aio::to_thread(read_whole_file, path);
//
// The default executor is a thread_pool_executor of min(32, cores + 4)
// threads named "aio-default-N", created on first use and shut down (waiting
// for its jobs) when the loop closes, as asyncio.run does.

#include <memory>
#include <utility>

#include "aio/exec/thread_pool_executor.hpp"

namespace aio {

/// The running loop's default executor, created on first use. Like
/// `loop._default_executor`. Loop thread only (invalid_state_error without a
/// running loop). Lives until the loop closes.
thread_pool_executor& default_executor();

/// Like `loop.set_default_executor(executor)`: replaces the running loop's
/// default executor (the old one is destroyed: shut down, bounded wait).
/// Loop thread only.
void set_default_executor(std::unique_ptr<thread_pool_executor> executor);

/// Like `asyncio.to_thread(fn, *args)`: runs fn(args…) — or fn(stop_token,
/// args…) when fn accepts a std::stop_token first — on the running loop's
/// default executor; `co_await` the result to get its value or exception.
/// Differs from asyncio on purpose: the job is queued at once (not when
/// awaited), and the context variables of Python have no equivalent.
/// Throws invalid_state_error outside a running loop. Cancel-safe: cancelling
/// the awaiting task resumes it at once with cancelled_error, drops the job if
/// it has not started, or requests a stop through its stop_token.
template <class F, class... A>
concurrent_future<detail::job_result_t<F, A...>> to_thread(F&& fn, A&&... args) {
  return default_executor().submit(std::forward<F>(fn), std::forward<A>(args)...);
}

}  // namespace aio
