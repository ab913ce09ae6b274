// SPDX-License-Identifier: MIT
// stream_writer::sendfile: zero-copy over plain sockets and pipes, the
// read/write fallback over a layered transport, order with writes.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "stream_test_layers.hpp"
#include "stream_test_util.hpp"

using namespace std::chrono_literals;
using stream_test::pattern;

AIO_TEST_SUITE(stream_sendfile);

namespace {

// `n` bytes of a pattern in an anonymous file.
struct pattern_file {
  std::string data;
  aio::test::temp_file file{data};
  int fd = file.fd;
  explicit pattern_file(std::size_t n) : data(pattern(n, "The quick brown fox jumps over the lazy dog. ")) {}
};

aio::task<std::size_t> send_whole(aio::stream_writer& w, int fd) {
  co_await w.write("head|");
  std::size_t n = co_await w.sendfile(fd);
  co_await w.write("|tail");
  w.write_eof();
  co_return n;
}

// Over a transport that is not the plain fd one: sendfile must copy.
std::pair<stream_test::streams, stream_test::streams> layered_pair() {
  aio::test::socket_pair sp;
  auto wrap = [](int fd) -> std::unique_ptr<aio::transport> {
    return std::make_unique<stream_test::xor_transport>(aio::make_fd_transport(fd), 0);
  };
  return {aio::make_streams(wrap(std::exchange(sp.a, -1))),
          aio::make_streams(wrap(std::exchange(sp.b, -1)))};
}

}  // namespace

AIO_TEST(stream_sendfile, whole_file_over_tcp_between_writes) {
  auto [a, b] = co_await stream_test::tcp_pair();
  pattern_file f(3 << 20);
  auto sender = aio::create_task(send_whole(a.second, f.fd));
  std::string got = co_await b.first.read();
  EXPECT_EQ(co_await sender, f.data.size());
  EXPECT_EQ(got.size(), f.data.size() + 10);
  EXPECT_TRUE(got == "head|" + f.data + "|tail");
  EXPECT_EQ(::lseek(f.fd, 0, SEEK_CUR), 0);  // untouched by sendfile
}

AIO_TEST(stream_sendfile, offset_and_count_and_short_file) {
  auto [a, b] = co_await stream_test::tcp_pair();
  pattern_file f(10000);
  EXPECT_EQ(co_await a.second.sendfile(f.fd, 100, 50), 50u);
  EXPECT_EQ(co_await b.first.readexactly(50), f.data.substr(100, 50));
  EXPECT_EQ(co_await a.second.sendfile(f.fd, 9990, 1000), 10u);  // end of file first
  EXPECT_EQ(co_await b.first.readexactly(10), f.data.substr(9990));
  EXPECT_EQ(co_await a.second.sendfile(f.fd, 20000), 0u);
}

AIO_TEST(stream_sendfile, writes_issued_meanwhile_go_after_the_file) {
  auto [fc, fs] = co_await stream_test::tcp_fds();
  stream_test::small_buffers(fc);
  stream_test::small_buffers(fs);
  auto a = aio::make_streams(aio::make_fd_transport(fc));
  auto b = aio::make_streams(aio::make_fd_transport(fs));
  pattern_file f(2 << 20);
  auto sender = aio::create_task(a.second.sendfile(f.fd));
  co_await aio::sleep(1ms);
  EXPECT_FALSE(sender.done());
  co_await a.second.write("|after");  // buffered: the file owns the socket
  EXPECT_GT(a.second.buffer_size(), 0u);
  std::string got = co_await b.first.readexactly(f.data.size() + 6);
  EXPECT_EQ(co_await sender, f.data.size());
  EXPECT_TRUE(got == f.data + "|after");
}

// sendfile called while the flusher still sends older bytes: a write issued
// after the call goes after the file, not between the old bytes and the file.
AIO_TEST(stream_sendfile, a_write_after_the_call_goes_after_the_file_while_older_bytes_drain) {
  auto [fc, fs] = co_await stream_test::tcp_fds();
  stream_test::small_buffers(fc);
  stream_test::small_buffers(fs);
  aio::stream_options o;
  o.high_water = 8 << 20;  // the writes below are taken at once
  auto a = aio::make_streams(aio::make_fd_transport(fc), o);
  auto b = aio::make_streams(aio::make_fd_transport(fs));
  const std::string old(2 << 20, 'o');  // far more than the sockets hold: the flusher keeps sending
  co_await a.second.write(old);
  pattern_file f(64 << 10);
  auto sender = aio::create_task(a.second.sendfile(f.fd));
  co_await aio::sleep(0ms);  // sendfile waits for the old bytes
  EXPECT_FALSE(sender.done());
  CO_ASSERT_TRUE(a.second.buffer_size() > 0);
  co_await a.second.write("|trailer");
  std::string got = co_await b.first.readexactly(old.size() + f.data.size() + 8);
  EXPECT_EQ(co_await sender, f.data.size());
  EXPECT_TRUE(got == old + f.data + "|trailer") << "the trailer came before the file";
}

AIO_TEST(stream_sendfile, to_a_pipe) {
  int p[2];
  CO_ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  auto in = aio::connect_read_pipe(p[0]);
  auto out = aio::connect_write_pipe(p[1]);
  pattern_file f(1 << 20);
  auto sender = aio::create_task(out.sendfile(f.fd));
  std::string got = co_await in.readexactly(f.data.size());
  EXPECT_EQ(co_await sender, f.data.size());
  EXPECT_TRUE(got == f.data);
}

AIO_TEST(stream_sendfile, fallback_through_a_layered_transport) {
  auto [a, b] = layered_pair();
  pattern_file f(3 << 20);
  auto sender = aio::create_task(send_whole(a.second, f.fd));
  std::string got = co_await b.first.read();
  EXPECT_EQ(co_await sender, f.data.size());
  EXPECT_TRUE(got == "head|" + f.data + "|tail");
  auto [c, d] = layered_pair();
  EXPECT_EQ(co_await c.second.sendfile(f.fd, 5, 7), 7u);
  EXPECT_EQ(co_await d.first.readexactly(7), f.data.substr(5, 7));
}

AIO_TEST(stream_sendfile, errors) {
  auto [a, b] = stream_test::unix_pair();
  int err = 0;
  try {
    co_await a.second.sendfile(-1);
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  EXPECT_EQ(err, EBADF);
  pattern_file f(10);
  a.second.write_eof();
  EXPECT_THROW(co_await a.second.sendfile(f.fd), aio::invalid_state_error);
  b.second.close();
  EXPECT_THROW(co_await b.second.sendfile(f.fd), aio::invalid_state_error);
}

AIO_TEST(stream_sendfile, peer_reset_fails_the_stream) {
  auto [fc, fs] = co_await stream_test::tcp_fds();
  stream_test::small_buffers(fc);
  stream_test::small_buffers(fs);
  auto a = aio::make_streams(aio::make_fd_transport(fc));
  pattern_file f(4 << 20);
  auto sender = aio::create_task(a.second.sendfile(f.fd));
  co_await aio::sleep(2ms);
  stream_test::reset_and_close(fs);
  EXPECT_THROW(co_await sender, std::system_error);
  EXPECT_TRUE(a.second.is_closing());
  EXPECT_THROW(co_await a.second.drain(), std::system_error);
}
