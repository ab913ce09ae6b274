// SPDX-License-Identifier: MIT
// Datagram endpoints against programs nobody here wrote: Python's asyncio
// datagram endpoints (UDP and Unix), socat and OpenBSD netcat.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "aio/net/datagram.hpp"
#include "aio_test.hpp"

using namespace std::chrono_literals;

namespace {

// One line of a child's stdout, read without blocking the loop.
aio::task<std::string> read_line(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::string line;
  for (;;) {
    char c;
    ssize_t r = ::read(fd, &c, 1);
    if (r == 1) {
      if (c == '\n') co_return line;
      line += c;
    } else if (r == 0) {
      co_return line;
    } else if (errno == EAGAIN) {
      co_await aio::wait_readable(fd);
    } else if (errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "read child stdout");
    }
  }
}

const char* py_server = R"(
import asyncio
class Echo(asyncio.DatagramProtocol):
    def connection_made(self, t): self.t = t
    def datagram_received(self, data, addr): self.t.sendto(b'py:' + data, addr)
async def main():
    t, _ = await asyncio.get_running_loop().create_datagram_endpoint(Echo, local_addr=('127.0.0.1', 0))
    print(t.get_extra_info('sockname')[1], flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
)";

const char* py_client = R"(
import asyncio, sys
class Client(asyncio.DatagramProtocol):
    def __init__(self): self.got = asyncio.get_running_loop().create_future()
    def datagram_received(self, data, addr): self.got.set_result(data)
async def main():
    loop = asyncio.get_running_loop()
    t, p = await loop.create_datagram_endpoint(Client, remote_addr=('127.0.0.1', int(sys.argv[1])))
    t.sendto(b'hello from python')
    print((await asyncio.wait_for(p.got, 20)).decode(), flush=True)
asyncio.run(main())
)";

const char* py_unix_server = R"(
import asyncio, socket, sys
class Echo(asyncio.DatagramProtocol):
    def connection_made(self, t): self.t = t
    def datagram_received(self, data, addr): self.t.sendto(data[::-1], addr)
async def main():
    await asyncio.get_running_loop().create_datagram_endpoint(Echo, local_addr=sys.argv[1], family=socket.AF_UNIX)
    print('ready', flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
)";

// An aiocpp echo server answering "aio:" + datagram, `n` times.
aio::task<> echo_server(aio::datagram_endpoint& ep, int n) {
  for (int i = 0; i < n; ++i) {
    aio::datagram d = co_await ep.recvfrom();
    co_await ep.sendto("aio:" + d.data, d.from);
  }
}

aio::datagram_options loopback() {
  aio::datagram_options o;
  o.local_addr = aio::host_port{"127.0.0.1", 0};
  return o;
}

}  // namespace

AIO_TEST_SUITE(datagram_peer_test);

AIO_TEST(datagram_peer_test, python_asyncio_server) {
  aio::test::child_process py({"/usr/bin/python3", "-c", py_server});
  std::string port = py.read_line();
  CO_ASSERT_TRUE(!port.empty());
  aio::datagram_options to_python;
  to_python.remote_addr = aio::host_port{"127.0.0.1", static_cast<unsigned short>(std::stoi(port))};
  auto ep = co_await aio::create_datagram_endpoint(to_python);
  for (int i = 0; i < 20; ++i) {
    std::string msg = "message " + std::to_string(i);
    co_await ep.send(msg);
    aio::datagram d = co_await ep.recv();
    EXPECT_EQ(d.data, "py:" + msg);
    EXPECT_EQ(d.from.port(), std::stoi(port));
  }
  // A datagram as large as UDP allows crosses intact.
  std::string big(65000, 'b');
  co_await ep.send(big);
  EXPECT_EQ((co_await ep.recv()).data, "py:" + big);
}

AIO_TEST(datagram_peer_test, python_asyncio_client) {
  auto ep = co_await aio::create_datagram_endpoint(loopback());
  auto server = aio::create_task(echo_server(ep, 1));
  aio::test::child_process py(
      {"/usr/bin/python3", "-c", py_client, std::to_string(ep.sockname().port())});
  EXPECT_EQ(co_await read_line(py.out), "aio:hello from python");
  co_await server;
}

AIO_TEST(datagram_peer_test, socat_client) {
  auto ep = co_await aio::create_datagram_endpoint(loopback());
  auto server = aio::create_task(echo_server(ep, 1));
  std::string cmd = "printf 'via socat' | /usr/bin/socat -t 20 - UDP4:127.0.0.1:" +
                    std::to_string(ep.sockname().port());
  aio::test::child_process socat({"/bin/sh", "-c", cmd});
  co_await server;
  EXPECT_EQ(co_await read_line(socat.out), "aio:via socat");
}

AIO_TEST(datagram_peer_test, netcat_client) {
  auto ep = co_await aio::create_datagram_endpoint(loopback());
  auto server = aio::create_task(echo_server(ep, 1));
  // -W 1: quit after one datagram back.
  std::string cmd = "printf 'via nc\\n' | /usr/bin/nc -u -W 1 127.0.0.1 " +
                    std::to_string(ep.sockname().port());
  aio::test::child_process nc({"/bin/sh", "-c", cmd});
  co_await server;
  EXPECT_EQ(co_await read_line(nc.out), "aio:via nc");
}

AIO_TEST(datagram_peer_test, python_unix_datagram_server) {
  aio::test::temp_dir dir("aio_pydgram_");
  std::string path = dir / "py.sock";
  {
    aio::test::child_process py({"/usr/bin/python3", "-c", py_unix_server, path});
    CO_ASSERT_EQ(py.read_line(), "ready");
    aio::datagram_options to_python;
    to_python.remote_path = path;
    auto ep =
        co_await aio::create_datagram_endpoint(to_python);  // auto-bound, so Python can answer
    co_await ep.send("stressed");
    aio::datagram d = co_await ep.recv();
    EXPECT_EQ(d.data, "desserts");
    EXPECT_EQ(d.from.to_string(), path);
  }
}
