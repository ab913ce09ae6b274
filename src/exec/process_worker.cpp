// SPDX-License-Identifier: MIT
// A worker process: runs the registered jobs the pool sends, in order,
// writes each result or exception, until the pool closes the socket; hands
// back a job that has not started when the pool asks.

#include <cxxabi.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <typeinfo>

#include "aio/exec/process_job.hpp"
#include "fork_server.hpp"
#include "process_wire.hpp"

namespace aio::detail::fork_server {

namespace {

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                           std::free);
  return status == 0 && d ? std::string(d.get()) : std::string(name);
}

// Runs the job `name` on `args`; fills `out` with the response payload, returns its kind.
wire::kind run_one(std::string_view name, std::string_view arg_bytes, std::string& out) {
  byte_reader args(arg_bytes);
  byte_writer w(out);
  try {
    const process_job_entry* e = find_process_job(name);
    if (!e)
      throw std::invalid_argument("the worker has no job named '" + std::string(name) +
                                  "' (registered after the fork server started?)");
    e->invoke(e->fn, args, w);
    if (out.size() >= wire::max_frame)
      throw std::length_error("the job's result is larger than a frame (4 GiB)");
    return wire::kind::value;
  } catch (const std::exception& x) {
    out.clear();
    w.write(demangle(typeid(x).name()));
    w.write(std::string(x.what()));
  } catch (...) {
    out.clear();
    const std::type_info* t = abi::__cxa_current_exception_type();
    w.write(t ? demangle(t->name()) : std::string("unknown exception"));
    w.write(std::string());
  }
  return wire::kind::error;
}

struct pending {
  std::uint32_t seq;
  std::string frame;  // u16 name length | name | arguments
};

// Two threads share the worker's socket and jobs, leader/follower style: one
// reads requests while the other runs jobs; the thread that reads a job when
// none runs runs it itself (no hand-over on the way of a job) and the other
// thread becomes the reader. So a give_back is answered at once even while a
// long job runs, and a job waiting here can go to an idle worker.
struct worker_state {
  int sock;
  std::mutex mutex;
  std::condition_variable turn;  // a thread waits for a role
  std::deque<pending> jobs;      // received, not started
  bool running = false;          // a thread runs jobs
  bool reading = false;          // a thread reads the socket
  bool closed = false;
  std::string in;                // the reader's bytes not parsed yet
  std::mutex write_mutex;        // one response at a time on the socket
  std::string out;               // the runner's

  bool respond(wire::kind k, std::uint32_t seq, const std::string& payload) {
    char header[wire::response_header];
    auto len = static_cast<std::uint32_t>(wire::response_header - 4 + payload.size());
    std::memcpy(header, &len, 4);
    header[4] = static_cast<char>(k);
    std::memcpy(header + 5, &seq, 4);
    iovec iov[2] = {{header, sizeof header}, {const_cast<char*>(payload.data()), payload.size()}};
    std::lock_guard lock(write_mutex);
    return wire::write_all(sock, iov, 2);
  }

  // One blocking read, then every whole request in it: jobs are queued,
  // give_back answered. False at the end of the stream or on a bad frame.
  bool read_some(char* buffer, std::size_t size) {
    ssize_t n;
    while ((n = ::recv(sock, buffer, size, 0)) < 0 && errno == EINTR) {
    }
    if (n <= 0) return false;  // the pool closed (it does so when nothing is left in flight)
    in.append(buffer, static_cast<std::size_t>(n));
    std::size_t at = 0;
    while (in.size() - at >= wire::request_header) {
      std::uint32_t len, seq;
      std::memcpy(&len, in.data() + at, 4);
      if (len < wire::request_header - 4) return false;
      if (in.size() - at - 4 < len) break;
      auto type = static_cast<wire::request>(in[at + 4]);
      std::memcpy(&seq, in.data() + at + 5, 4);
      if (type == wire::request::job) {
        pending p{seq, in.substr(at + wire::request_header, len - (wire::request_header - 4))};
        std::lock_guard lock(mutex);
        jobs.push_back(std::move(p));
      } else {
        bool found;
        {
          std::lock_guard lock(mutex);
          auto it = std::find_if(jobs.begin(), jobs.end(), [&](const pending& j) { return j.seq == seq; });
          found = it != jobs.end();
          if (found) jobs.erase(it);
        }
        if (found && !respond(wire::kind::returned, seq, std::string())) return false;
      }
      at += 4 + std::size_t(len);
    }
    in.erase(0, at);
    return true;
  }

  void work() {
    constexpr std::size_t chunk = 64 * 1024;
    auto buffer = std::make_unique_for_overwrite<char[]>(chunk);
    std::unique_lock lock(mutex);
    for (;;) {
      if (!running && !jobs.empty()) {  // run what is queued
        running = true;
        while (!jobs.empty() && !closed) {
          pending job = std::move(jobs.front());
          jobs.pop_front();
          lock.unlock();
          std::uint16_t name_len;
          std::memcpy(&name_len, job.frame.data(), sizeof name_len);
          std::string_view frame(job.frame);
          out.clear();
          wire::kind k = run_one(frame.substr(2, name_len), frame.substr(2 + std::size_t(name_len)), out);
          bool sent = respond(k, job.seq, out);
          lock.lock();
          if (!sent) closed = true;
        }
        running = false;
        continue;
      }
      if (closed) {
        turn.notify_all();
        return;
      }
      if (!reading) {  // become the reader
        reading = true;
        lock.unlock();
        bool ok = read_some(buffer.get(), chunk);
        lock.lock();
        reading = false;
        if (!ok) closed = true;
        turn.notify_one();  // the other thread reads next if this one runs a job
        continue;
      }
      turn.wait(lock);
    }
  }
};

}  // namespace

void run_worker(int sock) noexcept {
  // The worker is a fresh fork of the single-threaded fork server: starting
  // a thread here is safe.
  auto state = std::make_unique<worker_state>();
  state->sock = sock;
  std::thread other([s = state.get()] { s->work(); });
  state->work();  // returns when the pool closed the socket or went away
  other.join();   // it returns too: the stream has ended for both
  std::fflush(nullptr);  // what the jobs printed; _exit: no static destructors, no leak check
  ::_exit(0);
}

}  // namespace aio::detail::fork_server
