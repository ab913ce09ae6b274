// SPDX-License-Identifier: MIT
// Frames up to 1 KiB come from per-thread free lists by 8-byte size class,
// refilled by bump allocation from 8 MiB chunks that ask for transparent huge
// pages: creating a million tasks then costs a few hundred page faults, not
// sixty thousand. Freed frames go back to their free list, so memory is
// reused at the peak size, not returned to the system. A thread that exits
// hands its lists and chunk remainder to a shared pool that the next thread
// adopts, so frames freed late or elsewhere are never lost.

#include "aio/core/detail/frame_allocator.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AIO_FRAME_CACHE 0  // let the sanitizers see every frame's lifetime
#else
#define AIO_FRAME_CACHE 1
#endif

namespace aio::detail {

#if AIO_FRAME_CACHE
namespace {

// Every frame is aligned as operator new aligns (16 here): GCC lays a frame
// out assuming that, and a frame may hold a long double or an over-aligned
// member. Chunks are page-aligned and every class is a multiple of it.
constexpr std::size_t granule = __STDCPP_DEFAULT_NEW_ALIGNMENT__;
constexpr std::size_t classes = 1024 / granule + 1;  // sizes granule..1024
constexpr std::size_t chunk_size = std::size_t{8} << 20;

struct free_block {
  free_block* next;
};

struct lists {
  free_block* heads[classes] = {};
  char* cur = nullptr;
  char* end = nullptr;
};

/// What exited threads left behind, for the next thread to adopt.
struct shared_pool {
  std::mutex m;
  std::vector<lists> orphans;
};
shared_pool& pool() {
  static auto* p = new shared_pool;  // never destroyed: threads may exit after main
  return *p;
}

struct frame_cache : lists {
  frame_cache() {
    std::lock_guard lock(pool().m);
    if (!pool().orphans.empty()) {
      static_cast<lists&>(*this) = pool().orphans.back();
      pool().orphans.pop_back();
    }
  }
  ~frame_cache() {
    std::lock_guard lock(pool().m);
    pool().orphans.push_back(*this);
  }
};

thread_local frame_cache cache;

void* refill(lists& l, std::size_t size) {
  if (static_cast<std::size_t>(l.end - l.cur) < size) {
    void* p = ::mmap(nullptr, chunk_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    ::madvise(p, chunk_size, MADV_HUGEPAGE);  // a hint; fine if refused
    // The old remainder is dropped: at most one frame's worth per chunk.
    l.cur = static_cast<char*>(p);
    l.end = l.cur + chunk_size;
  }
  void* out = l.cur;
  l.cur += size;
  return out;
}

}  // namespace

void* allocate_frame(std::size_t size) {
  std::size_t c = (size + granule - 1) / granule;
  if (c >= classes) {
    void* p = std::malloc(size);
    if (!p) throw std::bad_alloc();
    return p;
  }
  frame_cache& fc = cache;
  if (free_block* b = fc.heads[c]) {
    fc.heads[c] = b->next;
    return b;
  }
  return refill(fc, c * granule);
}

void deallocate_frame(void* p, std::size_t size) noexcept {
  std::size_t c = (size + granule - 1) / granule;
  if (c >= classes) {
    std::free(p);
    return;
  }
  frame_cache& fc = cache;
  auto* b = static_cast<free_block*>(p);
  b->next = fc.heads[c];
  fc.heads[c] = b;
}

#else

void* allocate_frame(std::size_t size) {
  void* p = std::malloc(size);
  if (!p) throw std::bad_alloc();
  return p;
}
void deallocate_frame(void* p, std::size_t) noexcept { std::free(p); }

#endif

}  // namespace aio::detail
