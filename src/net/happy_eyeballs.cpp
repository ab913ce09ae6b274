// SPDX-License-Identifier: MIT
// Happy Eyeballs (RFC 8305 §5) the way asyncio's staggered_race runs it: a
// task per attempt in a task group, each started when the previous one
// failed or the delay passed; the first success wins and the group cancels
// the rest. The group also guarantees that no attempt (and no socket)
// outlives the race, whatever ends it.
#include <string>

#include "aio/core/event.hpp"
#include "aio/core/task_group.hpp"
#include "aio/core/timeout.hpp"
#include "connect_impl.hpp"

namespace aio::detail {

namespace {

struct race {
  const std::vector<address_info>& targets;
  const std::optional<sock_address>& local;
  std::vector<std::exception_ptr>& errors;
  std::vector<char> failed;
  std::size_t finished = 0;
  unique_fd winner;
  event changed;  // set whenever an attempt ends
};

task<> attempt(race& r, std::size_t i) {
  try {
    unique_fd fd = co_await connect_one(r.targets[i], r.local);
    if (!r.winner) r.winner = std::move(fd);  // a success after the winner closes here
  } catch (const std::exception&) {
    r.errors[i] = std::current_exception();
    r.failed[i] = 1;
  }
  ++r.finished;
  r.changed.set();
}

// Waits for a change until `deadline`; false once the deadline has passed.
task<bool> wait_change(race& r, event_loop::time_point deadline) {
  r.changed.clear();
  try {
    co_await timeout_at(deadline).run(r.changed.wait());
  } catch (const timeout_error&) {
    co_return false;
  }
  co_return true;
}

}  // namespace

task<unique_fd> connect_staggered(const std::vector<address_info>& targets,
                                  std::chrono::milliseconds delay,
                                  const std::optional<sock_address>& local,
                                  std::vector<std::exception_ptr>& errors) {
  errors.assign(targets.size(), nullptr);
  race r{targets, local, errors, std::vector<char>(targets.size(), 0)};
  co_await with_task_group([&](task_group& tg) -> task<> {
    std::vector<task_handle<>> started;
    event_loop& loop = get_running_loop();
    for (std::size_t i = 0; i < targets.size() && !r.winner; ++i) {
      started.push_back(
          tg.create_task(attempt(r, i), "happy eyeballs " + targets[i].address.to_string()));
      if (i + 1 == targets.size()) break;
      auto deadline = loop.time() + std::chrono::ceil<event_loop::duration>(delay);
      while (!r.winner && !r.failed[i]) {
        bool changed = co_await wait_change(r, deadline);
        if (!changed) break;  // the delay passed: start the next attempt
      }
    }
    while (!r.winner && r.finished < started.size()) {
      r.changed.clear();
      co_await r.changed.wait();
    }
    for (auto& h : started) h.cancel();
  });
  if (r.winner) errors.clear();
  co_return std::move(r.winner);
}

std::vector<address_info> interleave_families(const std::vector<address_info>& in,
                                              int first_count) {
  std::vector<std::vector<const address_info*>> by_family;
  for (const auto& a : in) {
    auto it = by_family.begin();
    while (it != by_family.end() && (*it)[0]->family != a.family) ++it;
    if (it == by_family.end())
      by_family.push_back({&a});
    else
      it->push_back(&a);
  }
  std::vector<address_info> out;
  out.reserve(in.size());
  if (by_family.empty()) return out;
  // As asyncio: first_count - 1 of the first family, then one of each family in turn.
  std::size_t head =
      first_count > 1 ? std::min<std::size_t>(first_count - 1, by_family[0].size()) : 0;
  for (std::size_t i = 0; i < head; ++i) out.push_back(*by_family[0][i]);
  by_family[0].erase(by_family[0].begin(),
                     by_family[0].begin() + static_cast<std::ptrdiff_t>(head));
  for (std::size_t round = 0; out.size() < in.size(); ++round) {
    for (auto& fam : by_family)
      if (round < fam.size()) out.push_back(*fam[round]);
  }
  return out;
}

}  // namespace aio::detail
