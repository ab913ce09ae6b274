// SPDX-License-Identifier: MIT
// gather: run several coroutines at once and collect their results in
// argument order — asyncio.gather, with return_exceptions as a tag.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "aio/aio.hpp"

using namespace std::chrono_literals;

namespace {

aio::task<std::string> fetch(std::string what, std::chrono::milliseconds delay) {
  co_await aio::sleep(delay);  // stands in for a network call
  co_return "<" + what + ">";
}

aio::task<int> flaky(int i) {
  co_await aio::sleep(5ms);
  if (i % 3 == 0) throw std::runtime_error("item " + std::to_string(i) + " failed");
  co_return i * 10;
}

aio::task<int> amain() {
  // Three fetches run concurrently: the whole takes ~30 ms, not 60.
  auto t0 = aio::get_running_loop().time();
  auto [a, b, c] = co_await aio::gather(fetch("a", 30ms), fetch("b", 10ms), fetch("c", 20ms));
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(aio::get_running_loop().time() - t0);
  std::printf("gather: %s %s %s in %lld ms\n", a.c_str(), b.c_str(), c.c_str(),
              static_cast<long long>(ms.count()));

  // A vector of tasks gives a vector of results, in order.
  std::vector<aio::task<int>> jobs;
  for (int i = 1; i <= 5; ++i) jobs.push_back(flaky(i * 2 - 1));  // 1 3 5 7 9
  auto outcomes = co_await aio::gather(aio::return_exceptions, std::move(jobs));
  for (const auto& o : outcomes) {
    if (o.has_value())
      std::printf("  ok     %d\n", o.value());
    else
      std::printf("  failed %s\n", aio::describe(o.exception()).c_str());
  }

  // Without return_exceptions the first failure is raised.
  try {
    co_await aio::gather(flaky(1), flaky(3));
  } catch (const std::runtime_error& e) {
    std::printf("gather raised: %s\n", e.what());
  }
  co_await aio::sleep(10ms);
  co_return 0;
}

}  // namespace

int main() { return aio::run(amain()); }
