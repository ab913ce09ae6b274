// SPDX-License-Identifier: MIT
#pragma once
// Small process helpers of the supervisor: how a worker died, in words,
// and whether the process may fork.

#include <cstddef>
#include <string>

namespace aio::workers::detail {

/// "exited with status 3", "was killed by signal SIGKILL (Killed)", with
/// " (core dumped)" when it did; from a waitpid status.
std::string describe_exit(int wait_status);

/// The status run() reports for a worker's wait status: its exit status,
/// or 128 + the signal that killed it.
int exit_code_of(int wait_status) noexcept;

/// The threads of this process other than io_uring's kernel workers
/// (iou-wrk-*, iou-sqp-*, which hold no user-space state and are not
/// copied by fork). 1 when single-threaded; 0 if /proc is not readable.
std::size_t user_thread_count() noexcept;

}  // namespace aio::workers::detail
