// SPDX-License-Identifier: MIT
// connect_read_pipe / connect_write_pipe: streams over pipe fds.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "stream_test_util.hpp"

using namespace std::chrono_literals;

namespace {
struct pipe_fds {
  int r = -1, w = -1;
  pipe_fds() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0)
      throw std::system_error(errno, std::generic_category(), "pipe2");
    r = p[0];
    w = p[1];
  }
};
bool fd_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }
}  // namespace

AIO_TEST_SUITE(pipe_streams);

AIO_TEST(pipe_streams, lines_through_a_pipe_and_eof_on_write_eof) {
  pipe_fds p;
  auto in = aio::connect_read_pipe(p.r);
  auto out = aio::connect_write_pipe(p.w);
  EXPECT_TRUE(::fcntl(p.r, F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(::fcntl(p.w, F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(out.can_write_eof());
  auto reader = aio::create_task([](aio::stream_reader& r) -> aio::task<std::vector<std::string>> {
    std::vector<std::string> lines;
    for (;;) {
      auto l = co_await r.readline();
      if (l.empty()) break;
      lines.push_back(l);
    }
    co_return lines;
  }(in));
  co_await out.write("first\n");
  const std::string_view parts[] = {"sec", "ond\n", "third"};
  co_await out.writelines(parts);
  out.write_eof();  // a pipe's end of stream: its write end closes
  co_await out.wait_closed();
  EXPECT_FALSE(fd_open(p.w));
  auto lines = co_await reader;
  EXPECT_EQ(lines, (std::vector<std::string>{"first\n", "second\n", "third"}));
  EXPECT_TRUE(in.at_eof());
}

AIO_TEST(pipe_streams, a_big_write_suspends_until_the_reader_catches_up) {
  pipe_fds p;
  auto in = aio::connect_read_pipe(p.r);
  auto out = aio::connect_write_pipe(p.w, {.high_water = 32 * 1024, .low_water = 8 * 1024});
  std::string chunk = stream_test::pattern(100 * 1024);
  auto writer = aio::create_task([](aio::stream_writer& w, const std::string& c) -> aio::task<> {
    for (int i = 0; i < 10; ++i) co_await w.write(c);
    w.close();
    co_await w.wait_closed();
  }(out, chunk));
  co_await aio::sleep(5ms);
  EXPECT_FALSE(writer.done());
  // A pipe holds 64 KiB; write() took at most one message past high_water.
  EXPECT_LE(out.buffer_size(), 32u * 1024 + chunk.size());
  std::string all = co_await in.read();
  EXPECT_EQ(all.size(), 10 * chunk.size());
  EXPECT_TRUE(all.substr(0, chunk.size()) == chunk);
  co_await writer;
}

AIO_TEST(pipe_streams, writing_to_a_pipe_without_reader_is_epipe_not_sigpipe) {
  pipe_fds p;
  ::close(p.r);
  auto out = aio::connect_write_pipe(p.w);
  int err = 0;
  try {
    co_await out.write("nobody listens");
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  EXPECT_EQ(err, EPIPE);
  EXPECT_TRUE(out.is_closing());
  EXPECT_THROW(co_await out.drain(), std::system_error);
  EXPECT_THROW(co_await out.write("again"), std::system_error);
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE));  // swallowed, not left pending
}

AIO_TEST(pipe_streams, dropping_the_reader_closes_its_fd) {
  pipe_fds p;
  {
    auto in = aio::connect_read_pipe(p.r);
    EXPECT_TRUE(fd_open(p.r));
  }
  EXPECT_FALSE(fd_open(p.r));
  ::close(p.w);
  co_return;
}

AIO_TEST(pipe_streams, an_invalid_fd_is_a_system_error) {
  EXPECT_THROW(aio::connect_read_pipe(-1), std::system_error);
  pipe_fds p;
  ::close(p.r);
  EXPECT_THROW(aio::connect_write_pipe(p.r), std::system_error);  // closed already
  ::close(p.w);
  co_return;
}
