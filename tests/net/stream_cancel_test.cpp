// SPDX-License-Identifier: MIT
// Cancellation at every suspension point of the streams: reads keep their
// bytes, a cancelled write took nothing, drain / wait_closed / sendfile
// leave the stream usable.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "stream_test_util.hpp"

using namespace std::chrono_literals;
using stream_test::pattern;

AIO_TEST_SUITE(stream_cancel);

namespace {

using read_fn = aio::task<std::string> (*)(aio::stream_reader&);

aio::task<std::string> read_exactly_10(aio::stream_reader& r) {
  co_return co_await r.readexactly(10);
}
aio::task<std::string> read_line(aio::stream_reader& r) { co_return co_await r.readline(); }
aio::task<std::string> read_until_end(aio::stream_reader& r) {
  co_return co_await r.readuntil("END");
}
aio::task<std::string> read_to_eof(aio::stream_reader& r) { co_return co_await r.read(); }
aio::task<std::string> read_some(aio::stream_reader& r) { co_return co_await r.read(100); }
aio::task<std::string> read_into_big(aio::stream_reader& r) {
  std::string b(8192, '\0');
  b.resize(co_await r.read_into(std::span(b)));
  co_return b;
}

// Starts `fn`, feeds `first` (not enough to finish it), cancels it, then
// feeds `rest`: the next `fn` must return first + rest, nothing lost.
aio::task<> cancelled_read_keeps_bytes(read_fn fn, std::string first, std::string rest,
                                       bool eof = false) {
  auto [a, b] = stream_test::unix_pair();
  auto t = aio::create_task(fn(a.first));
  co_await aio::sleep(1ms);
  if (!first.empty()) {
    co_await b.second.write(first);
    // The read takes them into its buffer and waits on.
    auto& r = a.first;
    CO_ASSERT_TRUE(
        co_await stream_test::eventually([&] { return r.buffer_size() == first.size(); }));
  }
  EXPECT_FALSE(t.done());
  t.cancel();
  EXPECT_THROW(co_await t, aio::cancelled_error);
  EXPECT_EQ(a.first.buffer_size(), first.size());
  co_await b.second.write(rest);
  if (eof) b.second.write_eof();
  EXPECT_EQ(co_await fn(a.first), first + rest);
}

aio::task<> drain_once(aio::stream_writer& w) { co_await w.drain(); }
aio::task<> write_once(aio::stream_writer& w, std::string data) { co_await w.write(data); }
aio::task<> wait_closed_once(aio::stream_writer& w) { co_await w.wait_closed(); }

}  // namespace

AIO_TEST(stream_cancel, read_n_waiting_for_data) {
  co_await cancelled_read_keeps_bytes(&read_some, "", "abc");
}

AIO_TEST(stream_cancel, read_into_waiting_in_place) {
  co_await cancelled_read_keeps_bytes(&read_into_big, "", "xyz");
}

AIO_TEST(stream_cancel, readexactly_with_part_of_its_bytes) {
  co_await cancelled_read_keeps_bytes(&read_exactly_10, "01234", "56789");
}

AIO_TEST(stream_cancel, readline_with_half_a_line) {
  co_await cancelled_read_keeps_bytes(&read_line, "half a ", "line\n");
}

AIO_TEST(stream_cancel, readuntil_with_part_of_the_separator) {
  co_await cancelled_read_keeps_bytes(&read_until_end, "body E", "ND");
}

AIO_TEST(stream_cancel, read_to_eof) {
  co_await cancelled_read_keeps_bytes(&read_to_eof, "some", " more", true);
}

AIO_TEST(stream_cancel, a_pending_cancel_throws_at_the_read_and_consumes_nothing) {
  auto [a, b] = stream_test::unix_pair();
  co_await b.second.write("par");
  auto self = aio::current_task();
  self.cancel();
  EXPECT_THROW(co_await a.first.readexactly(5), aio::cancelled_error);
  self.uncancel();
  co_await b.second.write("tial");
  EXPECT_EQ(co_await a.first.readexactly(7), "partial");
}

// A task cancel and close() meeting on the same read in flight: the fd is
// still closed at once (the peer sees the end of the stream), although the
// stream objects live on.
AIO_TEST(stream_cancel, cancel_and_close_on_the_same_read_still_close_the_socket) {
  auto [a, b] = co_await stream_test::tcp_pair();
  auto t = aio::create_task(read_some(a.first));
  co_await aio::sleep(0ms);  // the read waits in the backend
  t.cancel();
  a.second.close();
  bool cancelled = false;
  try {
    co_await t;
  } catch (const aio::cancelled_error&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  std::string rest = co_await aio::wait_for(b.first.read(), 10s);  // a timeout: the fd stayed open
  EXPECT_EQ(rest, "");
}

AIO_TEST(stream_cancel, timeout_on_readline_keeps_the_partial_line) {
  auto [a, b] = co_await stream_test::tcp_pair();
  co_await b.second.write("slow ");
  EXPECT_THROW(co_await aio::wait_for(a.first.readline(), 5ms), aio::timeout_error);
  co_await b.second.write("line\n");
  EXPECT_EQ(co_await a.first.readline(), "slow line\n");
}

AIO_TEST(stream_cancel, cancelled_write_waiting_for_room_took_nothing) {
  auto [fc, fs] = co_await stream_test::tcp_fds();
  stream_test::small_buffers(fc);
  stream_test::small_buffers(fs);
  auto a = aio::make_streams(aio::make_fd_transport(fc),
                             {.high_water = 16 * 1024, .low_water = 4 * 1024});
  auto b = aio::make_streams(aio::make_fd_transport(fs));
  std::string first = pattern(1 << 20);
  co_await a.second.write(first);  // fills the kernel, the rest is buffered
  std::size_t before = a.second.buffer_size();
  CO_ASSERT_TRUE(before > 16 * 1024);
  auto w = aio::create_task(write_once(a.second, std::string(1000, '!')));
  co_await aio::sleep(2ms);
  EXPECT_FALSE(w.done());
  w.cancel();
  EXPECT_THROW(co_await w, aio::cancelled_error);
  EXPECT_LE(a.second.buffer_size(), before);  // nothing of it was taken
  auto reader = aio::create_task(b.first.read());
  co_await a.second.write("end");  // the stream goes on
  a.second.write_eof();
  std::string got = co_await reader;
  EXPECT_EQ(got.size(), first.size() + 3);
  EXPECT_EQ(got.find('!'), std::string::npos);
}

AIO_TEST(stream_cancel, cancelled_drain_leaves_the_flush_going) {
  auto [fc, fs] = co_await stream_test::tcp_fds();
  stream_test::small_buffers(fc);
  stream_test::small_buffers(fs);
  auto a = aio::make_streams(aio::make_fd_transport(fc));
  auto b = aio::make_streams(aio::make_fd_transport(fs));
  std::string big = pattern(2 << 20);
  co_await a.second.write(big);
  auto d1 = aio::create_task(drain_once(a.second));
  auto d2 = aio::create_task(drain_once(a.second));
  co_await aio::sleep(1ms);
  d1.cancel();
  EXPECT_THROW(co_await d1, aio::cancelled_error);
  EXPECT_FALSE(d2.done());
  EXPECT_TRUE(co_await b.first.readexactly(big.size()) == big);
  co_await d2;  // the other waiter was not disturbed
  co_await a.second.drain();
}

AIO_TEST(stream_cancel, cancelled_wait_closed) {
  auto [a, b] = stream_test::unix_pair();
  auto w = aio::create_task(wait_closed_once(a.second));
  co_await aio::sleep(1ms);
  w.cancel();
  EXPECT_THROW(co_await w, aio::cancelled_error);
  EXPECT_FALSE(a.second.is_closing());
  a.second.close();
  co_await a.second.wait_closed();
}

namespace {
// `n` bytes of a pattern in an anonymous file.
struct pattern_file {
  std::string data;
  aio::test::temp_file file{data};
  int fd = file.fd;
  explicit pattern_file(std::size_t n) : data(pattern(n, "sendfile-data:")) {}
};
aio::task<std::size_t> send_file(aio::stream_writer& w, int fd) {
  co_return co_await w.sendfile(fd);
}
}  // namespace

AIO_TEST(stream_cancel, cancelled_sendfile_leaves_the_writer_usable) {
  auto [fc, fs] = co_await stream_test::tcp_fds();
  stream_test::small_buffers(fc);
  stream_test::small_buffers(fs);
  auto a = aio::make_streams(aio::make_fd_transport(fc));
  auto b = aio::make_streams(aio::make_fd_transport(fs));
  pattern_file f(4 << 20);
  auto t = aio::create_task(send_file(a.second, f.fd));
  co_await aio::sleep(2ms);
  EXPECT_FALSE(t.done());  // waiting for the socket to drain
  t.cancel();
  EXPECT_THROW(co_await t, aio::cancelled_error);
  co_await a.second.write("|after");
  a.second.write_eof();
  std::string got = co_await b.first.read();
  CO_ASSERT_TRUE(got.size() >= 6);
  EXPECT_EQ(got.substr(got.size() - 6), "|after");
  EXPECT_TRUE(got.compare(0, got.size() - 6, f.data, 0, got.size() - 6) ==
              0);  // a prefix of the file
}

AIO_TEST(stream_cancel, cancelled_sendfile_waiting_behind_the_flusher) {
  auto [fc, fs] = co_await stream_test::tcp_fds();
  stream_test::small_buffers(fc);
  stream_test::small_buffers(fs);
  auto a = aio::make_streams(aio::make_fd_transport(fc));
  auto b = aio::make_streams(aio::make_fd_transport(fs));
  pattern_file f(1000);
  std::string big = pattern(2 << 20);
  co_await a.second.write(big);
  CO_ASSERT_TRUE(a.second.buffer_size() > 0);
  auto t = aio::create_task(send_file(a.second, f.fd));
  co_await aio::sleep(1ms);
  t.cancel();
  EXPECT_THROW(co_await t, aio::cancelled_error);
  auto again = aio::create_task(send_file(a.second, f.fd));
  EXPECT_TRUE(co_await b.first.readexactly(big.size()) == big);
  EXPECT_EQ(co_await again, 1000u);
  EXPECT_EQ(co_await b.first.readexactly(1000), f.data);
}
