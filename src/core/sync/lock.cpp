// SPDX-License-Identifier: MIT
#include "aio/core/lock.hpp"

namespace aio {

void lock::throw_not_locked() { throw invalid_state_error("lock.release(): lock is not acquired"); }

}  // namespace aio
