// SPDX-License-Identifier: MIT
// Producer/consumer with aio::queue, after the asyncio.Queue example in the
// Python docs: a bounded queue of jobs, three workers that get() them and
// call task_done(), join() to wait until every job is processed, then the
// workers are cancelled (they would wait forever on an empty queue).
//
//   build/release/examples/example_queue_workers

#include <aio/aio.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;

struct job {
  int id;
  std::chrono::milliseconds cost;
};

// Like `async def worker(name, queue)`: runs until cancelled.
aio::task<> worker(std::string name, aio::queue<job>& q, std::chrono::milliseconds& busy) {
  for (;;) {
    job j = co_await q.get();  // waits while the queue is empty
    co_await aio::sleep(j.cost);
    busy += j.cost;
    std::printf("%s finished job %d (%lld ms)\n", name.c_str(), j.id,
                static_cast<long long>(j.cost.count()));
    q.task_done();
  }
}

aio::task<> amain() {
  aio::queue<job> q(4);  // bounded: the producer waits when 4 jobs are pending
  std::chrono::milliseconds busy{0};
  const auto start = aio::get_running_loop().time();

  std::vector<aio::task_handle<>> workers;
  for (int i = 0; i < 3; ++i)
    workers.push_back(aio::create_task(worker("worker-" + std::to_string(i), q, busy)));

  for (int i = 0; i < 12; ++i) co_await q.put(job{i, std::chrono::milliseconds(10 + (i * 7) % 30)});

  co_await q.join();  // every job put has been marked task_done()
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(aio::get_running_loop().time() - start);

  for (auto& w : workers) w.cancel();
  for (auto& w : workers) {
    try {
      co_await w;
    } catch (const aio::cancelled_error&) {
      // expected: we cancelled it
    }
  }
  std::printf("3 workers slept %lld ms in total, in %lld ms of wall time\n",
              static_cast<long long>(busy.count()), static_cast<long long>(elapsed.count()));
}

int main() {
  aio::run(amain());
  return 0;
}
