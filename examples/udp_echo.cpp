// SPDX-License-Identifier: MIT
// UDP with create_datagram_endpoint: an echo server and a connected client on
// loopback, a datagram too long for the receiver's buffer (reported, not
// silently cut), and the ICMP "port unreachable" a connected client hears.
//
//   example_udp_echo          # runs the scenes and exits
//   example_udp_echo 9999     # serves UDP echo on 127.0.0.1:9999 until Ctrl-C
//                             # (try: nc -u 127.0.0.1 9999)
#include <cstdio>
#include <cstdlib>
#include <string>

#include "aio/aio.hpp"

namespace {

aio::datagram_options bind_to(unsigned short port) {
  aio::datagram_options o;
  o.local_addr = aio::host_port{"127.0.0.1", port};
  return o;
}
aio::datagram_options connect_to(unsigned short port) {
  aio::datagram_options o;
  o.remote_addr = aio::host_port{"127.0.0.1", port};
  return o;
}

unsigned short port_of(const aio::sock_address& a) {
  std::string s = a.to_string();
  return static_cast<unsigned short>(std::stoi(s.substr(s.rfind(':') + 1)));
}

aio::task<> serve(aio::datagram_endpoint& ep) {
  for (;;) {
    aio::datagram d = co_await ep.recvfrom(512);
    if (d.truncated)
      std::printf("server: a datagram from %s was longer than 512 bytes\n",
                  d.from.to_string().c_str());
    co_await ep.sendto(d.data, d.from);
  }
}

aio::task<> scenes() {
  auto server = co_await aio::create_datagram_endpoint(bind_to(0));
  unsigned short port = port_of(server.sockname());
  std::printf("server on %s\n", server.sockname().to_string().c_str());
  auto serving = aio::create_task(serve(server));

  auto client = co_await aio::create_datagram_endpoint(connect_to(port));
  for (const char* word : {"hello", "datagrams"}) {
    co_await client.send(word);
    std::printf("client got: %s\n", (co_await client.recv()).data.c_str());
  }
  co_await client.send(std::string(2000, 'x'));
  std::printf("client got %zu bytes back\n", (co_await client.recv()).data.size());

  serving.cancel();  // cancel-safe: no datagram is lost mid-way
  try {
    co_await serving;
  } catch (const aio::cancelled_error&) {
  }
  server.close();  // nobody listens on `port` any more
  co_await client.send("anyone?");
  try {
    co_await client.recv();
  } catch (const std::system_error& e) {
    std::printf("client: %s\n", e.what());
  }
}

aio::task<> serve_forever(unsigned short port) {
  auto server = co_await aio::create_datagram_endpoint(bind_to(port));
  std::printf("UDP echo on %s (Ctrl-C to stop)\n", server.sockname().to_string().c_str());
  co_await serve(server);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc > 1) {
      aio::run(serve_forever(static_cast<unsigned short>(std::atoi(argv[1]))));
    } else {
      aio::run(scenes());
    }
  } catch (const aio::keyboard_interrupt&) {
  }
}
