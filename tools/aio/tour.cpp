// SPDX-License-Identifier: MIT
// The lesson registry and the output helpers every lesson uses.

#include "tour.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "aio/core/errors.hpp"
#include "aio/core/sleep.hpp"
#include "aio/exec/process_pool_executor.hpp"

namespace aio::tour {

void never_block(const options& opts);
void find_what_blocks(const options& opts);
void use_async_modules(const options& opts);
void use_every_core(const options& opts);
void async_files(const options& opts);

namespace {

// To add a lesson: write tour_<name>.cpp with `void <name>(const options&)`,
// declare it above and add one line here. The order is the guide's order.
constexpr std::array registry{
    lesson{"never-block", "never block a coroutine", &never_block},
    lesson{"use-async-modules", "use async modules, not blocking ones", &use_async_modules},
    lesson{"async-files", "files need async modules too", &async_files},
    lesson{"find-what-blocks", "find what blocks the loop", &find_what_blocks},
    lesson{"use-every-core", "use every core: one loop per process", &use_every_core},
};

}  // namespace

std::span<const lesson> lessons() { return registry; }

const lesson* find_lesson(std::string_view name) {
  for (const lesson& l : registry)
    if (l.name == name) return &l;
  return nullptr;
}

int run(std::span<const lesson* const> which, const options& opts) {
  // use-every-core's process pool forks its workers from a fork server, which
  // must start before the other lessons start threads (to_thread, …).
  aio::start_fork_server();
  std::array<const lesson*, registry.size()> all{};
  if (which.empty()) {
    for (std::size_t i = 0; i < registry.size(); ++i) all[i] = &registry[i];
    which = all;
  }
  bool first = true;
  for (const lesson* l : which) {
    if (!first) std::printf("\n");
    first = false;
    heading(*l);
    try {
      l->run(opts);
    } catch (const keyboard_interrupt&) {
      std::fprintf(stderr, "\naio tour: interrupted\n");
      return 130;  // the shell's status for SIGINT
    } catch (const cancelled_error& e) {
      std::fprintf(stderr, "aio tour: lesson '%.*s' was cancelled: %s\n",
                   static_cast<int>(l->name.size()), l->name.data(), e.what());
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "aio tour: lesson '%.*s' failed: %s\n", static_cast<int>(l->name.size()),
                   l->name.data(), e.what());
      return 1;
    }
    std::fflush(stdout);
  }
  return 0;
}

bool styled() {
  static const bool on = ::isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr;
  return on;
}

std::string bold(std::string_view text) {
  if (!styled()) return std::string(text);
  return "\033[1m" + std::string(text) + "\033[0m";
}

std::string dim(std::string_view text) {
  if (!styled()) return std::string(text);
  return "\033[2m" + std::string(text) + "\033[0m";
}

void heading(const lesson& l) {
  std::string line = "== " + std::string(l.title) + " (aio tour " + std::string(l.name) + ") ==";
  std::printf("%s\n\n", bold(line).c_str());
}

void paragraph(std::string_view text, int indent) {
  constexpr std::size_t width = 78;
  const std::size_t room = width - static_cast<std::size_t>(indent);
  while (!text.empty()) {
    std::size_t n = text.size();
    if (n > room) {
      n = text.rfind(' ', room);
      if (n == std::string_view::npos || n == 0) n = room;  // one word longer than a line
    }
    std::printf("%*s%.*s\n", indent, "", static_cast<int>(n), text.data());
    text.remove_prefix(n);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  }
}

std::string format_duration(std::chrono::nanoseconds d) {
  const double ns = static_cast<double>(d.count());
  char buf[32];
  if (ns >= 1e9)
    std::snprintf(buf, sizeof buf, "%.3f s", ns / 1e9);
  else if (ns >= 1e6)
    std::snprintf(buf, sizeof buf, "%.1f ms", ns / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.0f us", ns / 1e3);
  return buf;
}

std::chrono::nanoseconds since(std::chrono::steady_clock::time_point start) {
  return std::chrono::steady_clock::now() - start;
}

void row_label(int width, std::string_view label) {
  std::printf("    %-*.*s ", width, static_cast<int>(label.size()), label.data());
  std::fflush(stdout);
}

task<> ticker(const bool& stop, std::chrono::nanoseconds& worst) {
  using namespace std::chrono_literals;
  while (!stop) {
    const auto due = std::chrono::steady_clock::now() + 10ms;
    co_await aio::sleep(10ms);
    worst = std::max<std::chrono::nanoseconds>(worst, std::chrono::steady_clock::now() - due);
  }
}

}  // namespace aio::tour
