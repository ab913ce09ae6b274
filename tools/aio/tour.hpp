// SPDX-License-Identifier: MIT
#pragma once
// The tour: the guide's lessons, run live. Each lesson is a function in its
// own tour_<name>.cpp, listed once in the registry in tour.cpp (name, title,
// function). A lesson measures something real and prints it with the helpers
// below, so every lesson reads the same in a terminal and in a log file.

#include <chrono>
#include <span>
#include <string>
#include <string_view>

#include "aio/core/task.hpp"

namespace aio::tour {

/// What the command line asked of the tour.
struct options {
  bool quick = false;  // --quick: smaller sizes, for CI and impatient readers
};

/// One lesson: `aio tour <name>` runs it.
struct lesson {
  std::string_view name;   // e.g. "never-block": what `aio tour <name>` takes
  std::string_view title;  // one line, e.g. "never block a coroutine"
  void (*run)(const options&);
};

/// Every lesson, in the order `aio tour` runs them.
std::span<const lesson> lessons();

/// The lesson called `name`, or nullptr.
const lesson* find_lesson(std::string_view name);

/// Runs `which` (all lessons when empty). Returns the process exit status.
int run(std::span<const lesson* const> which, const options& opts);

// --- output helpers shared by the lessons --------------------------------

/// True when stdout is a terminal and NO_COLOR is unset: only then do the
/// helpers emit ANSI styles, so redirected output stays plain text.
bool styled();

/// `text` in bold (plain when !styled()).
std::string bold(std::string_view text);
/// `text` dimmed, for explanations (plain when !styled()).
std::string dim(std::string_view text);

/// Prints the lesson heading: "== <title> (aio tour <name>) ==".
void heading(const lesson& l);

/// Prints `text` wrapped at 78 columns, every line indented by `indent`.
void paragraph(std::string_view text, int indent = 2);

/// "1.234 s", "12.3 ms" or "456 us": three significant digits, unit chosen
/// so the number stays readable.
std::string format_duration(std::chrono::nanoseconds d);

/// Wall-clock time elapsed since `start`.
std::chrono::nanoseconds since(std::chrono::steady_clock::time_point start);

/// Starts a table row: `label` left-aligned in `width` columns after the
/// indent, flushed, so the reader sees what runs while it is measured.
void row_label(int width, std::string_view label);

/// The lessons' witness: wakes every 10 ms until `stop`, recording in `worst`
/// how late it woke at worst — what every other task of the loop suffered.
/// Run it with create_task next to the work being measured.
task<> ticker(const bool& stop, std::chrono::nanoseconds& worst);

}  // namespace aio::tour
