// SPDX-License-Identifier: MIT
// Uses the installed package as a stranger would.
#include <aio/aio.hpp>

#include <cstdio>

using namespace std::chrono_literals;

aio::task<int> answer() {
  co_await aio::sleep(1ms);
  co_return 42;
}

aio::task<int> amain() { co_return co_await aio::create_task(answer()); }

int main() {
  std::printf("consumer ok %d\n", aio::run(amain()));
  return 0;
}
