// SPDX-License-Identifier: MIT
// The aiocpp side of `./scripts/bench net`; net_bench.py is the same in
// asyncio / uvloop. The server runs its own loop on a thread pinned to CPU 0,
// the client its loop on the main thread pinned to CPU 1 (as
// ../shared/limits/pingpong.c does), over loopback, with streams on both sides.
//
//   net_bench <workload> [--seconds S] [--n N] [--cert C --key K]
//   workloads: pingpong echo64 bulk accept tls_handshake tls_resume tls_bulk
//   (tls_handshake: full handshakes, as Python makes them; tls_resume: the
//   client context's session resumption on, aiocpp's default)
//
// Prints one JSON object: {"workload", "value", "unit", "n", ...}.

#include <pthread.h>
#include <sched.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "aio/aio.hpp"
#include "aio/net/open_connection.hpp"
#include "aio/net/start_server.hpp"
#include "aio/net/stream.hpp"
#include "aio/tls/context.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
constexpr std::size_t msg_size = 100;

struct args_t {
  std::string workload;
  double seconds = 5;
  std::size_t n = 0;
  std::string cert, key;
};

void pin(int cpu) {
  if (std::thread::hardware_concurrency() < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

void print_result(const std::string& workload, double value, const char* unit, std::size_t n) {
  std::printf("{\"workload\": \"%s\", \"value\": %.6g, \"unit\": \"%s\", \"n\": %zu}\n", workload.c_str(), value,
              unit, n);
}

// --- the server: its own thread and loop ---------------------------------------

aio::task<> echo(aio::stream_reader reader, aio::stream_writer writer) {
  // Not zero-filled: a connection that makes one round trip (accept) would
  // spend more on clearing 64 KiB than on its reads.
  constexpr std::size_t size = 65536;
  const auto buf = std::make_unique_for_overwrite<char[]>(size);
  try {
    for (;;) {
      const std::size_t n = co_await reader.read_into(std::span<char>(buf.get(), size));
      if (n == 0) break;
      co_await writer.write(std::string_view(buf.get(), n));
    }
  } catch (const std::system_error&) {
    // the client reset: nothing to do
  }
  writer.close();
}

// Reads an 8-byte length, then that many bytes; answers one byte.
aio::task<> sink(aio::stream_reader reader, aio::stream_writer writer) {
  std::string head = co_await reader.readexactly(8);
  std::uint64_t want = 0;
  std::memcpy(&want, head.data(), 8);
  std::uint64_t got = 0;
  std::vector<char> buf(1 << 18);
  while (got < want) {
    const std::size_t n = co_await reader.read_into(std::span<char>(buf));
    if (n == 0) break;
    got += n;
  }
  co_await writer.write("k");
  writer.close();
  co_await writer.wait_closed();
}

class server_thread {
 public:
  server_thread(bool bulk, std::shared_ptr<const aio::secure_layer> ssl) {
    std::promise<unsigned short> port;
    auto ready = port.get_future();
    thread_ = std::thread([&, bulk, ssl] {
      pin(0);
      try {
        aio::run(serve(bulk, ssl, port));
      } catch (...) {
        try {
          port.set_exception(std::current_exception());
        } catch (const std::future_error&) {
          std::fputs("net_bench: the server failed after starting\n", stderr);
        }
      }
    });
    try {
      port_ = ready.get();
    } catch (...) {
      thread_.join();
      throw;
    }
  }
  ~server_thread() {
    loop_->call_soon_threadsafe([this] { stop_.set(); });
    thread_.join();
  }
  unsigned short port() const noexcept { return port_; }

 private:
  aio::task<> serve(bool bulk, std::shared_ptr<const aio::secure_layer> ssl, std::promise<unsigned short>& port) {
    loop_ = &aio::get_running_loop();
    aio::server_options options;
    options.backlog = 1024;
    options.ssl = std::move(ssl);
    // (Not a ?: of two co_awaits: GCC 12 destroys the result twice.)
    aio::server srv;
    if (bulk) srv = co_await aio::start_server(sink, "127.0.0.1", 0, options);
    else srv = co_await aio::start_server(echo, "127.0.0.1", 0, options);
    port.set_value(srv.sockets().at(0).port());
    co_await stop_.wait();
    srv.close();
    co_await srv.wait_closed();
  }

  aio::event_loop* loop_ = nullptr;
  aio::event stop_;
  std::thread thread_;
  unsigned short port_ = 0;
};

// --- the client workloads ------------------------------------------------------

struct result {
  double value;
  const char* unit;
  std::size_t n;
};

aio::task<result> pingpong(unsigned short port, double seconds) {
  auto [reader, writer] = co_await aio::open_connection("127.0.0.1", port);
  const std::string msg(msg_size, 'x');
  std::size_t n = 0;
  const auto t0 = clock_type::now();
  while (seconds_since(t0) < seconds) {
    for (int i = 0; i < 100; ++i) {
      co_await writer.write(msg);
      co_await reader.readexactly(msg_size);
    }
    n += 100;
  }
  const double elapsed = seconds_since(t0);
  writer.close();
  co_return result{static_cast<double>(n) / elapsed, "round trips/s", n};
}

aio::task<> echo_client(unsigned short port, const bool& stop, std::size_t& count) {
  auto [reader, writer] = co_await aio::open_connection("127.0.0.1", port);
  const std::string msg(msg_size, 'y');
  while (!stop) {
    co_await writer.write(msg);
    co_await reader.readexactly(msg_size);
    ++count;
  }
  writer.close();
}

aio::task<result> echo64(unsigned short port, double seconds, std::size_t conns) {
  if (conns == 0) conns = 64;
  bool stop = false;
  std::vector<std::size_t> counts(conns);
  std::vector<aio::task_handle<>> clients;
  for (std::size_t i = 0; i < conns; ++i) clients.push_back(aio::create_task(echo_client(port, stop, counts[i])));
  co_await aio::sleep(200ms);  // all connected and running
  auto total = [&] {
    std::size_t s = 0;
    for (auto c : counts) s += c;
    return s;
  };
  const std::size_t c0 = total();
  const auto t0 = clock_type::now();
  co_await aio::sleep(std::chrono::duration<double>(seconds));
  const std::size_t n = total() - c0;
  const double elapsed = seconds_since(t0);
  stop = true;
  co_await aio::gather(std::move(clients));
  co_return result{static_cast<double>(n) / elapsed, "messages/s", n};
}

aio::task<result> bulk(unsigned short port, std::size_t bytes, std::shared_ptr<const aio::secure_layer> ssl) {
  aio::connect_options options;
  options.ssl = std::move(ssl);
  if (options.ssl) options.server_hostname = "localhost";
  auto [reader, writer] = co_await aio::open_connection("127.0.0.1", port, options);
  const std::string chunk(1 << 18, 'z');
  const auto t0 = clock_type::now();
  std::uint64_t want = bytes;
  co_await writer.write(std::string_view(reinterpret_cast<const char*>(&want), 8));
  std::size_t sent = 0;
  while (sent < bytes) {
    const std::size_t part = std::min(chunk.size(), bytes - sent);
    co_await writer.write(std::string_view(chunk).substr(0, part));
    sent += part;
  }
  co_await reader.readexactly(1);
  const double elapsed = seconds_since(t0);
  writer.close();
  co_return result{static_cast<double>(bytes) / elapsed / 1e6, "MB/s", bytes};
}

aio::task<> connector(unsigned short port, std::size_t count, std::shared_ptr<const aio::secure_layer> ssl) {
  aio::connect_options options;
  options.ssl = std::move(ssl);
  if (options.ssl) options.server_hostname = "localhost";
  const std::string msg(msg_size, 'a');
  for (std::size_t i = 0; i < count; ++i) {
    auto [reader, writer] = co_await aio::open_connection("127.0.0.1", port, options);
    co_await writer.write(msg);
    co_await reader.readexactly(msg_size);
    writer.close();
    co_await writer.wait_closed();
  }
}

aio::task<result> accept(unsigned short port, std::size_t n, std::shared_ptr<const aio::secure_layer> ssl) {
  const std::size_t concurrency = 32;
  const std::size_t per = std::max<std::size_t>(1, n / concurrency);
  std::vector<aio::task_handle<>> clients;
  const auto t0 = clock_type::now();
  for (std::size_t i = 0; i < concurrency; ++i) clients.push_back(aio::create_task(connector(port, per, ssl)));
  co_await aio::gather(std::move(clients));
  const double elapsed = seconds_since(t0);
  const std::size_t total = per * concurrency;
  co_return result{static_cast<double>(total) / elapsed, ssl ? "handshakes/s" : "connections/s", total};
}

args_t parse(int argc, char** argv) {
  if (argc < 2) throw std::invalid_argument("usage: net_bench <workload> [--seconds S] [--n N] [--cert C --key K]");
  args_t a;
  a.workload = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--seconds") a.seconds = std::stod(argv[i + 1]);
    else if (flag == "--n") a.n = std::stoull(argv[i + 1]);
    else if (flag == "--cert") a.cert = argv[i + 1];
    else if (flag == "--key") a.key = argv[i + 1];
    else throw std::invalid_argument("net_bench: unknown option " + flag);
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) try {
  const args_t a = parse(argc, argv);
  const bool tls = a.workload.starts_with("tls_");
  std::shared_ptr<const aio::secure_layer> server_ssl, client_ssl;
  if (tls) {
    if (a.cert.empty()) throw std::invalid_argument("net_bench: tls workloads need --cert and --key");
    server_ssl = aio::tls::context::server(a.cert, a.key);
    auto client = aio::tls::context::client();
    aio::tls::verify_locations ca;
    ca.cafile = a.cert;
    client.load_verify_locations(ca);  // verifying, as the Python side does
    client.set_session_resumption(a.workload == "tls_resume");
    client_ssl = client;
  }
  const bool to_sink = a.workload == "bulk" || a.workload == "tls_bulk";
  server_thread server(to_sink, server_ssl);
  pin(1);
  result r{};
  if (a.workload == "pingpong") r = aio::run(pingpong(server.port(), a.seconds));
  else if (a.workload == "echo64") r = aio::run(echo64(server.port(), a.seconds, a.n));
  else if (to_sink) r = aio::run(bulk(server.port(), a.n ? a.n : std::size_t{1} << 30, client_ssl));
  else if (a.workload == "accept" || a.workload == "tls_handshake" || a.workload == "tls_resume")
    r = aio::run(accept(server.port(), a.n ? a.n : 20000, client_ssl));
  else throw std::invalid_argument("net_bench: unknown workload " + a.workload);
  print_result(a.workload, r.value, r.unit, r.n);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "net_bench: %s\n", e.what());
  return 1;
}
