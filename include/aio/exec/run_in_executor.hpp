// SPDX-License-Identifier: MIT
#pragma once
// run_in_executor runs a function on a given executor (or the loop's default
// one) and returns an awaitable future: asyncio's `loop.run_in_executor`.
//
//   aio::thread_pool_executor pool(2, "db");
//   auto rows = co_await aio::run_in_executor(&pool, query, sql);
//   auto n = co_await aio::run_in_executor(nullptr, count_lines, path);  // default executor

#include <utility>

#include "aio/exec/to_thread.hpp"

namespace aio {

/// Like `loop.run_in_executor(executor, fn, *args)` on the running loop:
/// `executor` nullptr means the loop's default executor (then a loop must be
/// running: invalid_state_error otherwise). A free function, not a member of
/// event_loop, because the core does not know executors. fn may take a
/// std::stop_token first. Throws invalid_state_error if the executor is shut
/// down. Cancel-safe like to_thread: the awaiting task resumes at once with
/// cancelled_error; the job is dropped or asked to stop.
template <class F, class... A>
concurrent_future<detail::job_result_t<F, A...>> run_in_executor(thread_pool_executor* executor,
                                                                 F&& fn, A&&... args) {
  thread_pool_executor& e = executor ? *executor : default_executor();
  return e.submit(std::forward<F>(fn), std::forward<A>(args)...);
}

}  // namespace aio
