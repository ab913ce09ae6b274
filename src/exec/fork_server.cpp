// SPDX-License-Identifier: MIT
// The fork server: started once while the program has one thread, then the
// only process that forks workers (see fork_server.hpp).

#include "fork_server.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include "aio/core/errors.hpp"

namespace aio::detail::fork_server {

namespace {

std::mutex start_mutex;
int master_fd = -1;  // the parent's end; guarded by start_mutex
pid_t server_pid = 0;
// Set in the fork server, so in every worker: start_mutex was held across the
// fork that made them and stays locked there for good.
bool in_fork_server_child = false;

// The threads of this process that run user-space code: io_uring's kernel
// workers (iou-wrk-*, iou-sqp-*) are listed in /proc/self/task too, but they
// hold no user-space lock, so they do not make a fork unsafe.
std::vector<std::string> user_threads() {
  std::vector<std::string> names;
  DIR* d = ::opendir("/proc/self/task");
  if (!d) throw std::system_error(errno, std::generic_category(), "opendir /proc/self/task");
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name.rfind("iou-", 0) == 0) continue;
    names.push_back(name + " (" + e->d_name + ")");
  }
  ::closedir(d);
  return names;
}

[[noreturn]] void serve(int master, pid_t parent) noexcept;

}  // namespace

bool send(int sock, const message& m, int fd) noexcept {
  iovec iov{const_cast<message*>(&m), sizeof m};
  msghdr h{};
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (fd >= 0) {
    h.msg_control = control;
    h.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  ssize_t n;
  while ((n = ::sendmsg(sock, &h, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  return n == static_cast<ssize_t>(sizeof m);
}

int receive(int sock, message& m, int* fd, bool dont_wait) noexcept {
  iovec iov{&m, sizeof m};
  msghdr h{};
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  h.msg_control = control;
  h.msg_controllen = sizeof control;
  if (fd) *fd = -1;
  ssize_t n;
  while ((n = ::recvmsg(sock, &h, MSG_CMSG_CLOEXEC | (dont_wait ? MSG_DONTWAIT : 0))) < 0 &&
         errno == EINTR) {
  }
  if (n == 0) return 0;
  if (n < 0) return -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int got;
      std::memcpy(&got, CMSG_DATA(c), sizeof got);
      if (fd && *fd < 0)
        *fd = got;
      else
        ::close(got);
    }
  }
  return n == static_cast<ssize_t>(sizeof m) ? 1 : -1;
}

void check_single_threaded() {
  auto threads = user_threads();
  if (threads.size() > 1) {
    std::string list;
    for (const auto& t : threads) list += (list.empty() ? "" : ", ") + t;
    throw invalid_state_error(
        "process_pool_executor: the fork server must start while the program runs a single "
        "thread (forking a threaded process is unsafe), but it runs " +
        std::to_string(threads.size()) + ": " + list +
        ". Call aio::start_fork_server() at the top of main(), before any thread starts");
  }
}

void ensure_started() {
  if (in_fork_server_child)
    throw invalid_state_error("process_pool_executor: a process pool cannot be created inside a process pool's worker");
  std::lock_guard lock(start_mutex);
  if (master_fd >= 0) return;
  check_single_threaded();
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    throw std::system_error(errno, std::generic_category(), "fork server: socketpair");
  std::fflush(nullptr);  // or the child would inherit (and could repeat) buffered output
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    throw std::system_error(err, std::generic_category(), "fork server: fork");
  }
  if (pid == 0) serve(sv[1], parent);
  ::close(sv[1]);
  master_fd = sv[0];
  server_pid = pid;
}

int connect() {
  ensure_started();
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    throw std::system_error(errno, std::generic_category(), "process_pool_executor: socketpair");
  bool sent;
  {
    std::lock_guard lock(start_mutex);
    sent = send(master_fd, message{op::new_client, 0, 0}, sv[1]);
  }
  ::close(sv[1]);
  if (!sent) {
    ::close(sv[0]);
    throw std::system_error(EPIPE, std::generic_category(),
                            "process_pool_executor: the fork server has exited");
  }
  return sv[0];
}

pid_t pid() noexcept {
  std::lock_guard lock(start_mutex);
  return server_pid;
}

namespace {

struct child {
  int client;  // the connection that asked for it; -1 once that pool is gone
  std::uint32_t id;
  pid_t pid;
};

void close_all_but(int keep) noexcept {
  // The fork server holds none of the program's descriptors (an inherited
  // listening socket would otherwise outlive its owner's close).
  // Close-on-exec: a program a job runs (system, popen) must not inherit the
  // pool's socket. The fork server and its workers never exec.
  if (keep != 3) {
    ::dup3(keep, 3, O_CLOEXEC);
    keep = 3;
  } else {
    ::fcntl(3, F_SETFD, FD_CLOEXEC);
  }
  ::close_range(4, ~0U, 0);
}

[[noreturn]] void become_worker(int sock, const sigset_t& old_mask) noexcept {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::prctl(PR_SET_NAME, "aio-worker");
  ::signal(SIGCHLD, SIG_DFL);
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  close_all_but(sock);
  run_worker(3);
}

[[noreturn]] void serve(int master, pid_t parent) noexcept {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(0);  // the parent died before the line above
  ::prctl(PR_SET_NAME, "aio-forkserver");
  in_fork_server_child = true;
  // Children are reaped here: a program that ignores SIGCHLD (or set
  // SA_NOCLDWAIT) would have the kernel reap them unseen, and no exit would
  // ever be reported.
  struct sigaction dfl{};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(SIGCHLD, &dfl, nullptr);
  // Ctrl-C reaches the whole process group: the program decides what it
  // means for its workers (ignored: inherited by every worker).
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
  close_all_but(master);
  master = 3;
  sigset_t chld, old_mask;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &chld, &old_mask);
  old_mask = none;  // workers start with no signal blocked
  int sigfd = ::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0) ::_exit(1);

  std::vector<int> clients;
  std::vector<child> children;
  bool master_open = true;
  auto kill_client_children = [&](int client) {
    for (auto& c : children)
      if (c.client == client) {
        ::kill(c.pid, SIGKILL);
        c.client = -1;
      }
  };
  for (;;) {
    if (!master_open && children.empty()) ::_exit(0);
    std::vector<pollfd> fds;
    fds.push_back({sigfd, POLLIN, 0});
    if (master_open) fds.push_back({master, POLLIN, 0});
    for (int c : clients) fds.push_back({c, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    for (const pollfd& p : fds) {
      if (!p.revents) continue;
      if (p.fd == sigfd) {
        signalfd_siginfo info;
        while (::read(sigfd, &info, sizeof info) > 0) {
        }
        int status;
        pid_t pid;
        while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
          for (std::size_t i = 0; i < children.size(); ++i) {
            if (children[i].pid != pid) continue;
            if (children[i].client >= 0)
              send(children[i].client, message{op::exited, children[i].id, status});
            children.erase(children.begin() + static_cast<std::ptrdiff_t>(i));
            break;
          }
        }
        continue;
      }
      message m;
      int fd = -1;
      int r = receive(p.fd, m, &fd, true);
      if (r < 0) continue;
      if (r == 0) {
        if (p.fd == master) {  // the program is gone: so are its workers
          master_open = false;
          for (int c : clients) {
            kill_client_children(c);
            ::close(c);
          }
          clients.clear();
        } else {
          kill_client_children(p.fd);
          ::close(p.fd);
          std::erase(clients, p.fd);
        }
        continue;
      }
      if (m.what == op::new_client && p.fd == master && fd >= 0) {
        clients.push_back(fd);
      } else if (m.what == op::spawn && fd >= 0) {
        pid_t pid = ::fork();
        if (pid == 0) become_worker(fd, old_mask);
        ::close(fd);
        if (pid < 0) {
          send(p.fd, message{op::spawn_failed, m.id, errno});
        } else {
          children.push_back(child{p.fd, m.id, pid});
          send(p.fd, message{op::spawned, m.id, pid});
        }
      } else if (m.what == op::kill) {
        for (const auto& c : children)
          if (c.client == p.fd && c.id == m.id) ::kill(c.pid, m.a);
        if (fd >= 0) ::close(fd);
      } else if (fd >= 0) {
        ::close(fd);
      }
    }
  }
}

}  // namespace

}  // namespace aio::detail::fork_server

namespace aio {
void start_fork_server() { detail::fork_server::ensure_started(); }
}  // namespace aio
