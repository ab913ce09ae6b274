// SPDX-License-Identifier: MIT
// The `aio` command. Today: `aio tour`, the guide's lessons run live.
// Exit status: 0 on success, 1 when a lesson fails, 2 for a bad command line,
// 130 when Ctrl-C interrupted a lesson.

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "tour.hpp"

#ifndef AIO_VERSION
#error "AIO_VERSION must be defined by the build"
#endif

namespace {

constexpr const char* usage_text =
    "usage: aio <command> [options]\n"
    "\n"
    "commands:\n"
    "  tour [<lesson>...] [--quick]  run the guide's lessons live (all of them, or\n"
    "                                the ones named); --quick uses smaller sizes\n"
    "  tour --list                   list the lessons\n"
    "\n"
    "options:\n"
    "  -h, --help                    show this help\n"
    "  --version                     print the version\n";

int bad_usage(const char* fmt, std::string_view arg) {
  std::fprintf(stderr, "aio: ");
  std::fprintf(stderr, fmt, static_cast<int>(arg.size()), arg.data());
  std::fprintf(stderr, "\nTry 'aio --help'.\n");
  return 2;
}

void list_lessons() {
  std::size_t width = 0;
  for (const auto& l : aio::tour::lessons()) width = std::max(width, l.name.size());
  for (const auto& l : aio::tour::lessons())
    std::printf("  %-*.*s  %.*s\n", static_cast<int>(width), static_cast<int>(l.name.size()),
                l.name.data(), static_cast<int>(l.title.size()), l.title.data());
}

int tour(int argc, char** argv) {
  aio::tour::options opts;
  bool list = false;
  std::vector<const aio::tour::lesson*> which;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--quick") {
      opts.quick = true;
    } else if (arg == "--list") {
      list = true;
    } else if (arg == "-h" || arg == "--help") {
      std::fputs(usage_text, stdout);
      return 0;
    } else if (arg.starts_with("-")) {
      return bad_usage("tour: unknown option '%.*s'", arg);
    } else if (const auto* l = aio::tour::find_lesson(arg)) {
      which.push_back(l);
    } else {
      return bad_usage("tour: no lesson named '%.*s' ('aio tour --list' shows them)", arg);
    }
  }
  if (list) {
    if (!which.empty() || opts.quick)
      return bad_usage("tour: --list takes no other argument%.*s", "");
    list_lessons();
    return 0;
  }
  return aio::tour::run(which, opts);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(usage_text, stderr);
    return 2;
  }
  std::string_view cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::fputs(usage_text, stdout);
    return 0;
  }
  if (cmd == "--version") {
    std::printf("aio %s (aiocpp)\n", AIO_VERSION);
    return 0;
  }
  if (cmd == "tour") return tour(argc - 2, argv + 2);
  if (cmd.starts_with("-")) return bad_usage("unknown option '%.*s'", cmd);
  return bad_usage("unknown command '%.*s'", cmd);
}
