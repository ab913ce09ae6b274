// SPDX-License-Identifier: MIT
// The plain fd transport: sockets and pipes, partial I/O, close with an
// operation in flight (the waiter must wake, the fd must not leak).
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "aio/aio.hpp"
#include "aio/net/transport.hpp"
#include "aio_test.hpp"

using namespace std::chrono_literals;
namespace {

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

bool fd_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

// Hands over one end of a socketpair (the pair no longer owns it).
int take(int& fd) { return std::exchange(fd, -1); }

}  // namespace

AIO_TEST_SUITE(fd_transport);

AIO_TEST(fd_transport, socket_round_trip_and_eof) {
  aio::test::socket_pair sp;
  auto a = aio::make_fd_transport(take(sp.a));
  auto b = aio::make_fd_transport(take(sp.b));
  CO_ASSERT_EQ(co_await a->write_some(bytes("hello")), 5u);
  std::byte buf[16];
  auto n = co_await b->read_some(buf);
  CO_ASSERT_EQ(std::string(reinterpret_cast<char*>(buf), n), "hello");
  co_await a->write_eof();
  CO_ASSERT_EQ(co_await b->read_some(buf), 0u);  // half-closed: end of stream
  CO_ASSERT_EQ(co_await b->write_some(bytes("back")), 4u);  // the other way still works
  n = co_await a->read_some(buf);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), n), "back");
  EXPECT_TRUE(a->extra_info("peername").has_value());
  EXPECT_FALSE(a->extra_info("cipher").has_value());
}

AIO_TEST(fd_transport, close_wakes_a_pending_read_and_releases_the_fd) {
  aio::test::socket_pair sp;
  int fd = sp.a;
  auto a = aio::make_fd_transport(take(sp.a));
  std::byte buf[8];
  auto reader = aio::create_task([](aio::transport& t, std::span<std::byte> b) -> aio::task<std::size_t> {
    co_return co_await t.read_some(b);
  }(*a, buf));
  co_await aio::sleep(1ms);
  EXPECT_FALSE(reader.done());
  a->close();
  EXPECT_TRUE(a->is_closing());
  EXPECT_EQ(a->fd(), -1);
  CO_ASSERT_EQ(co_await reader, 0u);  // closed under the reader: end of stream
  EXPECT_FALSE(fd_open(fd));
  EXPECT_THROW(co_await a->write_some(bytes("x")), std::system_error);
}

AIO_TEST(fd_transport, cancelled_read_consumes_nothing) {
  aio::test::socket_pair sp;
  auto a = aio::make_fd_transport(take(sp.a));
  auto b = aio::make_fd_transport(take(sp.b));
  std::byte buf[8];
  auto reader = aio::create_task([](aio::transport& t, std::span<std::byte> b) -> aio::task<std::size_t> {
    co_return co_await t.read_some(b);
  }(*a, buf));
  co_await aio::sleep(1ms);
  reader.cancel();
  EXPECT_THROW(co_await reader, aio::cancelled_error);
  co_await b->write_some(bytes("kept"));
  auto n = co_await a->read_some(buf);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), n), "kept");
}

AIO_TEST(fd_transport, pipe_waits_for_data_and_reports_eof) {
  int p[2];
  CO_ASSERT_EQ(::pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
  auto r = aio::make_fd_transport(p[0], false);
  auto w = aio::make_fd_transport(p[1], false);
  std::byte buf[8];
  auto reader = aio::create_task([](aio::transport& t, std::span<std::byte> b) -> aio::task<std::size_t> {
    co_return co_await t.read_some(b);
  }(*r, buf));
  co_await aio::sleep(1ms);
  EXPECT_FALSE(reader.done());
  co_await w->write_some(bytes("pipe"));
  CO_ASSERT_EQ(co_await reader, 4u);
  co_await w->write_eof();  // closes the write end
  EXPECT_TRUE(w->is_closing());
  EXPECT_EQ(co_await r->read_some(buf), 0u);
}

AIO_TEST(fd_transport, full_pipe_write_suspends_until_drained_and_close_fails_it) {
  int p[2];
  CO_ASSERT_EQ(::pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
  auto r = aio::make_fd_transport(p[0], false);
  auto w = aio::make_fd_transport(p[1], false);
  std::string big(1 << 20, 'x');  // more than a pipe holds
  std::size_t sent = co_await w->write_some(bytes(big));
  CO_ASSERT_TRUE(sent < big.size());  // a partial write
  auto writer = aio::create_task([](aio::transport& t, std::string_view rest) -> aio::task<std::size_t> {
    co_return co_await t.write_some(bytes(rest));
  }(*w, std::string_view(big).substr(sent)));
  co_await aio::sleep(1ms);
  EXPECT_FALSE(writer.done());
  w->close();
  EXPECT_THROW(co_await writer, std::system_error);
}
