// SPDX-License-Identifier: MIT
// Subprocesses: communicate (input in, output out, no deadlock), streaming a
// child's output line by line, a shell pipeline, and a child that takes too
// long (wait_for, then kill) — the loop never blocks meanwhile.
#include <cstdio>
#include <string>
#include <vector>

#include "aio/aio.hpp"

using namespace std::chrono_literals;
namespace sp = aio::subprocess;

namespace {

// Argument vectors are variables: GCC 12 rejects a braced list of strings
// inside a co_await expression.
aio::subprocess_options stdin_and_stdout() {
  aio::subprocess_options o;
  o.stdin = sp::pipe;
  o.stdout = sp::pipe;
  return o;
}
aio::subprocess_options stdout_only() {
  aio::subprocess_options o;
  o.stdout = sp::pipe;
  return o;
}

aio::task<> sort_words() {
  auto p = co_await aio::create_subprocess_exec("sort", {}, stdin_and_stdout());
  auto [out, err] = co_await p.communicate("pear\napple\nfig\n");
  std::printf("sort said:\n%s(exit %d)\n", out.c_str(), *p.returncode());
}

aio::task<> stream_lines() {
  std::vector<std::string> args{"3"};
  auto p = co_await aio::create_subprocess_exec("seq", args, stdout_only());
  while (true) {
    std::string line = co_await p.stdout->readline();
    if (line.empty()) break;  // end of stream: the child closed its stdout
    std::printf("seq: %s", line.c_str());
  }
  std::printf("seq exited with %d\n", co_await p.wait());
}

aio::task<> shell_pipeline() {
  auto p = co_await aio::create_subprocess_shell("printf 'b\\na\\nb\\n' | sort | uniq -c",
                                                 stdout_only());
  std::printf("pipeline:\n%s", (co_await p.communicate()).out.c_str());
}

aio::task<> too_slow() {
  std::vector<std::string> args{"10"};
  auto p = co_await aio::create_subprocess_exec("sleep", args);
  try {
    co_await aio::wait_for(p.wait(), 100ms);  // cancelling wait() does not kill the child…
  } catch (const aio::timeout_error&) {
    p.kill();  // …so we do
  }
  std::printf("sleep 10 ended with %d (-9: SIGKILL)\n", co_await p.wait());
}

aio::task<> main_task() {
  co_await sort_words();
  co_await stream_lines();
  co_await shell_pipeline();
  co_await too_slow();
}

}  // namespace

int main() { aio::run(main_task()); }
