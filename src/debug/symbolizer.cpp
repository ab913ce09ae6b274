// SPDX-License-Identifier: MIT
#include "symbolizer.hpp"

#include <cxxabi.h>
#include <elfutils/libdwfl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace aio::debug::detail {

namespace {

char* no_debuginfo_path = nullptr;
const Dwfl_Callbacks proc_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = nullptr,
    .debuginfo_path = &no_debuginfo_path,
};

std::string demangle(const char* name) {
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || !d) return name;
  std::string out(d);
  std::free(d);
  return out;
}

}  // namespace

struct symbolizer::state {
  Dwfl* dwfl = nullptr;
  bool report() {
    dwfl_report_begin(dwfl);
    int r = dwfl_linux_proc_report(dwfl, ::getpid());
    return dwfl_report_end(dwfl, nullptr, nullptr) == 0 && r == 0;
  }
};

symbolizer::symbolizer() : s_(std::make_unique<state>()) {
  s_->dwfl = dwfl_begin(&proc_callbacks);
  if (s_->dwfl) s_->report();
}

symbolizer::~symbolizer() {
  if (s_->dwfl) dwfl_end(s_->dwfl);
}

stack_frame symbolizer::resolve(std::uintptr_t address, bool return_address) {
  stack_frame f;
  f.address = address;
  if (!s_->dwfl) return f;
  const Dwarf_Addr pc = return_address && address > 0 ? address - 1 : address;
  Dwfl_Module* mod = dwfl_addrmodule(s_->dwfl, pc);
  if (!mod && s_->report()) mod = dwfl_addrmodule(s_->dwfl, pc);  // a library loaded since
  if (!mod) return f;
  if (const char* m =
          dwfl_module_info(mod, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr))
    f.module = m;
  if (const char* name = dwfl_module_addrname(mod, pc)) f.function = demangle(name);
  if (Dwfl_Line* line = dwfl_module_getsrc(mod, pc)) {
    int lineno = 0;
    if (const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr)) {
      f.file = file;
      f.line = lineno;
    }
  }
  return f;
}

std::mutex& symbols_mutex() {
  static std::mutex m;
  return m;
}

symbolizer& symbols() {
  static symbolizer* s =
      new symbolizer;  // never destroyed: a watchdog may outlive static destruction
  return *s;
}

void warm_up_symbols() {
  std::lock_guard lock(symbols_mutex());
  symbols().resolve(reinterpret_cast<std::uintptr_t>(&warm_up_symbols), false);
}

std::string describe(const stack_frame& f) {
  std::string out;
  if (!f.function.empty()) {
    out = f.function;
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(f.address));
    out = buf;
  }
  if (!f.file.empty()) {
    out += " at " + f.file + ":" + std::to_string(f.line);
  } else if (!f.module.empty()) {
    out += " in " + f.module;
  }
  return out;
}

}  // namespace aio::debug::detail
