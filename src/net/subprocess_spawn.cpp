// SPDX-License-Identifier: MIT
// Starting a child without fork(): posix_spawn (glibc runs it with
// clone(CLONE_VM|CLONE_VFORK), so the parent's threads and memory are never
// duplicated, and an exec failure is returned to us as an error number).
// Everything the child needs is described up front as file actions and
// attributes; nothing runs in the child but glibc's own code.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "subprocess_impl.hpp"

extern char** environ;

namespace aio::detail {

namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::system_category(), what);
}

// The fds this spawn opened; whatever was not handed over is closed.
class fd_set_guard {
 public:
  fd_set_guard() = default;
  fd_set_guard(const fd_set_guard&) = delete;
  ~fd_set_guard() {
    for (int fd : fds_) ::close(fd);
  }
  int add(int fd) {
    fds_.push_back(fd);
    return fd;
  }
  /// Stops tracking `fd` (the caller keeps it).
  int keep(int fd) {
    std::erase(fds_, fd);
    return fd;
  }

 private:
  std::vector<int> fds_;
};

// A copy of `fd` numbered 3 or above, so that setting up 0-2 in the child
// can never overwrite a source that is still needed.
int above_stdio(int fd, fd_set_guard& owned, const char* what) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) throw_errno(errno, what);
  return owned.add(copy);
}

struct spawn_setup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  spawn_setup() {
    if (int r = ::posix_spawn_file_actions_init(&actions))
      throw_errno(r, "posix_spawn_file_actions_init");
    if (int r = ::posix_spawnattr_init(&attr)) {
      ::posix_spawn_file_actions_destroy(&actions);
      throw_errno(r, "posix_spawnattr_init");
    }
  }
  spawn_setup(const spawn_setup&) = delete;
  ~spawn_setup() {
    ::posix_spawnattr_destroy(&attr);
    ::posix_spawn_file_actions_destroy(&actions);
  }
};

void check(int r, const char* what) {
  if (r != 0) throw_errno(r, what);
}

// Wires child fd `target` (0, 1 or 2) as `io` says; returns the parent's
// end of a pipe, or -1.
int wire(spawn_setup& s, int target, const subprocess::stdio& io, fd_set_guard& owned) {
  using kind = subprocess::stdio::kind;
  switch (io.what) {
    case kind::inherit:
      return -1;
    case kind::devnull:
      check(::posix_spawn_file_actions_addopen(&s.actions, target, "/dev/null",
                                               target == 0 ? O_RDONLY : O_WRONLY, 0),
            "posix_spawn_file_actions_addopen(/dev/null)");
      return -1;
    case kind::fd: {
      if (io.fd < 0)
        throw std::invalid_argument("subprocess::file: invalid fd " + std::to_string(io.fd));
      int src = above_stdio(io.fd, owned, "duplicate the fd given for a child stream");
      check(::posix_spawn_file_actions_adddup2(&s.actions, src, target),
            "posix_spawn_file_actions_adddup2");
      return -1;
    }
    case kind::merge_into_stdout:
      if (target != 2) throw std::invalid_argument("subprocess::stdout is only valid for stderr");
      check(::posix_spawn_file_actions_adddup2(&s.actions, 1, 2),
            "posix_spawn_file_actions_adddup2");
      return -1;
    case kind::pipe: {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) throw_errno(errno, "pipe2 for a child stream");
      owned.add(p[0]);
      owned.add(p[1]);
      int child = target == 0 ? p[0] : p[1];
      int parent = target == 0 ? p[1] : p[0];
      if (child < 3) child = above_stdio(child, owned, "duplicate a pipe end");
      check(::posix_spawn_file_actions_adddup2(&s.actions, child, target),
            "posix_spawn_file_actions_adddup2");
      return parent;
    }
  }
  return -1;
}

// The child's environment as "KEY=VALUE" strings; empty optional when it is
// the parent's unchanged.
std::optional<std::vector<std::string>> child_environment(const subprocess_options& o) {
  if (!o.env && o.extra_env.empty()) return std::nullopt;
  std::map<std::string, std::string> vars;
  if (o.env) {
    vars = *o.env;
  } else {
    for (char** e = environ; e && *e; ++e) {
      std::string_view kv(*e);
      auto eq = kv.find('=');
      if (eq != std::string_view::npos)
        vars.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    }
  }
  for (auto& [k, v] : o.extra_env) vars[k] = v;
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (auto& [k, v] : vars) {
    if (k.empty() || k.find('=') != std::string::npos)
      throw std::invalid_argument("subprocess environment: invalid variable name '" + k + "'");
    out.push_back(k + "=" + v);
  }
  return out;
}

// Popen's lookup: a name without "/" is searched in the PATH the child will
// have (the parent's when the environment is unchanged).
std::string find_program(const std::string& program,
                         const std::optional<std::vector<std::string>>& env) {
  if (program.empty()) throw_errno(ENOENT, "cannot run '': empty program name");
  if (program.find('/') != std::string::npos) return program;
  std::string path = "/bin:/usr/bin";
  if (env) {
    for (auto& kv : *env)
      if (kv.rfind("PATH=", 0) == 0) path = kv.substr(5);
  } else if (const char* p = ::getenv("PATH")) {
    path = p;
  }
  int err = ENOENT;
  std::size_t start = 0;
  for (;;) {
    std::size_t end = path.find(':', start);
    std::string dir =
        path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      err = EACCES;  // as execvp: remembered, the search goes on
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  throw_errno(err, "cannot run '" + program + "' (not found in PATH " + path + ")");
}

}  // namespace

spawned_child spawn_child(const std::vector<std::string>& argv, const subprocess_options& o) {
  if (argv.empty()) throw std::invalid_argument("create_subprocess_exec: no program");
  if (o.stdin.what == subprocess::stdio::kind::merge_into_stdout)
    throw std::invalid_argument("subprocess::stdout is only valid for stderr");
  auto env = child_environment(o);
  std::string path = find_program(argv[0], env);

  fd_set_guard owned;
  spawn_setup s;
  spawned_child out;
  out.stdin_fd = wire(s, 0, o.stdin, owned);
  out.stdout_fd = wire(s, 1, o.stdout, owned);
  out.stderr_fd = wire(s, 2, o.stderr, owned);
  if (o.close_fds)
    check(::posix_spawn_file_actions_addclosefrom_np(&s.actions, 3), "addclosefrom_np");
  if (!o.cwd.empty())
    check(::posix_spawn_file_actions_addchdir_np(&s.actions, o.cwd.c_str()), "addchdir_np");

  // The loop blocks the signals it watches with signalfd, and a program may
  // ignore SIGPIPE: the child starts with nothing blocked and every
  // disposition at its default (Popen's restore_signals, and more). glibc's
  // two internal signals (32, 33) cannot be named here: its posix_spawn
  // leaves them ignored, and glibc programs install their own handlers.
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  check(::posix_spawnattr_setsigmask(&s.attr, &none), "posix_spawnattr_setsigmask");
  check(::posix_spawnattr_setsigdefault(&s.attr, &all), "posix_spawnattr_setsigdefault");
  if (o.process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    check(::posix_spawnattr_setpgroup(&s.attr, *o.process_group), "posix_spawnattr_setpgroup");
  }
  if (o.start_new_session) flags |= POSIX_SPAWN_SETSID;
  check(::posix_spawnattr_setflags(&s.attr, flags), "posix_spawnattr_setflags");

  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  if (env) {
    for (auto& kv : *env) envp.push_back(const_cast<char*>(kv.c_str()));
    envp.push_back(nullptr);
  }
  pid_t pid = -1;
  int r = ::posix_spawn(&pid, path.c_str(), &s.actions, &s.attr, args.data(),
                        env ? envp.data() : environ);
  if (r != 0) {
    std::string what = "cannot run '" + argv[0] + "'";
    if (path != argv[0]) what += " (" + path + ")";
    if (!o.cwd.empty()) what += " in '" + o.cwd + "'";
    throw_errno(r, what);
  }
  // The child is ours until reaped, so its pid cannot be reused before the
  // pidfd is open.
  int pidfd = pidfd_open(pid);
  if (pidfd < 0) {
    int err = errno;
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    throw_errno(err, "pidfd_open for '" + argv[0] + "' (Linux 5.3 or later is needed)");
  }
  out.pid = pid;
  out.pidfd = pidfd;
  for (int fd : {out.stdin_fd, out.stdout_fd, out.stderr_fd})
    if (fd >= 0) owned.keep(fd);
  return out;  // `owned` closes the child's ends and the duplicates
}

}  // namespace aio::detail
