// SPDX-License-Identifier: MIT
// Unix socket servers and connections: filesystem paths (stale socket
// files, clean-up on close) and Linux's abstract namespace ("@name"),
// against ourselves and against Python's asyncio.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "aio_test.hpp"
#include "server_test_util.hpp"

using namespace std::chrono_literals;

namespace {

aio::task<> echo_lines(aio::stream_reader r, aio::stream_writer w) {
  for (;;) {
    std::string line = co_await r.readline();
    if (line.empty()) break;
    co_await w.write(line);
  }
}

std::string temp_path(const char* tag) {
  return "/tmp/aio-unix-" + std::string(tag) + "-" + std::to_string(::getpid());
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

aio::task<std::string> round_trip(std::string path, std::string line) {
  auto [r, w] = co_await aio::open_unix_connection(std::move(path));
  co_await w.write(line);
  co_return co_await r.readline();
}

const char* python_unix_client = R"(
import asyncio, sys
async def main(path):
    r, w = await asyncio.open_unix_connection(path.replace('@', '\0', 1) if path.startswith('@') else path)
    w.write(b'from python\n')
    await w.drain()
    print((await r.readline()).decode().strip(), flush=True)
    w.close()
    await w.wait_closed()
asyncio.run(main(sys.argv[1]))
)";

aio::task<std::string> python_says(const std::string& path) {
  aio::test::child_process py({"/usr/bin/python3", "-c", python_unix_client, path});
  aio::stream_reader out = aio::connect_read_pipe(std::exchange(py.out, -1));
  co_return co_await aio::wait_for(out.readline(), 30s);
}

}  // namespace

AIO_TEST_SUITE(unix_server);

AIO_TEST(unix_server, serves_a_path_and_removes_it_on_close) {
  std::string path = temp_path("basic");
  std::string name;
  auto srv = co_await aio::start_unix_server(
      [&](aio::stream_reader r, aio::stream_writer w) -> aio::task<> {
        name = aio::current_task().get_name();
        co_await echo_lines(std::move(r), std::move(w));
      },
      path);
  EXPECT_TRUE(is_socket(path));
  CO_ASSERT_EQ(srv.sockets().size(), 1u);
  EXPECT_EQ(srv.sockets()[0].to_string(), path);
  EXPECT_EQ(co_await round_trip(path, "unix\n"), "unix\n");
  EXPECT_EQ(name, "server " + path + " conn #1");
  EXPECT_EQ(co_await python_says(path), "from python\n");
  srv.close();
  EXPECT_FALSE(exists(path));
  co_await srv.wait_closed();
}

AIO_TEST(unix_server, abstract_names_work_both_ways) {
  std::string name = "@aio-abstract-" + std::to_string(::getpid());
  auto srv = co_await aio::start_unix_server(echo_lines, name);
  CO_ASSERT_EQ(srv.sockets().size(), 1u);
  EXPECT_EQ(srv.sockets()[0].to_string(), name);
  EXPECT_EQ(co_await round_trip(name, "abstract\n"), "abstract\n");
  EXPECT_EQ(co_await python_says(name), "from python\n");
  srv.close();
  co_await srv.wait_closed();
  EXPECT_THROW(co_await round_trip(name, "x\n"), std::system_error);  // gone with the server
}

AIO_TEST(unix_server, a_stale_socket_file_is_replaced_but_other_files_are_not) {
  std::string path = temp_path("stale");
  {
    aio::server_options keep;
    keep.cleanup_socket = false;
    auto old = co_await aio::start_unix_server(echo_lines, path, keep);
    old.close();
    co_await old.wait_closed();
  }
  EXPECT_TRUE(is_socket(path));  // left behind, as cleanup_socket = false asked
  auto srv = co_await aio::start_unix_server(echo_lines, path);
  EXPECT_EQ(co_await round_trip(path, "fresh\n"), "fresh\n");
  srv.close();
  co_await srv.wait_closed();

  std::string file = temp_path("regular");
  int fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ::close(fd);
  try {
    co_await aio::start_unix_server(echo_lines, file);
    ADD_FAILURE() << "bound over a regular file";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE);
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
  }
  EXPECT_TRUE(exists(file) && !is_socket(file));
  ::unlink(file.c_str());
}

AIO_TEST(unix_server, close_leaves_a_socket_file_that_is_no_longer_ours) {
  std::string path = temp_path("replaced");
  auto first = co_await aio::start_unix_server(echo_lines, path);
  auto second =
      co_await aio::start_unix_server(echo_lines, path);  // removes the first's file, binds anew
  first.close();
  EXPECT_TRUE(is_socket(path));  // the second server's file stays
  EXPECT_EQ(co_await round_trip(path, "second\n"), "second\n");
  second.close();
  EXPECT_FALSE(exists(path));
}

AIO_TEST(unix_server, tls_over_a_unix_socket_uses_server_hostname) {
  std::string path = temp_path("tls");
  auto tls = std::make_shared<aio::test::fake_tls>();
  aio::server_options so;
  so.ssl = tls;
  auto srv = co_await aio::start_unix_server(echo_lines, path, so);
  aio::connect_options co;
  co.ssl = tls;
  co.server_hostname = "unix.internal";
  auto [r, w] = co_await aio::open_unix_connection(path, co);
  co_await w.write("secret\n");
  EXPECT_EQ(co_await r.readline(), "secret\n");
  CO_ASSERT_EQ(tls->client_names.size(), 1u);
  EXPECT_EQ(tls->client_names[0], "unix.internal");
}

AIO_TEST(unix_server, bad_paths_are_rejected) {
  EXPECT_THROW(co_await aio::start_unix_server(echo_lines, ""), std::invalid_argument);
  EXPECT_THROW(co_await aio::start_unix_server(echo_lines, "/tmp/" + std::string(200, 'p')),
               std::invalid_argument);
  try {
    co_await aio::start_unix_server(echo_lines, "/nonexistent-dir/aio.sock");
    ADD_FAILURE() << "bound in a missing directory";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/aio.sock"), std::string::npos)
        << e.what();
  }
}
