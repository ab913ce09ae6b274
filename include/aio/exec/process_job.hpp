// SPDX-License-Identifier: MIT
#pragma once
// Which functions a process_pool_executor may run: those registered by name
// with AIO_PROCESS_JOB, at namespace scope in a .cpp file of the program.
//
//   long cpu_bound_task(long n) { ... }
//   AIO_PROCESS_JOB(cpu_bound_task);
//   ...
//   long r = co_await pool.submit(cpu_bound_task, 10'000'000L);
//
// The parent sends the job's name and its serialised arguments; the worker
// (a fork of the same program) finds the function by that name. Nothing else
// crosses the boundary: not an address, not a closure. Lambdas and function
// objects are refused at compile time, so is a parameter or result type that
// cannot be serialised (see serialise.hpp), and a non-const reference
// parameter (the job runs in another address space). Registering runs a
// static initialiser; the registry must be complete when the fork server
// starts (see process_pool_executor.hpp), which static initialisers are.

#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "aio/exec/serialise.hpp"

namespace aio::detail {

/// Decodes the arguments from `in`, calls `fn` (the registered function, cast
/// back to its type) and encodes the result into `out`. Throws what the job
/// throws, or serialise_error.
using process_invoker = void (*)(void (*fn)(), byte_reader& in, byte_writer& out);

/// One registered job.
struct process_job_entry {
  std::string name;
  void (*fn)();
  process_invoker invoke;
  bool ambiguous = false;  // the name was registered for two different functions
};

/// Adds a job to the process-wide registry (static initialisers). Registering
/// the same function twice under one name is harmless; one name for two
/// functions marks it ambiguous (submitting it throws).
void register_process_job(const char* name, void (*fn)(), process_invoker invoke) noexcept;
/// The entry of `fn`: std::invalid_argument if it is not registered or its name is ambiguous.
const process_job_entry& find_process_job(void (*fn)());
/// The entry registered as `name` (worker side), nullptr if none.
const process_job_entry* find_process_job(std::string_view name) noexcept;

template <class P>
constexpr bool check_process_param() {
  static_assert(!std::is_lvalue_reference_v<P> || std::is_const_v<std::remove_reference_t<P>>,
                "aio::process_pool_executor: a job cannot take a non-const reference (it runs in "
                "another process; return the value instead)");
  return check_serialisable<std::remove_cvref_t<P>>();
}

template <class R>
constexpr bool check_process_result() {
  if constexpr (std::is_void_v<R>)
    return true;
  else
    return check_serialisable<std::remove_cvref_t<R>>();
}

template <class R, class... P>
void invoke_process_job(void (*fn)(), byte_reader& in, byte_writer& out) {
  auto f = reinterpret_cast<R (*)(P...)>(fn);
  std::tuple<std::remove_cvref_t<P>...> args{in.read<std::remove_cvref_t<P>>()...};
  in.expect_end();
  if constexpr (std::is_void_v<R>) {
    std::apply([f](auto&... a) { f(std::move(a)...); }, args);
  } else {
    using D = std::remove_cvref_t<R>;
    out.write(static_cast<const D&>(std::apply([f](auto&... a) -> R { return f(std::move(a)...); }, args)));
  }
}

/// What the signature of a job function says (F decayed): whether it is one
/// at all, its result type and its parameters.
template <class F>
struct process_fn_traits {
  static constexpr bool is_function = false;
  using result = void;
};
template <class R, class... P>
struct process_fn_traits<R (*)(P...)> {
  static constexpr bool is_function = true;
  using result = std::remove_cvref_t<R>;
  using pointer = R (*)(P...);
  using params = std::tuple<P...>;
};
template <class R, class... P>
struct process_fn_traits<R (*)(P...) noexcept> : process_fn_traits<R (*)(P...)> {};

/// The value type a job running F produces.
template <class F>
using process_result_t = typename process_fn_traits<std::decay_t<F>>::result;

/// A static object whose constructor registers one job (AIO_PROCESS_JOB).
struct process_job_registrar {
  template <class R, class... P>
  process_job_registrar(const char* name, R (*fn)(P...)) noexcept {
    static_assert((check_process_param<P>() && ...) && check_process_result<R>());
    register_process_job(name, reinterpret_cast<void (*)()>(fn), &invoke_process_job<R, P...>);
  }
};

}  // namespace aio::detail

#define AIO_PROCESS_JOB_CONCAT_(a, b) a##b
#define AIO_PROCESS_JOB_CONCAT(a, b) AIO_PROCESS_JOB_CONCAT_(a, b)

/// Registers the function `fn` as a process job under its own spelling
/// (e.g. "cpu_bound_task" or "ns::work"), so that process_pool_executor can
/// run it in a worker. Use at namespace scope, once per function, in a .cpp
/// file; an overloaded name needs a cast, or AIO_PROCESS_JOB_NAMED. A
/// parameter or result type that cannot be serialised is a compile-time error.
#define AIO_PROCESS_JOB(fn) AIO_PROCESS_JOB_NAMED(fn, #fn)

/// Registers `fn` under an explicit `name` (a string literal): for two static
/// functions of the same name in different files.
#define AIO_PROCESS_JOB_NAMED(fn, name)                                              \
  [[maybe_unused]] static const ::aio::detail::process_job_registrar                \
      AIO_PROCESS_JOB_CONCAT(aio_process_job_registrar_, __COUNTER__) {             \
    name, &fn                                                                        \
  }
