// SPDX-License-Identifier: MIT
// Client session resumption: tickets kept per server, each used once,
// forgotten when the context changes, a refused ticket is a full handshake.
#include <thread>
#include <vector>

#include "tls_test_util.hpp"

using namespace tls_test;
namespace tls = aio::tls;

namespace {

// A connection that reads something, so the client has processed the
// server's tickets (TLS 1.3 sends them after the handshake).
aio::task<tls_pair> talk(tls::context client, tls::context server) {
  auto p = co_await connect_pair(client, server);
  co_await write_all(*p.server, "hi");
  std::string got = co_await read_exactly(*p.client, 2);
  if (got != "hi") throw std::runtime_error("no data");
  co_return p;
}

std::string reused(const tls_pair& p) {
  return p.client->extra_info("session_reused").value_or("?");
}

}  // namespace

AIO_TEST_SUITE(tls_session);

AIO_TEST(tls_session, the_next_connection_resumes) {
  auto client = client_context();
  auto server = server_context();
  EXPECT_TRUE(client.session_resumption());
  auto first = co_await talk(client, server);
  EXPECT_EQ(reused(first), "false");
  auto second = co_await talk(client, server);
  EXPECT_EQ(reused(second), "true");
  EXPECT_EQ(second.server->extra_info("session_reused"), "true");
  EXPECT_EQ(second.client->extra_info("peercert"), certs().server_cert_pem);  // kept in the session
  co_await write_all(*second.client, "resumed");
  EXPECT_EQ(co_await read_exactly(*second.server, 7), "resumed");
}

AIO_TEST(tls_session, each_ticket_is_used_once) {
  auto client = client_context();
  auto server = server_context();
  co_await talk(client, server);  // two tickets arrive
  // Connections that do not read get no new tickets: two resume, the third cannot.
  auto a = co_await connect_pair(client, server);
  auto b = co_await connect_pair(client, server);
  auto c = co_await connect_pair(client, server);
  EXPECT_EQ(reused(a), "true");
  EXPECT_EQ(reused(b), "true");
  EXPECT_EQ(reused(c), "false");
}

AIO_TEST(tls_session, off_every_handshake_is_full) {
  auto client = client_context();
  client.set_session_resumption(false);
  EXPECT_FALSE(client.session_resumption());
  auto server = server_context();
  co_await talk(client, server);
  auto again = co_await talk(client, server);
  EXPECT_EQ(reused(again), "false");
}

AIO_TEST(tls_session, a_changed_setting_forgets_the_sessions) {
  auto client = client_context();
  auto server = server_context();
  co_await talk(client, server);
  client.set_alpn_protocols({"h2"});
  auto after = co_await talk(client, server);
  EXPECT_EQ(reused(after), "false");
}

AIO_TEST(tls_session, a_ticket_another_server_cannot_read_means_a_full_handshake) {
  auto client = client_context();
  co_await talk(client, server_context());
  auto other = co_await talk(client, server_context());  // other ticket keys, same name
  EXPECT_EQ(reused(other), "false");
  co_await write_all(*other.client, "fine");
  EXPECT_EQ(co_await read_exactly(*other.server, 4), "fine");
}

AIO_TEST(tls_session, tls12_sessions_resume_too) {
  auto client = client_context();
  auto server = server_context();
  server.set_maximum_version(tls::version::tls1_2);
  co_await talk(client, server);
  auto again = co_await talk(client, server);
  EXPECT_EQ(again.client->extra_info("version"), "TLSv1.2");
  EXPECT_EQ(reused(again), "true");
}

AIO_TEST(tls_session, a_resumed_session_keeps_the_client_certificate) {
  auto server = server_context();
  server.load_verify_locations({.cafile = certs().ca_file});
  server.set_verify_mode(tls::verify_mode::required);
  auto client = client_context();
  client.load_cert_chain(certs().client_cert, certs().client_key);
  co_await talk(client, server);
  auto again = co_await talk(client, server);
  EXPECT_EQ(reused(again), "true");
  EXPECT_NE(again.server->extra_info("peercert_subject").value_or("").find("CN=aiocpp test client"),
            std::string::npos);
}

TEST(tls_session_cache, server_contexts_do_not_resume_as_clients) {
  auto s = tls::context::server();
  EXPECT_FALSE(s.session_resumption());
  s.set_session_resumption(true);
  EXPECT_FALSE(s.session_resumption());
}

namespace {

aio::task<> many_talks(tls::context client, tls::context server, int n, int& resumed) {
  for (int i = 0; i < n; ++i) {
    auto p = co_await talk(client, server);
    if (reused(p) == "true") ++resumed;
  }
}

}  // namespace

TEST(tls_session_cache, one_context_shared_by_loops_on_several_threads) {
  auto client = client_context();
  auto server = server_context();
  constexpr int threads = 4, each = 10;
  std::vector<int> resumed(threads, 0);
  std::vector<std::thread> loops;
  for (int i = 0; i < threads; ++i)
    loops.emplace_back([&, i] { aio::run(many_talks(client, server, each, resumed[i])); });
  for (auto& t : loops) t.join();
  int total = 0;
  for (int r : resumed) total += r;
  // Every thread's first connection may be full; the rest find tickets.
  EXPECT_GE(total, threads * (each - 1) - threads);
}
