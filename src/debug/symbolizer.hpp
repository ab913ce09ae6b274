// SPDX-License-Identifier: MIT
#pragma once
// Addresses of this process to function, file and line, with elfutils'
// libdwfl (the process's modules from /proc/self/maps, DWARF line tables,
// symbol tables for code without debug information). Not thread-safe: each
// user (a watchdog, a task dump) keeps its own.

#include <cstdint>
#include <memory>
#include <mutex>

#include "aio/debug/blocking_detector.hpp"

namespace aio::debug::detail {

class symbolizer {
 public:
  symbolizer();
  ~symbolizer();
  symbolizer(const symbolizer&) = delete;
  symbolizer& operator=(const symbolizer&) = delete;

  /// The frame at `address`. `return_address`: the address follows a call
  /// (every frame but the innermost), so the call's own line is looked up.
  stack_frame resolve(std::uintptr_t address, bool return_address);

 private:
  struct state;
  std::unique_ptr<state> s_;
};

/// The process's symbolizer, shared by every watchdog and task dump (reading
/// a program's debug information once is what costs). Use it under
/// symbols_mutex(); made on first use.
std::mutex& symbols_mutex();
symbolizer& symbols();
/// Reads the program's own line tables ahead of a first report, so that the
/// first stall is not missed while they load. Takes symbols_mutex().
void warm_up_symbols();

/// "function (file:line)", or what of it is known.
std::string describe(const stack_frame& f);

}  // namespace aio::debug::detail
