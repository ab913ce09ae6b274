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

#include "fork_server.hpp"
#include "process_pool_core.hpp"
#include "process_wire.hpp"

namespace aio::detail {

namespace {

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

void stop_hook::operator()() noexcept {
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

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::exception_ptr pool_broken(const std::string& why, pid_t pid = 0) {
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

std::size_t supervisor::capacity(const worker& w) const noexcept {
  if (!w.usable()) return 0;
  std::size_t depth = this->depth();
  std::size_t room = w.jobs.size() < depth ? depth - w.jobs.size() : 0;
  if (std::size_t max = k_.options_.max_tasks_per_child) room = std::min(room, max - std::min(max, w.sent));
  return room;
}

remote_call* supervisor::next_job() {
  if (!retry_.empty()) {
    remote_call* c = retry_.front();
    retry_.pop_front();
    return c;
  }
  for (;;) {
    remote_call* c;
    {
      std::lock_guard lock(k_.mutex_);
      c = k_.pop();
    }
    if (!c || c->base().claim()) return c;
    c->base().release();  // dropped while queued
  }
}

bool supervisor::queue_empty() {
  if (!retry_.empty()) return false;
  std::lock_guard lock(k_.mutex_);
  return k_.head_ == nullptr;
}

void supervisor::send(worker& w, remote_call* c) {
  auto& job = *w.jobs.emplace_back(std::make_unique<in_flight>(c, w.next_seq++));
  ++w.sent;
  const std::string& name = c->entry->name;
  char header[wire::request_header + 2];
  auto len = static_cast<std::uint32_t>(wire::request_header - 4 + 2 + name.size() + c->args.size());
  auto name_len = static_cast<std::uint16_t>(name.size());
  std::memcpy(header, &len, 4);
  header[4] = static_cast<char>(wire::request::job);
  std::memcpy(header + 5, &job.seq, 4);
  std::memcpy(header + 9, &name_len, 2);
  iovec iov[3] = {{header, sizeof header},
                  {const_cast<char*>(name.data()), name.size()},
                  {c->args.data(), c->args.size()}};
  job.frame_end = post(w, iov, 3);
  std::stop_token token = c->stop_token();
  if (token.stop_possible()) job.on_stop.emplace(std::move(token), stop_hook{&job, &k_});
}

// Fills w up to `depth` jobs in flight (and its max_tasks_per_child quota).
void supervisor::feed(worker& w, std::size_t depth) {
  while (capacity(w) > 0 && w.jobs.size() < depth) {
    remote_call* c = next_job();
    if (!c) return;
    send(w, c);
  }
}

// Every idle worker gets a job before any gets a second one. A worker left
// idle asks a busy one for a job that waits behind its running one.
void supervisor::feed_all() {
  for (std::size_t level = 1; level <= depth(); ++level)  // round robin, one level at a time
    for (auto& w : workers_) feed(*w, level);
  for (auto& idle : workers_) {
    if (!idle->jobs.empty() || !idle->usable() || !queue_empty()) continue;
    for (auto& busy : workers_) {
      if (busy->jobs.size() < 2 || busy->fd < 0 || busy->jobs.back()->asked_back) continue;
      in_flight& last = *busy->jobs.back();
      last.asked_back = true;
      char frame[wire::request_header];
      auto len = static_cast<std::uint32_t>(wire::request_header - 4);
      std::memcpy(frame, &len, 4);
      frame[4] = static_cast<char>(wire::request::give_back);
      std::memcpy(frame + 5, &last.seq, 4);
      iovec iov[1] = {{frame, sizeof frame}};
      post(*busy, iov, 1);
      break;  // one per idle worker
    }
  }
}

void supervisor::complete(worker& w, remote_call* c, wire::kind k, std::string_view payload) {
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
}

// Queues a request frame for w and writes what its socket takes now, without
// blocking (the rest goes on POLLOUT); returns the frame's end in w's stream.
// A worker whose socket fails is dead: its exit report settles its jobs.
std::uint64_t supervisor::post(worker& w, iovec* iov, int count) {
  std::size_t total = 0;
  for (int i = 0; i < count; ++i) total += iov[i].iov_len;
  w.bytes_queued += total;
  if (w.out.empty() && !w.dead && w.fd >= 0) {  // the common case: straight to the socket, no copy
    msghdr h{};
    h.msg_iov = iov;
    h.msg_iovlen = static_cast<std::size_t>(count);
    ssize_t n;
    while ((n = ::sendmsg(w.fd, &h, MSG_DONTWAIT | MSG_NOSIGNAL)) < 0 && errno == EINTR) {
    }
    if (n < 0 && errno != EAGAIN) {
      w.dead = true;
      return w.bytes_queued;
    }
    std::size_t skip = n > 0 ? static_cast<std::size_t>(n) : 0;
    w.bytes_sent += skip;
    for (int i = 0; i < count; ++i) {
      std::size_t drop = std::min(skip, iov[i].iov_len);
      skip -= drop;
      w.out.append(static_cast<const char*>(iov[i].iov_base) + drop, iov[i].iov_len - drop);
    }
  } else {
    for (int i = 0; i < count; ++i) w.out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  }
  return w.bytes_queued;
}

// Writes what is queued for w as far as its socket takes it (POLLOUT).
void supervisor::flush(worker& w) {
  while (!w.out.empty() && !w.dead && w.fd >= 0) {
    ssize_t n = ::send(w.fd, w.out.data(), w.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (errno != EAGAIN) w.dead = true;
      return;
    }
    w.out.erase(0, static_cast<std::size_t>(n));
    w.bytes_sent += static_cast<std::uint64_t>(n);
  }
}

void supervisor::retire(worker& w) {
  ::close(w.fd);  // end of stream: the worker exits after the jobs it has
  w.fd = -1;
  w.out.clear();
  w.retiring = true;
}

// Reads what the worker sent; refills it, then completes every whole response
// (the worker works while the results are handed back).
void supervisor::read_results(worker& w) {
  while (w.fd >= 0) {
    ssize_t n = ::recv(w.fd, read_buffer_.get(), read_buffer_size, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
      ::close(w.fd);  // the worker is gone; its exit status comes from the fork server
      w.fd = -1;
    }
    if (n <= 0) break;
    w.in.append(read_buffer_.get(), static_cast<std::size_t>(n));
    std::size_t at = 0;
    responses_.clear();
    while (w.in.size() - at >= wire::response_header) {
      std::uint32_t len, seq;
      std::memcpy(&len, w.in.data() + at, sizeof len);
      if (len < wire::response_header - 4) {  // a corrupt frame: the worker is dropped, as if gone
        ::close(w.fd);
        w.fd = -1;
        break;
      }
      if (w.in.size() - at - 4 < len) break;
      auto k = static_cast<wire::kind>(w.in[at + 4]);
      std::memcpy(&seq, w.in.data() + at + 5, sizeof seq);
      auto payload = std::string_view(w.in).substr(at + wire::response_header, len - (wire::response_header - 4));
      at += 4 + std::size_t(len);
      auto it = std::find_if(w.jobs.begin(), w.jobs.end(), [&](const auto& j) { return j->seq == seq; });
      if (it == w.jobs.end()) continue;  // not ours: ignored
      std::unique_ptr<in_flight> job = std::move(*it);
      w.jobs.erase(it);
      w.answered = true;
      silent_deaths_ = 0;
      job->on_stop.reset();
      if (k == wire::kind::returned) {  // never started: another worker runs it
        --w.sent;
        retry_.push_back(job->call);
        continue;
      }
      responses_.push_back({job->call, {k, payload}});
    }
    if (!responses_.empty()) {
      bool idle_elsewhere = std::any_of(workers_.begin(), workers_.end(), [&](const auto& o) {
        return o.get() != &w && o->jobs.empty() && o->usable();
      });
      feed(w, idle_elsewhere ? 1 : depth());
      for (auto& [c, r] : responses_) complete(w, c, r.first, r.second);
      if (k_.options_.max_tasks_per_child && w.done >= k_.options_.max_tasks_per_child && w.fd >= 0)
        retire(w);
    }
    w.in.erase(0, at);
    if (static_cast<std::size_t>(n) < read_buffer_size) break;  // drained
  }
}

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

}  // namespace

void process_pool_core::supervise() noexcept {
  supervisor(*this).run();
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
