// SPDX-License-Identifier: MIT
#pragma once
// The pieces of a child process: starting it (posix_spawn, pipes, PATH
// lookup, environment) and the state its process handle and its reaper share.

#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "aio/core/event.hpp"
#include "aio/net/subprocess.hpp"

namespace aio {

/// Shared by the process handle and the reaper task the loop owns: the
/// child can outlive its handle and is still reaped.
struct process::state {
  pid_t pid = -1;
  int pidfd = -1;  // refers to this child only, even after its pid is reused
  std::optional<int> returncode;
  event exited;  // set once returncode is known

  state(pid_t p, int fd) noexcept : pid(p), pidfd(fd) {}
  state(const state&) = delete;
  /// Closes the pidfd, or, when the child still runs (its loop closed
  /// first), hands it to a thread that reaps the child when it exits.
  ~state();
  /// waitid without blocking: true (returncode set) once the child is reaped.
  bool try_reap() noexcept;
};

namespace detail {

// glibc 2.36's <sys/pidfd.h> declares these without extern "C" (fixed in
// 2.37), so C++ cannot link against them: the system calls directly.
inline int pidfd_open(pid_t pid) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0u));
}
inline int pidfd_send_signal(int pidfd, int sig) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0u));
}

/// A child just started: its pid and pidfd, and the parent's ends of its
/// pipes (-1 where no pipe was asked for). Every fd is close-on-exec.
struct spawned_child {
  pid_t pid = -1;
  int pidfd = -1;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

/// Starts `argv` (argv[0] is the program, looked up in the child's PATH)
/// as `options` say. Throws std::system_error naming the program (and the
/// cwd when one was given), std::invalid_argument for impossible options.
/// Nothing is left open or running when it throws.
spawned_child spawn_child(const std::vector<std::string>& argv, const subprocess_options& options);

}  // namespace detail

}  // namespace aio
