// SPDX-License-Identifier: MIT
#include "stack_capture.hpp"

#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <system_error>

#include "aio/core/detail/promise.hpp"
#include "aio/core/errors.hpp"

namespace aio::debug::detail {

namespace {

// A slot's life: unused -> idle (owned by a channel) -> requested (by the
// watchdog) -> capturing (the handler took it) -> captured -> idle.
enum : std::uint32_t { unused, idle, requested, capturing, captured };

struct slot {
  std::atomic<std::uint32_t> state{unused};
  std::atomic<std::uint32_t> generation{0};
  event_loop* loop = nullptr;  // set while owned; read by the handler after acquiring `state`
  std::uint64_t steps = 0;     // the step the watchdog saw stall
  capture data;
};

constexpr std::size_t slot_count = 128;
slot slots[slot_count];
std::mutex setup_mutex;  // slot ownership and handler installation, never in the handler
bool handler_installed[128];

// libunwind is loaded privately (RTLD_LOCAL), never linked: libunwind.so.8
// also exports _Unwind_RaiseException, and once in the global symbol scope it
// takes over C++ exception handling from libgcc_s, at ~40 µs per throw (a
// sigprocmask per frame). Resolved once, outside any signal handler.
#define AIO_STR2(x) #x
#define AIO_STR(x) AIO_STR2(x)
struct unwinder {
  int (*init_local2)(unw_cursor_t*, unw_context_t*, int) = nullptr;
  int (*get_reg)(unw_cursor_t*, unw_regnum_t, unw_word_t*) = nullptr;
  int (*step)(unw_cursor_t*) = nullptr;
};
unwinder unw;

void load_unwinder() {
  if (unw.step) return;
  void* lib = ::dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    throw std::system_error(ENOENT, std::generic_category(),
                            std::string("blocking detector: cannot load libunwind.so.8: ") + ::dlerror());
  unwinder u;
  u.init_local2 = reinterpret_cast<decltype(u.init_local2)>(::dlsym(lib, AIO_STR(unw_init_local2)));
  u.get_reg = reinterpret_cast<decltype(u.get_reg)>(::dlsym(lib, AIO_STR(unw_get_reg)));
  u.step = reinterpret_cast<decltype(u.step)>(::dlsym(lib, AIO_STR(unw_step)));
  if (!u.init_local2 || !u.get_reg || !u.step)
    throw std::system_error(ENOENT, std::generic_category(),
                            "blocking detector: libunwind.so.8 lacks the local unwinding API");
  unw = u;  // the library stays loaded for the life of the process
}

long futex(std::atomic<std::uint32_t>* word, int op, std::uint32_t val,
           const timespec* ts) noexcept {
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), op, val, ts, nullptr, 0);
}

// Runs on the loop thread, on the alternate signal stack, at any point of a
// step: only async-signal-safe work (libunwind's local unwinding, atomics,
// plain copies of data the interrupted thread owns).
void on_capture_signal(int, siginfo_t* si, void* uc) {
  if (si->si_code != SI_QUEUE) return;
  const int saved_errno = errno;
  const auto v = reinterpret_cast<std::uintptr_t>(si->si_value.sival_ptr);
  const std::size_t index = v & 0xff;
  if (index < slot_count) {
    slot& s = slots[index];
    std::uint32_t expect = requested;
    if (s.generation.load(std::memory_order_relaxed) == static_cast<std::uint32_t>(v >> 8) &&
        s.state.compare_exchange_strong(expect, capturing, std::memory_order_acquire)) {
      capture& c = s.data;
      event_loop* loop = s.loop;
      if (loop->progress().steps.load(std::memory_order_relaxed) != s.steps) {
        c.moved_on = true;
      } else {
        unw_cursor_t cursor;
        if (unw.init_local2(&cursor, static_cast<unw_context_t*>(uc), UNW_INIT_SIGNAL_FRAME) == 0) {
          do {
            unw_word_t ip = 0;
            if (unw.get_reg(&cursor, UNW_REG_IP, &ip) != 0 || ip == 0) break;
            c.frames[c.depth++] = ip;
          } while (c.depth < capture::max_frames && unw.step(&cursor) > 0);
        }
        if (aio::detail::promise_base* t = loop->current_task()) {
          c.in_task = true;
          c.task_frame = t->continuation_.address();
          if (t->extras_ && !t->extras_->name.empty()) {
            c.name_len = std::min(t->extras_->name.size(), capture::max_name);
            std::memcpy(c.task_name, t->extras_->name.data(), c.name_len);
          }
        }
      }
      s.state.store(captured, std::memory_order_release);
      futex(&s.state, FUTEX_WAKE_PRIVATE, 1, nullptr);
    }
  }
  errno = saved_errno;
}

void install_handler(int signo) {
  if (signo <= 0 || signo >= static_cast<int>(std::size(handler_installed)))
    throw std::system_error(EINVAL, std::generic_category(),
                            "blocking detector: bad signal " + std::to_string(signo));
  if (handler_installed[signo]) return;
  struct sigaction old {};
  if (::sigaction(signo, nullptr, &old) != 0)
    throw std::system_error(errno, std::generic_category(), "blocking detector: sigaction");
  const bool has_handler = (old.sa_flags & SA_SIGINFO)
                               ? old.sa_sigaction != nullptr
                               : (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN);
  if (has_handler)
    throw std::system_error(
        EBUSY, std::generic_category(),
        "blocking detector: signal " + std::to_string(signo) + " already has a handler");
  struct sigaction sa {};
  sa.sa_sigaction = &on_capture_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigfillset(&sa.sa_mask);  // nothing else interrupts the unwinding
  if (::sigaction(signo, &sa, nullptr) != 0)
    throw std::system_error(errno, std::generic_category(), "blocking detector: sigaction");
  handler_installed[signo] = true;
}

// The loop thread's alternate signal stack, shared by the channels of that thread.
struct thread_altstack {
  void* mem = nullptr;
  stack_t old{};
  int users = 0;
};
thread_local thread_altstack altstack;
constexpr std::size_t min_altstack =
    64 * 1024;  // roomy enough for sanitizer-instrumented unwinding

void acquire_altstack() {
  if (altstack.users++ > 0) return;
  stack_t cur{};
  if (::sigaltstack(nullptr, &cur) != 0) {
    --altstack.users;
    throw std::system_error(errno, std::generic_category(), "blocking detector: sigaltstack");
  }
  altstack.old = cur;
  if (!(cur.ss_flags & SS_DISABLE) && cur.ss_size >= min_altstack)
    return;  // a big enough one is there
  const long sys = ::sysconf(_SC_SIGSTKSZ);
  const std::size_t size =
      std::max<std::size_t>(min_altstack, sys > 0 ? static_cast<std::size_t>(sys) : 0);
  void* mem = std::malloc(size);
  if (!mem) {
    --altstack.users;
    throw std::system_error(ENOMEM, std::generic_category(),
                            "blocking detector: alternate signal stack");
  }
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = size;
  if (::sigaltstack(&ss, nullptr) != 0) {
    const int e = errno;
    std::free(mem);
    --altstack.users;
    throw std::system_error(e, std::generic_category(), "blocking detector: sigaltstack");
  }
  altstack.mem = mem;
}

void release_altstack() noexcept {
  if (--altstack.users > 0 || !altstack.mem) return;
  stack_t restore = altstack.old;
  if (restore.ss_flags & SS_DISABLE) {
    restore = {};
    restore.ss_flags = SS_DISABLE;
  }
  ::sigaltstack(&restore, nullptr);
  std::free(altstack.mem);
  altstack.mem = nullptr;
}

}  // namespace

capture_channel::capture_channel(event_loop& loop, int signo)
    : thread_(::pthread_self()), signo_(signo) {
  std::lock_guard lock(setup_mutex);
  load_unwinder();
  install_handler(signo);
  std::size_t i = 0;
  while (i < slot_count && slots[i].state.load(std::memory_order_relaxed) != unused) ++i;
  if (i == slot_count)
    throw std::system_error(EAGAIN, std::generic_category(),
                            "blocking detector: too many loops with a detector");
  acquire_altstack();
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, signo);
  ::pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  index_ = i;
  slots[i].loop = &loop;
  slots[i].state.store(idle, std::memory_order_release);
}

capture_channel::~capture_channel() {
  std::lock_guard lock(setup_mutex);
  slot& s = slots[index_];
  // A signal still in flight carries the old generation and is ignored.
  s.generation.fetch_add(1, std::memory_order_relaxed);
  s.loop = nullptr;
  s.state.store(unused, std::memory_order_release);
  release_altstack();
}

bool capture_channel::take(std::uint64_t steps, std::chrono::milliseconds limit, capture& out) {
  slot& s = slots[index_];
  s.steps = steps;
  s.data.depth = 0;
  s.data.name_len = 0;
  s.data.in_task = false;
  s.data.task_frame = nullptr;
  s.data.moved_on = false;
  s.state.store(requested, std::memory_order_release);
  const std::uintptr_t v =
      (static_cast<std::uintptr_t>(s.generation.load(std::memory_order_relaxed)) << 8) | index_;
  sigval value{};
  value.sival_ptr = reinterpret_cast<void*>(v);
  if (::pthread_sigqueue(thread_, signo_, value) != 0) {
    s.state.store(idle, std::memory_order_relaxed);
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    std::uint32_t st = s.state.load(std::memory_order_acquire);
    if (st == captured) {
      out = s.data;
      s.state.store(idle, std::memory_order_relaxed);
      return true;
    }
    auto now = std::chrono::steady_clock::now();
    if (st == requested && now >= deadline) {
      if (s.state.compare_exchange_strong(st, idle, std::memory_order_acquire)) return false;
      continue;  // the handler has just started: it finishes quickly
    }
    timespec ts{0, 5'000'000};
    futex(&s.state, FUTEX_WAIT_PRIVATE, st, &ts);
  }
}

}  // namespace aio::debug::detail
