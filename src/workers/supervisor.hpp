// SPDX-License-Identifier: MIT
#pragma once
// The supervisor of workers::run: a blocking poll loop on a signalfd
// (SIGCHLD, SIGTERM, SIGINT, SIGHUP) and a readiness pipe the workers
// write their pid to. Its state: the worker processes alive, and per slot
// (worker index) the process serving it, its failures at startup in a row
// and a pending restart.

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "aio/workers/run.hpp"

namespace aio::workers::detail {

class supervisor {
 public:
  supervisor(std::size_t n, main_factory& make, const options& o);
  ~supervisor();
  supervisor(const supervisor&) = delete;
  supervisor& operator=(const supervisor&) = delete;

  /// Supervises until every worker has finished or stopped: what run() returns.
  int run();

 private:
  using clock = std::chrono::steady_clock;
  struct proc {
    pid_t pid = 0;
    std::size_t slot = 0;
    clock::time_point started;
    bool ready = false;
    bool stopping = false;  // told to stop (SIGTERM sent)
    bool retired = false;   // its exit is expected: no restart, not in the status
    bool killed = false;    // SIGKILL sent at its deadline
    clock::time_point kill_at;
  };
  struct slot_state {
    pid_t current = 0;     // the process serving the slot; 0 while none
    int startup_failures = 0;
    std::optional<clock::time_point> restart_at;
    bool finished = false;  // its main returned 0 by itself: not restarted
  };

  pid_t start(std::size_t slot, bool replacement);
  [[noreturn]] void child(std::size_t slot);
  proc* find(pid_t pid) noexcept;
  void reap();
  void on_exit(proc p, int status);
  void on_failure(const proc& p, int status);
  void on_signal(int sig);
  void read_ready();
  void on_ready(proc& p);
  void fire_timers();
  int poll_timeout() const;
  void stop(proc& p);
  void shutdown();
  bool finished() const noexcept;
  std::string who(const proc& p) const;
  void log(const std::string& line) const noexcept;

  // The rolling restart (supervisor_roll.cpp).
  void roll_begin();
  void roll_next();
  void roll_ready(proc& p);
  bool roll_exit(const proc& p, int status);
  void roll_timeout();

  std::size_t n_;
  main_factory& make_;
  const options& o_;
  pid_t self_ = 0;
  sigset_t old_mask_{};
  bool restore_sigchld_ = false;
  struct sigaction old_sigchld_ {};
  int signal_fd_ = -1;
  int ready_r_ = -1, ready_w_ = -1;
  std::vector<proc> procs_;
  std::vector<slot_state> slots_;
  bool shutting_down_ = false;
  int status_ = 0;                   // the first failure seen while stopping
  std::optional<std::string> fatal_;  // why it gave up
  // Rolling restart: the slot being replaced, its new and old process.
  bool rolling_ = false;
  bool roll_again_ = false;
  std::size_t roll_slot_ = 0;
  pid_t roll_new_ = 0, roll_old_ = 0;
  clock::time_point roll_deadline_;
};

}  // namespace aio::workers::detail
