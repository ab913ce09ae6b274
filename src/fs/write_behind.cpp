// SPDX-License-Identifier: MIT
// Write-behind (see write_behind_impl.hpp). The writer takes up to
// max_batch contiguous bytes off the front per system call, so the bytes
// pending fall in steps while it works and a loop waiting at the low mark
// refills the queue before the writer runs dry.

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "aio/exec/thread_pool_executor.hpp"
#include "file_io_impl.hpp"
#include "write_behind_impl.hpp"

namespace aio::fs::detail {

namespace {

// Blocks are reused, never freed while the queue is busy: fresh memory costs
// a page fault per 4 KiB on the loop and an unmap on the writer, which
// measured as much as the copy itself.
constexpr std::size_t block_size = std::size_t{64} << 10;
// One system call takes up to this much (coalescing small writes): 256 KiB
// and 1 MiB calls measured no faster in interleaved runs, and ext4 gives a
// larger write larger page-cache folios, which were hit harder when the
// machine was busy.
constexpr std::size_t max_batch = std::size_t{64} << 10;
constexpr std::size_t max_spare = write_behind_high / block_size + 4;
constexpr std::size_t idle_spare = 2;  // kept while no writer runs
constexpr std::size_t small_copy = std::size_t{8} << 10;  // copied under the lock, coalescing

}  // namespace

write_behind::write_behind(int fd, std::string_view path, bool append) : fd_(fd), path_(path), append_(append) {
  if (append_) {  // where queued appends go: reads the in-memory inode, no I/O
    off_t e = ::lseek(fd_, 0, SEEK_END);
    end_known_ = e >= 0;
    if (end_known_) end_ = static_cast<std::uint64_t>(e);
  }
}

void write_behind::close_in_background() noexcept {
  {
    std::lock_guard lock(mu_);
    if (running_) {
      close_after_ = true;
      return;
    }
  }
  close_detached(fd_);
}

void write_behind::note_end(std::uint64_t end) noexcept {
  std::lock_guard lock(mu_);
  end_ = end;
  end_known_ = true;
}

void write_behind::start_writer_locked() {
  if (running_) return;
  aio::detail::exit_waits_for(1);  // a file dropped at the end of main still gets its bytes
  try {
    aio::detail::internal_executor().submit([self = shared_from_this()] { run(self); });
  } catch (...) {
    aio::detail::exit_waits_for(-1);
    throw;
  }
  running_ = true;
}

void write_behind::push_locked(std::span<const std::string_view> parts, std::size_t total, std::uint64_t offset) {
  if (total == 0) return;
  start_writer_locked();  // first: if no thread can take it, nothing was queued
  for (std::string_view p : parts) {
    while (!p.empty()) {
      block* tail = queue_.empty() ? nullptr : &queue_.back();
      if (!tail || tail->size == tail->cap || (!append_ && tail->offset + tail->size != offset)) {
        block b;
        if (!spare_.empty()) {
          b.data = std::move(spare_.back());
          spare_.pop_back();
        } else {
          b.data = std::make_unique_for_overwrite<char[]>(block_size);
        }
        b.cap = block_size;
        b.offset = offset;
        queue_.push_back(std::move(b));
        tail = &queue_.back();
      }
      std::size_t n = std::min(p.size(), tail->cap - tail->size);
      std::memcpy(tail->data.get() + tail->size, p.data(), n);
      tail->size += n;
      offset += n;
      p.remove_prefix(n);
    }
  }
  pending_ += total;
  dirty_ = true;
}

void write_behind::stage_locked(std::size_t total) {
  staging_.resize((total + block_size - 1) / block_size);
  for (block& b : staging_) {
    if (spare_.empty()) break;
    b.data = std::move(spare_.back());
    spare_.pop_back();
  }
}

void write_behind::fill_staging(std::span<const std::string_view> parts) {
  auto b = staging_.begin();
  for (std::string_view p : parts) {
    while (!p.empty()) {
      if (b->size == block_size) ++b;
      if (!b->data) b->data = std::make_unique_for_overwrite<char[]>(block_size);
      b->cap = block_size;
      std::size_t n = std::min(p.size(), block_size - b->size);
      std::memcpy(b->data.get() + b->size, p.data(), n);
      b->size += n;
      p.remove_prefix(n);
    }
  }
}

void write_behind::publish_locked(std::size_t total, std::uint64_t offset) {
  struct recycle_staging {
    write_behind& s;
    ~recycle_staging() {
      for (block& b : s.staging_) s.recycle_locked(b);
      s.staging_.clear();
    }
  } cleanup{*this};
  // Failed meanwhile: these bytes come after the failure and are dropped;
  // the error is thrown by the next call.
  if (error_ != 0) return;
  start_writer_locked();
  for (block& b : staging_) {
    b.offset = offset;
    offset += b.size;
    queue_.push_back(std::move(b));
  }
  pending_ += total;
  dirty_ = true;
}

bool write_behind::arm_locked(std::size_t mark) noexcept {
  if (pending_ <= mark) return false;
  wake_at_ = armed_ ? std::max(wake_at_, mark) : mark;
  armed_ = true;
  return true;
}

void write_behind::wake_waiters() noexcept {
  for (;;) {
    std::size_t pending;
    {
      std::lock_guard lock(mu_);
      pending = pending_;
    }
    bool left = false;
    std::size_t mark = 0;
    for (aio::detail::wait_node* n = waiters_.front(); n;) {
      auto* w = static_cast<write_behind_node*>(n);
      n = n->next;
      if (w->mark >= pending) {
        waiters_.remove(*w);
        w->woken = true;
        aio::detail::wake(*w->task);
      } else {
        mark = left ? std::max(mark, w->mark) : w->mark;
        left = true;
      }
    }
    if (!left) return;
    std::lock_guard lock(mu_);
    if (arm_locked(mark)) return;
  }
}

void write_behind::recycle_locked(block& b) noexcept {
  if (b.data && spare_.size() < max_spare) spare_.push_back(std::move(b.data));
}

std::shared_ptr<aio::detail::loop_link> write_behind::due_locked() noexcept {
  if (!armed_ || pending_ > wake_at_) return nullptr;
  armed_ = false;
  return link_;
}

void write_behind::post(const std::shared_ptr<aio::detail::loop_link>& link) noexcept {
  if (!link) return;
  std::lock_guard lock(link->mutex);
  if (!link->loop) return;  // the loop closed: nobody waits any more
  try {
    link->loop->call_soon_threadsafe([self = shared_from_this()] { self->wake_waiters(); });
  } catch (...) {
    // Out of memory: the waiters would hang. Nothing better to do than retry
    // at the writer's next step; leave the wake-up armed.
    std::lock_guard again(mu_);
    armed_ = true;
  }
}

int write_behind::write_batch(std::span<block> batch, std::size_t& written) noexcept {
  iovec iov[IOV_MAX];
  std::size_t count = 0, left = 0;
  for (block& b : batch) {
    iov[count++] = iovec{b.data.get(), b.size};
    left += b.size;
  }
  const std::uint64_t offset = batch.front().offset;
  iovec* first = iov;
  written = 0;
  while (left > 0) {
    const int n_iov = static_cast<int>(std::min<std::size_t>(count, IOV_MAX));
    ssize_t n = append_ ? ::writev(fd_, first, n_iov) : ::pwritev(fd_, first, n_iov, static_cast<off_t>(offset + written));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;  // never for a non-empty write
    auto done = static_cast<std::size_t>(n);
    written += done;
    left -= done;
    while (done > 0 && done >= first->iov_len) {  // continue a short write
      done -= first->iov_len;
      ++first;
      --count;
    }
    if (done > 0) {
      first->iov_base = static_cast<char*>(first->iov_base) + done;
      first->iov_len -= done;
    }
  }
  return 0;
}

void write_behind::run(std::shared_ptr<write_behind> self) noexcept {
  write_behind& s = *self;
  std::vector<block> batch;
  std::unique_lock lock(s.mu_);
  while (!s.queue_.empty()) {
    std::size_t bytes = 0;
    while (!s.queue_.empty() && batch.size() < IOV_MAX && bytes < max_batch) {
      block& b = s.queue_.front();
      if (!batch.empty() && !s.append_ && b.offset != batch.front().offset + bytes) break;
      bytes += b.size;
      batch.push_back(std::move(b));
      s.queue_.pop_front();
    }
    lock.unlock();
    std::size_t written = 0;
    int err = s.write_batch(batch, written);
    std::uint64_t end = 0;
    bool end_known = false;
    if (s.append_) {  // O_APPEND leaves the kernel's position at the end: reading it is no I/O
      off_t e = ::lseek(s.fd_, 0, SEEK_CUR);
      end_known = e >= 0;
      if (end_known) end = static_cast<std::uint64_t>(e);
    }
    lock.lock();
    for (block& b : batch) s.recycle_locked(b);
    s.pending_ -= bytes;
    if (s.append_) {
      s.end_known_ = end_known;
      s.end_ = end;
    }
    if (err != 0) {
      // The bytes after the failed write are dropped (as Python's buffered
      // writer): writing them at their offsets would leave a hole.
      s.error_ = err;
      s.error_offset_ = s.append_ ? end : batch.front().offset + written;
      for (block& b : s.queue_) s.recycle_locked(b);
      s.queue_.clear();
      s.pending_ = 0;
    }
    std::shared_ptr<aio::detail::loop_link> wake = s.due_locked();
    lock.unlock();
    batch.clear();  // frees what was not kept, off the lock
    s.post(wake);
    lock.lock();
  }
  s.running_ = false;
  const int to_close = s.close_after_ ? s.fd_ : -1;
  std::vector<std::unique_ptr<char[]>> spare;  // idle: give most of the memory back
  while (s.spare_.size() > idle_spare) {
    spare.push_back(std::move(s.spare_.back()));
    s.spare_.pop_back();
  }
  std::shared_ptr<aio::detail::loop_link> wake = s.due_locked();
  lock.unlock();
  spare.clear();
  if (to_close >= 0) ::close(to_close);  // already on a pool thread
  s.post(wake);
  aio::detail::exit_waits_for(-1);
}

// --- the awaiter ---------------------------------------------------------------

write_behind_awaiter::step write_behind_awaiter::decide_locked(bool force) {
  write_behind& s = *s_;
  if (s.error_ != 0) {
    error_ = std::exchange(s.error_, 0);
    *pos_ = s.error_offset_;
    done_ = true;
    return step::done;
  }
  if (drain_) {
    if (s.pending_ != 0 && !force) return step::wait;
    s.dirty_ = s.pending_ != 0;
    if (s.append_ && s.end_known_) *pos_ = s.end_;
    done_ = true;
    return step::done;
  }
  if (s.closing_) {  // a write overlapping close: the file is closed
    error_ = EBADF;
    done_ = true;
    return step::done;
  }
  if (s.pending_ + total_ > write_behind_high && !force) return step::wait;
  done_ = true;
  if (total_ > small_copy) {
    s.stage_locked(total_);
    return step::copy;
  }
  // Small: copied under the lock, into the tail block when it continues it.
  // Appends land after the end the writer last saw and what is queued
  // (exact while this file is the only one appending).
  if (s.append_ && s.end_known_) *pos_ = s.end_ + s.pending_;
  s.push_locked(parts_, total_, *pos_);
  *pos_ += total_;
  return step::done;
}

void write_behind_awaiter::copy() {
  // A large copy runs outside the lock, so that the writer, which takes the
  // lock after every system call, never sleeps on it.
  write_behind& s = *s_;
  try {
    s.fill_staging(parts_);
  } catch (...) {
    std::lock_guard lock(s.mu_);
    for (write_behind::block& b : s.staging_) s.recycle_locked(b);
    s.staging_.clear();
    throw;
  }
  std::lock_guard lock(s.mu_);
  if (s.append_ && s.end_known_) *pos_ = s.end_ + s.pending_;
  s.publish_locked(total_, *pos_);
  *pos_ += total_;
}

bool write_behind_awaiter::await_ready() {
  if (!s_ || (drain_ && !s_->dirty_)) {  // nothing written behind since the last drain
    done_ = true;
    return true;
  }
  step st;
  {
    std::lock_guard lock(s_->mu_);
    st = decide_locked(false);
  }
  if (st == step::copy) copy();
  return st != step::wait;
}

bool write_behind_awaiter::await_suspend(std::coroutine_handle<> h) {
  node_.task = &aio::detail::enter_wait();
  node_.mark = drain_ ? 0 : write_behind_low;
  node_.what_ = drain_ ? "file write-behind drain" : "file write-behind space";
  step st;
  {
    std::lock_guard lock(s_->mu_);
    st = decide_locked(false);
    if (st == step::wait) {
      s_->link_ = aio::detail::link_of(*node_.task->loop_);
      if (!s_->arm_locked(node_.mark)) st = decide_locked(true);  // the writer got there meanwhile
    }
  }
  if (st == step::copy) copy();
  if (st != step::wait) return false;
  keep_ = s_->shared_from_this();
  s_->waiters_.push_back(node_);
  node_.task->suspend(h, &node_);
  suspended_ = true;
  return true;
}

void write_behind_awaiter::await_resume() {
  if (suspended_) node_.resume_or_throw();  // a cancelled wait copied nothing
  if (!done_) {
    step st;
    {
      std::lock_guard lock(s_->mu_);
      st = decide_locked(true);
    }
    if (st == step::copy) copy();
  }
  if (error_ != 0) throw_fs_error(error_, "write", s_->path_);  // the deferred error, once
}

}  // namespace aio::fs::detail
