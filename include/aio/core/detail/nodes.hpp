// SPDX-License-Identifier: MIT
#pragma once
// The intrusive nodes the loop is built from. Each lives inside the object it
// serves (a task's promise, an awaiter in a coroutine frame), so scheduling,
// timers and I/O allocate nothing.

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace aio::detail {

class promise_base;

/// An entry of the loop's ready queue (FIFO, intrusive).
struct ready_node {
  ready_node* ready_next_ = nullptr;
  void (*run_)(ready_node*) = nullptr;
};

/// How the current suspension of a task is cancelled. A leaf awaiter installs
/// one while its task is suspended; `cancel` must eventually wake the task
/// (at once or when the backend confirms) and make await_resume throw.
struct waiter {
  void (*cancel_)(waiter*) noexcept = nullptr;
};

/// Called when a spawned task finishes (gather, wait, task_group, awaiters of
/// a handle). Doubly linked so that an early leaver can unlink itself.
struct done_node {
  done_node* done_prev_ = nullptr;
  done_node* done_next_ = nullptr;
  void (*on_done_)(done_node*, promise_base&) noexcept = nullptr;
};

/// An entry of the loop's timer wheel.
struct timer_node {
  timer_node* timer_prev_ = nullptr;
  timer_node* timer_next_ = nullptr;
  std::uint64_t tick_ = 0;
  void (*fire_)(timer_node*) noexcept = nullptr;
  std::int8_t level_ = -1;  // -1: not in the wheel; 6: the expired list
  std::uint8_t slot_ = 0;
};

/// recvmsg/sendmsg carry their `msghdr*` in buf_ (datagrams: the address and
/// the MSG_TRUNC length come back through it).
///
/// File kinds (aiocpp::fs) reuse the same fields; fd_ is the directory fd
/// (AT_FDCWD) for those that take a path, buf_ the path:
///   openat   flags_ open flags, len_ mode; res_ the new fd
///   close    fd_
///   statx    buf2_ the `struct statx*` out, flags_ AT_* flags, len_ the STATX_* mask
///   fsync    flags_ 1: fdatasync
///   ftruncate offset_ the new length
///   unlinkat flags_ 0 or AT_REMOVEDIR
///   mkdirat  len_ mode
///   renameat buf2_ the new path (relative to AT_FDCWD), flags_ RENAME_* flags
///   symlinkat buf_ the link's target (any text), buf2_ the link's path
///   linkat   buf_ the existing path, buf2_ the new path (both relative to
///            AT_FDCWD), flags_ AT_SYMLINK_FOLLOW or 0
///   writev   buf_ the `const iovec*` array, len_ its count (<= IOV_MAX), offset_
///            as for write (-1: the current position, or the end with O_APPEND)
/// The epoll backend performs file kinds synchronously (they block): aiocpp::fs
/// never hands them to it, it runs them on its thread pool instead. The
/// io_uring backend answers -EOPNOTSUPP at once (nothing queued) for an op the
/// running kernel lacks (mkdirat, symlinkat, linkat before Linux 5.15,
/// ftruncate before 6.9; AIO_URING_WITHOUT=mkdirat,… pretends so for tests),
/// and aiocpp::fs runs it on its pool.
enum class io_kind : std::uint8_t {
  recv, send, accept, connect, poll, read, write, recvmsg, sendmsg,
  openat, close, statx, fsync, ftruncate, unlinkat, mkdirat, renameat, writev, symlinkat, linkat
};

/// One I/O operation handed to the backend. `complete_` runs on the loop
/// thread once the backend is done with every pointer in the op, with `res_`
/// set (bytes, a new fd, poll events, or -errno).
struct io_op {
  void (*complete_)(io_op*) noexcept = nullptr;
  void* buf_ = nullptr;
  std::size_t len_ = 0;
  union {
    sockaddr* addr_ = nullptr;     // accept: out; connect: in
    void* buf2_;                   // file kinds: a second pointer (statx out, rename target)
  };
  socklen_t* addrlen_ = nullptr;   // accept: in/out
  socklen_t addr_size_ = 0;        // connect
  std::uint64_t offset_ = 0;       // read/write at an offset (-1: current position)
  io_op* wait_next_ = nullptr;     // epoll: the fd's queue of waiting ops
  int fd_ = -1;
  int res_ = 0;
  std::uint32_t flags_ = 0;        // send/recv flags, or poll events
  io_kind kind_ = io_kind::poll;
  bool cancelling_ = false;
  bool tried_ = false;             // epoll: connect already issued
};

/// Performs op's system call on the calling thread, without a loop: what a
/// backend does for it (blocking for the file kinds). Returns the result or
/// -errno. aiocpp::fs runs it on its pool threads.
int perform_io(io_op& op) noexcept;

}  // namespace aio::detail
