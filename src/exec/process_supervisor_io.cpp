// SPDX-License-Identifier: MIT
// The process pool supervisor's job traffic: which worker takes the next job,
// sending it without ever blocking on a worker, and reading the results back
// in order.

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "process_supervisor.hpp"

namespace aio::detail::supervision {

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

}  // namespace aio::detail::supervision
