// SPDX-License-Identifier: MIT
#pragma once
// A blocking call that io_uring has no operation for (getdents, readlink,
// fchmodat, copy_file_range, a whole tree removal), run on the library's
// internal pool on both backends — with file_io_awaiter's guarantee rather
// than concurrent_future's: the task resumes only once the pool thread is done
// with everything the call points to. A call not started yet is dropped and
// never runs; a running one sees `stop` turn true and may return early with
// -ECANCELED between two steps (a long copy or tree removal does).
//
//   struct args { std::string path; … } a{…};
//   detail::pool_call call(&do_it, &a, "readlink", a.path);
//   int r = co_await call;   // >= 0; system_error "<what> '<path>'"; cancelled_error

#include <atomic>
#include <coroutine>
#include <string>
#include <string_view>

#include "aio/core/sock.hpp"
#include "aio/exec/concurrent_future.hpp"

namespace aio::fs::detail {

/// See the file comment. `what` and `path` name the call in errors; both are
/// read only after the call finished, so the call itself may rewrite the
/// string `path` views (a tree removal names the entry that failed). The
/// awaiter lives in the awaiting frame; neither it nor `arg` may move.
struct pool_call : aio::detail::io_awaiter {
  /// Runs on a pool thread: >= 0, or -errno.
  using function = int (*)(void* arg, const std::atomic<bool>& stop) noexcept;

  pool_call(function fn, void* arg, std::string_view what, const std::string& path) noexcept;
  pool_call(const pool_call&) = delete;
  bool await_suspend(std::coroutine_handle<> h);
  /// The call's result; std::system_error "<what> '<path>': <reason>", or
  /// cancelled_error when the call was dropped or stopped.
  int await_resume() const;

 private:
  function fn_;
  void* arg_;
  std::string_view what_;
  const std::string* path_;
  std::atomic<bool> stop_{false};
  concurrent_future<void> job_;
};

/// The text that throw_fs_error quotes as "'a' -> 'b'" (calls of two paths:
/// link, symlink, rename, copy_file).
std::string two_paths(std::string_view a, std::string_view b);

/// "<dir>/<name>" ("<name>" alone when dir is empty; no doubled slash).
std::string join_path(std::string_view dir, std::string_view name);

}  // namespace aio::fs::detail
