// SPDX-License-Identifier: MIT
#pragma once
// Everything aiocpp offers, in one include.

#include "aio/core/as_completed.hpp"
#include "aio/core/barrier.hpp"
#include "aio/core/condition.hpp"
#include "aio/core/create_task.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/event.hpp"
#include "aio/core/future.hpp"
#include "aio/core/gather.hpp"
#include "aio/core/lock.hpp"
#include "aio/core/loop.hpp"
#include "aio/core/queue.hpp"
#include "aio/core/run.hpp"
#include "aio/core/semaphore.hpp"
#include "aio/core/shield.hpp"
#include "aio/core/sleep.hpp"
#include "aio/core/sock.hpp"
#include "aio/core/task.hpp"
#include "aio/core/task_group.hpp"
#include "aio/core/timeout.hpp"
#include "aio/core/wait.hpp"
