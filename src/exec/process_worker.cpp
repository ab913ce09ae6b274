// SPDX-License-Identifier: MIT
// A worker process: reads one request at a time, runs the registered job,
// writes its result or its exception, until the pool closes the socket.

#include <cxxabi.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
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

// Runs one request; fills `out` with the response payload, returns its kind.
wire::kind run_one(const std::string& request, std::string& out) {
  std::uint16_t name_len;
  std::memcpy(&name_len, request.data(), sizeof name_len);
  std::string_view name(request.data() + sizeof name_len, name_len);
  byte_reader args(std::string_view(request).substr(sizeof name_len + name_len));
  byte_writer w(out);
  try {
    const process_job_entry* e = find_process_job(name);
    if (!e)
      throw std::invalid_argument("the worker has no job named '" + std::string(name) +
                                  "' (registered after the fork server started?)");
    e->invoke(e->fn, args, w);
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

}  // namespace

void run_worker(int sock) noexcept {
  std::string request, out;
  for (;;) {
    std::uint32_t len;
    if (!wire::read_exact(sock, &len, sizeof len) || len < 2) break;
    request.resize(len);
    if (!wire::read_exact(sock, request.data(), len)) break;
    out.clear();
    wire::kind k = run_one(request, out);
    if (out.size() >= wire::max_frame) {
      out.clear();
      byte_writer w(out);
      w.write(std::string("std::length_error"));
      w.write(std::string("the job's result is larger than a frame (4 GiB)"));
      k = wire::kind::error;
    }
    char header[wire::response_header];
    std::uint32_t out_len = static_cast<std::uint32_t>(out.size() + 1);
    std::memcpy(header, &out_len, sizeof out_len);
    header[4] = static_cast<char>(k);
    iovec iov[2] = {{header, sizeof header}, {out.data(), out.size()}};
    if (!wire::write_all(sock, iov, 2)) break;
  }
  std::fflush(nullptr);  // what the jobs printed; _exit: no static destructors, no leak check
  ::_exit(0);
}

}  // namespace aio::detail::fork_server
