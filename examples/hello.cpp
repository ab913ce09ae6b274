// SPDX-License-Identifier: MIT
// Hello, aiocpp: the README's first example. Two tasks run concurrently
// (create_task), each waiting without blocking (sleep); a third wait is cut
// short by a deadline (wait_for).
//
//   build/release/examples/example_hello

#include <aio/aio.hpp>
#include <chrono>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

// Like `async def greet(who, delay)`: nothing runs until it is awaited.
aio::task<std::string> greet(std::string who, std::chrono::milliseconds delay) {
  co_await aio::sleep(delay);
  co_return "hello, " + who;
}

aio::task<> amain() {
  const auto start = aio::get_running_loop().time();

  // Both tasks start now and wait at the same time: about 200 ms in all, not 300.
  auto world = aio::create_task(greet("world", 200ms), "greet-world");
  auto python = aio::create_task(greet("asyncio", 100ms), "greet-asyncio");
  std::printf("%s\n", (co_await world).c_str());
  std::printf("%s\n", (co_await python).c_str());

  // A deadline: wait_for cancels greet() after 50 ms and throws timeout_error.
  try {
    std::printf("%s\n", (co_await aio::wait_for(greet("slowpoke", 10s), 50ms)).c_str());
  } catch (const aio::timeout_error&) {
    std::printf("slowpoke: timed out after 50 ms\n");
  }

  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(aio::get_running_loop().time() - start);
  std::printf("done in %lld ms\n", static_cast<long long>(elapsed.count()));
}

int main() {
  aio::run(amain());  // like asyncio.run(main())
  return 0;
}
