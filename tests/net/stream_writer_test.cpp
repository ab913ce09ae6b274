// SPDX-License-Identifier: MIT
// stream_writer: the kernel-first write, backpressure, drain, close and
// write_eof, failures of the connection, extra info.
#include "stream_test_util.hpp"

using namespace std::chrono_literals;
using stream_test::pattern;

AIO_TEST_SUITE(stream_writer);

namespace {

// Writes `count` copies of `chunk`, checking after each one that at most
// one message sits above the high-water mark.
aio::task<> write_many(aio::stream_writer& w, const std::string& chunk, int count,
                       std::size_t high) {
  for (int i = 0; i < count; ++i) {
    co_await w.write(chunk);
    EXPECT_LE(w.buffer_size(), high + chunk.size());
  }
}

aio::task<> drain_once(aio::stream_writer& w) { co_await w.drain(); }

}  // namespace

AIO_TEST(stream_writer, small_write_goes_straight_to_the_kernel) {
  auto [a, b] = co_await stream_test::tcp_pair();
  co_await a.second.write("ping");
  EXPECT_EQ(a.second.buffer_size(), 0u);  // no flusher needed
  co_await a.second.write("");            // nothing to do
  co_await a.second.drain();
  EXPECT_EQ(co_await b.first.readexactly(4), "ping");
}

AIO_TEST(stream_writer, write_suspends_above_high_water_and_memory_stays_bounded) {
  auto [fc, fs] = co_await stream_test::tcp_fds();
  stream_test::small_buffers(fc);
  stream_test::small_buffers(fs);
  constexpr std::size_t high = 64 * 1024;
  auto a =
      aio::make_streams(aio::make_fd_transport(fc), {.high_water = high, .low_water = 16 * 1024});
  auto b = aio::make_streams(aio::make_fd_transport(fs));
  std::string chunk = pattern(10000);
  constexpr int count = 200;
  auto writer = aio::create_task(write_many(a.second, chunk, count, high));
  auto& w = a.second;
  EXPECT_TRUE(
      co_await stream_test::eventually([&] { return w.buffer_size() > high - chunk.size(); }));
  EXPECT_FALSE(writer.done());  // the peer reads nothing: write() had to wait
  EXPECT_LE(a.second.buffer_size(), high + chunk.size());
  std::string got = co_await b.first.readexactly(chunk.size() * count);
  co_await writer;
  for (int i = 0; i < count; ++i)
    EXPECT_TRUE(got.compare(i * chunk.size(), chunk.size(), chunk) == 0);
}

AIO_TEST(stream_writer, every_concurrent_drain_waiter_wakes) {
  auto [fc, fs] = co_await stream_test::tcp_fds();
  stream_test::small_buffers(fc);
  stream_test::small_buffers(fs);
  auto a = aio::make_streams(aio::make_fd_transport(fc));
  auto b = aio::make_streams(aio::make_fd_transport(fs));
  std::string big = pattern(4 << 20);
  co_await a.second.write(big);
  CO_ASSERT_TRUE(a.second.buffer_size() > 0);
  std::vector<aio::task_handle<>> drains;
  for (int i = 0; i < 5; ++i) drains.push_back(aio::create_task(drain_once(a.second)));
  co_await aio::sleep(2ms);
  for (auto& d : drains) EXPECT_FALSE(d.done());
  std::string got = co_await b.first.readexactly(big.size());
  for (auto& d : drains) co_await d;  // all woke, none threw
  EXPECT_EQ(a.second.buffer_size(), 0u);
  EXPECT_TRUE(got == big);
}

AIO_TEST(stream_writer, close_flushes_buffered_bytes_then_closes) {
  auto [fc, fs] = co_await stream_test::tcp_fds();
  stream_test::small_buffers(fc);
  stream_test::small_buffers(fs);
  auto a = aio::make_streams(aio::make_fd_transport(fc));
  auto b = aio::make_streams(aio::make_fd_transport(fs));
  std::string big = pattern(2 << 20);
  co_await a.second.write(big);
  CO_ASSERT_TRUE(a.second.buffer_size() > 0);
  a.second.close();  // returns at once
  EXPECT_TRUE(a.second.is_closing());
  EXPECT_THROW(co_await a.second.write("late"), aio::invalid_state_error);
  std::string got = co_await b.first.read();  // to end of stream
  EXPECT_TRUE(got == big);
  co_await a.second.wait_closed();
  EXPECT_EQ(a.second.socket_fd(), -1);
}

AIO_TEST(stream_writer, dropping_reader_and_writer_flushes_then_closes) {
  auto [fc, fs] = co_await stream_test::tcp_fds();
  stream_test::small_buffers(fc);
  stream_test::small_buffers(fs);
  auto b = aio::make_streams(aio::make_fd_transport(fs));
  std::string big = pattern(1 << 20);
  {
    auto a = aio::make_streams(aio::make_fd_transport(fc));
    co_await a.second.write(big);
    CO_ASSERT_TRUE(a.second.buffer_size() > 0);
  }
  std::string got = co_await b.first.read();
  EXPECT_TRUE(got == big);
}

AIO_TEST(stream_writer, half_close_works_both_ways) {
  auto [a, b] = co_await stream_test::tcp_pair();
  EXPECT_TRUE(a.second.can_write_eof());
  co_await a.second.write("request");
  a.second.write_eof();
  a.second.write_eof();  // idempotent
  EXPECT_THROW(co_await a.second.write("more"), aio::invalid_state_error);
  EXPECT_EQ(co_await b.first.read(), "request");  // to end of stream
  EXPECT_TRUE(b.first.at_eof());
  co_await b.second.write("response");
  b.second.write_eof();
  EXPECT_EQ(co_await a.first.read(), "response");
  EXPECT_TRUE(a.first.at_eof());
  EXPECT_FALSE(a.second.is_closing());
}

AIO_TEST(stream_writer, peer_reset_mid_write_fails_drain_and_later_writes) {
  auto [fc, fs] = co_await stream_test::tcp_fds();
  stream_test::small_buffers(fc);
  stream_test::small_buffers(fs);
  auto a = aio::make_streams(aio::make_fd_transport(fc));
  co_await a.second.write(pattern(1 << 20));
  CO_ASSERT_TRUE(a.second.buffer_size() > 0);
  auto drain = aio::create_task(drain_once(a.second));
  co_await aio::sleep(2ms);
  stream_test::reset_and_close(fs);
  int err = 0;
  try {
    co_await drain;
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  EXPECT_TRUE(err == ECONNRESET || err == EPIPE) << err;
  EXPECT_TRUE(a.second.is_closing());
  EXPECT_THROW(co_await a.second.write("x"), std::system_error);
  EXPECT_THROW(co_await a.second.wait_closed(), std::system_error);
  EXPECT_THROW(co_await a.first.read(1), std::system_error);  // the connection is gone both ways
}

AIO_TEST(stream_writer, peer_reset_mid_read_is_a_system_error) {
  auto [fc, fs] = co_await stream_test::tcp_fds();
  auto a = aio::make_streams(aio::make_fd_transport(fc));
  ::send(fs, "part", 4, 0);
  auto pending = aio::create_task(a.first.readexactly(100));
  auto& r = a.first;
  CO_ASSERT_TRUE(co_await stream_test::eventually([&] { return r.buffer_size() == 4; }));
  stream_test::reset_and_close(fs);
  int err = 0;
  try {
    co_await pending;
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  EXPECT_EQ(err, ECONNRESET);
  EXPECT_EQ(a.first.buffer_size(), 4u);  // bytes received before the reset stay readable
  EXPECT_EQ(co_await a.first.read(4), "part");
  EXPECT_THROW(co_await a.first.read(1), std::system_error);
  EXPECT_THROW(co_await a.second.drain(), std::system_error);
}

namespace {
aio::task<> send_messages(aio::stream_writer& w, char id, int count) {
  for (int i = 0; i < count; ++i) {
    std::string msg =
        std::string(1, id) + std::to_string(i) + ":" + std::string(3000 + i % 7 * 500, id) + "\n";
    if (i % 2) {
      co_await w.write(msg);
    } else {
      std::string_view v(msg);
      const std::string_view parts[] = {v.substr(0, 10), v.substr(10, 1000), v.substr(1010)};
      co_await w.writelines(parts);
    }
  }
}
}  // namespace

AIO_TEST(stream_writer, concurrent_writers_never_split_a_message) {
  auto [fc, fs] = co_await stream_test::tcp_fds();
  stream_test::small_buffers(fc);
  auto a = aio::make_streams(aio::make_fd_transport(fc), {.high_water = 8192, .low_water = 2048});
  auto b = aio::make_streams(aio::make_fd_transport(fs));
  constexpr int count = 150;
  std::vector<aio::task_handle<>> senders;
  for (char id : std::string("ABCD"))
    senders.push_back(aio::create_task(send_messages(a.second, id, count)));
  int next[4] = {0, 0, 0, 0};
  for (int n = 0; n < 4 * count; ++n) {
    std::string line = co_await b.first.readline();
    CO_ASSERT_TRUE(line.size() > 3);
    char id = line[0];
    CO_ASSERT_TRUE(id >= 'A' && id <= 'D');
    int& expect = next[id - 'A'];
    std::string head = std::string(1, id) + std::to_string(expect) + ":";
    EXPECT_EQ(line.substr(0, head.size()), head);
    EXPECT_EQ(line.size(), head.size() + 3000 + expect % 7 * 500 + 1);
    EXPECT_EQ(line.find_first_not_of(id, head.size()), line.size() - 1);  // only its own bytes
    ++expect;
  }
  for (auto& s : senders) co_await s;
}

AIO_TEST(stream_writer, extra_info_and_transport) {
  auto [a, b] = co_await stream_test::tcp_pair();
  auto peer = a.second.get_extra_info("peername");
  auto mine = b.second.get_extra_info("sockname");
  CO_ASSERT_TRUE(peer && mine);
  EXPECT_EQ(*peer, *mine);
  EXPECT_EQ(peer->rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(a.second.get_extra_info("socket"), std::to_string(a.second.socket_fd()));
  EXPECT_EQ(a.second.transport().fd(), a.second.socket_fd());
  EXPECT_FALSE(a.second.get_extra_info("peercert").has_value());
  EXPECT_EQ(a.second.native_handle("ssl_object"), nullptr);
  a.second.close();
  co_await a.second.wait_closed();
  EXPECT_FALSE(a.second.get_extra_info("socket").has_value());
}

AIO_TEST(stream_writer, limits_are_checked) {
  aio::test::socket_pair sp;
  EXPECT_THROW(aio::make_streams(aio::make_fd_transport(std::exchange(sp.a, -1)),
                                 {.high_water = 1, .low_water = 2}),
               std::invalid_argument);
  EXPECT_THROW(aio::make_streams(nullptr), std::invalid_argument);
  auto s = aio::make_streams(aio::make_fd_transport(std::exchange(sp.b, -1)));
  EXPECT_THROW(s.second.set_write_buffer_limits(10, 20), std::invalid_argument);
  s.second.set_write_buffer_limits(1000);
  s.second.close();
  s.second.close();  // idempotent
  co_await s.second.wait_closed();
  aio::stream_writer empty;
  EXPECT_THROW((void)empty.write("x"), aio::invalid_state_error);
}
