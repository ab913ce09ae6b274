// SPDX-License-Identifier: MIT
#pragma once
// aio::fs::open and aio::fs::file: Python's open() (as aiofiles.open), made
// asynchronous. On io_uring every call is an io_uring operation (openat, read,
// write, statx, fsync, close); on the epoll backend the same calls run on the
// library's internal thread pool (separate from the user's executors), so the
// loop never blocks on a disk.
//
//   auto f = co_await aio::fs::open("data.bin", "rb");
//   std::string head = co_await f.read(4096);
//   co_await f.close();
//
//   auto lines = f.lines();                       // async for line in f:
//   while (auto line = co_await lines.next()) …   //   *line keeps its '\n'
//
// A file keeps its own position (seek/tell never touch the kernel): read and
// write use pread/pwrite at that position, so several pread/pwrite of one file
// may be in flight together. Files opened in append mode write at the end.
// readline and lines() read ahead into a buffer (64 KiB, one read op per
// fill); tell() is always the logical position, and read/write/seek/truncate
// stay consistent with it.
//
// Write-behind: a regular file opened for writing (not O_SYNC or O_DIRECT,
// open_options::write_behind left on) copies each small write (under 1 MiB)
// into a queue and returns at once; one job on the library's internal pool
// writes the queue out in order. Up to 4 MiB may be pending; a write past
// that waits until the writer is down to 2 MiB. Every other call of the file
// first waits until the queue is empty, so reads see every write. An error of
// a queued write is thrown by the next call of the file (once), and the bytes
// queued after it are dropped, as Python's buffered writer does. Pipes,
// devices and O_SYNC/O_DIRECT files are written directly (each write
// completes once the kernel holds the bytes).
// Errors are std::system_error whose message names the operation and path:
// "open 'missing.txt': No such file or directory".

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "aio/core/task.hpp"
#include "aio/fs/stat.hpp"

namespace aio::fs {

/// The longest line readline() and lines() accept by default (open_options::max_line).
inline constexpr std::size_t default_max_line = std::size_t{16} << 20;

/// The size of a file's read-ahead buffer (it grows only to hold a longer line).
inline constexpr std::size_t read_buffer_size = std::size_t{64} << 10;

class file;
class line_reader;

namespace detail {

class write_behind;          // src/fs/write_behind_impl.hpp
class write_behind_awaiter;

/// The read-ahead of a file: bytes [begin, end) of `data` are the file's next
/// bytes from its position. Internal to file.
struct read_buffer {
  std::unique_ptr<char[]> data;
  std::size_t cap = 0;
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t scanned = 0;       // bytes from begin known to hold no '\n'
  std::uint32_t generation = 0;  // bumped by drop(): a fill in flight discards its bytes
  bool filling = false;

  std::size_t size() const noexcept { return end - begin; }
  /// The length of the first line (with its '\n') if it ends within `limit`
  /// bytes, else 0.
  std::size_t find_line(std::size_t limit) noexcept;
  void consume(std::size_t n) noexcept;
  /// Forgets the buffered bytes (the memory stays: a fill may be writing it).
  void drop() noexcept;
};

/// A range whose elements view strings that outlive the range's iteration
/// (lvalues, string_views, C strings): what writelines accepts.
template <class R>
concept line_range =
    std::ranges::input_range<R> && std::convertible_to<std::ranges::range_reference_t<R>, std::string_view> &&
    (std::is_lvalue_reference_v<std::ranges::range_reference_t<R>> ||
     std::is_same_v<std::decay_t<std::ranges::range_reference_t<R>>, std::string_view> ||
     std::is_pointer_v<std::decay_t<std::ranges::range_reference_t<R>>>);

}  // namespace detail

/// How open() creates and opens a file, beyond the mode string. Not an
/// aggregate on purpose (GCC 12 destroys aggregate temporaries built inside a
/// co_await twice): set fields after construction.
struct open_options {
  open_options() noexcept {}
  /// Permissions of a created file, before the umask. Like os.open's `mode`.
  mode_t permissions = 0666;
  /// O_DIRECT: bypass the page cache. Buffers, offsets and sizes must then be
  /// aligned to the device's block size (use read_into/pread_into with an
  /// aligned buffer); otherwise the kernel answers EINVAL.
  bool direct = false;
  /// O_SYNC: each write returns once the data and metadata are on disk.
  bool sync = false;
  /// The longest line (with its '\n') readline() and lines() return; a
  /// longer one throws limit_overrun_error instead of growing memory without
  /// bound. Must be > 0 (open throws std::invalid_argument).
  std::size_t max_line = default_max_line;
  /// Write-behind (see the file comment) for a regular file opened for
  /// writing without `direct` or `sync`: small writes return once copied and
  /// their errors surface at the next call. false: every write completes in
  /// the kernel before it returns, and its errors are its own (beyond Python,
  /// whose `buffering=0` is the same choice).
  bool write_behind = true;
};

/// Position origin for file::seek, as os.SEEK_SET / SEEK_CUR / SEEK_END.
enum class whence { set, cur, end };

/// An open file. Like the object aiofiles.open returns (binary mode: bytes in
/// std::string / spans). Move-only. Loop thread only. Destroying an open file
/// closes it without blocking the loop (the close runs on the pool; with
/// write-behind, once the queued writes are written — the process's exit
/// waits for that, up to 30 s: nothing is lost, but their errors are); it
/// must not be destroyed while one of its operations is in flight. The calls that use the position (read*, readline, lines,
/// write*, seek) must not overlap one another; pread/pwrite may overlap
/// anything. With write-behind, every call except tell/fileno/name/is_open
/// first waits until the queued writes are in the kernel, and throws the
/// error of a failed queued write (once; std::system_error "write '<path>':
/// <reason>", with tell() then where that write stopped).
class file {
 public:
  /// A closed file.
  file() noexcept = default;
  file(file&& o) noexcept;
  file& operator=(file&& o) noexcept;
  ~file();

  /// Like read(n) of a binary file: up to n bytes from the position, fewer
  /// only at end of file (short reads are continued; what readline read ahead
  /// comes first). Throws std::system_error. With write-behind it first
  /// waits for the queued writes (so it reads them back) and throws a queued
  /// write's error, once.
  /// Cancellation: the bytes already read are lost, the position is where the
  /// last completed read left it (a cancelled wait for the queue read nothing).
  task<std::string> read(std::size_t n);
  /// Like read(): everything from the position to end of file.
  task<std::string> read();
  /// Like readinto: fills `buf` from the position, fewer bytes only at end of
  /// file; returns how many. Cancellation as read(n); `buf` is never written
  /// after the cancelled call returns.
  task<std::size_t> read_into(std::span<std::byte> buf);
  /// Like write: writes all of `data` at the position (the end in append mode),
  /// continuing short writes; returns data.size(). `data` must stay valid until
  /// it completes.
  /// With write-behind, a write under 1 MiB is copied into the queue and
  /// returns without suspending (the position moves at once); if 4 MiB are
  /// pending it first waits until the writer is down to 2 MiB. Its own
  /// errors then surface at a later call; it throws an earlier queued write's
  /// error instead (copying nothing). Cancel-safe while it waits: a cancelled
  /// write copied nothing. A larger write first waits for the queue, then is
  /// written directly, as without write-behind.
  /// Without write-behind (or for the large write): not cancel-safe, a
  /// cancelled write may have written a prefix (the position says how much).
  task<std::size_t> write(std::string_view data);

  /// Like readline(): the next line with its '\n' (the last line of a file
  /// may lack it); "" at end of file. Reads ahead in one buffer (64 KiB, one
  /// read op per fill), so memory stays bounded whatever the file's size.
  /// Only '\n' ends a line ("\r\n" lines keep their '\r', as binary
  /// Python files). Throws aio::limit_overrun_error naming the path and
  /// offset when no '\n' comes within open_options::max_line bytes (the
  /// position then stays at the line's start: readline(size) reads it in
  /// pieces); std::system_error for I/O errors; aio::invalid_state_error if
  /// another readline/lines() of this file is waiting for data. With
  /// write-behind, a read from the file first waits for the queued writes
  /// (and throws a queued write's error, once), as read() does.
  /// Cancel-safe: nothing is consumed until the line is complete (what was
  /// read ahead stays buffered, the position is unchanged).
  task<std::string> readline();
  /// Like readline(size): the next line, but at most `size` bytes (the rest
  /// of a longer line comes on the next call); no max_line error. "" at EOF
  /// or for size 0. Cancel-safe.
  task<std::string> readline(std::size_t size);
  /// Like readlines(): every remaining line (with its '\n'). Memory grows
  /// with the file: iterate lines() for large files. Throws as readline().
  /// Cancel-safe for the bytes of the line being read; the lines already
  /// returned internally are lost with the task (the position is after them).
  task<std::vector<std::string>> readlines();
  /// Like `async for line in f`: iterates the lines from the position, in
  /// bounded memory. See line_reader.
  line_reader lines() noexcept;

  /// Like writelines(lines): writes every string, in order, at the position
  /// (the end in append mode); no separators are added. Gathered into writev
  /// ops (up to 1024 strings or 32 MiB each; short writes are continued), so
  /// many small strings cost one kernel call, not one each. Returns the bytes
  /// written. The strings (not the range) must stay valid until it completes.
  /// Throws std::system_error. With write-behind, strings totalling under
  /// 1 MiB are copied into the queue as one write() (same backpressure,
  /// errors and cancel-safety). Otherwise not cancel-safe: a cancelled call
  /// may have written a prefix (the position says how much).
  template <detail::line_range R>
  task<std::size_t> writelines(R&& lines) {
    std::vector<std::string_view> parts;
    if constexpr (std::ranges::sized_range<R>) parts.reserve(std::ranges::size(lines));
    for (auto&& l : lines) parts.emplace_back(l);
    return write_parts(std::move(parts));
  }
  /// writelines of a braced list. GCC 12 rejects a braced list inside a
  /// co_await expression: make the task first,
  /// `auto t = f.writelines({"a\n", "b\n"}); co_await std::move(t);`.
  task<std::size_t> writelines(std::initializer_list<std::string_view> lines) {
    return write_parts(std::vector<std::string_view>(lines));
  }

  /// Like flush(): when it returns, the kernel holds every byte written so
  /// far (with write-behind it waits until the queue is written, and throws a
  /// queued write's error, once). It also makes the fd agree with this
  /// object for whoever uses it next (a child process, a raw ::read of
  /// fileno()): the kernel's file offset is set to tell(), and the
  /// read-ahead is dropped, so the next read sees what others wrote
  /// meanwhile. Not durability: that is fsync(). Throws std::system_error
  /// (EBADF when closed). Suspends only to wait for the queue. Cancel-safe:
  /// a cancelled flush leaves the queue being written in the background.
  task<> flush();

  /// Like os.pread: up to n bytes at `offset` (fewer only at end of file); the
  /// position does not move. Several may run at once. Cancel-safe. With
  /// write-behind it first waits for the queued writes (and throws a queued
  /// write's error, once), as every call below does.
  task<std::string> pread(std::size_t n, std::uint64_t offset);
  /// pread into `buf`; returns the bytes read (fewer only at end of file).
  task<std::size_t> pread_into(std::span<std::byte> buf, std::uint64_t offset);
  /// Like os.pwrite, but writes all of `data` at `offset`. Position unchanged.
  /// Never queued: with write-behind it waits for the queue, then writes.
  /// Not cancel-safe (a prefix may be written).
  task<std::size_t> pwrite(std::string_view data, std::uint64_t offset);

  /// Like seek: moves the position (no system call except for whence::end,
  /// which stats the file); returns the new position. std::invalid_argument if
  /// it would be negative. With write-behind it first waits for the queue
  /// (a queued write's error is thrown and the position not moved).
  /// Cancel-safe.
  task<std::uint64_t> seek(std::int64_t offset, whence from = whence::set);
  /// Like tell: the current position. It counts queued writes at once (in
  /// append mode from the end this file last saw: exact again after the
  /// next awaited call); after a queued write failed, where it stopped.
  std::uint64_t tell() const noexcept { return pos_; }

  /// Like os.fsync: data and metadata on disk (queued writes included: it
  /// waits for them first, and throws their error). Cancel-safe (the sync
  /// may still complete).
  task<> fsync();
  /// Like os.fdatasync: data (and the metadata needed to read it) on disk,
  /// queued writes included, as fsync().
  task<> fdatasync();
  /// Like truncate(size): the file becomes `size` bytes (zeros when it
  /// grows). One io_uring op (IORING_OP_FTRUNCATE) where the kernel has it
  /// (Linux 6.9+, probed at run time), else a pool thread. Position unchanged;
  /// the read-ahead is dropped. Queued writes are written first (their
  /// error is thrown, once, and the file is not truncated). Throws
  /// std::system_error (EINVAL for a file not open for writing). A cancelled
  /// truncate may still have happened.
  task<> truncate(std::uint64_t size);
  /// Like os.fstat: size, mode, times (after the queued writes).
  task<stat_result> stat();

  /// Like close(), awaited: waits until queued writes are in the kernel,
  /// releases the fd and the read-ahead buffer, then throws a queued write's
  /// error or close's own as std::system_error (the fd is released either
  /// way). A second close does nothing. Cancellation: the fd is released
  /// either way; cancelled while waiting for the queue, the pool finishes the
  /// queued writes and closes the fd in the background (their errors are
  /// then lost). Another task's write still waiting for queue space when
  /// close begins fails with EBADF, as a write on a closed file does.
  task<> close();

  bool is_open() const noexcept { return fd_ >= 0; }
  /// Like fileno(). -1 when closed. With write-behind, await flush() before
  /// using the fd directly: queued writes may not be in the kernel yet.
  int fileno() const noexcept { return fd_; }
  /// The path it was opened with.
  const std::string& name() const noexcept { return path_; }

  /// Adopts an open fd (used by open()). `append`: writes go to the end.
  /// `write_behind`: queue small writes (see the file comment); only for a
  /// regular file opened for writing without O_SYNC, O_DSYNC or O_DIRECT.
  /// Throws std::bad_alloc (write_behind only).
  file(int fd, std::string path, bool append, bool seekable, std::size_t max_line = default_max_line,
       bool write_behind = false);

 private:
  friend class line_reader;

  task<std::size_t> read_some(std::span<std::byte> buf, std::uint64_t offset);
  task<std::size_t> write_all(std::string_view data, std::uint64_t offset);
  task<std::size_t> write_parts(std::vector<std::string_view> parts);
  /// Awaits the write-behind queue being empty (ready at once without one),
  /// then throws a queued write's error, once.
  detail::write_behind_awaiter written() noexcept;
  /// Closes fd_ off the loop (after the queued writes, if any).
  void release() noexcept;
  void check_open(const char* what) const;
  /// EINVAL unless [offset, offset + len) fits in the kernel's off_t.
  void check_range(const char* what, std::uint64_t offset, std::size_t len) const;
  /// Copies what was read ahead into `buf`; returns how many bytes.
  std::size_t take_buffered(std::span<std::byte> buf) noexcept;
  void consume(std::size_t n) noexcept;
  /// Reads ahead until the buffer starts with a line of at most `limit`
  /// bytes; returns its length (0 at EOF). Past `limit` without '\n':
  /// `limit` if `partial`, else limit_overrun_error.
  task<std::size_t> buffer_line(std::size_t limit, bool partial);
  /// One read op into the buffer's free space; false at end of file.
  task<bool> fill(std::size_t limit);
  task<std::optional<std::string_view>> next_line();
  /// The next line if it is already buffered (no I/O), else nullopt.
  std::optional<std::string_view> buffered_line() noexcept;

  std::string path_;
  std::uint64_t pos_ = 0;  // the logical position: the first byte not yet returned
  detail::read_buffer rb_;
  std::shared_ptr<detail::write_behind> wb_;  // null without write-behind
  std::size_t max_line_ = default_max_line;
  int fd_ = -1;
  bool append_ = false;
  bool seekable_ = true;
};

/// What file::lines() returns: the file's lines, one per `co_await next()`,
/// like `async for line in f` (Python's iteration of a binary file).
///
///   auto lines = f.lines();
///   while (auto line = co_await lines.next()) consume(*line);
///
/// Each line is a std::string_view into the file's buffer, valid until the
/// next call of next() or any other call on the file (copy it to keep it).
/// Lines keep their '\n'; the last may lack it; std::nullopt at end of file.
/// Memory stays bounded (one 64 KiB buffer; larger only for a line longer
/// than that, up to max_line). A line already buffered is returned without
/// suspending (no cancellation point then); one read op refills the buffer.
/// The reader holds a pointer to the file: the file must outlive it and not
/// move. Loop thread only.
class line_reader {
 public:
  explicit line_reader(file& f) noexcept : f_(&f) {}

  /// The awaitable of next(); a non-aggregate (GCC 12, see the guide).
  class next_awaiter {
   public:
    explicit next_awaiter(file& f) noexcept : f_(&f) {}
    bool await_ready() {
      line_ = f_->buffered_line();
      if (line_) return true;
      slow_ = f_->next_line();
      return false;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      inner_ = slow_.operator co_await();
      return inner_.await_suspend(h);
    }
    std::optional<std::string_view> await_resume() {
      if (line_) return line_;
      return inner_.await_resume();
    }

   private:
    using slow_task = task<std::optional<std::string_view>>;
    file* f_;
    std::optional<std::string_view> line_;
    slow_task slow_;
    typename slow_task::awaiter inner_{};
  };

  /// The next line, or std::nullopt at end of file. Throws as
  /// file::readline() (limit_overrun_error past max_line, with the position
  /// left at the line's start). Cancel-safe: a cancelled next() consumes
  /// nothing; the file stays usable and the next call returns that line.
  next_awaiter next() noexcept { return next_awaiter(*f_); }

 private:
  file* f_;
};

inline line_reader file::lines() noexcept { return line_reader(*this); }

/// Like `aiofiles.open(path, mode)` (Python's open, binary): mode is one of
/// r, w, a, x, optionally with '+', and 'b' or 't' (both mean bytes). Throws
/// std::invalid_argument naming a bad mode (at the call, before awaiting) and
/// std::system_error "open '<path>': <reason>" (missing file, permission
/// denied, is a directory, exists with x, …). Cancel-safe: if the open
/// completed anyway, the file is returned (and closed by its destructor).
task<file> open(const std::filesystem::path& path, std::string_view mode = "r",
                const open_options& options = open_options());

/// The open(2) flags of a Python mode string, or std::invalid_argument.
int open_flags(std::string_view mode);

/// Like `open(path, "rb").readlines()`: every line of the file, each with
/// its '\n' (the last may lack it). The whole file is in memory: iterate
/// file::lines() for large files. Throws std::system_error naming the path,
/// limit_overrun_error past max_line. Cancel-safe (the file is closed).
task<std::vector<std::string>> read_lines(const std::filesystem::path& path,
                                          const open_options& options = open_options());

}  // namespace aio::fs
