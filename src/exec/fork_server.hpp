// SPDX-License-Identifier: MIT
#pragma once
// The process-wide fork server (see process_pool_executor.hpp for why): a
// single-threaded child forked once, which forks the workers of every pool.
// Each pool talks to it over its own SOCK_SEQPACKET connection:
//
//   pool -> server  spawn(id) + the worker's socket (SCM_RIGHTS); kill(id, signal)
//   server -> pool  spawned(id, pid); spawn_failed(id, errno); exited(id, wait status)
//
// The server reaps every worker and reports its status to the pool that
// asked for it; a pool kills through the server, which signals only children
// it has not reaped, so a recycled pid is never hit. A closed connection
// makes the server SIGKILL that pool's remaining workers; a closed master
// socket (the program ended) makes it kill all of them and exit.

#include <sys/types.h>

#include <cstdint>

namespace aio::detail::fork_server {

enum class op : std::uint32_t { new_client = 1, spawn, kill, spawned, spawn_failed, exited };

struct message {
  op what;
  std::uint32_t id;
  std::int32_t a;  // spawned: pid; spawn_failed: errno; exited: wait status; kill: signal
};

/// invalid_state_error naming the threads unless this process runs a single
/// user-space thread (io_uring's kernel workers do not count).
void check_single_threaded();
/// Starts the server unless it runs (single-threaded check). Throws
/// invalid_state_error or std::system_error.
void ensure_started();
/// A new connection to the server for one pool (blocking, close-on-exec).
int connect();
/// The server's pid (0 before it started).
pid_t pid() noexcept;

/// Sends `m` with `fd` attached when fd >= 0. False if the peer is gone.
bool send(int sock, const message& m, int fd = -1) noexcept;
/// Receives one message (and an attached fd into *fd when fd is not null).
/// 1: got one; 0: peer closed; -1: would block (with MSG_DONTWAIT) or error.
int receive(int sock, message& m, int* fd, bool dont_wait) noexcept;

/// The worker side: runs jobs from `sock` until it closes. Never returns.
[[noreturn]] void run_worker(int sock) noexcept;

}  // namespace aio::detail::fork_server
