// SPDX-License-Identifier: MIT
#include "aio/core/semaphore.hpp"

#include <limits>
#include <stdexcept>
#include <string>

namespace aio {

semaphore::semaphore(std::ptrdiff_t value)
    : semaphore(value, std::numeric_limits<std::ptrdiff_t>::max()) {}

semaphore::semaphore(std::ptrdiff_t value, std::ptrdiff_t bound) : value_(value), bound_(bound) {
  if (value < 0)
    throw std::invalid_argument("semaphore: initial value must be >= 0, got " +
                                std::to_string(value));
}

void semaphore::throw_too_many() const {
  if (bound_ == std::numeric_limits<std::ptrdiff_t>::max())
    throw std::overflow_error("semaphore: value overflow");
  throw invalid_state_error("bounded_semaphore released too many times (initial value " +
                            std::to_string(bound_) + ")");
}

}  // namespace aio
