// SPDX-License-Identifier: MIT
// The rolling restart (SIGHUP): slot by slot, start the new worker, wait
// until it is ready, then stop the old one and wait until it has exited
// before moving to the next slot. At any time every slot has a ready
// process, so a shared listening socket always has someone accepting.
#include <sys/wait.h>

#include "process_util.hpp"
#include "supervisor.hpp"

namespace aio::workers::detail {

void supervisor::roll_begin() {
  rolling_ = true;
  roll_slot_ = 0;
  roll_new_ = roll_old_ = 0;
  roll_next();
}

void supervisor::roll_next() {
  while (roll_slot_ < n_) {
    slot_state& s = slots_[roll_slot_];
    // A finished slot has nothing to restart; one waiting for its restart
    // gets a new process anyway.
    if (s.finished || s.current == 0) {
      ++roll_slot_;
      continue;
    }
    roll_old_ = s.current;
    roll_new_ = start(roll_slot_, true);
    if (roll_new_ == 0) {
      log("rolling restart abandoned: could not start the new worker " + std::to_string(roll_slot_));
      rolling_ = false;
      roll_old_ = 0;
      return;
    }
    roll_deadline_ = clock::now() + o_.ready_timeout;
    return;
  }
  rolling_ = false;
  log("rolling restart done");
  if (roll_again_) {
    roll_again_ = false;
    log("rolling restart (the SIGHUP that came during the last one)");
    roll_begin();
  }
}

void supervisor::roll_ready(proc& p) {
  if (!rolling_ || p.pid != roll_new_) return;
  slots_[p.slot].current = p.pid;
  roll_new_ = 0;
  if (proc* old = find(roll_old_)) {
    log(who(*old) + " is replaced by pid " + std::to_string(p.pid) + ": stopping it");
    old->retired = true;
    stop(*old);
    return;  // the next slot once it has exited
  }
  roll_old_ = 0;
  ++roll_slot_;
  roll_next();
}

bool supervisor::roll_exit(const proc& p, int st) {
  if (!rolling_) return false;
  if (p.pid == roll_old_) {
    roll_old_ = 0;
    if (!p.retired) {
      // It died by itself while its replacement starts: that one takes over.
      log(who(p) + " " + describe_exit(st) + " during the rolling restart; its replacement takes over");
      slots_[p.slot].current = roll_new_;
      return true;
    }
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) log(who(p) + " " + describe_exit(st) + " while stopping");
    ++roll_slot_;
    roll_next();
    return true;
  }
  if (p.pid == roll_new_) {
    roll_new_ = 0;
    rolling_ = false;
    roll_again_ = false;
    slot_state& s = slots_[p.slot];
    const bool old_alive = find(roll_old_) != nullptr;
    roll_old_ = 0;
    log("rolling restart abandoned: the new " + who(p) + " " + describe_exit(st) + " before it was ready" +
        (old_alive ? "; the old one keeps serving" : ""));
    if (!old_alive) {
      s.current = 0;
      on_failure(p, st);
    }
    return true;
  }
  return false;
}

void supervisor::roll_timeout() {
  proc* p = find(roll_new_);
  log("rolling restart abandoned: the new worker " + std::to_string(roll_slot_) + " was not ready within " +
      std::to_string(o_.ready_timeout.count()) + " ms");
  rolling_ = false;
  roll_again_ = false;
  roll_new_ = 0;
  roll_old_ = 0;
  // Stopped unless it is all the slot has left (its old process died meanwhile).
  if (p && slots_[p->slot].current != p->pid) {
    p->retired = true;
    stop(*p);
  }
}

}  // namespace aio::workers::detail
