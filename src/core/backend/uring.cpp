// SPDX-License-Identifier: MIT
// The io_uring backend: completion-based. Operations become SQEs that are
// submitted together once per loop iteration (io_uring_submit_and_wait_*),
// so a loop iteration that starts a hundred reads makes one system call.
// With DEFER_TASKRUN (kernel 6.1+) completions are produced only when the
// loop asks for them, which keeps the kernel from interrupting a busy loop.

#include <liburing.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <system_error>

#include "backend.hpp"

namespace aio::detail {

namespace {

constexpr unsigned ring_entries = 4096;

// IORING_OP_FTRUNCATE (Linux 6.9) is newer than the liburing headers of
// Debian 12 (2.3, whose enum ends at SENDMSG_ZC): its number is kernel ABI.
constexpr int op_ftruncate = 55;
static_assert(IORING_OP_SENDMSG_ZC == 48, "the io_uring opcode numbering is ABI");

// The opcodes newer than the ring's minimum kernel (5.11).
struct late_op {
  io_kind kind;
  int opcode;
  std::string_view name;
};
constexpr late_op late_ops[] = {
    {io_kind::mkdirat, IORING_OP_MKDIRAT, "mkdirat"},
    {io_kind::symlinkat, IORING_OP_SYMLINKAT, "symlinkat"},
    {io_kind::linkat, IORING_OP_LINKAT, "linkat"},
    {io_kind::ftruncate, op_ftruncate, "ftruncate"},
};

// True when `name` is an item of the comma-separated `list`.
bool listed(std::string_view list, std::string_view name) noexcept {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    if (list.substr(0, comma) == name) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

class uring_backend final : public backend {
 public:
  uring_backend() = default;
  ~uring_backend() override {
    if (ready_) ::io_uring_queue_exit(&ring_);
  }

  /// Sets the ring up in place; -errno when the kernel refuses io_uring.
  int init() noexcept {
    io_uring_params p{};
    p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
              IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_CQSIZE;
    p.cq_entries = ring_entries * 4;
    int r = ::io_uring_queue_init_params(ring_entries, &ring_, &p);
    deferred_ = r == 0;
    if (r == -EINVAL) {  // kernels before 6.1 lack DEFER_TASKRUN / SINGLE_ISSUER
      p = {};
      p.flags = IORING_SETUP_CQSIZE;
      p.cq_entries = ring_entries * 4;
      r = ::io_uring_queue_init_params(ring_entries, &ring_, &p);
    }
    if (r == 0 && !(p.features & IORING_FEAT_EXT_ARG)) {
      // Before Linux 5.11 a timed wait queues a timeout SQE whose CQE would
      // reach reap() as an op: such kernels get the epoll backend instead.
      ::io_uring_queue_exit(&ring_);
      return -ENOSYS;
    }
    ready_ = r == 0;
    if (ready_) {
      // What the running kernel supports, not what the headers knew about:
      // the ring needs 5.11, mkdirat/symlinkat/linkat came in 5.15 and
      // ftruncate in 6.9. AIO_URING_WITHOUT (a comma-separated list of those
      // names) pretends they are missing, so tests cover the fallback.
      const char* without = std::getenv("AIO_URING_WITHOUT");
      io_uring_probe* probe = ::io_uring_get_probe_ring(&ring_);
      for (const late_op& l : late_ops) {
        bool has = probe ? ::io_uring_opcode_supported(probe, l.opcode) : l.kind != io_kind::ftruncate;
        if (without && listed(without, l.name)) has = false;
        missing_[static_cast<std::size_t>(l.kind)] = !has;
      }
      if (probe) ::io_uring_free_probe(probe);
    }
    return r;
  }

  const char* name() const noexcept override { return "io_uring"; }
  bool has_pending() const noexcept override { return pending_ != 0; }

  bool start(io_op& op) override {
    if (missing_[static_cast<std::size_t>(op.kind_)]) {
      op.res_ = -EOPNOTSUPP;  // before taking an SQE: nothing is queued
      return true;
    }
    io_uring_sqe* s = sqe();
    switch (op.kind_) {
      case io_kind::recv:
        ::io_uring_prep_recv(s, op.fd_, op.buf_, op.len_, static_cast<int>(op.flags_));
        break;
      case io_kind::send:
        ::io_uring_prep_send(s, op.fd_, op.buf_, op.len_, static_cast<int>(op.flags_) | MSG_NOSIGNAL);
        break;
      case io_kind::recvmsg:
        ::io_uring_prep_recvmsg(s, op.fd_, static_cast<msghdr*>(op.buf_), op.flags_);
        break;
      case io_kind::sendmsg:
        ::io_uring_prep_sendmsg(s, op.fd_, static_cast<const msghdr*>(op.buf_), op.flags_ | MSG_NOSIGNAL);
        break;
      case io_kind::accept:
        ::io_uring_prep_accept(s, op.fd_, op.addr_, op.addrlen_, SOCK_NONBLOCK | SOCK_CLOEXEC);
        break;
      case io_kind::connect:
        ::io_uring_prep_connect(s, op.fd_, op.addr_, op.addr_size_);
        break;
      case io_kind::poll:
        ::io_uring_prep_poll_add(s, op.fd_, op.flags_);
        break;
      case io_kind::read:
        ::io_uring_prep_read(s, op.fd_, op.buf_, static_cast<unsigned>(op.len_), op.offset_);
        break;
      case io_kind::write:
        ::io_uring_prep_write(s, op.fd_, op.buf_, static_cast<unsigned>(op.len_), op.offset_);
        break;
      case io_kind::openat:
        ::io_uring_prep_openat(s, op.fd_, static_cast<const char*>(op.buf_), static_cast<int>(op.flags_),
                               static_cast<mode_t>(op.len_));
        break;
      case io_kind::close:
        ::io_uring_prep_close(s, op.fd_);
        break;
      case io_kind::statx:
        ::io_uring_prep_statx(s, op.fd_, static_cast<const char*>(op.buf_), static_cast<int>(op.flags_),
                              static_cast<unsigned>(op.len_), static_cast<struct statx*>(op.buf2_));
        break;
      case io_kind::fsync:
        ::io_uring_prep_fsync(s, op.fd_, op.flags_ & 1 ? IORING_FSYNC_DATASYNC : 0);
        break;
      case io_kind::ftruncate:  // no prep helper in liburing 2.3: the length goes in `off`
        ::io_uring_prep_rw(op_ftruncate, s, op.fd_, nullptr, 0, op.offset_);
        break;
      case io_kind::unlinkat:
        ::io_uring_prep_unlinkat(s, op.fd_, static_cast<const char*>(op.buf_), static_cast<int>(op.flags_));
        break;
      case io_kind::mkdirat:
        ::io_uring_prep_mkdirat(s, op.fd_, static_cast<const char*>(op.buf_), static_cast<mode_t>(op.len_));
        break;
      case io_kind::renameat:
        ::io_uring_prep_renameat(s, op.fd_, static_cast<const char*>(op.buf_), AT_FDCWD,
                                 static_cast<const char*>(op.buf2_), op.flags_);
        break;
      case io_kind::symlinkat:
        ::io_uring_prep_symlinkat(s, static_cast<const char*>(op.buf_), op.fd_, static_cast<const char*>(op.buf2_));
        break;
      case io_kind::linkat:
        ::io_uring_prep_linkat(s, op.fd_, static_cast<const char*>(op.buf_), op.fd_,
                               static_cast<const char*>(op.buf2_), static_cast<int>(op.flags_));
        break;
      case io_kind::writev:
        ::io_uring_prep_writev(s, op.fd_, static_cast<const iovec*>(op.buf_), static_cast<unsigned>(op.len_),
                               op.offset_);
        break;
    }
    ::io_uring_sqe_set_data(s, &op);
    ++pending_;
    return false;
  }

  void cancel(io_op& op) noexcept override {
    io_uring_sqe* s = sqe();
    ::io_uring_prep_cancel(s, &op, 0);
    ::io_uring_sqe_set_data(s, nullptr);  // the cancel's own CQE is ignored
    ++pending_;
  }

  int poll(std::int64_t timeout_ns) override {
    int r;
    if (timeout_ns == 0) {
      r = deferred_ || pending_ ? ::io_uring_submit_and_get_events(&ring_) : 0;
    } else {
      io_uring_cqe* cqe = nullptr;
      __kernel_timespec ts{};
      ts.tv_sec = timeout_ns / 1'000'000'000;
      ts.tv_nsec = timeout_ns % 1'000'000'000;
      r = ::io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, timeout_ns > 0 ? &ts : nullptr, nullptr);
    }
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY)
      throw std::system_error(-r, std::generic_category(), "io_uring_enter");
    pending_ = 0;
    return reap();
  }

  int poll_ready() override {
    // With DEFER_TASKRUN a completion waits as task work until the loop
    // asks; TASKRUN_FLAG makes the kernel say so in sq_flags, where a
    // spinning loop can see it without entering the kernel (as it says
    // there when completions overflowed the CQ). liburing's reap enters the
    // kernel for the same flags, so reap() also runs such work.
    if (pending_ == 0 && !(IO_URING_READ_ONCE(*ring_.sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) &&
        ::io_uring_cq_ready(&ring_) == 0)
      return 0;
    return poll(0);
  }

 private:
  io_uring_sqe* sqe() noexcept {
    io_uring_sqe* s = ::io_uring_get_sqe(&ring_);
    while (!s) {
      // The submission queue is full: hand it to the kernel now. Never fails
      // for lack of memory with FEAT_NODROP; completions stay queued.
      ::io_uring_submit(&ring_);
      pending_ = 0;
      s = ::io_uring_get_sqe(&ring_);
    }
    return s;
  }

  int reap() noexcept {
    int done = 0;
    for (;;) {
      io_uring_cqe* cqes[256];
      unsigned n = ::io_uring_peek_batch_cqe(&ring_, cqes, 256);
      if (n == 0) break;
      for (unsigned i = 0; i < n; ++i) {
        auto* op = static_cast<io_op*>(::io_uring_cqe_get_data(cqes[i]));
        if (!op) continue;
        op->res_ = cqes[i]->res;
        op->complete_(op);
        ++done;
      }
      ::io_uring_cq_advance(&ring_, n);
      if (n < 256) break;
    }
    return done;
  }

  io_uring ring_{};
  unsigned pending_ = 0;
  bool deferred_ = false;
  bool ready_ = false;
  std::array<bool, 32> missing_{};  // by io_kind: an opcode this kernel lacks
  static_assert(static_cast<std::size_t>(io_kind::linkat) < 32);
};

}  // namespace

std::unique_ptr<backend> make_uring_backend() {
  auto b = std::make_unique<uring_backend>();
  if (int r = b->init(); r < 0) {
    errno = -r;
    return nullptr;
  }
  return b;
}

}  // namespace aio::detail
