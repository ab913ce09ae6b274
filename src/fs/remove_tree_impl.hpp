// SPDX-License-Identifier: MIT
#pragma once
// The blocking core of remove_tree (shutil.rmtree), shared by the awaitable
// call and by the temporary directory's destructor (which runs it on the pool
// without a task), and that detached removal.

#include <atomic>
#include <string>

namespace aio::fs::detail {

/// One tree removal. `failed` names the entry of the first error.
struct tree_removal {
  std::string path;
  std::string failed;
  bool ignore_errors = false;
  /// Like tempfile.TemporaryDirectory's cleanup: an entry that cannot be
  /// removed for lack of permission gets its directory chmod-ed 0700 and is
  /// tried again (the tree is the caller's own).
  bool fix_permissions = false;
};

/// Removes t.path and everything under it, through directory fds, never
/// following a symlink. 0, -errno (t.failed says where), or -ECANCELED once
/// `stop` is true (checked between entries). Blocking.
int remove_tree_blocking(tree_removal& t, const std::atomic<bool>& stop) noexcept;

/// Removes `path` (a whole tree, or one name) on the internal pool, errors
/// dropped, for cleanups nobody can wait for (a destructor, a cancelled
/// cleanup); the process's exit waits for it.
void remove_detached(std::string path, bool tree) noexcept;

}  // namespace aio::fs::detail
