// SPDX-License-Identifier: MIT
// The server's lifecycle (create_server: handlers get the transport):
// accepting, task names, close / wait_closed / shutdown / close_clients,
// handler failures, max_connections, serve_forever and its cancellation.
#include <sys/socket.h>

#include <string>
#include <vector>

#include "aio_test.hpp"
#include "server_test_util.hpp"

using namespace std::chrono_literals;
using aio::test::read_n;
using aio::test::write_all;

namespace {

// Echoes until end of stream.
aio::task<> echo(std::unique_ptr<aio::transport> t) {
  std::byte buf[4096];
  for (;;) {
    std::size_t n = co_await t->read_some(buf);
    if (n == 0) co_return;
    co_await write_all(*t, std::string_view(reinterpret_cast<char*>(buf), n));
  }
}

aio::task<aio::server> echo_server(aio::server_options o = {}) {
  co_return co_await aio::create_server(echo, "127.0.0.1", 0, std::move(o));
}

aio::server_options not_serving() {
  aio::server_options o;
  o.start_serving = false;
  return o;
}

unsigned short port(const aio::server& s) { return s.sockets().at(0).port(); }

aio::task<std::string> round_trip(unsigned short p, std::string msg) {
  auto t = co_await aio::create_connection("127.0.0.1", p);
  co_await write_all(*t, msg);
  co_return co_await read_n(*t, msg.size());
}

}  // namespace

AIO_TEST_SUITE(server_lifecycle);

AIO_TEST(server_lifecycle, echoes_and_reports_its_socket) {
  auto srv = co_await echo_server();
  CO_ASSERT_EQ(srv.sockets().size(), 1u);
  EXPECT_EQ(srv.sockets()[0].family(), AF_INET);
  EXPECT_NE(port(srv), 0);
  EXPECT_TRUE(srv.is_serving());
  EXPECT_EQ(co_await round_trip(port(srv), "hello"), "hello");
  EXPECT_EQ(co_await round_trip(port(srv), std::string(100'000, 'x')), std::string(100'000, 'x'));
  srv.close();
  EXPECT_FALSE(srv.is_serving());
  EXPECT_TRUE(srv.sockets().empty());
  co_await srv.wait_closed();
}

AIO_TEST(server_lifecycle, handler_task_is_named_after_server_and_peer) {
  std::string name, peer;
  auto srv = co_await aio::create_server(
      [&](std::unique_ptr<aio::transport> t) -> aio::task<> {
        name = aio::current_task().get_name();
        peer = t->extra_info("peername").value_or("");
        co_return;
      },
      "127.0.0.1", 0);
  auto c = co_await aio::create_connection("127.0.0.1", port(srv));
  EXPECT_EQ(co_await aio::test::read_to_eof(*c), "");  // the handler returned: connection closed
  EXPECT_EQ(name, "server 127.0.0.1:" + std::to_string(port(srv)) + " conn " + peer);
  EXPECT_EQ(peer, c->extra_info("sockname").value());
}

AIO_TEST(server_lifecycle, close_refuses_new_connections_and_wait_closed_waits_for_handlers) {
  aio::event release;
  int started = 0;
  auto srv = co_await aio::create_server(
      [&](std::unique_ptr<aio::transport>) -> aio::task<> {
        ++started;
        co_await release.wait();
      },
      "127.0.0.1", 0);
  unsigned short p = port(srv);
  auto c = co_await aio::create_connection("127.0.0.1", p);
  while (started == 0) co_await aio::sleep(1ms);
  srv.close();
  srv.close();  // idempotent
  try {
    co_await aio::create_connection("127.0.0.1", p);
    ADD_FAILURE() << "connected to a closed server";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ECONNREFUSED);
  }
  auto waiter = aio::create_task(srv.wait_closed());
  co_await aio::sleep(5ms);
  EXPECT_FALSE(waiter.done());
  EXPECT_EQ(srv.active_connections(), 1u);
  release.set();
  co_await waiter;
  EXPECT_EQ(srv.active_connections(), 0u);
  co_await srv.wait_closed();  // already closed and drained: returns at once
}

AIO_VTEST(server_lifecycle, shutdown_cancels_a_handler_stuck_in_read_after_the_grace) {
  bool cancelled = false, polite_done = false;
  int started = 0;
  auto srv = co_await aio::create_server(
      [&](std::unique_ptr<aio::transport> t) -> aio::task<> {
        ++started;
        std::byte b[1];
        std::size_t n = co_await t->read_some(b);
        if (n == 1 && static_cast<char>(b[0]) == 'p') {
          co_await aio::sleep(50ms);  // finishes within the grace
          polite_done = true;
          co_return;
        }
        try {
          co_await t->read_some(b);  // stuck: the client never sends more
        } catch (const aio::cancelled_error&) {
          cancelled = true;
          throw;
        }
      },
      "127.0.0.1", 0);
  auto stuck = co_await aio::create_connection("127.0.0.1", port(srv));
  auto polite = co_await aio::create_connection("127.0.0.1", port(srv));
  co_await write_all(*stuck, "s");
  co_await write_all(*polite, "p");
  while (started < 2) co_await aio::sleep(1ms);
  auto t0 = aio::get_running_loop().time();
  co_await srv.shutdown(1s);
  EXPECT_GE(aio::get_running_loop().time() - t0, 1s);
  EXPECT_TRUE(polite_done);
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(srv.active_connections(), 0u);
  EXPECT_EQ(co_await aio::test::read_to_eof(*stuck), "");  // its connection was closed
}

AIO_VTEST(server_lifecycle, shutdown_returns_early_when_handlers_finish) {
  auto srv = co_await echo_server();
  auto c = co_await aio::create_connection("127.0.0.1", port(srv));
  co_await write_all(*c, "x");
  EXPECT_EQ(co_await read_n(*c, 1), "x");
  auto closer = aio::create_task([](aio::transport& t) -> aio::task<> {
    co_await aio::sleep(10ms);
    co_await t.write_eof();
  }(*c));
  auto t0 = aio::get_running_loop().time();
  co_await srv.shutdown(1h);
  EXPECT_LT(aio::get_running_loop().time() - t0, 1h);
  co_await closer;
}

AIO_TEST(server_lifecycle, handler_exception_is_logged_and_the_server_goes_on) {
  std::vector<std::string> logged;
  aio::get_running_loop().set_exception_handler(
      [&](aio::event_loop&, const aio::exception_context& c) {
        logged.push_back(c.message + " | " + c.task_name + " | " + aio::describe(c.exception));
      });
  int n = 0;
  auto srv = co_await aio::create_server(
      [&](std::unique_ptr<aio::transport> t) -> aio::task<> {
        if (++n == 1) throw std::runtime_error("handler bug");
        co_await echo(std::move(t));
      },
      "127.0.0.1", 0);
  auto first = co_await aio::create_connection("127.0.0.1", port(srv));
  EXPECT_EQ(co_await aio::test::read_to_eof(*first), "");  // its connection is closed
  EXPECT_EQ(co_await round_trip(port(srv), "still serving"), "still serving");
  CO_ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find("Unhandled exception in client_connected_cb"), std::string::npos)
      << logged[0];
  EXPECT_NE(logged[0].find("handler bug"), std::string::npos) << logged[0];
  EXPECT_NE(logged[0].find("server 127.0.0.1:"), std::string::npos) << logged[0];
  srv.close();
  co_await srv.wait_closed();
}

AIO_TEST(server_lifecycle, max_connections_holds_the_next_client_until_a_handler_finishes) {
  aio::server_options limit;
  limit.max_connections = 1;
  aio::event release;
  int running = 0, peak = 0, served = 0;
  auto srv = co_await aio::create_server(
      [&](std::unique_ptr<aio::transport> t) -> aio::task<> {
        peak = std::max(peak, ++running);
        if (served++ == 0) co_await release.wait();
        co_await write_all(*t, "hi");
        --running;
      },
      "127.0.0.1", 0, limit);
  auto a = co_await aio::create_connection("127.0.0.1", port(srv));
  auto b = co_await aio::create_connection("127.0.0.1", port(srv));  // completes in the backlog
  co_await aio::sleep(20ms);
  EXPECT_EQ(served, 1);  // the second waits: not accepted yet
  EXPECT_EQ(srv.active_connections(), 1u);
  release.set();
  EXPECT_EQ(co_await read_n(*a, 2), "hi");
  EXPECT_EQ(co_await read_n(*b, 2), "hi");
  EXPECT_EQ(served, 2);
  EXPECT_EQ(peak, 1);
}

AIO_TEST(server_lifecycle, start_serving_false_binds_without_listening) {
  auto srv = co_await echo_server(not_serving());
  EXPECT_FALSE(srv.is_serving());
  CO_ASSERT_EQ(srv.sockets().size(), 1u);
  EXPECT_THROW(co_await aio::create_connection("127.0.0.1", port(srv)), std::system_error);
  co_await srv.start_serving();
  co_await srv.start_serving();  // idempotent
  EXPECT_TRUE(srv.is_serving());
  EXPECT_EQ(co_await round_trip(port(srv), "now"), "now");
  srv.close();
  EXPECT_THROW(co_await srv.start_serving(), aio::invalid_state_error);
}

AIO_TEST(server_lifecycle, serve_forever_returns_when_closed_and_refuses_a_second_waiter) {
  auto srv = co_await echo_server(not_serving());
  auto forever = aio::create_task(srv.serve_forever());
  co_await aio::sleep(1ms);
  EXPECT_TRUE(srv.is_serving());
  EXPECT_THROW(co_await srv.serve_forever(), aio::invalid_state_error);
  EXPECT_EQ(co_await round_trip(port(srv), "x"), "x");
  srv.close();
  co_await forever;                                                      // returns normally
  EXPECT_THROW(co_await srv.serve_forever(), aio::invalid_state_error);  // closed
}

AIO_TEST(server_lifecycle, cancelling_serve_forever_closes_the_server_and_waits_for_handlers) {
  aio::event release;
  bool handler_done = false;
  auto srv = co_await aio::create_server(
      [&](std::unique_ptr<aio::transport>) -> aio::task<> {
        co_await release.wait();
        handler_done = true;
      },
      "127.0.0.1", 0);
  unsigned short p = port(srv);
  auto forever = aio::create_task(srv.serve_forever());
  auto c = co_await aio::create_connection("127.0.0.1", p);
  while (srv.active_connections() == 0) co_await aio::sleep(1ms);
  forever.cancel();
  co_await aio::sleep(5ms);
  EXPECT_FALSE(srv.is_serving());
  EXPECT_FALSE(forever.done());  // waits for the handler, as asyncio's does
  release.set();
  EXPECT_THROW(co_await forever, aio::cancelled_error);
  EXPECT_TRUE(handler_done);
  EXPECT_THROW(co_await aio::create_connection("127.0.0.1", p), std::system_error);
}

AIO_TEST(server_lifecycle, close_clients_ends_reads_and_abort_clients_resets) {
  std::vector<std::string> seen;
  int reading = 0;
  auto srv = co_await aio::create_server(
      [&](std::unique_ptr<aio::transport> t) -> aio::task<> {
        std::byte b[16];
        ++reading;
        std::size_t n = co_await t->read_some(b);
        seen.push_back(n == 0 ? "eof" : "data");
      },
      "127.0.0.1", 0);
  auto a = co_await aio::create_connection("127.0.0.1", port(srv));
  while (reading < 1) co_await aio::sleep(1ms);
  srv.close_clients();
  EXPECT_EQ(co_await aio::test::read_to_eof(*a), "");  // FIN
  while (srv.active_connections() > 0) co_await aio::sleep(1ms);
  CO_ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "eof");

  auto b = co_await aio::create_connection("127.0.0.1", port(srv));
  while (reading < 2) co_await aio::sleep(1ms);
  srv.abort_clients();
  try {
    co_await aio::test::read_to_eof(*b);
    ADD_FAILURE() << "an aborted connection ended cleanly";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ECONNRESET);
  }
  srv.close();
  co_await srv.wait_closed();
  EXPECT_EQ(seen.size(), 2u);
}

AIO_TEST(server_lifecycle, destroying_the_server_closes_it_and_moves_keep_it) {
  unsigned short p;
  {
    auto srv = co_await echo_server();
    aio::server moved = std::move(srv);
    EXPECT_FALSE(static_cast<bool>(srv));
    p = port(moved);
    EXPECT_EQ(co_await round_trip(p, "m"), "m");
    aio::server assigned;
    assigned = std::move(moved);
    EXPECT_EQ(co_await round_trip(p, "a"), "a");
  }
  EXPECT_THROW(co_await aio::create_connection("127.0.0.1", p), std::system_error);
  aio::server empty;
  EXPECT_THROW(empty.close(), aio::invalid_state_error);
}

AIO_TEST(server_lifecycle, a_busy_port_is_an_error_naming_the_address) {
  auto srv = co_await echo_server();
  try {
    co_await aio::create_server(echo, "127.0.0.1", port(srv));
    ADD_FAILURE() << "bound a port in use";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE);
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port(srv))),
              std::string::npos)
        << e.what();
  }
  aio::server_options bad;
  bad.backlog = -1;
  EXPECT_THROW(co_await aio::create_server(echo, "127.0.0.1", 0, bad), std::invalid_argument);
}

AIO_VTEST(server_lifecycle, tls_handshake_failures_and_timeouts_close_quietly) {
  std::vector<std::string> logged;
  aio::get_running_loop().set_exception_handler(
      [&](aio::event_loop&, const aio::exception_context& c) { logged.push_back(c.message); });
  auto tls = std::make_shared<aio::test::fake_tls>();
  aio::server_options so;
  so.ssl = tls;
  so.ssl_handshake_timeout = 2s;
  auto srv = co_await aio::create_server(echo, "127.0.0.1", 0, so);
  auto garbage = co_await aio::create_connection("127.0.0.1", port(srv));
  co_await write_all(*garbage,
                     "NOHELO");  // exactly what the fake reads: closed with nothing unread, a FIN
  EXPECT_EQ(co_await aio::test::read_to_eof(*garbage), "");  // refused by the handshake
  auto silent = co_await aio::create_connection("127.0.0.1", port(srv));
  auto t0 = aio::get_running_loop().time();
  EXPECT_EQ(co_await aio::test::read_to_eof(*silent), "");  // closed by the handshake timeout
  EXPECT_GE(aio::get_running_loop().time() - t0, 2s);
  aio::connect_options co;
  co.ssl = tls;
  auto good = co_await aio::create_connection("127.0.0.1", port(srv), co);
  co_await write_all(*good, "still serving");
  EXPECT_EQ(co_await read_n(*good, 13), "still serving");
  EXPECT_TRUE(logged.empty());  // as asyncio outside debug mode: a bad peer is not logged
}

AIO_TEST(server_lifecycle, close_clients_cancels_a_connection_in_its_tls_handshake) {
  auto tls = std::make_shared<aio::test::fake_tls>();
  tls->stall = true;
  aio::server_options so;
  so.ssl = tls;
  auto srv = co_await aio::create_server(echo, "127.0.0.1", 0, so);
  auto c = co_await aio::create_connection("127.0.0.1", port(srv));
  while (tls->server_handshakes < 1) co_await aio::sleep(1ms);
  EXPECT_EQ(srv.active_connections(), 1u);
  srv.close_clients();
  EXPECT_EQ(co_await aio::test::read_to_eof(*c), "");
  srv.close();
  co_await srv.wait_closed();
  EXPECT_EQ(srv.active_connections(), 0u);
}
