// SPDX-License-Identifier: MIT
// Lesson "async-files": 1,000 files read by 1,000 coroutines — once with a
// blocking std::ifstream inside each coroutine, once with aio::fs::read_file —
// while a ticker task measures how late the loop runs. The files are written
// fresh, synced to the disk, then dropped from the page cache
// (posix_fadvise DONTNEED, which needs no root) before each run, so the reads
// really wait for the disk; the lesson prints how much of the files was still
// cached, so a file system that ignores the advice (tmpfs) shows as such.

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/core/loop.hpp"
#include "aio/core/run.hpp"
#include "aio/core/sleep.hpp"
#include "aio/fs/read_file.hpp"
#include "tour.hpp"

namespace aio::tour {

namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

// The scratch files: written, synced, removed again by the destructor.
struct scratch_files {
  scratch_files(int n, std::size_t size) {
    std::string templ = (std::filesystem::temp_directory_path() / "aio-tour-files-XXXXXX").string();
    if (!::mkdtemp(templ.data())) fail("mkdtemp");
    dir = templ;
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>('a' + i * 7 % 26);
    for (int i = 0; i < n; ++i) {
      std::string name = "f";  // (not "f" + to_string(i): GCC 12 warns -Wrestrict on it at -O3)
      name += std::to_string(i);
      paths.push_back((dir / name).string());
      int fd = ::open(paths.back().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0 || ::write(fd, data.data(), size) != static_cast<ssize_t>(size) || ::close(fd) < 0)
        fail("write " + paths.back());
    }
    // One syncfs for all of them: clean pages are the ones the kernel may drop.
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || ::syncfs(dfd) < 0) fail("syncfs " + dir.string());
    ::close(dfd);
  }
  ~scratch_files() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  scratch_files(const scratch_files&) = delete;

  // Asks the kernel to forget the files' cached pages; returns the share of
  // their pages still cached afterwards (mincore), 0 to 1.
  double drop_from_cache() const {
    std::size_t pages = 0, cached = 0;
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    for (const std::string& p : paths) {
      int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) fail("open " + p);
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      const auto size = static_cast<std::size_t>(::lseek(fd, 0, SEEK_END));
      void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
      ::close(fd);
      if (map == MAP_FAILED) fail("mmap " + p);
      std::vector<unsigned char> resident((size + page - 1) / page);
      if (::mincore(map, size, resident.data()) == 0) {
        pages += resident.size();
        cached += static_cast<std::size_t>(std::count_if(resident.begin(), resident.end(),
                                                         [](unsigned char r) { return (r & 1) != 0; }));
      }
      ::munmap(map, size);
    }
    return pages == 0 ? 0.0 : static_cast<double>(cached) / static_cast<double>(pages);
  }

  std::filesystem::path dir;
  std::vector<std::string> paths;
};

// The mistake: a blocking read inside a coroutine. The loop's thread waits
// for the disk, and no other coroutine (nor the ticker) runs meanwhile.
task<std::size_t> blocking_read(std::string path) {
  std::ifstream in(path, std::ios::binary);
  const std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  co_return data.size();
}

// The fix: the async module. On io_uring the open, read and close are kernel
// operations the loop waits for together (64 files at a time); on epoll they
// run on a pool.
task<std::size_t> async_read(std::string path) {
  const std::string data = co_await fs::read_file(path);
  co_return data.size();
}

struct measurement {
  nanoseconds wall{};
  nanoseconds worst_lateness{};
  int complete = 0;  // files read whole
  double cached = 0;  // share of the pages cached when the run started
};

task<measurement> measure(const scratch_files& files, std::size_t size, task<std::size_t> (*read)(std::string)) {
  measurement m;
  m.cached = files.drop_from_cache();
  bool stop = false;
  auto tick = create_task(ticker(stop, m.worst_lateness), "ticker");
  co_await aio::sleep(0s);
  const auto start = steady_clock::now();
  std::vector<task_handle<std::size_t>> readers;
  readers.reserve(files.paths.size());
  for (const std::string& p : files.paths) readers.push_back(create_task(read(p)));
  for (auto& r : readers) {
    const std::size_t n = co_await r;
    if (n == size) ++m.complete;
  }
  m.wall = since(start);
  stop = true;
  co_await tick;
  co_return m;
}

constexpr int label_width = 34;

void row(const measurement& m, int n) {
  std::printf("%9s %20s %7d/%d %8.0f%%\n", format_duration(m.wall).c_str(),
              format_duration(m.worst_lateness).c_str(), m.complete, n, m.cached * 100);
}

task<> lesson_main(int n, std::size_t size) {
  scratch_files files(n, size);
  paragraph(std::to_string(n) + " coroutines each read one file of " + std::to_string(size / 1024) +
            " KiB, written fresh and dropped from the page cache before each run, so the reads wait for the "
            "disk. A ticker task that wants to wake every 10 ms shows how late the loop runs (backend: " +
            std::string(get_running_loop().backend_name()) + ").");
  std::printf("\n");
  char head[160];
  std::snprintf(head, sizeof head, "    %-*s %9s %20s %10s %9s", label_width, "inside each coroutine", "wall time",
                "ticker's worst delay", "files", "cached");
  std::printf("%s\n", bold(head).c_str());

  row_label(label_width, "blocking std::ifstream");
  const measurement blocked = co_await measure(files, size, &blocking_read);
  row(blocked, n);

  row_label(label_width, "co_await aio::fs::read_file");
  const measurement async = co_await measure(files, size, &async_read);
  row(async, n);

  const double ratio = static_cast<double>(blocked.wall.count()) / static_cast<double>(async.wall.count());
  const double late = static_cast<double>(blocked.worst_lateness.count()) /
                      static_cast<double>(std::max<nanoseconds>(async.worst_lateness, 1us).count());
  char line[160];
  if (ratio >= 1)
    std::snprintf(line, sizeof line, "aio::fs finished %.*fx sooner; the ticker's worst delay was %.0fx smaller.",
                  ratio >= 10 ? 0 : 1, ratio, late);
  else
    std::snprintf(line, sizeof line, "aio::fs took %.1fx as long here, but the ticker's worst delay was %.0fx smaller.",
                  1 / ratio, late);
  std::printf("\n  %s\n\n", bold(line).c_str());
  paragraph("Why: std::ifstream (like Python's open) blocks the thread that is the event loop until the disk "
            "answers, so the files are read one after another and nothing else runs meanwhile; "
            "aio::fs::read_file suspends only its own coroutine, so the reads wait on the disk together and "
            "the other tasks keep running. (aio::fs keeps at most 64 file operations of a loop in flight, 128 "
            "on the epoll backend's pool, and queues the rest: the thousand reads reach the kernel in "
            "bursts, and the ticker runs between them.) A cached file read blocks too, only for less time.");
  std::printf("\n");
  paragraph(dim("In Python: open() and pathlib block the same way; use aiofiles (which moves every call to a "
                "thread). aiocpp reads through io_uring, and through a private pool on the epoll backend."));
}

}  // namespace

void async_files(const options& opts) {
  const int n = 1000;
  const std::size_t size = opts.quick ? 16 * 1024 : 64 * 1024;
  aio::run(lesson_main(n, size));
}

}  // namespace aio::tour
