// SPDX-License-Identifier: MIT
#include "aio_test.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <system_error>
#include <thread>

namespace aio::test {

void run(backend_kind kind, const std::function<task<>()>& body, bool virtual_time,
         std::chrono::seconds limit) {
  std::mutex m;
  std::condition_variable cv;
  bool finished = false;
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::thread watchdog([&] {
    std::unique_lock lock(m);
    if (!cv.wait_for(lock, limit, [&] { return finished; })) {
      std::fprintf(stderr, "watchdog: test %s still running after %llds; aborting\n", name.c_str(),
                   static_cast<long long>(limit.count()));
      std::abort();
    }
  });
  try {
    aio::run(body(), {.loop = {.backend = kind}, .handle_sigint = false, .virtual_time = virtual_time});
  } catch (...) {
    {
      std::lock_guard lock(m);
      finished = true;
    }
    cv.notify_one();
    watchdog.join();
    throw;
  }
  {
    std::lock_guard lock(m);
    finished = true;
  }
  cv.notify_one();
  watchdog.join();
}

socket_pair::socket_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  a = fds[0];
  b = fds[1];
}
socket_pair::~socket_pair() {
  if (a >= 0) ::close(a);
  if (b >= 0) ::close(b);
}

task<int> value_after(int v, std::chrono::milliseconds d) {
  co_await aio::sleep(d);
  co_return v;
}

task<> fail_after(std::string what, std::chrono::milliseconds d) {
  co_await aio::sleep(d);
  throw std::runtime_error(what);
}

std::string thread_name() {
  char buf[32] = {};
  ::pthread_getname_np(::pthread_self(), buf, sizeof buf);
  return buf;
}

int tcp_socket() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

tcp_listener::tcp_listener() {
  fd = tcp_socket();
  addr = sock_address::from_ip("127.0.0.1", 0);
  if (::bind(fd, addr.data(), addr.size) != 0 || ::listen(fd, 128) != 0)
    throw std::system_error(errno, std::generic_category(), "bind/listen 127.0.0.1:0");
  addr.size = sizeof addr.storage;
  ::getsockname(fd, addr.data(), &addr.size);
}
tcp_listener::~tcp_listener() {
  if (fd >= 0) ::close(fd);
}

child_process::child_process(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  out = fds[0];
}

child_process::~child_process() {
  if (pid > 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  if (out >= 0) ::close(out);
}

std::string child_process::read_line() {
  std::string line;
  char c;
  while (::read(out, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

}  // namespace aio::test

// --- dns_server: dnsmasq as a real DNS peer for the resolver tests ----------
#include <arpa/inet.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/prctl.h>

#include <atomic>
#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace aio::test {

namespace {

constexpr const char* dnsmasq_path = "/usr/sbin/dnsmasq";

unsigned short free_udp_port() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sock_address a = sock_address::from_ip("127.0.0.1", 0);
  if (::bind(fd, a.data(), a.size) != 0) {
    int e = errno;
    ::close(fd);
    throw std::system_error(e, std::generic_category(), "bind 127.0.0.1:0");
  }
  socklen_t len = a.size;
  ::getsockname(fd, a.data(), &len);
  ::close(fd);
  return ntohs(reinterpret_cast<sockaddr_in*>(&a.storage)->sin_port);
}

// Asks 127.0.0.1:`port` for the A record of `name` (a single label under
// .invalid); true when a positive answer comes back within `ms`. The name is
// unique to one dns_server: another test's dnsmasq that happens to hold the
// same port (our own one then failed to bind) answers NXDOMAIN, not an address.
bool dns_probe(unsigned short port, const std::string& name, int ms) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sock_address a = sock_address::from_ip("127.0.0.1", port);
  std::string query = {'\x12', '\x34', '\x01', '\x00', 0, 1, 0, 0, 0, 0, 0, 0};  // one question, recursion desired
  query += static_cast<char>(name.size());
  query += name;
  query += "\x07invalid";
  query += std::string("\x00\x00\x01\x00\x01", 5);  // end of name, type A, class IN
  bool ok = false;
  if (::sendto(fd, query.data(), query.size(), 0, a.data(), a.size) == static_cast<ssize_t>(query.size())) {
    pollfd p{fd, POLLIN, 0};
    unsigned char buf[512];
    ssize_t n = ::poll(&p, 1, ms) == 1 ? ::recv(fd, buf, sizeof buf, 0) : -1;
    // Same id, no error, at least one answer record.
    ok = n >= 12 && buf[0] == 0x12 && buf[1] == 0x34 && (buf[3] & 0x0f) == 0 && (buf[6] << 8 | buf[7]) > 0;
  }
  ::close(fd);
  return ok;
}

}  // namespace

dns_server::dns_server(const std::vector<std::string>& hosts, int ttl, const std::vector<std::string>& extra) {
  if (::access(dnsmasq_path, X_OK) != 0)
    throw std::runtime_error("dns_server: /usr/sbin/dnsmasq is missing (apt-get install dnsmasq-base)");
  static std::atomic<int> servers_made{0};
  std::string probe = "probe-" + std::to_string(::getpid()) + "-" + std::to_string(servers_made++);
  {
    std::ofstream f(dir / "hosts");
    for (const auto& line : hosts) f << line << '\n';
    f << "127.0.0.1 " << probe << ".invalid\n";
  }
  const passwd* pw = ::getpwuid(::getuid());
  const group* gr = ::getgrgid(::getgid());
  std::string user = pw ? pw->pw_name : "root";
  std::string grp = gr ? gr->gr_name : "root";
  for (int attempt = 0; attempt < 10; ++attempt) {
    port = free_udp_port();
    std::vector<std::string> argv = {dnsmasq_path,
                                     "--keep-in-foreground",
                                     "--port=" + std::to_string(port),
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--addn-hosts=" + dir / "hosts",
                                     "--local=/test/",
                                     "--local=/invalid/",
                                     "--local-ttl=" + std::to_string(ttl),
                                     "--no-negcache",
                                     "--conf-file=/dev/null",
                                     "--pid-file=",
                                     "--user=" + user,
                                     "--group=" + grp,
                                     "--log-queries",
                                     "--log-facility=" + dir / "log"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::string err_path = dir / "stderr";  // no allocation in the child
    pid_t parent = ::getpid();
    pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) {
      // A test process that dies (a sanitizer abort) takes its dnsmasq along.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(err, 2);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    for (int i = 0; i < 250; ++i) {  // up to ~5 s
      if (dns_probe(port, probe, 20)) return;
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;  // exited: most likely the port was taken meanwhile; try another
        break;
      }
    }
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  std::ifstream err(dir / "stderr");
  std::stringstream text;
  text << err.rdbuf();
  throw std::runtime_error("dns_server: dnsmasq did not start: " + text.str());
}

dns_server::~dns_server() {
  stop();
}

void dns_server::stop() {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  pid = -1;
}

std::string dns_server::address() const { return "127.0.0.1:" + std::to_string(port); }

int dns_server::queries(const std::string& name, const std::string& type) const {
  std::ifstream log(dir / "log");
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::string needle = lower(" query[" + type + "] " + name + " from ");  // DNS names ignore case
  int n = 0;
  for (std::string line; std::getline(log, line);)
    if (lower(line).find(needle) != std::string::npos) ++n;
  return n;
}

silent_udp_server::silent_udp_server() {
  fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sock_address a = sock_address::from_ip("127.0.0.1", 0);
  if (::bind(fd, a.data(), a.size) != 0) throw std::system_error(errno, std::generic_category(), "bind 127.0.0.1:0");
  socklen_t len = a.size;
  ::getsockname(fd, a.data(), &len);
  port = ntohs(reinterpret_cast<sockaddr_in*>(&a.storage)->sin_port);
}

silent_udp_server::~silent_udp_server() {
  if (fd >= 0) ::close(fd);
}

std::string silent_udp_server::address() const { return "127.0.0.1:" + std::to_string(port); }

}  // namespace aio::test
