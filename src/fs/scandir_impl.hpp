// SPDX-License-Identifier: MIT
#pragma once
// The blocking core of scandir, run on pool threads: one entry's type (from
// d_type, or an lstat when the file system reports DT_UNKNOWN, plus a stat of
// a symlink's target) and batches of entries.

#include <dirent.h>

#include <atomic>
#include <string>
#include <vector>

#include "aio/fs/scandir.hpp"

namespace aio::fs::detail {

/// The entry `name` of the open directory `dirfd` (scanned as `dir_path`),
/// typed from `d_type` (a DT_* value; DT_UNKNOWN and DT_LNK cost an fstatat).
/// With `with_stat`, the stat results are attached. Blocking.
dir_entry make_entry(int dirfd, const std::string& dir_path, const char* name, unsigned char d_type,
                     ino_t ino, bool with_stat);

/// Appends up to `max` entries of `dir` (no "." or "..") to `out`; 0 (fewer
/// than `max` only at the end), -errno, or -ECANCELED when `stop` turned
/// true. Blocking.
int read_entries(DIR* dir, const std::string& dir_path, bool with_stat, std::size_t max,
                 std::vector<dir_entry>& out, const std::atomic<bool>& stop) noexcept;

}  // namespace aio::fs::detail
