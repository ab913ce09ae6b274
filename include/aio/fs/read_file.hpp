// SPDX-License-Identifier: MIT
#pragma once
// Whole-file helpers: pathlib's read_bytes / write_bytes, an append, and an
// atomic replace for configuration and state files.
//
//   std::string cfg = co_await aio::fs::read_file("app.conf");
//   co_await aio::fs::write_file_atomic("state.json", json);

#include <filesystem>
#include <string>
#include <string_view>

#include "aio/core/task.hpp"

namespace aio::fs {

/// Like Path.read_bytes(): the whole file. Throws std::system_error
/// ("open '<path>': …", "read '<path>': …"). Cancel-safe (nothing is changed).
task<std::string> read_file(const std::filesystem::path& path);
/// Like Path.write_bytes(): creates or truncates the file, writes `data`.
/// Not cancel-safe: cancelled, the file may hold a prefix (use
/// write_file_atomic when that matters). `data` must stay valid until done.
task<> write_file(const std::filesystem::path& path, std::string_view data);
/// Appends `data` (creating the file if needed), like open(path, "ab").write.
task<> append_file(const std::filesystem::path& path, std::string_view data);
/// Replaces the file atomically: writes a temporary file in the same
/// directory, fsyncs it, renames it over `path` and fsyncs the directory.
/// Readers and a crash see the old content or the new, never a mix. New files
/// get mode 0666 & ~umask; an existing file keeps its permission bits.
/// Cancellation (or an error) removes the temporary file; `path` keeps its old
/// content unless the rename already happened.
task<> write_file_atomic(const std::filesystem::path& path, std::string_view data);

}  // namespace aio::fs
