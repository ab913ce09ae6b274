// SPDX-License-Identifier: MIT
// The registry of process jobs (AIO_PROCESS_JOB), filled by static
// initialisers: by function for submit (parent), by name for the worker.

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "aio/exec/process_pool_executor.hpp"

namespace aio {

namespace detail {

namespace {

struct registry {
  std::mutex mutex;  // registrations may come late (dlopen); lookups take it too
  std::map<std::string, std::unique_ptr<process_job_entry>, std::less<>> by_name;
  std::unordered_map<void (*)(), process_job_entry*> by_fn;
};

registry& the_registry() {
  static registry* r = new registry;  // never destroyed: workers and late lookups use it
  return *r;
}

}  // namespace

void register_process_job(const char* name, void (*fn)(), process_invoker invoke) noexcept {
  registry& r = the_registry();
  std::lock_guard lock(r.mutex);
  auto it = r.by_name.find(std::string_view(name));
  if (it != r.by_name.end()) {
    if (it->second->fn != fn) it->second->ambiguous = true;
    r.by_fn.emplace(fn, it->second.get());
    return;
  }
  auto entry = std::make_unique<process_job_entry>();
  entry->name = name;
  entry->fn = fn;
  entry->invoke = invoke;
  r.by_fn.emplace(fn, entry.get());
  r.by_name.emplace(entry->name, std::move(entry));
}

const process_job_entry& find_process_job(void (*fn)()) {
  registry& r = the_registry();
  std::lock_guard lock(r.mutex);
  auto it = r.by_fn.find(fn);
  if (it == r.by_fn.end())
    throw std::invalid_argument(
        "process_pool_executor: this function is not a registered job (add "
        "AIO_PROCESS_JOB(function) at namespace scope in its .cpp file)");
  if (it->second->ambiguous)
    throw std::invalid_argument("process_pool_executor: the job name '" + it->second->name +
                                "' is registered for two different functions; register one "
                                "with AIO_PROCESS_JOB_NAMED(function, \"other name\")");
  return *it->second;
}

const process_job_entry* find_process_job(std::string_view name) noexcept {
  registry& r = the_registry();
  std::lock_guard lock(r.mutex);
  auto it = r.by_name.find(name);
  return it == r.by_name.end() || it->second->ambiguous ? nullptr : it->second.get();
}

}  // namespace detail

process_job_error::process_job_error(std::string job, std::string type_name, std::string message)
    : std::runtime_error("job '" + job + "' raised " + type_name +
                         (message.empty() ? std::string() : ": " + message)),
      job_(std::move(job)),
      type_name_(std::move(type_name)),
      message_(std::move(message)) {}

}  // namespace aio
