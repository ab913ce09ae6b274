// SPDX-License-Identifier: MIT
// The aiocpp side of `./scripts/bench fs`; fs_bench.py is the same through
// aiofiles, fs_report.py runs both and the cat / dd anchors. Which backend
// runs is AIO_BACKEND's choice (uring, or epoll: files on the internal pool).
// --sync runs the same workload as a plain synchronous C++ loop of system
// calls, no event loop: the "what the kernel costs" anchor.
//
//   fs_bench seq_read    --file F [--chunk 65536] [--sync]   read F to the end
//   fs_bench seq_write   --file F --n BYTES [--chunk 65536] [--sync]
//   fs_bench small_files --dir D --n FILES [--depth K] [--sync]  read D/f00000 … concurrently:
//            all at once (gather), or with --depth K by K workers taking the next file
//   fs_bench rand_pread  --file F --n OPS [--depth 32] [--sync]  4 KiB preads at random offsets
//
// Prints one JSON object: {"workload", "value", "unit", "n", "backend", "cpu_s"}
// (cpu_s: user + system time of the whole process, its threads included —
// the epoll backend's pool and io_uring's kernel workers among them).

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/core/gather.hpp"
#include "aio/core/loop.hpp"
#include "aio/core/run.hpp"
#include "aio/fs/file.hpp"
#include "aio/fs/read_file.hpp"

namespace {

namespace fs = aio::fs;
using clock_type = std::chrono::steady_clock;
constexpr std::size_t page = 4096;

struct args_t {
  std::string workload, file, dir;
  std::size_t n = 0;
  std::size_t chunk = 65536;
  std::size_t depth = 0;  // rand_pread: 32 unless given; small_files: 0 = all at once
  bool sync = false;
};

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

[[noreturn]] void fail(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

std::string small_name(const std::string& dir, std::size_t i) {
  char name[32];
  std::snprintf(name, sizeof name, "/f%05zu", i);
  return dir + name;
}

// The offsets of rand_pread: page-aligned, spread over the whole file, the
// same sequence on every side (xorshift64, as fs_bench.py).
struct offsets {
  std::uint64_t x = 88172645463325252ull;
  std::uint64_t pages;
  std::uint64_t next() noexcept {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return (x % pages) * page;
  }
};

// Every side reads into page-aligned memory. The kernel's copy into a buffer
// 16 bytes past a page boundary ran 15% slower here (epoll pool, 64 KiB
// chunks) than into an aligned one, and where malloc puts a vector moves
// with every allocation made before it: a change elsewhere in the library
// showed up as a seq_read regression until the buffers were aligned.
struct page_buffer {
  explicit page_buffer(std::size_t n)
      : p(static_cast<std::byte*>(std::aligned_alloc(page, (n + page - 1) / page * page))), size(n) {
    if (!p) throw std::bad_alloc();
    std::memset(p.get(), 0, size);
  }
  std::span<std::byte> bytes() noexcept { return {p.get(), size}; }
  char* chars() noexcept { return reinterpret_cast<char*>(p.get()); }
  struct release {
    void operator()(std::byte* b) const noexcept { std::free(b); }
  };
  std::unique_ptr<std::byte, release> p;
  std::size_t size;
};

std::uint64_t file_size(const std::string& path) {
  struct ::stat st{};
  if (::stat(path.c_str(), &st) < 0) fail("stat " + path);
  return static_cast<std::uint64_t>(st.st_size);
}

// --- aiocpp -------------------------------------------------------------------

aio::task<std::size_t> seq_read(const args_t& a) {
  auto f = co_await fs::open(a.file, "rb");
  page_buffer buf(a.chunk);
  std::size_t total = 0;
  for (;;) {
    const std::size_t n = co_await f.read_into(buf.bytes());
    if (n == 0) break;
    total += n;
  }
  co_await f.close();
  co_return total;
}

aio::task<std::size_t> seq_write(const args_t& a) {
  auto f = co_await fs::open(a.file, "wb");
  const std::string block(a.chunk, 'x');
  std::size_t total = 0;
  while (total < a.n) total += co_await f.write(std::string_view(block).substr(0, a.n - total));
  co_await f.close();
  co_return total;
}

aio::task<std::size_t> read_one(std::string path) {
  const std::string data = co_await fs::read_file(path);
  co_return data.size();
}

// --depth K: K workers, each taking the next file until none is left.
aio::task<std::size_t> small_files_worker(const args_t& a, std::size_t& next) {
  std::size_t total = 0;
  while (next < a.n) total += co_await read_one(small_name(a.dir, next++));
  co_return total;
}

aio::task<std::size_t> small_files(const args_t& a) {
  if (a.depth != 0) {
    std::size_t next = 0;
    std::vector<aio::task<std::size_t>> workers;
    for (std::size_t i = 0; i < a.depth; ++i) workers.push_back(small_files_worker(a, next));
    const std::vector<std::size_t> got = co_await aio::gather(std::move(workers));
    std::size_t total = 0;
    for (std::size_t g : got) total += g;
    co_return total;
  }
  std::vector<aio::task<std::size_t>> reads;
  reads.reserve(a.n);
  for (std::size_t i = 0; i < a.n; ++i) reads.push_back(read_one(small_name(a.dir, i)));
  const std::vector<std::size_t> sizes = co_await aio::gather(std::move(reads));
  std::size_t total = 0;
  for (std::size_t s : sizes) total += s;
  co_return total;
}

aio::task<std::size_t> pread_worker(fs::file& f, offsets& where, std::size_t ops) {
  page_buffer buf(page);
  std::size_t total = 0;
  for (std::size_t i = 0; i < ops; ++i) total += co_await f.pread_into(buf.bytes(), where.next());
  co_return total;
}

aio::task<std::size_t> rand_pread(const args_t& a) {
  auto f = co_await fs::open(a.file, "rb");
  offsets where{.pages = file_size(a.file) / page};
  std::vector<aio::task<std::size_t>> workers;
  for (std::size_t i = 0; i < a.depth; ++i) workers.push_back(pread_worker(f, where, a.n / a.depth));
  const std::vector<std::size_t> got = co_await aio::gather(std::move(workers));
  co_await f.close();
  std::size_t total = 0;
  for (std::size_t g : got) total += g;
  co_return total;
}

aio::task<std::size_t> run_async(const args_t& a) {
  if (a.workload == "seq_read") co_return co_await seq_read(a);
  if (a.workload == "seq_write") co_return co_await seq_write(a);
  if (a.workload == "small_files") co_return co_await small_files(a);
  co_return co_await rand_pread(a);
}

// --- the plain synchronous loops ------------------------------------------------

std::size_t sync_seq_read(const args_t& a) {
  int fd = ::open(a.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open " + a.file);
  page_buffer buf(a.chunk);
  std::size_t total = 0;
  for (ssize_t n; (n = ::read(fd, buf.chars(), buf.size)) != 0;) {
    if (n < 0) fail("read");
    total += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return total;
}

std::size_t sync_seq_write(const args_t& a) {
  int fd = ::open(a.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("open " + a.file);
  const std::string block(a.chunk, 'x');
  std::size_t total = 0;
  while (total < a.n) {
    ssize_t n = ::write(fd, block.data(), std::min(block.size(), a.n - total));
    if (n <= 0) fail("write");
    total += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return total;
}

// What a synchronous program does for "read the whole file": open, fstat for
// the size, read to end of file, close (Python's Path.read_bytes does the same).
std::size_t sync_small_files(const args_t& a) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < a.n; ++i) {
    const std::string path = small_name(a.dir, i);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("open " + path);
    struct ::stat st{};
    if (::fstat(fd, &st) < 0) fail("fstat");
    std::string data(static_cast<std::size_t>(st.st_size) + 1, '\0');
    std::size_t got = 0;
    for (ssize_t n; (n = ::read(fd, data.data() + got, data.size() - got)) != 0;) {
      if (n < 0) fail("read");
      got += static_cast<std::size_t>(n);
      if (got == data.size()) data.resize(data.size() * 2);
    }
    ::close(fd);
    total += got;
  }
  return total;
}

std::size_t sync_rand_pread(const args_t& a) {
  int fd = ::open(a.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open " + a.file);
  offsets where{.pages = file_size(a.file) / page};
  page_buffer buf(page);
  std::size_t total = 0;
  for (std::size_t i = 0; i < a.n / a.depth * a.depth; ++i) {
    ssize_t n = ::pread(fd, buf.chars(), buf.size, static_cast<off_t>(where.next()));
    if (n < 0) fail("pread");
    total += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return total;
}

std::size_t run_sync(const args_t& a) {
  if (a.workload == "seq_read") return sync_seq_read(a);
  if (a.workload == "seq_write") return sync_seq_write(a);
  if (a.workload == "small_files") return sync_small_files(a);
  return sync_rand_pread(a);
}

args_t parse(int argc, char** argv) {
  if (argc < 2) throw std::invalid_argument("usage: fs_bench <workload> [options] (see the source's header)");
  args_t a;
  a.workload = argv[1];
  if (a.workload != "seq_read" && a.workload != "seq_write" && a.workload != "small_files" &&
      a.workload != "rand_pread")
    throw std::invalid_argument("unknown workload " + a.workload);
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--sync") {
      a.sync = true;
      continue;
    }
    if (i + 1 >= argc) throw std::invalid_argument(k + " needs a value");
    std::string v = argv[++i];
    if (k == "--file") a.file = v;
    else if (k == "--dir") a.dir = v;
    else if (k == "--n") a.n = std::stoull(v);
    else if (k == "--chunk") a.chunk = std::stoull(v);
    else if (k == "--depth") a.depth = std::stoull(v);
    else throw std::invalid_argument("unknown option " + k);
  }
  if (a.workload == "rand_pread" && a.depth == 0) a.depth = 32;
  if (a.chunk == 0) throw std::invalid_argument("--chunk must be positive");
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const args_t a = parse(argc, argv);
    // 10,000 files read at once are 10,000 open fds: as a server would, lift
    // the soft limit to the hard one.
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
      lim.rlim_cur = lim.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &lim);
    }
    std::string backend = "sync";
    const auto t0 = clock_type::now();
    std::size_t bytes = 0;
    if (a.sync) {
      bytes = run_sync(a);
    } else {
      bytes = aio::run([](const args_t& args, std::string& name) -> aio::task<std::size_t> {
        name = std::string(aio::get_running_loop().backend_name());
        co_return co_await run_async(args);
      }(a, backend));
    }
    const double s = seconds_since(t0);
    double value = 0;
    const char* unit = "";
    std::size_t n = a.n;
    if (a.workload == "seq_read" || a.workload == "seq_write") {
      value = static_cast<double>(bytes) / s / 1e6;
      unit = "MB/s";
      n = bytes;
    } else if (a.workload == "small_files") {
      if (bytes != a.n * page) throw std::runtime_error("small_files read " + std::to_string(bytes) + " bytes");
      value = static_cast<double>(a.n) / s;
      unit = "files/s";
    } else {
      n = bytes / page;
      value = static_cast<double>(n) / s;
      unit = "ops/s";
    }
    rusage use{};
    ::getrusage(RUSAGE_SELF, &use);
    const double cpu = static_cast<double>(use.ru_utime.tv_sec + use.ru_stime.tv_sec) +
                       static_cast<double>(use.ru_utime.tv_usec + use.ru_stime.tv_usec) / 1e6;
    std::printf("{\"workload\": \"%s\", \"value\": %.6g, \"unit\": \"%s\", \"n\": %zu, \"backend\": \"%s\", "
                "\"cpu_s\": %.4g}\n",
                a.workload.c_str(), value, unit, n, backend.c_str(), cpu);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fs_bench: %s\n", e.what());
    return 1;
  }
}
