// SPDX-License-Identifier: MIT
// stream_reader over socketpairs and TCP loopback: read, readexactly,
// readline, readuntil, their errors and limits.
#include "stream_test_util.hpp"

using namespace std::chrono_literals;
using stream_test::pattern;

AIO_TEST_SUITE(stream_reader);

AIO_TEST(stream_reader, read_up_to_n_then_to_eof) {
  auto [a, b] = stream_test::unix_pair();
  co_await b.second.write("hello world");
  b.second.write_eof();
  EXPECT_EQ(co_await a.first.read(0), "");
  EXPECT_EQ(co_await a.first.read(5), "hello");
  EXPECT_FALSE(a.first.at_eof());
  EXPECT_EQ(co_await a.first.read(), " world");
  EXPECT_TRUE(a.first.at_eof());
  EXPECT_EQ(co_await a.first.read(10), "");
  EXPECT_EQ(co_await a.first.read(), "");
}

AIO_TEST(stream_reader, read_returns_what_is_there_without_waiting_for_n) {
  auto [a, b] = co_await stream_test::tcp_pair();
  co_await b.second.write("abc");
  EXPECT_EQ(co_await a.first.read(100), "abc");
  auto later = aio::create_task(a.first.read(100));
  co_await aio::sleep(5ms);
  EXPECT_FALSE(later.done());  // an empty buffer waits
  co_await b.second.write("def");
  EXPECT_EQ(co_await later, "def");
}

AIO_TEST(stream_reader, readexactly_and_incomplete_read_error) {
  auto [a, b] = stream_test::unix_pair();
  auto feeder = aio::create_task([](aio::stream_writer& w) -> aio::task<> {
    for (char c : std::string("0123456789")) {
      co_await w.write(std::string(1, c));
      co_await aio::sleep(1ms);
    }
    w.write_eof();
  }(b.second));
  EXPECT_EQ(co_await a.first.readexactly(4), "0123");
  EXPECT_EQ(co_await a.first.readexactly(0), "");
  bool thrown = false;
  try {
    co_await a.first.readexactly(10);
  } catch (const aio::incomplete_read_error& e) {
    thrown = true;
    EXPECT_EQ(e.partial(), "456789");
    EXPECT_EQ(e.expected(), std::optional<std::size_t>(10));
    EXPECT_STREQ(e.what(), "6 bytes read on a total of 10 expected bytes");
  }
  EXPECT_TRUE(thrown);
  EXPECT_TRUE(a.first.at_eof());  // the partial bytes were consumed
  co_await feeder;
}

AIO_TEST(stream_reader, big_readexactly_spans_many_fills) {
  auto [a, b] = co_await stream_test::tcp_pair();
  std::string big = pattern(3 << 20);
  auto feeder = aio::create_task([](aio::stream_writer& w, const std::string& s) -> aio::task<> {
    co_await w.write(s);
    co_await w.drain();
  }(b.second, big));
  std::string got = co_await a.first.readexactly(big.size());
  EXPECT_TRUE(got == big);
  co_await feeder;
}

AIO_TEST(stream_reader, readline_lines_and_partial_last_line) {
  auto [a, b] = stream_test::unix_pair();
  co_await b.second.write("one\ntwo\n\nthree");
  b.second.write_eof();
  EXPECT_EQ(co_await a.first.readline(), "one\n");
  EXPECT_EQ(co_await a.first.readline(), "two\n");
  EXPECT_EQ(co_await a.first.readline(), "\n");
  EXPECT_EQ(co_await a.first.readline(), "three");  // end of stream: the partial line
  EXPECT_EQ(co_await a.first.readline(), "");
  EXPECT_TRUE(a.first.at_eof());
}

AIO_TEST(stream_reader, readuntil_multibyte_separator_split_across_packets) {
  auto [a, b] = co_await stream_test::tcp_pair();
  auto feeder = aio::create_task([](aio::stream_writer& w) -> aio::task<> {
    for (auto piece : {"GET / HT", "TP/1.1\r", "\nHost: x\r\n\r", "\nbody"}) {
      co_await w.write(piece);
      co_await aio::sleep(2ms);
    }
    w.write_eof();
  }(b.second));
  EXPECT_EQ(co_await a.first.readuntil("\r\n"), "GET / HTTP/1.1\r\n");
  EXPECT_EQ(co_await a.first.readuntil("\r\n\r\n"), "Host: x\r\n\r\n");
  bool thrown = false;
  try {
    co_await a.first.readuntil("\r\n");
  } catch (const aio::incomplete_read_error& e) {
    thrown = true;
    EXPECT_EQ(e.partial(), "body");
    EXPECT_FALSE(e.expected().has_value());
  }
  EXPECT_TRUE(thrown);
  EXPECT_TRUE(a.first.at_eof());
  co_await feeder;
}

AIO_TEST(stream_reader, readuntil_rejects_an_empty_separator) {
  auto [a, b] = stream_test::unix_pair();
  EXPECT_THROW(co_await a.first.readuntil(""), std::invalid_argument);
}

AIO_TEST(stream_reader, readuntil_overrun_keeps_the_data_like_asyncio) {
  auto [a, b] = stream_test::unix_pair({.limit = 16});
  co_await b.second.write(std::string(40, 'x'));
  std::size_t consumed = 0;
  try {
    co_await a.first.readuntil("\n");
  } catch (const aio::limit_overrun_error& e) {
    consumed = e.consumed();
  }
  CO_ASSERT_TRUE(consumed > 16);
  EXPECT_EQ(a.first.buffer_size(), 40u);  // nothing dropped: asyncio leaves it in the buffer
  EXPECT_EQ(co_await a.first.read(40), std::string(40, 'x'));
  co_await b.second.write("short\n");
  EXPECT_EQ(co_await a.first.readuntil("\n"), "short\n");  // usable again
}

AIO_TEST(stream_reader, readuntil_separator_found_past_the_limit) {
  auto [a, b] = stream_test::unix_pair({.limit = 8});
  co_await b.second.write("0123456789AB--rest--");
  std::size_t consumed = 0;
  try {
    co_await a.first.readuntil("--");
  } catch (const aio::limit_overrun_error& e) {
    consumed = e.consumed();
    EXPECT_STREQ(e.what(), "Separator is found, but chunk is longer than limit");
  }
  EXPECT_EQ(consumed, 12u);  // where the separator starts
  EXPECT_EQ(co_await a.first.readexactly(14), "0123456789AB--");
  EXPECT_EQ(co_await a.first.readuntil("--"), "rest--");
}

AIO_TEST(stream_reader, readline_overrun_drops_the_long_line_and_goes_on) {
  auto [a, b] = stream_test::unix_pair({.limit = 10});
  co_await b.second.write(std::string(25, 'y') + "\nnext\n");
  EXPECT_THROW(co_await a.first.readline(), aio::limit_overrun_error);
  EXPECT_EQ(co_await a.first.readline(), "next\n");
  // A long line whose end has not arrived yet: the buffer is dropped, the
  // rest of that line then reads as a line of its own.
  auto feeder = aio::create_task([](aio::stream_writer& w) -> aio::task<> {
    co_await w.write(std::string(30, 'z'));
    co_await aio::sleep(5ms);
    co_await w.write("zz\nafter\n");
  }(b.second));
  EXPECT_THROW(co_await a.first.readline(), aio::limit_overrun_error);
  EXPECT_EQ(co_await a.first.readline(), "zz\n");
  EXPECT_EQ(co_await a.first.readline(), "after\n");
  co_await feeder;
}

AIO_TEST(stream_reader, a_second_concurrent_read_is_refused) {
  auto [a, b] = stream_test::unix_pair();
  auto first = aio::create_task(a.first.readline());
  co_await aio::sleep(1ms);
  EXPECT_THROW(co_await a.first.read(1), aio::invalid_state_error);
  EXPECT_THROW(co_await a.first.readexactly(1), aio::invalid_state_error);
  EXPECT_THROW(co_await a.first.readuntil("x"), aio::invalid_state_error);
  co_await b.second.write("line\n");
  EXPECT_EQ(co_await first, "line\n");
  co_await b.second.write("x");
  EXPECT_EQ(co_await a.first.read(1), "x");  // fine once the first is done
}

AIO_TEST(stream_reader, close_of_the_writer_ends_a_pending_read) {
  auto [a, b] = stream_test::unix_pair();
  auto pending = aio::create_task(a.first.read());
  co_await aio::sleep(1ms);
  a.second.close();
  EXPECT_EQ(co_await pending, "");
  EXPECT_TRUE(a.first.at_eof());
  co_await a.second.wait_closed();
}

AIO_TEST(stream_reader, many_small_lines_keep_the_buffer_small) {
  auto [a, b] = co_await stream_test::tcp_pair();
  constexpr int lines = 20000;
  auto feeder = aio::create_task([](aio::stream_writer& w) -> aio::task<> {
    for (int i = 0; i < lines; ++i) co_await w.write(std::to_string(i) + "\n");
    w.write_eof();
  }(b.second));
  int n = 0;
  for (;;) {
    std::string line = co_await a.first.readline();
    if (line.empty()) break;
    EXPECT_EQ(line, std::to_string(n) + "\n");
    ++n;
    EXPECT_LE(a.first.buffer_size(), 256u * 1024);
  }
  EXPECT_EQ(n, lines);
  co_await feeder;
}

AIO_TEST(stream_reader, moved_from_reader_is_refused_and_moving_keeps_the_connection) {
  auto [a, b] = stream_test::unix_pair();
  aio::stream_reader moved = std::move(a.first);
  EXPECT_FALSE(static_cast<bool>(a.first));
  EXPECT_THROW((void)a.first.read(1), aio::invalid_state_error);
  co_await b.second.write("still here");
  EXPECT_EQ(co_await moved.read(100), "still here");
}

AIO_TEST(stream_reader, read_into_takes_buffered_bytes_first_then_reads_in_place) {
  auto [a, b] = co_await stream_test::tcp_pair();
  co_await b.second.write("abcdef");
  EXPECT_EQ(co_await a.first.read(2), "ab");  // "cdef" stays buffered
  std::string big(64 * 1024, '\0');
  EXPECT_EQ(co_await a.first.read_into(std::span(big)), 4u);
  EXPECT_EQ(big.substr(0, 4), "cdef");
  std::string payload = pattern(40000);
  auto feeder = aio::create_task([](aio::stream_writer& w, const std::string& p) -> aio::task<> {
    co_await aio::sleep(2ms);
    co_await w.write(p);
    w.write_eof();
  }(b.second, payload));
  std::size_t got = 0;
  for (;;) {
    std::size_t n = co_await a.first.read_into(std::span(big.data() + got, big.size() - got));
    if (n == 0) break;
    EXPECT_EQ(a.first.buffer_size(), 0u);  // nothing went through the stream's buffer
    got += n;
  }
  EXPECT_EQ(got, payload.size());
  EXPECT_TRUE(big.compare(0, got, payload) == 0);
  EXPECT_TRUE(a.first.at_eof());
  char small[3];
  EXPECT_EQ(co_await a.first.read_into(std::span(small)), 0u);
  EXPECT_EQ(co_await a.first.read_into(std::span<char>()), 0u);
  co_await feeder;
}

AIO_TEST(stream_reader, small_read_into_goes_through_the_buffer) {
  auto [a, b] = stream_test::unix_pair();
  co_await b.second.write("0123456789");
  char small[4];
  EXPECT_EQ(co_await a.first.read_into(std::span(small)), 4u);
  EXPECT_EQ(std::string_view(small, 4), "0123");
  EXPECT_EQ(a.first.buffer_size(), 6u);  // the rest was read along, once
  EXPECT_EQ(co_await a.first.read(100), "456789");
}
