// SPDX-License-Identifier: MIT
// Streams against the end of their loop: aio::run's shutdown cancels a
// flusher that still has bytes (the socket closes, nothing leaks), and
// streams kept past their loop close cleanly without one.
#include <fcntl.h>

#include <optional>

#include "stream_test_util.hpp"

namespace {

bool fd_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

aio::run_options options(aio::backend_kind kind) {
  return {.loop = {.backend = kind}, .handle_sigint = false};
}

class stream_lifetime : public ::testing::TestWithParam<aio::backend_kind> {};
INSTANTIATE_TEST_SUITE_P(backends, stream_lifetime,
                         ::testing::Values(aio::backend_kind::uring, aio::backend_kind::epoll),
                         aio::test::backend_name{});

aio::task<> leave_bytes_unsent(int& fd, int& peer) {
  auto [c, s] = co_await stream_test::tcp_fds();
  fd = c;
  peer = s;
  stream_test::small_buffers(c);
  stream_test::small_buffers(s);
  auto st = aio::make_streams(aio::make_fd_transport(c));
  co_await st.second.write(stream_test::pattern(4 << 20));
  EXPECT_GT(st.second.buffer_size(), 0u);
  // Dropping reader and writer here leaves the flusher with bytes that the
  // peer never reads: only the loop's shutdown ends it.
}

aio::task<> make_and_keep(std::optional<stream_test::streams>& out, int& fd) {
  aio::test::socket_pair sp;
  fd = sp.a;
  out.emplace(aio::make_streams(aio::make_fd_transport(std::exchange(sp.a, -1))));
  co_await out->second.write("sent while the loop ran");
  EXPECT_EQ(co_await out->first.read(0), "");
  co_return;
}

}  // namespace

TEST_P(stream_lifetime, shutdown_cancels_a_flusher_with_bytes_left_and_closes_the_socket) {
  int fd = -1, peer = -1;
  aio::run(leave_bytes_unsent(fd, peer), options(GetParam()));
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(fd_open(fd));
  ::close(peer);
}

TEST_P(stream_lifetime, streams_kept_past_their_loop_close_without_it) {
  std::optional<stream_test::streams> kept;
  int fd = -1;
  aio::run(make_and_keep(kept, fd), options(GetParam()));
  ASSERT_TRUE(kept.has_value());
  EXPECT_TRUE(fd_open(fd));
  EXPECT_EQ(kept->second.buffer_size(), 0u);
  kept->second.close();  // nothing buffered: no loop needed
  EXPECT_FALSE(fd_open(fd));
  kept.reset();
}
