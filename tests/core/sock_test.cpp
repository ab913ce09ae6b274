// SPDX-License-Identifier: MIT
// sock_* awaitables against socket pairs, TCP on loopback, and a real peer
// (Python's asyncio echo server).
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(sock_test);

AIO_TEST(sock_test, send_and_recv_over_a_socket_pair) {
  aio::test::socket_pair p;
  co_await aio::sock_sendall(p.a, "hello");
  EXPECT_EQ(co_await aio::sock_recv(p.b, 100), "hello");
  ::shutdown(p.a, SHUT_WR);
  EXPECT_EQ(co_await aio::sock_recv(p.b, 100), "");  // end of stream
}

AIO_TEST(sock_test, partial_reads_with_a_small_buffer) {
  aio::test::socket_pair p;
  co_await aio::sock_sendall(p.a, "abcdefgh");
  char buf[3];
  std::string got;
  while (got.size() < 8) {
    std::size_t n = co_await aio::sock_recv_into(p.b, std::span<char>(buf, sizeof buf));
    CO_ASSERT_TRUE(n > 0 && n <= 3);
    got.append(buf, n);
  }
  EXPECT_EQ(got, "abcdefgh");
}

AIO_TEST(sock_test, recv_suspends_until_data_arrives) {
  aio::test::socket_pair p;
  auto reader = aio::create_task(aio::sock_recv(p.b, 16));
  co_await aio::sleep(2ms);
  EXPECT_FALSE(reader.done());
  co_await aio::sock_sendall(p.a, "late");
  EXPECT_EQ(co_await reader, "late");
}

AIO_TEST(sock_test, cancel_during_recv_consumes_nothing) {
  aio::test::socket_pair p;
  auto reader = aio::create_task(aio::sock_recv(p.b, 16));
  co_await aio::sleep(1ms);
  reader.cancel();
  EXPECT_THROW(co_await reader, aio::cancelled_error);
  co_await aio::sock_sendall(p.a, "kept");
  EXPECT_EQ(co_await aio::sock_recv(p.b, 16), "kept");
}

AIO_TEST(sock_test, cancel_during_accept_and_wait_readable) {
  aio::test::tcp_listener l;
  auto acceptor = aio::create_task([](int fd) -> aio::task<int> { co_return (co_await aio::sock_accept(fd)).fd; }(l.fd));
  aio::test::socket_pair p;
  auto waiter = aio::create_task([](int fd) -> aio::task<unsigned> { co_return co_await aio::wait_readable(fd); }(p.b));
  co_await aio::sleep(1ms);
  acceptor.cancel();
  waiter.cancel();
  EXPECT_THROW(co_await acceptor, aio::cancelled_error);
  EXPECT_THROW(co_await waiter, aio::cancelled_error);
  // The listener still works after the abandoned accept.
  int c = aio::test::tcp_socket();
  auto conn = aio::create_task([](int c, aio::sock_address a) -> aio::task<> { co_await aio::sock_connect(c, a); }(c, l.addr));
  auto acc = co_await aio::sock_accept(l.fd);
  co_await conn;
  EXPECT_GE(acc.fd, 0);
  EXPECT_EQ(acc.peer.family(), AF_INET);
  ::close(acc.fd);
  ::close(c);
}

AIO_TEST(sock_test, tcp_connect_accept_exchange) {
  aio::test::tcp_listener l;
  auto server = aio::create_task([](int lfd) -> aio::task<std::string> {
    auto a = co_await aio::sock_accept(lfd);
    std::string got = co_await aio::sock_recv(a.fd, 64);
    co_await aio::sock_sendall(a.fd, "pong:" + got);
    ::close(a.fd);
    co_return got;
  }(l.fd));
  int c = aio::test::tcp_socket();
  co_await aio::sock_connect(c, l.addr);
  co_await aio::sock_sendall(c, "ping");
  EXPECT_EQ(co_await aio::sock_recv(c, 64), "pong:ping");
  EXPECT_EQ(co_await server, "ping");
  EXPECT_EQ(co_await aio::sock_recv(c, 64), "");
  ::close(c);
  EXPECT_NE(l.addr.to_string().find("127.0.0.1:"), std::string::npos);
}

AIO_TEST(sock_test, connect_refused_names_the_address) {
  // Bind a port, then close it: nobody listens there.
  int probe = aio::test::tcp_socket();
  auto addr = aio::sock_address::from_ip("127.0.0.1", 0);
  ::bind(probe, addr.data(), addr.size);
  addr.size = sizeof addr.storage;
  ::getsockname(probe, addr.data(), &addr.size);
  ::close(probe);
  int c = aio::test::tcp_socket();
  try {
    co_await aio::sock_connect(c, addr);
    ADD_FAILURE() << "connect should fail";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ECONNREFUSED);
    EXPECT_NE(std::string(e.what()).find(addr.to_string()), std::string::npos) << e.what();
  }
  ::close(c);
}

AIO_TEST(sock_test, peer_reset_mid_read_is_an_error) {
  aio::test::tcp_listener l;
  int c = aio::test::tcp_socket();
  auto conn = aio::create_task([](int c, aio::sock_address a) -> aio::task<> { co_await aio::sock_connect(c, a); }(c, l.addr));
  auto a = co_await aio::sock_accept(l.fd);
  co_await conn;
  auto reader = aio::create_task(aio::sock_recv(c, 64));
  co_await aio::sleep(1ms);
  linger lg{1, 0};  // close with RST
  ::setsockopt(a.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  ::close(a.fd);
  try {
    co_await reader;
    ADD_FAILURE() << "expected ECONNRESET";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ECONNRESET);
  }
  ::close(c);
}

AIO_TEST(sock_test, sendall_larger_than_the_socket_buffer) {
  aio::test::socket_pair p;
  std::string big(8 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i / 4096 % 26);
  auto writer = aio::create_task(aio::sock_sendall(p.a, big));
  std::string got;
  std::vector<char> buf(65536);
  while (got.size() < big.size()) {
    std::size_t n = co_await aio::sock_recv_into(p.b, std::span<char>(buf));
    CO_ASSERT_TRUE(n > 0);
    got.append(buf.data(), n);
  }
  co_await writer;
  EXPECT_TRUE(got == big);
}

AIO_TEST(sock_test, cancel_during_sendall_stops_writing) {
  aio::test::socket_pair p;
  std::string big(8 << 20, 'y');
  auto writer = aio::create_task(aio::sock_sendall(p.a, big));
  co_await aio::sleep(2ms);  // the socket buffer is full: the writer waits
  EXPECT_FALSE(writer.done());
  writer.cancel();
  EXPECT_THROW(co_await writer, aio::cancelled_error);
  unsigned ev = co_await aio::wait_writable(p.b);
  EXPECT_TRUE(ev & POLLOUT);
}

AIO_TEST(sock_test, bad_fd_is_a_system_error) {
  EXPECT_THROW(co_await aio::sock_recv(-1, 10), std::system_error);
  EXPECT_THROW(aio::sock_address::from_ip("not-an-ip", 1), std::invalid_argument);
}

AIO_TEST(sock_test, python_asyncio_echo_server_is_a_real_peer) {
  // Python's asyncio streams on the other side: a peer nobody here wrote.
  const char* script =
      "import asyncio,sys\n"
      "async def h(r,w):\n"
      "    while d:=await r.read(65536):\n"
      "        w.write(d); await w.drain()\n"
      "    w.close()\n"
      "async def m():\n"
      "    s=await asyncio.start_server(h,'127.0.0.1',0)\n"
      "    print(s.sockets[0].getsockname()[1],flush=True)\n"
      "    await asyncio.sleep(30)\n"
      "asyncio.run(m())\n";
  aio::test::child_process py({"/usr/bin/python3", "-c", script});
  unsigned port = static_cast<unsigned>(std::stoul(py.read_line()));
  int c = aio::test::tcp_socket();
  co_await aio::sock_connect(c, aio::sock_address::from_ip("127.0.0.1", static_cast<unsigned short>(port)));
  std::string msg(100000, 'q');
  auto w = aio::create_task(aio::sock_sendall(c, msg));
  std::string got;
  while (got.size() < msg.size()) {
    auto part = co_await aio::wait_for(aio::sock_recv(c, 65536), 10s);
    CO_ASSERT_TRUE(!part.empty());
    got += part;
  }
  co_await w;
  EXPECT_EQ(got, msg);
  ::close(c);
}

// A wait for either direction completes when only one of them is ready (on
// epoll such a wait queues with the readers; writability must reach it).
AIO_TEST(sock_test, wait_for_either_direction_completes_on_writability_alone) {
  aio::test::socket_pair p;
  auto either = [](int fd) -> aio::task<unsigned> {
    unsigned events = co_await aio::detail::poll_awaiter(fd, POLLIN | POLLOUT);
    co_return events;
  };
  unsigned seen = co_await aio::wait_for(either(p.a), 5s);
  EXPECT_TRUE(seen & POLLOUT);
  EXPECT_FALSE(seen & POLLIN);  // nothing was sent
}

// A regular file cannot be watched by epoll (EPERM, as asyncio's add_reader
// refuses it), while io_uring calls it always ready: either way the wait ends
// at once, and a second wait on the same fd behaves the same (the refused
// registration left nothing behind).
AIO_TEST(sock_test, waiting_on_a_regular_file_ends_at_once) {
  aio::test::temp_file f("x");
  const bool epoll = aio::get_running_loop().backend_name() == "epoll";
  for (int i = 0; i < 2; ++i) {
    int err = 0;
    unsigned events = 0;
    try {
      events = co_await aio::wait_readable(f.fd);
    } catch (const std::system_error& e) {
      err = e.code().value();
    }
    if (epoll) {
      EXPECT_EQ(err, EPERM);
    } else {
      EXPECT_EQ(err, 0);
      EXPECT_TRUE(events & 0x001);
    }
  }
}
