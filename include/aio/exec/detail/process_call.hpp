// SPDX-License-Identifier: MIT
#pragma once
// The shared state of one process_pool_executor job: a job<R> (so that
// concurrent_future, cancellation and the hand-back to the loop are the thread
// pool's) plus what the pool's supervisor needs to run it remotely: the job's
// registry entry, its encoded arguments, and a way to store the decoded result
// or an error without knowing R.

#include <exception>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

#include "aio/exec/detail/job.hpp"
#include "aio/exec/process_job.hpp"

namespace aio::detail {

/// The supervisor's view of a process job (R erased).
class remote_call {
 public:
  remote_call(const process_job_entry& e, std::string a) noexcept : entry(&e), args(std::move(a)) {}
  remote_call(const remote_call&) = delete;

  remote_call* next = nullptr;  // the pool's queue (under its mutex)
  const process_job_entry* entry;
  std::string args;  // encoded

  virtual job_base& base() noexcept = 0;
  /// Decodes the result from `bytes` (or stores the decoding error) and publishes.
  virtual void finish_value(std::string_view bytes) noexcept = 0;
  /// Stores `e` as the outcome and publishes.
  virtual void finish_error(std::exception_ptr e) noexcept = 0;
  /// Requests to stop reach here when the pool kills on cancel.
  virtual std::stop_token stop_token() const noexcept = 0;

 protected:
  ~remote_call() = default;
};

template <class R>
class process_call final : public job<R>, public remote_call {
 public:
  process_call(const process_job_entry& e, std::string a, bool stoppable)
      : remote_call(e, std::move(a)) {
    if (stoppable) this->stop_ = std::stop_source();
    this->spin_ = false;  // a round trip to a worker process takes longer than the spin
  }

  job_base& base() noexcept override { return *this; }
  void finish_value(std::string_view bytes) noexcept override {
    try {
      byte_reader r(bytes);
      if constexpr (std::is_void_v<R>)
        this->value_.emplace();
      else
        this->value_.emplace(r.template read<R>());
      r.expect_end();
    } catch (...) {
      this->value_.reset();
      this->exception_ = std::current_exception();
    }
    args = {};
    this->complete();
  }
  void finish_error(std::exception_ptr e) noexcept override {
    this->exception_ = std::move(e);
    args = {};
    this->complete();
  }
  std::stop_token stop_token() const noexcept override { return this->stop_.get_token(); }

 private:
  // Never executed in this process: the supervisor claims it and sends it.
  void invoke() noexcept override {
    this->exception_ = std::make_exception_ptr(
        invalid_state_error("aio: a process job cannot run on a thread pool"));
  }
  void discard() noexcept override { args = {}; }
};

}  // namespace aio::detail
