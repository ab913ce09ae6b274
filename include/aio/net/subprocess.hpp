// SPDX-License-Identifier: MIT
#pragma once
// Child processes, like asyncio.create_subprocess_exec / _shell and
// asyncio.subprocess.Process: the child's stdin/stdout/stderr can be pipes
// with streams on them, its exit is awaited without blocking the loop.
//
//   aio::subprocess_options opts;
//   opts.stdin = opts.stdout = aio::subprocess::pipe;
//   aio::process p = co_await aio::create_subprocess_exec("sort", {}, opts);
//   auto [out, err] = co_await p.communicate("b\na\n");   // out == "a\nb\n"
//   int status = co_await p.wait();                        // 0
//
// How it works: the child is started with posix_spawn (glibc's
// clone(CLONE_VM|CLONE_VFORK): no fork() of a threaded program, and an exec
// failure comes back as an error here), with its signal mask emptied and
// every signal's disposition reset to the default. Its exit is watched with
// a pidfd (Linux 5.3+): no SIGCHLD handler, no race with other children, and
// it is reaped by a task the loop owns, so it never stays a zombie even when
// nobody calls wait().
//
// GCC 12 rejects a braced list of strings inside a co_await expression: put
// the argument vector in a variable, or use the variadic
// create_subprocess_exec ("sh", "-c", "…").

#include <sys/types.h>

#include <csignal>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "aio/core/task.hpp"
#include "aio/net/stream.hpp"

namespace aio {

namespace subprocess {

/// Where one of the child's standard streams goes (asyncio's stdin=/stdout=/stderr=).
struct stdio {
  enum class kind : unsigned char { inherit, pipe, devnull, merge_into_stdout, fd };
  kind what = kind::inherit;
  int fd = -1;  // for kind::fd
};

/// The parent's own stream, as asyncio's default None. The default.
inline constexpr stdio inherit{stdio::kind::inherit, -1};
/// A pipe with a stream on the parent's side: process::stdin is a
/// stream_writer, process::stdout / stderr a stream_reader. asyncio.subprocess.PIPE.
inline constexpr stdio pipe{stdio::kind::pipe, -1};
/// /dev/null. asyncio.subprocess.DEVNULL.
inline constexpr stdio devnull{stdio::kind::devnull, -1};
/// For stderr only: the same place as stdout. asyncio.subprocess.STDOUT.
inline constexpr stdio stdout{stdio::kind::merge_into_stdout, -1};
/// An open file descriptor of the parent (a file, socket, pipe…); it stays
/// the caller's (not closed). asyncio accepts a file object or an fd the same way.
constexpr stdio file(int fd) noexcept { return {stdio::kind::fd, fd}; }

}  // namespace subprocess

/// The keyword arguments of create_subprocess_exec / create_subprocess_shell
/// (asyncio passes them on to subprocess.Popen). Set the fields on a
/// variable. Deliberately not an aggregate, as connect_options: GCC 12
/// destroys an aggregate temporary written inside a co_await expression twice.
struct subprocess_options {
  subprocess_options() = default;
  subprocess::stdio stdin = subprocess::inherit;
  subprocess::stdio stdout = subprocess::inherit;
  subprocess::stdio stderr = subprocess::inherit;
  /// The child's working directory (Popen's cwd); empty: the parent's.
  std::string cwd;
  /// Replaces the environment (Popen's env=). nullopt: the parent's.
  std::optional<std::map<std::string, std::string>> env;
  /// Added to (or overriding) the environment the child would get otherwise.
  std::map<std::string, std::string> extra_env;
  /// setpgid in the child (Popen's process_group, Python 3.11): 0 puts the
  /// child in a new process group of its own. nullopt: the parent's group.
  std::optional<pid_t> process_group;
  /// setsid in the child (Popen's start_new_session).
  bool start_new_session = false;
  /// Close every fd above 2 in the child (Popen's close_fds, default true).
  /// False: fds without FD_CLOEXEC are inherited.
  bool close_fds = true;
  /// Limits of the pipe streams (asyncio's limit=).
  stream_options limits{};
};

/// What communicate() returns: everything the child wrote to its stdout and
/// stderr pipes ("" for a stream that is not a pipe).
struct communicate_result {
  std::string out;
  std::string err;
};

/// A running or finished child. Like `asyncio.subprocess.Process`. Movable
/// (not while one of its calls is in progress). Loop thread only: the loop
/// that created it.
class process {
 public:
  struct state;

  /// An empty process (only destroy or assign to it).
  process() noexcept = default;
  explicit process(std::shared_ptr<state> st) noexcept;
  process(process&&) noexcept = default;
  process& operator=(process&&) noexcept;
  /// Does not wait and does not kill: a child still running keeps running
  /// (like Popen; asyncio's transport kills it when garbage-collected). It
  /// is reaped in the background when it exits, never left a zombie. Its
  /// pipes are closed.
  ~process();

  /// The pipe streams, present only where subprocess::pipe was asked for.
  std::optional<stream_writer> stdin;
  std::optional<stream_reader> stdout;
  std::optional<stream_reader> stderr;

  /// Like `Process.pid`.
  pid_t pid() const noexcept;
  /// Like `Process.returncode`: nullopt while running; the exit code, or
  /// -N when a signal N killed it.
  std::optional<int> returncode() const noexcept;
  /// Like `await Process.wait()`: the returncode once the child has exited.
  /// Cancel-safe: a cancelled wait leaves the child alone (not killed) and
  /// can be retried. Any number of tasks may wait. As in asyncio, a child
  /// blocked writing to a full stdout/stderr pipe nobody reads never exits:
  /// use communicate() then.
  task<int> wait();
  /// Like `await Process.communicate(input)`: writes `input` to stdin (if it
  /// is a pipe) and closes it, while reading stdout and stderr (if pipes) to
  /// end of stream concurrently — no deadlock however much flows either way;
  /// then waits for the exit. A child that stops reading its stdin early
  /// (EPIPE) is not an error, as in asyncio. Difference: stdin is closed
  /// even when `input` is empty (asyncio leaves it open for input=None).
  /// Throws std::system_error when a pipe fails otherwise. Cancellation:
  /// the child is not killed; output read so far stays in stdout/stderr (a
  /// later read or communicate returns it), input may be partly written
  /// and stdin stays open.
  task<communicate_result> communicate(std::string input = {});
  /// Like `Process.send_signal(sig)`, through the pidfd (never a recycled
  /// pid). After the child exited it does nothing (as Popen.send_signal
  /// since Python 3.9; asyncio raises ProcessLookupError once its transport
  /// is closed). Throws std::system_error for an invalid signal.
  void send_signal(int sig);
  /// Like `Process.terminate()`: SIGTERM.
  void terminate() { send_signal(SIGTERM); }
  /// Like `Process.kill()`: SIGKILL.
  void kill() { send_signal(SIGKILL); }

 private:
  std::shared_ptr<state> st_;
};

/// Like `asyncio.create_subprocess_exec(program, *args, …)`: runs `program`
/// (looked up in the PATH of the child's environment when it has no "/",
/// as Popen does) with argv = {program, args…}. Throws std::system_error
/// naming the program when it cannot be started (ENOENT, EACCES, a bad
/// cwd…); std::invalid_argument for bad options. Not cancellable in
/// practice: spawning does not suspend.
task<process> create_subprocess_exec(std::string program, std::vector<std::string> args,
                                     subprocess_options options);
/// create_subprocess_exec with default options.
task<process> create_subprocess_exec(std::string program, std::vector<std::string> args);

/// create_subprocess_exec(program, {args…}) without the vector (asyncio's
/// `*args`), which GCC 12 cannot take as a braced list inside co_await.
template <class... Args>
requires(std::is_convertible_v<Args, std::string_view>&&...) task<process> create_subprocess_exec(
    std::string program, Args&&... args) {
  std::vector<std::string> argv;
  argv.reserve(sizeof...(args));
  (argv.emplace_back(std::string_view(args)), ...);
  return create_subprocess_exec(std::move(program), std::move(argv));
}

/// Like `asyncio.create_subprocess_shell(cmd, …)`: `/bin/sh -c cmd`. Errors
/// as create_subprocess_exec (a command the shell cannot find is exit code
/// 127, not an error, as in asyncio).
task<process> create_subprocess_shell(std::string cmd, subprocess_options options);
/// create_subprocess_shell with default options.
task<process> create_subprocess_shell(std::string cmd);

}  // namespace aio
