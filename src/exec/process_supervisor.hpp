// SPDX-License-Identifier: MIT
#pragma once
// The process pool's supervisor thread (process_supervisor.cpp says what it
// does): its state, shared by process_supervisor.cpp (the thread's loop,
// workers starting and dying) and process_supervisor_io.cpp (jobs going to
// the workers and their results coming back).

#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fork_server.hpp"
#include "process_pool_core.hpp"
#include "process_wire.hpp"

namespace aio::detail::supervision {

namespace fs = fork_server;
using clock_type = std::chrono::steady_clock;

enum class kill_reason { none, cancel, deadline };

struct in_flight;

// Runs on the thread that requests the stop (kill_on_cancel only).
struct stop_hook {
  in_flight* job;
  process_pool_core* core;
  void operator()() noexcept;
};

struct in_flight {
  in_flight(remote_call* c, std::uint32_t s) noexcept : call(c), seq(s) {}
  remote_call* call;  // holds the queue's reference
  std::uint32_t seq;
  std::uint64_t frame_end = 0;  // the worker has the job once this many bytes left for it
  bool asked_back = false;
  std::atomic<bool> stop{false};
  std::optional<std::stop_callback<stop_hook>> on_stop;  // reset before `call` is released
};

inline void stop_hook::operator()() noexcept {
  job->stop.store(true, std::memory_order_release);
  core->wake();
}

struct worker {
  std::uint32_t id = 0;
  int fd = -1;  // our end; -1 once closed (retiring) or at end of stream
  pid_t pid = 0;
  bool retiring = false;  // asked to exit (max_tasks_per_child, shutdown)
  bool dead = false;      // a write to it failed, or the fork server reported its exit
  bool answered = false;  // it sent at least one response
  kill_reason killed = kill_reason::none;
  std::deque<std::unique_ptr<in_flight>> jobs;  // sent, in order; the first one runs
  std::size_t sent = 0;  // towards max_tasks_per_child (jobs given back do not count)
  std::size_t done = 0;
  std::uint32_t next_seq = 0;
  std::string in;  // response bytes not parsed yet
  // Request bytes its socket has not taken yet. The supervisor never blocks
  // on a worker: a worker busy writing a large result while we wrote it large
  // arguments would otherwise deadlock the two.
  std::string out;
  std::uint64_t bytes_queued = 0;  // request bytes ever queued for it
  std::uint64_t bytes_sent = 0;    // of which the socket took

  bool usable() const noexcept { return fd >= 0 && !dead && !retiring && killed == kill_reason::none; }
  bool active() const noexcept { return !retiring && killed == kill_reason::none; }
};

inline std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

inline std::exception_ptr pool_broken(const std::string& why, pid_t pid = 0) {
  return std::make_exception_ptr(broken_process_pool_error(why, 0, -1, pid));
}

class supervisor {
 public:
  explicit supervisor(process_pool_core& core) : k_(core) {}
  void run();

 private:
  // --- workers
  bool spawn();
  void publish_pids();
  std::size_t capacity(const worker& w) const noexcept;
  // With kill_on_cancel, one job per worker: a kill must hit only the cancelled job.
  std::size_t depth() const noexcept {
    return k_.options_.kill_on_cancel ? 1 : std::max<std::size_t>(1, k_.options_.pipeline_depth);
  }
  void feed(worker& w, std::size_t depth);
  void feed_all();
  void send(worker& w, remote_call* c);
  std::uint64_t post(worker& w, iovec* iov, int count);
  void flush(worker& w);
  void read_results(worker& w);
  void complete(worker& w, remote_call* c, wire::kind k, std::string_view payload);
  void retire(worker& w);
  void on_exit(worker& w, int status);
  void requeue_or_fail(std::deque<std::unique_ptr<in_flight>>& jobs, std::size_t from, bool drop);
  std::exception_ptr worker_died(const worker& w, int status, const std::string& job) const;
  void handle_server();
  // --- the queue
  remote_call* next_job();
  bool queue_empty();

  process_pool_core& k_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::deque<remote_call*> retry_;  // claimed jobs a dead worker never started
  std::uint32_t next_id_ = 1;
  bool server_gone_ = false;
  unsigned spawn_failures_ = 0;
  unsigned silent_deaths_ = 0;  // workers in a row that died without answering anything
  clock_type::time_point spawn_after_ = clock_type::time_point::min();
  static constexpr std::size_t read_buffer_size = 256 * 1024;
  std::unique_ptr<char[]> read_buffer_ = std::make_unique_for_overwrite<char[]>(read_buffer_size);
  std::vector<std::pair<remote_call*, std::pair<wire::kind, std::string_view>>> responses_;
};

}  // namespace aio::detail::supervision
