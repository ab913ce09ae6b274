// SPDX-License-Identifier: MIT
#include "process_util.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "aio/workers/run.hpp"

namespace aio::workers::detail {

std::string describe_exit(int st) {
  if (WIFEXITED(st)) return "exited with status " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) {
    const int sig = WTERMSIG(st);
    const char* abbrev = ::sigabbrev_np(sig);
    const char* text = ::sigdescr_np(sig);
    std::string out = "was killed by signal ";
    out += abbrev ? std::string("SIG") + abbrev : std::to_string(sig);
    if (text) out += std::string(" (") + text + ")";
    if (WCOREDUMP(st)) out += " (core dumped)";
    return out;
  }
  return "changed state (wait status " + std::to_string(st) + ")";
}

int exit_code_of(int st) noexcept {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 1;
}

std::size_t user_thread_count() noexcept {
  DIR* d = ::opendir("/proc/self/task");
  if (!d) return 0;
  std::size_t n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const std::string path = std::string("/proc/self/task/") + e->d_name + "/comm";
    char comm[32] = {};
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      [[maybe_unused]] ssize_t r = ::read(fd, comm, sizeof comm - 1);
      ::close(fd);
    }
    if (std::strncmp(comm, "iou-wrk-", 8) == 0 || std::strncmp(comm, "iou-sqp-", 8) == 0) continue;
    ++n;
  }
  ::closedir(d);
  return n;
}

std::size_t usable_cores() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<std::size_t>(n);
  }
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<std::size_t>(n) : 1;
}

}  // namespace aio::workers::detail
