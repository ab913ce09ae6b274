// SPDX-License-Identifier: MIT
// Uses the installed package as a stranger would.
#include <aio/aio.hpp>

#include <cstdio>

using namespace std::chrono_literals;

aio::task<int> answer() {
  co_await aio::sleep(1ms);
  co_return 42;
}

aio::task<int> amain() {
  // One call into each module the consumer links: net (DNS), tls, fs.
  auto addresses = co_await aio::getaddrinfo("127.0.0.1", 80);
  auto ctx = aio::tls::create_default_context();
  bool exists = co_await aio::fs::exists("/");
  if (addresses.size() != 1 || !exists || ctx.server_side()) co_return -1;
  co_return co_await aio::create_task(answer());
}

int main() {
  std::printf("consumer ok %d\n", aio::run(amain()));
  return 0;
}
