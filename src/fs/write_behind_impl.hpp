// SPDX-License-Identifier: MIT
#pragma once
// Write-behind of a regular file: small writes are copied into a queue and
// the call returns at once; one job on the library's internal pool writes the
// queue out (coalescing adjacent bytes into one pwritev) until it is empty.
// Awaiting each small write cost two cross-thread wake-ups per write; now the
// loop and the writer run side by side, and the writer wakes the loop only
// when a task waits for it (backpressure or a drain).
//
// Threads: the loop thread pushes and drains; the writer job pops. Everything
// both touch is under mu_. The waiters (wait_list) are the loop's alone: the
// writer reaches them through loop_link + call_soon_threadsafe, holding the
// state by shared_ptr, so neither a destroyed file nor a closed loop is
// touched. A file destroyed without close hands its fd to the writer, which
// closes it once the queue is written (or closes it at once when idle).

#include <sys/types.h>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aio/core/detail/wait_list.hpp"
#include "aio/exec/detail/job.hpp"

namespace aio::fs::detail {

/// Writes of at least this many bytes bypass the queue (zero-copy, awaited).
inline constexpr std::size_t write_behind_threshold = std::size_t{1} << 20;
/// A small write that would take the queue past this waits (backpressure)...
inline constexpr std::size_t write_behind_high = std::size_t{4} << 20;
/// ...until the writer has brought it down to this.
inline constexpr std::size_t write_behind_low = std::size_t{2} << 20;

/// A task waiting on write_behind (in its awaiter): woken once the bytes
/// pending are at most `mark`.
struct write_behind_node : aio::detail::wait_node {
  std::size_t mark = 0;
};

class write_behind : public std::enable_shared_from_this<write_behind> {
 public:
  /// `fd` stays owned by the file until close_in_background().
  write_behind(int fd, std::string_view path, bool append);
  write_behind(const write_behind&) = delete;

  /// The file is going away without a drain: the writer finishes the queue,
  /// then closes `fd_`; if no writer runs, the fd is closed on the pool now.
  void close_in_background() noexcept;
  /// file::close has begun: a push still waiting for space (another task's
  /// write overlapping the close) fails with EBADF instead of queueing bytes
  /// for an fd about to be closed.
  void begin_close() noexcept { closing_ = true; }
  /// Append mode: a write that bypassed the queue (drained first) left the
  /// file's end at `end`; the next queued append goes there.
  void note_end(std::uint64_t end) noexcept;

 private:
  friend class write_behind_awaiter;

  struct block {
    std::unique_ptr<char[]> data;
    std::size_t size = 0;
    std::size_t cap = 0;
    std::uint64_t offset = 0;  // where data[0] goes (unused in append mode)
  };

  // --- loop thread, under mu_ -------------------------------------------------
  /// Copies `parts` (total bytes) to go at `offset`; starts the writer if idle.
  void push_locked(std::span<const std::string_view> parts, std::size_t total, std::uint64_t offset);
  /// Submits the writer job unless one runs (throws if no thread can take it).
  void start_writer_locked();
  /// A large push in three steps, the copy outside the lock: staging_ gets
  /// enough blocks (spares first), fill_staging copies into them, and
  /// publish_locked queues them at `offset` (or drops them if a write failed
  /// meanwhile: its error comes next).
  void stage_locked(std::size_t total);
  void fill_staging(std::span<const std::string_view> parts);
  void publish_locked(std::size_t total, std::uint64_t offset);
  /// Asks the writer to wake the loop (link_) once pending_ <= mark. False
  /// if it already is (nothing armed).
  bool arm_locked(std::size_t mark) noexcept;
  /// Runs on the loop (posted by the writer): wakes the waiters whose mark
  /// was reached, re-arms for the others.
  void wake_waiters() noexcept;

  // --- the writer job ----------------------------------------------------------
  static void run(std::shared_ptr<write_behind> self) noexcept;
  /// Writes `batch` fully; 0 or an errno, with `written` the bytes that made it.
  int write_batch(std::span<block> batch, std::size_t& written) noexcept;
  /// Keeps `b`'s memory for reuse (up to a bound).
  void recycle_locked(block& b) noexcept;
  /// The link to post a wake-up to, if a waiter's mark was reached (disarms).
  std::shared_ptr<aio::detail::loop_link> due_locked() noexcept;
  void post(const std::shared_ptr<aio::detail::loop_link>& link) noexcept;

  const int fd_;
  const std::string path_;
  const bool append_;

  std::mutex mu_;
  std::deque<block> queue_;                    // FIFO; the loop appends to back()
  std::vector<std::unique_ptr<char[]>> spare_;  // standard-size blocks for reuse
  std::size_t pending_ = 0;                    // bytes queued or being written
  bool running_ = false;                       // a writer job owns the queue's front
  bool close_after_ = false;                   // the writer closes fd_ when it stops
  bool armed_ = false;                         // wake the loop once pending_ <= wake_at_
  std::size_t wake_at_ = 0;
  std::shared_ptr<aio::detail::loop_link> link_;  // the loop of the armed waiters
  int error_ = 0;                              // first failure (errno), until reported
  std::uint64_t error_offset_ = 0;             // where the failed write stopped
  bool end_known_ = false;                     // append mode: end_ is the file's end
  std::uint64_t end_ = 0;

  // --- loop thread only --------------------------------------------------------
  aio::detail::wait_list waiters_;
  bool closing_ = false;  // file::close took the queue: a waiting push is refused (EBADF)
  std::vector<block> staging_;  // a large push being copied
  bool dirty_ = false;  // pushed since the last drain that saw the queue empty
};

/// The one leaf awaiter of write-behind. Two uses:
///   drain: the queue is empty (every byte in the kernel); then a deferred
///          error is thrown (once) and, in append mode, `pos` becomes the end.
///   push:  copies `parts` once pending + total <= high (else waits for the
///          low mark); `pos` advances by total. Cancel-safe: a cancelled push
///          copied nothing.
/// A deferred error sets `pos` to where the failed write stopped, then
/// throws std::system_error "write '<path>': <reason>".
class write_behind_awaiter {
 public:
  /// Drain. `s` may be null (no write-behind: ready at once).
  write_behind_awaiter(write_behind* s, std::uint64_t& pos) noexcept : s_(s), pos_(&pos), drain_(true) {}
  /// Push.
  write_behind_awaiter(write_behind& s, std::uint64_t& pos, std::span<const std::string_view> parts,
                       std::size_t total) noexcept
      : s_(&s), pos_(&pos), parts_(parts), total_(total), drain_(false) {}
  write_behind_awaiter(const write_behind_awaiter&) = delete;

  bool await_ready();
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume();

 private:
  enum class step { wait, done, copy };
  /// Under mu_: wait; done (acted, or an error to throw was taken); or copy
  /// (a large push, staged: copy() finishes it outside the lock).
  step decide_locked(bool force);
  void copy();

  write_behind* s_;
  std::shared_ptr<write_behind> keep_;  // while suspended: a close may drop the file's reference
  std::uint64_t* pos_;
  std::span<const std::string_view> parts_;
  std::size_t total_ = 0;
  bool drain_;
  bool suspended_ = false;
  bool done_ = false;
  int error_ = 0;
  write_behind_node node_;
};

}  // namespace aio::fs::detail
