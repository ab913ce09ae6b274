// SPDX-License-Identifier: MIT
// The supervisor of a process_pool_executor: one thread that feeds the
// workers, reads every worker's results with one poll(), kills on cancel and
// at the shutdown deadline, and replaces workers that died or retired.
//
// A worker holds up to options.pipeline_depth jobs: the one it runs and the
// next ones, already sent, so that it goes from one to the next without
// waiting for this thread (a trivial job then costs no wake-up of the
// worker). Results come back in order, so the first job without one is the
// running one: it alone fails when the worker dies; the jobs behind it never
// started and go to another worker. When a worker runs dry while another
// holds jobs behind a running one, the last of those is asked back
// (give_back): a short job does not wait behind a long one while a worker idles.

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <stop_token>

#include "process_supervisor.hpp"

namespace aio::detail {

namespace supervision {

std::exception_ptr supervisor::worker_died(const worker& w, int status, const std::string& job) const {
  std::string what = "process_pool_executor '" + k_.options_.name + "': worker " + std::to_string(w.pid) +
                     " running job '" + job + "' ";
  int sig = 0, code = -1;
  if (WIFSIGNALED(status)) {
    sig = WTERMSIG(status);
    what += "was killed by " + signal_name(sig) + " (" + ::strsignal(sig) + ")";
    if (sig == SIGKILL && w.killed != kill_reason::deadline) what += ": kill -9, or the out-of-memory killer";
  } else {
    code = WEXITSTATUS(status);
    what += "exited with status " + std::to_string(code);
  }
  if (w.killed == kill_reason::deadline) what += ", at the shutdown deadline";
  return std::make_exception_ptr(broken_process_pool_error(what, sig, code, w.pid));
}

// The jobs from index `from` on never started: another worker runs them
// (dropped instead at the deadline, or when their awaiter asked to stop).
void supervisor::requeue_or_fail(std::deque<std::unique_ptr<in_flight>>& jobs, std::size_t from, bool drop) {
  for (std::size_t i = jobs.size(); i-- > from;) {
    jobs[i]->on_stop.reset();
    remote_call* c = jobs[i]->call;
    if (drop || c->stop_token().stop_requested()) {
      c->finish_error(std::make_exception_ptr(cancelled_error()));
      c->base().release();
    } else {
      retry_.push_front(c);  // in their order, ahead of the queue
    }
  }
  jobs.erase(jobs.begin() + static_cast<std::ptrdiff_t>(std::min(from, jobs.size())), jobs.end());
}

void supervisor::on_exit(worker& w, int status) {
  w.dead = true;    // read_results must not feed it
  read_results(w);  // responses it sent before dying still count
  if (!w.jobs.empty() && w.jobs.front()->frame_end > w.bytes_sent) {
    requeue_or_fail(w.jobs, 0, w.killed == kill_reason::deadline);  // it never got even the first
  } else if (!w.jobs.empty()) {
    auto& running = *w.jobs.front();
    running.on_stop.reset();
    running.call->finish_error(w.killed == kill_reason::cancel
                                   ? std::make_exception_ptr(cancelled_error())
                                   : worker_died(w, status, running.call->entry->name));
    running.call->base().release();
    requeue_or_fail(w.jobs, 1, w.killed == kill_reason::deadline);
  }
  if (w.fd >= 0) ::close(w.fd);
}

bool supervisor::spawn() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {  // out of descriptors
    spawn_after_ = clock_type::now() + std::chrono::milliseconds(100);
    return false;
  }
  auto w = std::make_unique<worker>();
  w->id = next_id_++;
  w->fd = sv[0];
  bool sent = fs::send(k_.server_, fs::message{fs::op::spawn, w->id, 0}, sv[1]);
  ::close(sv[1]);
  if (!sent) {
    ::close(sv[0]);
    server_gone_ = true;
    return false;
  }
  k_.started_.fetch_add(1, std::memory_order_relaxed);
  workers_.push_back(std::move(w));
  return true;
}

void supervisor::publish_pids() {
  std::vector<pid_t> pids;
  for (const auto& w : workers_)
    if (w->pid > 0) pids.push_back(w->pid);
  std::lock_guard lock(k_.mutex_);
  k_.pids_ = std::move(pids);
}

// Messages from the fork server: a worker started, could not start, or ended.
void supervisor::handle_server() {
  bool changed = false;
  for (;;) {
    fs::message m;
    int r = fs::receive(k_.server_, m, nullptr, true);
    if (r == 0) server_gone_ = true;
    if (r <= 0) break;
    auto it = std::find_if(workers_.begin(), workers_.end(), [&](const auto& w) { return w->id == m.id; });
    if (it == workers_.end()) continue;
    worker& w = **it;
    if (m.what == fs::op::spawned) {
      w.pid = m.a;
      spawn_failures_ = 0;
    } else if (m.what == fs::op::exited) {
      // One crashing job is a job's fault; workers dying one after another
      // without answering anything (a worker that cannot start its thread,
      // say) are replaced with a growing delay, not in a tight fork loop.
      if (!w.answered && w.active() && ++silent_deaths_ >= 2)
        spawn_after_ = clock_type::now() + std::chrono::milliseconds(50 << std::min(silent_deaths_ - 1, 7u));
      on_exit(w, m.a);
      workers_.erase(it);
    } else if (m.what == fs::op::spawn_failed) {
      // Backoff: a machine out of processes is not helped by retrying at once.
      ++spawn_failures_;
      spawn_after_ = clock_type::now() + std::chrono::milliseconds(50 << std::min(spawn_failures_, 7u));
      requeue_or_fail(w.jobs, 0, false);  // none of them started
      if (w.fd >= 0) ::close(w.fd);
      workers_.erase(it);
    }
    changed = true;
  }
  if (changed) publish_pids();
}

void supervisor::run() {
  for (std::size_t i = 0; i < k_.max_workers_; ++i) spawn();
  publish_pids();
  std::vector<pollfd> fds;
  for (;;) {
    // --- what the other threads asked for
    bool shutting, kill_all;
    remote_call* doomed = nullptr;  // queued jobs that will not run
    {
      std::lock_guard lock(k_.mutex_);
      shutting = k_.shutdown_;
      kill_all = k_.kill_all_;
      if (server_gone_ && k_.broken_.empty())
        k_.broken_ = "process_pool_executor '" + k_.options_.name + "': the fork server has exited";
      if (kill_all || server_gone_) {
        doomed = k_.head_;
        k_.head_ = k_.tail_ = nullptr;
      }
    }
    for (remote_call* c; (c = doomed);) {
      doomed = c->next;
      if (kill_all)
        c->base().drop(true);
      else if (c->base().claim())
        c->finish_error(pool_broken(k_.broken_));
      c->base().release();
    }
    if (kill_all || server_gone_) {
      for (remote_call* c : retry_) {
        c->finish_error(kill_all ? std::make_exception_ptr(cancelled_error()) : pool_broken(k_.broken_));
        c->base().release();
      }
      retry_.clear();
    }
    if (server_gone_) {  // the workers die with the fork server
      for (auto& w : workers_) {
        for (auto& j : w->jobs) {
          j->on_stop.reset();
          j->call->finish_error(pool_broken(k_.broken_, w->pid));
          j->call->base().release();
        }
        if (w->fd >= 0) ::close(w->fd);
      }
      workers_.clear();
      break;
    }
    for (auto& w : workers_) {
      kill_reason why = kill_all ? kill_reason::deadline
                        : (!w->jobs.empty() && w->jobs.front()->stop.load(std::memory_order_acquire))
                            ? kill_reason::cancel
                            : kill_reason::none;
      if (why != kill_reason::none && w->killed == kill_reason::none) {
        w->killed = why;
        fs::send(k_.server_, fs::message{fs::op::kill, w->id, SIGKILL});
      }
    }

    // --- feed the workers; retire the idle ones at shutdown; replace the dead
    feed_all();
    bool queued = !queue_empty();
    if (shutting && !queued)
      for (auto& w : workers_)
        if (w->jobs.empty() && w->usable()) retire(*w);
    std::size_t active = 0;
    for (const auto& w : workers_) active += w->active();
    auto now = clock_type::now();
    bool wanted = !kill_all && (!shutting || queued);
    bool respawned = false;
    if (wanted && now >= spawn_after_)
      while (active < k_.max_workers_ && spawn()) {
        ++active;
        respawned = true;
      }
    if (respawned) publish_pids();
    if (shutting && workers_.empty() && !queued) break;

    // --- wait
    fds.clear();
    fds.push_back({k_.wake_fd_, POLLIN, 0});
    fds.push_back({k_.server_, POLLIN, 0});
    for (const auto& w : workers_)
      if (w->fd >= 0) fds.push_back({w->fd, static_cast<short>(w->out.empty() ? POLLIN : POLLIN | POLLOUT), 0});
    int timeout = -1;  // or until the spawn backoff ends
    if (wanted && active < k_.max_workers_ && spawn_after_ > now)
      timeout = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(spawn_after_ - now).count());
    k_.sleeping_.store(true);
    // A job submitted after feed_all() above did not write the eventfd: look again.
    if (std::any_of(workers_.begin(), workers_.end(), [&](const auto& w) { return capacity(*w) > 0; }) &&
        !queue_empty())
      timeout = 0;
    int ready = ::poll(fds.data(), fds.size(), timeout);
    k_.sleeping_.store(false);
    if (ready < 0) continue;
    if (fds[0].revents) {
      std::uint64_t n;
      [[maybe_unused]] ssize_t r = ::read(k_.wake_fd_, &n, sizeof n);
    }
    for (std::size_t i = 2; i < fds.size(); ++i)
      if (fds[i].revents)
        for (auto& w : workers_)
          if (w->fd == fds[i].fd) {
            if (fds[i].revents & POLLOUT) flush(*w);
            if (fds[i].revents & ~POLLOUT) read_results(*w);
            break;
          }
    if (fds[1].revents) handle_server();
  }
}

}  // namespace supervision

void process_pool_core::supervise() noexcept {
  supervision::supervisor(*this).run();
  ::close(server_);  // the fork server forgets this pool
  server_ = -1;
  {
    std::lock_guard lock(mutex_);
    pids_.clear();
    finished_ = true;
  }
  finished_cv_.notify_all();
}

}  // namespace aio::detail
