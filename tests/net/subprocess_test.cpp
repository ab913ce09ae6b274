// SPDX-License-Identifier: MIT
// Subprocess lifecycle: exit codes, signals, start failures, shell, cwd and
// environment, process groups and sessions, what the child inherits.
#include "aio/net/subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "aio_test.hpp"

using namespace std::chrono_literals;
namespace sp = aio::subprocess;

namespace {

// Arguments come from functions: GCC 12 cannot build a braced list of
// strings inside a co_await expression.
std::vector<std::string> sh(std::string script) { return {"-c", std::move(script)}; }

aio::subprocess_options out_pipe() {
  aio::subprocess_options o;
  o.stdout = sp::pipe;
  return o;
}
aio::subprocess_options in_pipe() {
  aio::subprocess_options o;
  o.stdin = sp::pipe;
  return o;
}

// What `script` prints on stdout, run by /bin/sh with `o` (stdout piped).
aio::task<std::string> output_of(std::string script, aio::subprocess_options o = out_pipe()) {
  o.stdout = sp::pipe;
  auto p = co_await aio::create_subprocess_exec("/bin/sh", sh(std::move(script)), o);
  auto r = co_await p.communicate();
  EXPECT_EQ(co_await p.wait(), 0);
  co_return r.out;
}

}  // namespace

AIO_TEST_SUITE(subprocess_test);

AIO_TEST(subprocess_test, exit_codes) {
  auto p = co_await aio::create_subprocess_exec("/bin/sh", sh("exit 3"));
  EXPECT_GT(p.pid(), 0);
  EXPECT_EQ(co_await p.wait(), 3);
  EXPECT_EQ(p.returncode(), 3);
  EXPECT_EQ(co_await p.wait(), 3);  // again: the same answer at once
  auto t = co_await aio::create_subprocess_exec("true");
  EXPECT_EQ(co_await t.wait(), 0);
  auto f = co_await aio::create_subprocess_exec("false");
  EXPECT_EQ(co_await f.wait(), 1);
}

AIO_TEST(subprocess_test, returncode_is_empty_while_running) {
  auto p = co_await aio::create_subprocess_exec("cat", {}, in_pipe());
  co_await aio::sleep(5ms);
  EXPECT_FALSE(p.returncode().has_value());
  p.stdin->close();  // cat sees end of input and exits
  EXPECT_EQ(co_await p.wait(), 0);
  EXPECT_EQ(p.returncode(), 0);
}

AIO_TEST(subprocess_test, killed_by_a_signal_is_minus_the_signal) {
  auto p = co_await aio::create_subprocess_exec("cat", {}, in_pipe());
  p.kill();
  EXPECT_EQ(co_await p.wait(), -SIGKILL);
  auto q = co_await aio::create_subprocess_exec("cat", {}, in_pipe());
  q.terminate();
  EXPECT_EQ(co_await q.wait(), -SIGTERM);
  auto r = co_await aio::create_subprocess_exec("cat", {}, in_pipe());
  r.send_signal(SIGINT);
  EXPECT_EQ(co_await r.wait(), -SIGINT);
  // After the exit: no-ops, not errors.
  EXPECT_NO_THROW(p.kill());
  EXPECT_NO_THROW(q.terminate());
  EXPECT_NO_THROW(r.send_signal(SIGUSR1));
  EXPECT_EQ(p.returncode(), -SIGKILL);
  // A signal number the kernel rejects is an error while the child runs.
  auto s = co_await aio::create_subprocess_exec("cat", {}, in_pipe());
  EXPECT_THROW(s.send_signal(12345), std::system_error);
  s.kill();
  co_await s.wait();
}

AIO_TEST(subprocess_test, a_missing_program_is_an_error_naming_it) {
  try {
    co_await aio::create_subprocess_exec("aio-no-such-program-here", {});
    ADD_FAILURE() << "spawning a missing program should fail";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("aio-no-such-program-here"), std::string::npos)
        << e.what();
  }
  // With a path the exec itself fails in the child; glibc reports it back.
  try {
    co_await aio::create_subprocess_exec("/nonexistent/dir/prog", {});
    ADD_FAILURE() << "spawning a missing path should fail";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/prog"), std::string::npos) << e.what();
  }
  aio::test::temp_dir dir("aio_sp_");
  std::string data_file = dir / "data";
  ::close(::open(data_file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));  // not executable
  try {
    co_await aio::create_subprocess_exec(data_file, {});
    ADD_FAILURE() << "spawning a data file should fail";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EACCES) << e.what();
  }
  ::chmod(data_file.c_str(), 0700);  // executable, but no program: the kernel says ENOEXEC
  try {
    co_await aio::create_subprocess_exec(data_file, {});
    ADD_FAILURE() << "spawning an empty file should fail";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOEXEC) << e.what();
  }
  aio::subprocess_options bad_cwd;
  bad_cwd.cwd = "/nonexistent/cwd";
  try {
    co_await aio::create_subprocess_exec("true", {}, bad_cwd);
    ADD_FAILURE() << "a missing cwd should fail";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cwd"), std::string::npos) << e.what();
  }
  aio::subprocess_options bad_merge;
  bad_merge.stdin = sp::stdout;
  EXPECT_THROW(co_await aio::create_subprocess_exec("true", {}, bad_merge), std::invalid_argument);
  aio::subprocess_options bad_fd;
  bad_fd.stdout = sp::file(-5);
  EXPECT_THROW(co_await aio::create_subprocess_exec("true", {}, bad_fd), std::invalid_argument);
}

AIO_TEST(subprocess_test, shell_with_pipes_and_exit_status) {
  EXPECT_EQ(co_await output_of("echo hello world | tr a-z A-Z | cut -d' ' -f2"), "WORLD\n");
  auto p = co_await aio::create_subprocess_shell("echo to-stdout; exit 7", out_pipe());
  auto r = co_await p.communicate();
  EXPECT_EQ(r.out, "to-stdout\n");
  EXPECT_EQ(co_await p.wait(), 7);
  // A command the shell cannot find is its exit code 127, not an exception.
  aio::subprocess_options quiet;
  quiet.stderr = sp::devnull;
  auto q = co_await aio::create_subprocess_shell("aio-no-such-command-here", quiet);
  EXPECT_EQ(co_await q.wait(), 127);
}

AIO_TEST(subprocess_test, cwd_and_environment) {
  aio::subprocess_options in_tmp;
  in_tmp.cwd = "/tmp";
  EXPECT_EQ(co_await output_of("pwd", in_tmp), "/tmp\n");
  // env replaces everything (PATH included: the program is found in the
  // PATH given here).
  aio::subprocess_options replaced;
  replaced.stdout = sp::pipe;
  replaced.env = std::map<std::string, std::string>{{"ONLY", "this"}};
  auto p = co_await aio::create_subprocess_exec("/usr/bin/env", {}, replaced);
  EXPECT_EQ((co_await p.communicate()).out, "ONLY=this\n");
  aio::subprocess_options with_path;
  with_path.stdout = sp::pipe;
  with_path.env = std::map<std::string, std::string>{{"PATH", "/usr/bin:/bin"}};
  auto q = co_await aio::create_subprocess_exec("env", {}, with_path);
  EXPECT_EQ((co_await q.communicate()).out, "PATH=/usr/bin:/bin\n");
  aio::subprocess_options no_path;
  no_path.env = std::map<std::string, std::string>{{"PATH", "/nonexistent"}};
  EXPECT_THROW(co_await aio::create_subprocess_exec("env", {}, no_path), std::system_error);
  // extra_env extends the inherited environment (and overrides).
  ::setenv("AIO_SUBPROCESS_TEST", "inherited", 1);
  ::setenv("AIO_SUBPROCESS_OVER", "old", 1);
  aio::subprocess_options extended;
  extended.extra_env = {{"AIO_EXTRA", "added"}, {"AIO_SUBPROCESS_OVER", "new"}};
  EXPECT_EQ(
      co_await output_of("echo $AIO_SUBPROCESS_TEST:$AIO_EXTRA:$AIO_SUBPROCESS_OVER", extended),
      "inherited:added:new\n");
  ::unsetenv("AIO_SUBPROCESS_TEST");
  ::unsetenv("AIO_SUBPROCESS_OVER");
  aio::subprocess_options bad_name;
  bad_name.extra_env = {{"A=B", "x"}};
  EXPECT_THROW(co_await aio::create_subprocess_exec("true", {}, bad_name), std::invalid_argument);
}

AIO_TEST(subprocess_test, process_group_and_session) {
  // Fields 5 and 6 of /proc/<pid>/stat: process group and session.
  std::string script = "cut -d' ' -f5,6 /proc/$$/stat";
  std::string mine = std::to_string(::getpgrp()) + " " + std::to_string(::getsid(0)) + "\n";
  EXPECT_EQ(co_await output_of(script), mine);
  aio::subprocess_options group;
  group.stdout = sp::pipe;
  group.process_group = 0;
  auto p = co_await aio::create_subprocess_exec("/bin/sh", sh("echo $$; " + script), group);
  auto lines = (co_await p.communicate()).out;
  std::string pid = lines.substr(0, lines.find('\n'));
  EXPECT_EQ(lines, pid + "\n" + pid + " " + std::to_string(::getsid(0)) + "\n");
  aio::subprocess_options session;
  session.stdout = sp::pipe;
  session.start_new_session = true;
  auto q = co_await aio::create_subprocess_exec("/bin/sh", sh("echo $$; " + script), session);
  lines = (co_await q.communicate()).out;
  pid = lines.substr(0, lines.find('\n'));
  EXPECT_EQ(lines, pid + "\n" + pid + " " + pid + "\n");
}

AIO_TEST(subprocess_test, the_child_starts_with_no_blocked_or_ignored_signal) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &block, &old);
  auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
  // grep reads its own status (a shell would show the mask it uses while waiting).
  std::vector<std::string> args{"-E", "^Sig(Blk|Ign)", "/proc/self/status"};
  auto p = co_await aio::create_subprocess_exec("grep", args, out_pipe());
  std::string status = (co_await p.communicate()).out;
  ::signal(SIGPIPE, old_pipe);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  auto field = [&status](const char* name) {
    auto at = status.find(name);
    return at == std::string::npos
               ? ~0ull
               : std::stoull(status.substr(at + std::strlen(name)), nullptr, 16);
  };
  EXPECT_EQ(field("SigBlk:\t"), 0u) << status;
  // glibc's posix_spawn leaves its two internal signals (32 and 33) ignored
  // in every child; each glibc program installs its own handlers for them.
  EXPECT_EQ(field("SigIgn:\t") & ~0x180000000ull, 0u) << status;
}

AIO_TEST(subprocess_test, close_fds_and_inherited_descriptors) {
  int inheritable = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC
  CO_ASSERT_TRUE(inheritable > 2);
  std::string probe =
      "[ -e /proc/$$/fd/" + std::to_string(inheritable) + " ] && echo open || echo closed";
  EXPECT_EQ(co_await output_of(probe), "closed\n");
  aio::subprocess_options keep;
  keep.close_fds = false;
  EXPECT_EQ(co_await output_of(probe, keep), "open\n");
  ::close(inheritable);
  // The pipes of a child never leak into a sibling, even without close_fds.
  auto holder = co_await aio::create_subprocess_exec("cat", {}, in_pipe());
  int pipe_end = holder.stdin->socket_fd();
  CO_ASSERT_TRUE(pipe_end > 2);
  EXPECT_EQ(
      co_await output_of(
          "[ -e /proc/$$/fd/" + std::to_string(pipe_end) + " ] && echo open || echo closed", keep),
      "closed\n");
  holder.stdin->close();
  co_await holder.wait();
}

AIO_TEST(subprocess_test, stdio_to_devnull_and_to_files) {
  aio::subprocess_options null_in;
  null_in.stdin = sp::devnull;
  null_in.stdout = sp::pipe;
  auto p = co_await aio::create_subprocess_exec("cat", {}, null_in);
  EXPECT_EQ((co_await p.communicate()).out, "");
  EXPECT_EQ(co_await p.wait(), 0);
  aio::test::temp_file out;
  int file = out.fd;
  aio::subprocess_options to_file;
  to_file.stdout = sp::file(file);
  to_file.stderr = sp::stdout;
  auto q = co_await aio::create_subprocess_exec("/bin/sh", sh("echo one; echo two >&2"), to_file);
  EXPECT_EQ(co_await q.wait(), 0);
  EXPECT_FALSE(q.stdout.has_value());
  char buf[64] = {};
  EXPECT_EQ(::pread(file, buf, sizeof buf, 0), 8);
  EXPECT_EQ(std::string(buf), "one\ntwo\n");
  EXPECT_NE(::fcntl(file, F_GETFD), -1);  // still the caller's, still open
  aio::subprocess_options from_file;
  from_file.stdin = sp::file(file);
  from_file.stdout = sp::pipe;
  from_file.stderr = sp::devnull;
  ::lseek(file, 0, SEEK_SET);
  auto r = co_await aio::create_subprocess_exec("cat", {}, from_file);
  EXPECT_EQ((co_await r.communicate()).out, "one\ntwo\n");
}
