// SPDX-License-Identifier: MIT
#pragma once
// Coroutine frames come from a per-thread cache of recently freed frames,
// sorted by size class. Tasks are created and destroyed in bursts (a gather
// of 10,000); through malloc each burst costs a trim and fresh page faults.
// Frames are aligned to __STDCPP_DEFAULT_NEW_ALIGNMENT__, like operator new.
// Freed frames stay in their thread's cache (a thread that exits leaves them
// to the next one): the memory of a burst is kept for the next burst, not
// returned to the system. Under AddressSanitizer and ThreadSanitizer the
// cache is bypassed so that the sanitizers still see every frame's lifetime.

#include <cstddef>

namespace aio::detail {

void* allocate_frame(std::size_t size);
void deallocate_frame(void* p, std::size_t size) noexcept;

}  // namespace aio::detail
