// SPDX-License-Identifier: MIT
// The supervisor of a process_pool_executor: one thread that feeds idle
// workers, reads every worker's results with one poll(), kills on cancel and
// at the shutdown deadline, and replaces workers that died or retired.

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <stop_token>

#include "fork_server.hpp"
#include "process_pool_core.hpp"
#include "process_wire.hpp"

namespace aio::detail {

namespace {

namespace fs = fork_server;

enum class kill_reason { none, cancel, deadline };

struct worker;

struct stop_hook {
  worker* w;
  process_pool_core* core;
  void operator()() noexcept;
};

struct worker {
  std::uint32_t id = 0;
  int fd = -1;  // our end; -1 once closed (retiring) or at end of stream
  pid_t pid = 0;
  bool retiring = false;  // asked to exit (max_tasks_per_child, shutdown)
  kill_reason killed = kill_reason::none;
  remote_call* call = nullptr;  // the job it runs (we hold its queue reference)
  std::size_t done = 0;
  std::string in;  // response bytes not parsed yet
  std::atomic<bool> stop_requested{false};
  std::optional<std::stop_callback<stop_hook>> on_stop;

  bool idle() const noexcept {
    return fd >= 0 && !call && !retiring && killed == kill_reason::none;
  }
  bool active() const noexcept { return !retiring && killed == kill_reason::none; }
};

void stop_hook::operator()() noexcept {
  w->stop_requested.store(true, std::memory_order_release);
  core->wake();
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::exception_ptr worker_died(const process_pool_core& core, const worker& w, int status,
                               const std::string& job) {
  std::string what = "process_pool_executor '" + core.options_.name + "': worker " +
                     std::to_string(w.pid) + " running job '" + job + "' ";
  int sig = 0, code = -1;
  if (WIFSIGNALED(status)) {
    sig = WTERMSIG(status);
    what += "was killed by " + signal_name(sig) + " (" + ::strsignal(sig) + ")";
    if (sig == SIGKILL && w.killed != kill_reason::deadline)
      what += ": kill -9, or the out-of-memory killer";
  } else {
    code = WEXITSTATUS(status);
    what += "exited with status " + std::to_string(code);
  }
  if (w.killed == kill_reason::deadline) what += ", at the shutdown deadline";
  return std::make_exception_ptr(broken_process_pool_error(what, sig, code, w.pid));
}

std::exception_ptr pool_broken(const std::string& why, pid_t pid = 0) {
  return std::make_exception_ptr(broken_process_pool_error(why, 0, -1, pid));
}

}  // namespace

void process_pool_core::supervise() noexcept {
  std::vector<std::unique_ptr<worker>> workers;
  std::uint32_t next_id = 1;
  bool server_gone = false;
  unsigned spawn_failures = 0;
  auto spawn_after = std::chrono::steady_clock::time_point::min();
  std::vector<pollfd> fds;
  constexpr std::size_t read_buffer_size = 256 * 1024;
  auto read_buffer = std::make_unique_for_overwrite<char[]>(read_buffer_size);

  auto publish_pids = [&] {
    std::vector<pid_t> pids;
    for (const auto& w : workers)
      if (w->pid > 0) pids.push_back(w->pid);
    std::lock_guard lock(mutex_);
    pids_ = std::move(pids);
  };
  auto fail_call = [&](worker& w, std::exception_ptr e) {
    w.on_stop.reset();  // waits for a stop hook running now
    if (remote_call* c = std::exchange(w.call, nullptr)) {
      c->finish_error(std::move(e));
      c->base().release();
    }
  };
  auto spawn = [&] {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {  // out of descriptors
      spawn_after = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
      return false;
    }
    auto w = std::make_unique<worker>();
    w->id = next_id++;
    w->fd = sv[0];
    bool sent = fs::send(server_, fs::message{fs::op::spawn, w->id, 0}, sv[1]);
    ::close(sv[1]);
    if (!sent) {
      ::close(sv[0]);
      server_gone = true;
      return false;
    }
    started_.fetch_add(1, std::memory_order_relaxed);
    workers.push_back(std::move(w));
    return true;
  };
  auto complete = [&](worker& w, remote_call* c, wire::kind k, std::string_view payload) {
    if (!c) return;
    if (k == wire::kind::value) {
      c->finish_value(payload);
    } else {
      std::exception_ptr e;
      try {
        byte_reader r(payload);
        auto type = r.read<std::string>();
        auto what = r.read<std::string>();
        e = std::make_exception_ptr(process_job_error(c->entry->name, type, what));
      } catch (...) {
        e = std::current_exception();
      }
      c->finish_error(std::move(e));
    }
    c->base().release();
    ++w.done;
    if (options_.max_tasks_per_child && w.done >= options_.max_tasks_per_child && w.fd >= 0) {
      ::close(w.fd);  // end of stream: the worker exits; a fresh one replaces it
      w.fd = -1;
      w.retiring = true;
    }
  };
  auto send_job = [&](worker& w, remote_call* c) {
    w.call = c;
    const std::string& name = c->entry->name;
    char header[wire::request_header];
    auto len = static_cast<std::uint32_t>(2 + name.size() + c->args.size());
    auto name_len = static_cast<std::uint16_t>(name.size());
    std::memcpy(header, &len, 4);
    std::memcpy(header + 4, &name_len, 2);
    iovec iov[3] = {{header, sizeof header},
                    {const_cast<char*>(name.data()), name.size()},
                    {c->args.data(), c->args.size()}};
    // A failed write means the worker died: its exit report fails the job.
    wire::write_all(w.fd, iov, 3);
    std::stop_token token = c->stop_token();
    if (token.stop_possible()) w.on_stop.emplace(std::move(token), stop_hook{&w, this});
  };

  // Gives an idle worker the next queued job, if any.
  auto feed = [&](worker& w) {
    while (w.idle()) {
      remote_call* c;
      {
        std::lock_guard lock(mutex_);
        c = pop();
      }
      if (!c) return;
      if (c->base().claim())
        send_job(w, c);
      else
        c->base().release();  // dropped while queued
    }
  };
  // Reads what the worker sent; gives it its next job, then completes every
  // whole response (the worker works while the results are handed back).
  std::vector<std::pair<wire::kind, std::string_view>> responses;
  auto read_results = [&](worker& w) {
    while (w.fd >= 0) {
      ssize_t n = ::recv(w.fd, read_buffer.get(), read_buffer_size, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        ::close(w.fd);  // the worker is gone; its exit status comes from the fork server
        w.fd = -1;
      }
      if (n <= 0) break;
      w.in.append(read_buffer.get(), static_cast<std::size_t>(n));
      std::size_t at = 0;
      responses.clear();
      while (w.in.size() - at >= wire::response_header) {
        std::uint32_t len;
        std::memcpy(&len, w.in.data() + at, sizeof len);
        if (w.in.size() - at - 4 < len) break;
        auto k = static_cast<wire::kind>(w.in[at + 4]);
        responses.emplace_back(k, std::string_view(w.in).substr(at + wire::response_header, len - 1));
        at += 4 + std::size_t(len);
      }
      if (!responses.empty()) {
        remote_call* c = w.call;
        w.call = nullptr;  // one job in flight per worker: one response at most
        w.on_stop.reset();
        bool retire = options_.max_tasks_per_child && w.done + 1 >= options_.max_tasks_per_child;
        if (!retire) feed(w);
        complete(w, c, responses.front().first, responses.front().second);
      }
      w.in.erase(0, at);
      if (static_cast<std::size_t>(n) < read_buffer_size) break;  // drained
    }
  };

  for (std::size_t i = 0; i < max_workers_; ++i) spawn();
  publish_pids();

  for (;;) {
    // --- what the other threads asked for
    bool shutting, kill_all;
    remote_call* doomed = nullptr;  // queued jobs to fail: the pool cannot run them
    {
      std::lock_guard lock(mutex_);
      shutting = shutdown_;
      kill_all = kill_all_;
      if (server_gone && broken_.empty())
        broken_ = "process_pool_executor '" + options_.name + "': the fork server has exited";
      if (kill_all || server_gone) {
        doomed = head_;
        head_ = tail_ = nullptr;
      }
    }
    while (doomed) {
      remote_call* c = doomed;
      doomed = c->next;
      if (kill_all) {
        c->base().drop(true);
      } else if (c->base().claim()) {
        c->finish_error(pool_broken(broken_));
      }
      c->base().release();
    }
    if (server_gone) {
      for (auto& w : workers) {
        fail_call(*w, pool_broken(broken_, w->pid));
        if (w->fd >= 0) ::close(w->fd);
      }
      workers.clear();
      break;
    }
    for (auto& w : workers) {
      bool stop = w->stop_requested.exchange(false, std::memory_order_acq_rel);
      kill_reason why = kill_all ? kill_reason::deadline
                        : (stop && w->call) ? kill_reason::cancel
                                            : kill_reason::none;
      if (why != kill_reason::none && w->killed == kill_reason::none) {
        w->killed = why;
        fs::send(server_, fs::message{fs::op::kill, w->id, SIGKILL});
      }
    }

    // --- feed the idle workers
    for (auto& w : workers) feed(*w);
    bool queued;
    {
      std::lock_guard lock(mutex_);
      queued = head_ != nullptr;
    }
    if (shutting && !queued)
      for (auto& w : workers)
        if (w->idle()) {
          ::close(w->fd);
          w->fd = -1;
          w->retiring = true;
        }
    // --- replace the workers that died or retired
    std::size_t active = 0;
    for (const auto& w : workers) active += w->active();
    auto now = std::chrono::steady_clock::now();
    bool respawned = false;
    if (!kill_all && (!shutting || queued) && now >= spawn_after)
      while (active < max_workers_ && spawn()) {
        ++active;
        respawned = true;
      }
    if (respawned) publish_pids();
    if (shutting && workers.empty()) break;

    // --- wait
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({server_, POLLIN, 0});
    for (const auto& w : workers)
      if (w->fd >= 0) fds.push_back({w->fd, POLLIN, 0});
    int timeout = -1;  // or until the spawn backoff ends
    if (active < max_workers_ && !kill_all && (!shutting || queued) && spawn_after > now)
      timeout = static_cast<int>(
          std::chrono::ceil<std::chrono::milliseconds>(spawn_after - now).count());
    sleeping_.store(true);
    bool any_idle = std::any_of(workers.begin(), workers.end(), [](const auto& w) { return w->idle(); });
    if (any_idle) {  // a job submitted since the feeding above did not write the eventfd
      std::lock_guard lock(mutex_);
      if (head_) timeout = 0;
    }
    int ready = ::poll(fds.data(), fds.size(), timeout);
    sleeping_.store(false);
    if (ready < 0) continue;
    if (fds[0].revents) {
      std::uint64_t n;
      [[maybe_unused]] ssize_t r = ::read(wake_fd_, &n, sizeof n);
    }
    for (std::size_t i = 2; i < fds.size(); ++i)
      if (fds[i].revents)
        for (auto& w : workers)
          if (w->fd == fds[i].fd) {
            read_results(*w);
            break;
          }
    if (fds[1].revents) {
      bool changed = false;
      for (;;) {
        fs::message m;
        int r = fs::receive(server_, m, nullptr, true);
        if (r == 0) server_gone = true;
        if (r <= 0) break;
        auto it = std::find_if(workers.begin(), workers.end(),
                               [&](const auto& w) { return w->id == m.id; });
        if (it == workers.end()) continue;
        worker& w = **it;
        if (m.what == fs::op::spawned) {
          w.pid = m.a;
          spawn_failures = 0;
          changed = true;
        } else if (m.what == fs::op::spawn_failed || m.what == fs::op::exited) {
          if (m.what == fs::op::exited) {
            read_results(w);  // a response it sent before dying still counts
            if (w.call)
              fail_call(w, w.killed == kill_reason::cancel
                               ? std::make_exception_ptr(cancelled_error())
                               : worker_died(*this, w, m.a, w.call->entry->name));
          } else {
            // Backoff: a machine out of processes is not helped by retrying at once.
            ++spawn_failures;
            spawn_after = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(50 << std::min(spawn_failures, 7u));
            fail_call(w, pool_broken("process_pool_executor '" + options_.name +
                                     "': cannot start a worker: " + std::strerror(m.a)));
          }
          w.on_stop.reset();
          if (w.fd >= 0) ::close(w.fd);
          workers.erase(it);
          changed = true;
        }
      }
      if (changed) publish_pids();
    }
  }

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
