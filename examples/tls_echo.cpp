// SPDX-License-Identifier: MIT
// TLS the way Python's ssl module does it: a server context from a
// certificate and key, a client context that verifies the server and its
// name, ALPN, and the error a failed verification gives.
//
//   ./example_tls_echo                   # server and client in one run (a throwaway certificate)
//   ./example_tls_echo example.com 443   # a HEAD request to a real server, verified against the
//   system CAs
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "aio/aio.hpp"

namespace {

// The handler of each TLS connection: by now the handshake is done.
aio::task<> shout(aio::stream_reader reader, aio::stream_writer writer) {
  std::string line = co_await reader.readline();
  for (auto& c : line) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  co_await writer.write(line);
  writer.close();  // sends close_notify, then closes
  co_await writer.wait_closed();
}

// Python: ssl.SSLContext(PROTOCOL_TLS_SERVER); ctx.load_cert_chain(cert, key)
aio::task<> demo(const std::string& cert, const std::string& key) {
  auto server_ctx = aio::tls::context::server(cert, key);
  server_ctx.set_alpn_protocols({"echo/1"});
  aio::server_options so;
  so.ssl = server_ctx;
  aio::server srv = co_await aio::start_server(shout, "127.0.0.1", 0, so);
  std::string address = srv.sockets().at(0).to_string();  // "127.0.0.1:40123"
  auto port = static_cast<unsigned short>(std::stoi(address.substr(address.rfind(':') + 1)));

  // Python: ssl.create_default_context(cafile=cert): verify the server, check its name.
  auto client_ctx =
      aio::tls::create_default_context(aio::tls::purpose::server_auth, {.cafile = cert});
  client_ctx.set_alpn_protocols({"echo/1", "http/1.1"});
  aio::connect_options o;
  o.ssl = client_ctx;
  o.server_hostname = "localhost";  // what the certificate must name (and the SNI sent)
  auto [reader, writer] = co_await aio::open_connection("127.0.0.1", port, o);
  std::printf("connected: %s, %s, ALPN %s\n",
              writer.get_extra_info("version").value_or("?").c_str(),
              writer.get_extra_info("cipher").value_or("?").c_str(),
              writer.get_extra_info("alpn_protocol").value_or("none").c_str());
  std::printf("server certificate: %s\n",
              writer.get_extra_info("peercert_subject").value_or("?").c_str());
  co_await writer.write("hello over tls\n");
  std::printf("got: %s", (co_await reader.readline()).c_str());

  // The same server, but the client trusts only the system CAs: refused.
  aio::connect_options strict;
  strict.ssl = aio::tls::create_default_context();
  strict.server_hostname = "localhost";
  try {
    co_await aio::open_connection("127.0.0.1", port, strict);
  } catch (const aio::tls::error& e) {
    std::printf("as expected: %s\n", e.what());
  }
  srv.close();
  co_await srv.wait_closed();
}

// A HEAD request to a real HTTPS server.
aio::task<> fetch(std::string host, unsigned short port) {
  aio::connect_options o;
  auto ctx = aio::tls::create_default_context();
  ctx.set_alpn_protocols({"http/1.1"});
  o.ssl = ctx;
  o.connect_timeout = std::chrono::seconds(10);
  auto [reader, writer] = co_await aio::open_connection(host, port, o);
  std::printf("%s: %s, %s\n", host.c_str(), writer.get_extra_info("version").value_or("?").c_str(),
              writer.get_extra_info("cipher").value_or("?").c_str());
  co_await writer.write("HEAD / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
  std::printf("%s", (co_await reader.readline()).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 3) {
      aio::run(fetch(argv[1], static_cast<unsigned short>(std::atoi(argv[2]))));
      return 0;
    }
    // A throwaway self-signed certificate for localhost (the openssl command).
    auto dir =
        std::filesystem::temp_directory_path() / ("aio-tls-example-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "
        "/CN=localhost"
        " -addext subjectAltName=DNS:localhost -keyout " +
        key + " -out " + cert + " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "example_tls_echo: the openssl command failed\n");
      return 1;
    }
    aio::run(demo(cert, key));
    std::filesystem::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "example_tls_echo: %s\n", e.what());
    return 1;
  }
}
