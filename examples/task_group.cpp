// SPDX-License-Identifier: MIT
// task_group: structured concurrency, like `async with asyncio.TaskGroup()`.
// Every child finishes before the group does; the first failure cancels the
// rest, and all failures come out together as one exception_group.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "aio/aio.hpp"

using namespace std::chrono_literals;

namespace {

aio::task<> worker(std::string name, std::chrono::milliseconds work, bool fail) {
  try {
    co_await aio::sleep(work);
  } catch (const aio::cancelled_error&) {
    std::printf("  %s: cancelled\n", name.c_str());
    throw;
  }
  if (fail) throw std::runtime_error(name + " failed");
  std::printf("  %s: done\n", name.c_str());
}

aio::task<int> amain() {
  std::printf("all succeed:\n");
  co_await aio::with_task_group([](aio::task_group& tg) -> aio::task<> {
    tg.create_task(worker("a", 10ms, false));
    tg.create_task(worker("b", 20ms, false));
    co_return;
  });

  std::printf("one fails, the others are cancelled:\n");
  try {
    co_await aio::with_task_group([](aio::task_group& tg) -> aio::task<> {
      tg.create_task(worker("c", 10ms, true));
      tg.create_task(worker("d", 1s, false));
      co_await aio::sleep(1s);  // the body is cancelled too
      std::printf("  never printed\n");
    });
  } catch (const aio::exception_group& g) {
    std::printf("%s\n", g.what());
  }
  co_return 0;
}

}  // namespace

int main() { return aio::run(amain()); }
