// SPDX-License-Identifier: MIT
// Subprocess pipes: streams through cat, communicate with large data both
// ways, stderr separate and merged, many children at once.
#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "aio/net/subprocess.hpp"
#include "aio_test.hpp"

using namespace std::chrono_literals;
namespace sp = aio::subprocess;

namespace {

std::vector<std::string> sh(std::string script) { return {"-c", std::move(script)}; }

aio::subprocess_options all_pipes() {
  aio::subprocess_options o;
  o.stdin = sp::pipe;
  o.stdout = sp::pipe;
  o.stderr = sp::pipe;
  return o;
}
aio::subprocess_options out_err_pipes() {
  aio::subprocess_options o;
  o.stdout = sp::pipe;
  o.stderr = sp::pipe;
  return o;
}

// A payload that is not all one byte, so that reordering would show.
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  return s;
}

}  // namespace

AIO_TEST_SUITE(subprocess_io_test);

AIO_TEST(subprocess_io_test, lines_through_cat) {
  auto p = co_await aio::create_subprocess_exec("cat", {}, all_pipes());
  CO_ASSERT_TRUE(p.stdin && p.stdout && p.stderr);
  for (int i = 0; i < 10; ++i) {
    std::string line = "line " + std::to_string(i) + "\n";
    co_await p.stdin->write(line);
    EXPECT_EQ(co_await p.stdout->readline(), line);
  }
  p.stdin->write_eof();
  EXPECT_EQ(co_await p.stdout->read(), "");
  EXPECT_TRUE(p.stdout->at_eof());
  EXPECT_EQ(co_await p.stderr->read(), "");
  EXPECT_EQ(co_await p.wait(), 0);
}

AIO_TEST(subprocess_io_test, communicate_ten_megabytes_both_ways) {
  std::string input = pattern(10 * 1000 * 1000);
  auto p = co_await aio::create_subprocess_exec("cat", {}, all_pipes());
  auto r = co_await p.communicate(input);
  EXPECT_EQ(r.out.size(), input.size());
  EXPECT_TRUE(r.out == input);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(p.returncode(), 0);
}

AIO_TEST(subprocess_io_test, communicate_large_output_from_head) {
  aio::subprocess_options o = out_err_pipes();
  std::vector<std::string> args{"-c", "10000000", "/dev/zero"};
  auto p = co_await aio::create_subprocess_exec("head", args, o);
  auto r = co_await p.communicate();
  EXPECT_EQ(r.out.size(), 10000000u);
  EXPECT_EQ(r.out.find_first_not_of('\0'), std::string::npos);
  EXPECT_EQ(co_await p.wait(), 0);
}

AIO_TEST(subprocess_io_test, stderr_filled_first_does_not_deadlock) {
  // A reader that drained stdout before stderr would hang here: the child
  // fills the stderr pipe before it writes a byte to stdout.
  auto p = co_await aio::create_subprocess_exec(
      "/bin/sh",
      sh("head -c 3000000 /dev/zero | tr '\\0' e >&2; head -c 2000000 /dev/zero | tr '\\0' o"),
      out_err_pipes());
  auto r = co_await p.communicate();
  EXPECT_EQ(r.err, std::string(3000000, 'e'));
  EXPECT_EQ(r.out, std::string(2000000, 'o'));
  EXPECT_EQ(p.returncode(), 0);
}

AIO_TEST(subprocess_io_test, stderr_separate_or_merged) {
  auto p = co_await aio::create_subprocess_exec("/bin/sh", sh("echo out; echo err >&2; exit 2"),
                                                out_err_pipes());
  auto r = co_await p.communicate();
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(p.returncode(), 2);
  aio::subprocess_options merged;
  merged.stdout = sp::pipe;
  merged.stderr = sp::stdout;
  auto q = co_await aio::create_subprocess_exec("/bin/sh", sh("echo out; echo err >&2"), merged);
  CO_ASSERT_TRUE(!q.stderr.has_value());
  r = co_await q.communicate();
  EXPECT_EQ(r.out, "out\nerr\n");
  EXPECT_EQ(r.err, "");
}

AIO_TEST(subprocess_io_test, a_child_that_ignores_its_input) {
  // `true` exits without reading: the pipe breaks under the writer, which
  // communicate does not count as an error.
  auto p = co_await aio::create_subprocess_exec("true", {}, all_pipes());
  auto r = co_await p.communicate(pattern(5 * 1000 * 1000));
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(co_await p.wait(), 0);
  // head reads a little, then exits while the rest is being written.
  std::vector<std::string> args{"-c", "10"};
  auto q = co_await aio::create_subprocess_exec("head", args, all_pipes());
  r = co_await q.communicate(pattern(5 * 1000 * 1000));
  EXPECT_EQ(r.out, pattern(10));
  EXPECT_EQ(co_await q.wait(), 0);
}

AIO_TEST(subprocess_io_test, communicate_without_pipes_just_waits) {
  aio::subprocess_options quiet;
  quiet.stdout = sp::devnull;
  auto p = co_await aio::create_subprocess_exec("/bin/sh", sh("echo ignored; exit 4"), quiet);
  auto r = co_await p.communicate("no stdin pipe: dropped");
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(p.returncode(), 4);
}

AIO_TEST(subprocess_io_test, variadic_arguments) {
  auto p = co_await aio::create_subprocess_exec("/bin/sh", "-c", "exit $#", "zero", "one", "two");
  EXPECT_EQ(co_await p.wait(), 2);  // $0 is "zero"
}

AIO_TEST(subprocess_io_test, a_hundred_children_at_once) {
  constexpr int n = 100;
  std::vector<aio::task_handle<std::string>> runs;
  for (int i = 0; i < n; ++i) {
    runs.push_back(aio::create_task([](int i) -> aio::task<std::string> {
      aio::subprocess_options o;
      o.stdin = sp::pipe;
      o.stdout = sp::pipe;
      auto p = co_await aio::create_subprocess_exec("/bin/sh", sh("read x; echo $x-$0"), o);
      auto r = co_await p.communicate("child" + std::to_string(i) + "\n");
      EXPECT_EQ(co_await p.wait(), 0);
      co_return r.out;
    }(i)));
  }
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(co_await runs[i], "child" + std::to_string(i) + "-/bin/sh\n");
}

AIO_TEST(subprocess_io_test, reading_stdout_while_the_child_is_killed) {
  auto p = co_await aio::create_subprocess_exec("/bin/sh", sh("echo started; exec sleep 1000"),
                                                out_err_pipes());
  EXPECT_EQ(co_await p.stdout->readline(), "started\n");
  auto rest = aio::create_task(p.stdout->read());
  co_await aio::sleep(2ms);
  EXPECT_FALSE(rest.done());
  p.kill();
  EXPECT_EQ(co_await rest, "");  // the pipe's write end died with the child
  EXPECT_EQ(co_await p.wait(), -SIGKILL);
}
