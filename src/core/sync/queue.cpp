// SPDX-License-Identifier: MIT
#include "aio/core/queue.hpp"

#include "aio/core/errors.hpp"

namespace aio::detail {

void throw_task_done_too_many() {
  throw invalid_state_error("queue.task_done() called too many times");
}

}  // namespace aio::detail
