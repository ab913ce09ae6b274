// SPDX-License-Identifier: MIT
#pragma once
// Coroutine frames come from a per-thread cache of recently freed frames,
// sorted by size class. Tasks are created and destroyed in bursts (a gather
// of 10,000); through malloc each burst costs a trim and fresh page faults.
// The cache is bounded; under AddressSanitizer it is bypassed so that ASan
// still sees every frame's lifetime.

#include <cstddef>

namespace aio::detail {

void* allocate_frame(std::size_t size);
void deallocate_frame(void* p, std::size_t size) noexcept;

}  // namespace aio::detail
