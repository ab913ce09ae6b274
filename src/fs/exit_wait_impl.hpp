// SPDX-License-Identifier: MIT
#pragma once
// Work that destructors hand to the internal pool and that the program
// expects done (a temporary's removal, a dropped file's queued writes). The
// pool's threads do not hold the process open, so exit waits for that work
// (up to 30 s), as Python runs its finalizers and flushes its files at
// interpreter exit.

namespace aio::fs::detail {

/// +1 when such work is handed to the pool, -1 when it is done (any thread).
/// The first call registers the exit handler that waits for the count to
/// reach 0.
void exit_waits_for(int delta) noexcept;

}  // namespace aio::fs::detail
