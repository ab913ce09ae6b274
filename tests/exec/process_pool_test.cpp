// SPDX-License-Identifier: MIT
// process_pool_executor: jobs and results of every supported type, job
// exceptions, identification of jobs, run_in_executor. The shared jobs and
// the environment that starts the fork server before any test thread live here.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <pthread.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <future>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "fork_server.hpp"
#include "process_test_jobs.hpp"

using namespace std::chrono_literals;

namespace {
// The fork server starts after every static initialiser (all jobs are
// registered) and before the first test starts a thread.
struct fork_server_environment : testing::Environment {
  void SetUp() override {
    // process_pool_fault_test runs some tests again in a child that ignores
    // SIGCHLD from the start, as some daemons do.
    if (std::getenv("AIO_TEST_IGNORE_SIGCHLD")) ::signal(SIGCHLD, SIG_IGN);
    aio::start_fork_server();
  }
};
[[maybe_unused]] testing::Environment* const environment =
    testing::AddGlobalTestEnvironment(new fork_server_environment);
}  // namespace

namespace ptest {

int add(int a, int b) { return a + b; }
double scale(double x, float f) { return x * f; }
std::string greet(const std::string& name, char punct) { return "hello " + name + punct; }
std::vector<int> squares(std::vector<int> v) {
  for (int& x : v) x *= x;
  return v;
}
std::pair<int, std::string> split_first(std::tuple<int, double, std::string> t) {
  return {std::get<0>(t) + static_cast<int>(std::get<1>(t)), std::get<2>(t)};
}
std::optional<long> maybe_twice(std::optional<long> v) {
  if (!v) return std::nullopt;
  return *v * 2;
}
point move_point(point p, double dx) {
  p.x += dx;
  p.label += "'";
  return p;
}
money add_money(money a, money b) { return money(a.cents() + b.cents()); }
colour next_colour(colour c) { return static_cast<colour>((static_cast<int>(c) + 1) % 3); }
std::vector<std::vector<std::string>> words(std::vector<std::string> lines) {
  std::vector<std::vector<std::string>> out;
  for (const auto& l : lines) {
    std::istringstream in(l);
    std::vector<std::string> ws;
    for (std::string w; in >> w;) ws.push_back(w);
    out.push_back(ws);
  }
  return out;
}
void nothing(int) {}
std::vector<bool> flip(std::vector<bool> v) {
  v.flip();
  return v;
}
std::int64_t big_sum(std::vector<std::int64_t> v) {
  return std::accumulate(v.begin(), v.end(), std::int64_t{0});
}
std::string big_string(std::uint64_t n) { return std::string(n, 'x'); }
std::string reversed(std::string s) { return {s.rbegin(), s.rend()}; }
int my_pid() { return ::getpid(); }
int pool_socket_flags() { return ::fcntl(3, F_GETFD); }
std::string nested_pool() {
  try {
    aio::process_pool_executor inner;
    return "created";
  } catch (const aio::invalid_state_error& e) {
    return e.what();
  }
}
int nap(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
int mark_and_nap(std::string path, int ms) {
  touch(path);
  return nap(ms);
}
int mark_and_wait(std::string path, std::string go) {
  touch(path);
  for (int i = 0; i < 120'000 && ::access(go.c_str(), F_OK) != 0; ++i) nap(1);
  return 1;
}
void throw_range(std::string what) { throw std::out_of_range(what); }
int throw_int() { throw 42; }
void do_abort() { std::abort(); }
void do_segfault() {
  *reinterpret_cast<volatile int*>(16) = 1;  // not null: UBSan's check stays quiet
}
void do_exit(int code) { std::_Exit(code); }
bool touch(std::string path) {
  std::ofstream f(path);
  return bool(f);
}
long cpu_bound_task(long n) {
  long s = 0;
  for (long i = 0; i < n; ++i) s += i * n;
  return s;
}
int not_registered(int x) { return x; }

aio::task<> wait_for_file(std::string path) {
  while (::access(path.c_str(), F_OK) != 0) co_await aio::sleep(2ms);
}

std::size_t open_fds() {
  std::size_t n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n - 1;  // the directory's own
}

bool gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

aio::task<bool> wait_gone(pid_t pid) {
  for (int i = 0; i < 30'000 && !gone(pid); ++i) co_await aio::sleep(1ms);
  co_return gone(pid);
}

namespace {
std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(dir + "/" + e->d_name + "/children");
    for (pid_t c; f >> c;) out.push_back(c);
  }
  ::closedir(d);
  return out;
}
}  // namespace

std::vector<pid_t> grandchildren() {
  std::vector<pid_t> out;
  for (pid_t c : children_of(::getpid()))
    for (pid_t g : children_of(c)) out.push_back(g);
  return out;
}

}  // namespace ptest

AIO_PROCESS_JOB(ptest::add);
AIO_PROCESS_JOB(ptest::scale);
AIO_PROCESS_JOB(ptest::greet);
AIO_PROCESS_JOB(ptest::squares);
AIO_PROCESS_JOB(ptest::split_first);
AIO_PROCESS_JOB(ptest::maybe_twice);
AIO_PROCESS_JOB(ptest::move_point);
AIO_PROCESS_JOB(ptest::add_money);
AIO_PROCESS_JOB(ptest::next_colour);
AIO_PROCESS_JOB(ptest::words);
AIO_PROCESS_JOB(ptest::nothing);
AIO_PROCESS_JOB(ptest::flip);
AIO_PROCESS_JOB(ptest::big_sum);
AIO_PROCESS_JOB(ptest::big_string);
AIO_PROCESS_JOB(ptest::reversed);
AIO_PROCESS_JOB(ptest::my_pid);
AIO_PROCESS_JOB(ptest::nested_pool);
AIO_PROCESS_JOB(ptest::pool_socket_flags);
AIO_PROCESS_JOB(ptest::nap);
AIO_PROCESS_JOB(ptest::mark_and_nap);
AIO_PROCESS_JOB(ptest::mark_and_wait);
AIO_PROCESS_JOB(ptest::throw_range);
AIO_PROCESS_JOB(ptest::throw_int);
AIO_PROCESS_JOB(ptest::do_abort);
AIO_PROCESS_JOB(ptest::do_segfault);
AIO_PROCESS_JOB(ptest::do_exit);
AIO_PROCESS_JOB(ptest::touch);
AIO_PROCESS_JOB(ptest::cpu_bound_task);

using namespace ptest;

AIO_TEST_SUITE(process_pool_test);

AIO_TEST(process_pool_test, arithmetic_strings_and_enums) {
  aio::process_pool_executor pool(2);
  EXPECT_EQ(pool.max_workers(), 2u);
  EXPECT_EQ(co_await pool.submit(add, 2, 3), 5);
  EXPECT_EQ(co_await pool.submit(add, -7, 'a'), 90);  // converted to the parameter type
  EXPECT_DOUBLE_EQ(co_await pool.submit(scale, 1.5, 2.0f), 3.0);
  EXPECT_EQ(co_await pool.submit(greet, std::string("bob"), '!'), "hello bob!");
  EXPECT_EQ(co_await pool.submit(greet, "", '?'), "hello ?");  // const char* -> std::string
  EXPECT_EQ(co_await pool.submit(next_colour, colour::blue), colour::red);
  co_await pool.submit(nothing, 1);
  EXPECT_EQ(co_await pool.submit(cpu_bound_task, 1000L), cpu_bound_task(1000));
}

// Named variables, not braced lists, around co_await: docs/guide.md's GCC 12 pitfall.
AIO_TEST(process_pool_test, containers_and_user_types) {
  aio::process_pool_executor pool(1);
  std::vector<int> in = {1, -2, 3}, expected = {1, 4, 9}, empty;
  auto sq = co_await pool.submit(squares, in);
  EXPECT_EQ(sq, expected);
  auto sq0 = co_await pool.submit(squares, empty);
  EXPECT_TRUE(sq0.empty());
  auto t = std::make_tuple(40, 2.5, std::string("tail"));
  auto p = co_await pool.submit(split_first, t);
  EXPECT_EQ(p.first, 42);
  EXPECT_EQ(p.second, "tail");
  std::optional<long> twentyone(21);
  EXPECT_EQ(co_await pool.submit(maybe_twice, twentyone), std::optional<long>(42));
  EXPECT_EQ(co_await pool.submit(maybe_twice, std::nullopt), std::nullopt);
  point pt;
  pt.x = 1;
  pt.y = 2;
  pt.label = "a";
  point moved = co_await pool.submit(move_point, pt, 0.5);
  EXPECT_DOUBLE_EQ(moved.x, 1.5);
  EXPECT_DOUBLE_EQ(moved.y, 2);
  EXPECT_EQ(moved.label, "a'");
  money a(150), b(-25);
  money sum = co_await pool.submit(add_money, a, b);
  EXPECT_EQ(sum.cents(), 125);
  std::vector<std::string> lines = {"a bb ccc", "", "  x  "};
  auto ws = co_await pool.submit(words, lines);
  CO_ASSERT_EQ(ws.size(), 3u);
  std::vector<std::string> w0 = {"a", "bb", "ccc"}, w2 = {"x"};
  EXPECT_EQ(ws[0], w0);
  EXPECT_TRUE(ws[1].empty());
  EXPECT_EQ(ws[2], w2);
  std::vector<bool> bits = {true, false, false, true, true}, flipped = {false, true, true, false, false};
  auto got = co_await pool.submit(flip, bits);
  EXPECT_EQ(got, flipped);
}

AIO_TEST(process_pool_test, large_arguments_and_results) {
  aio::process_pool_executor pool(1);
  std::vector<std::int64_t> v(3'000'000);
  std::iota(v.begin(), v.end(), 0);
  EXPECT_EQ(co_await pool.submit(big_sum, v), std::int64_t{2'999'999} * 3'000'000 / 2);
  std::string s = co_await pool.submit(big_string, std::uint64_t{20'000'000});
  EXPECT_EQ(s.size(), 20'000'000u);
  EXPECT_EQ(s.find_first_not_of('x'), std::string::npos);
}

AIO_TEST(process_pool_test, a_job_exception_comes_back_with_its_type_and_message) {
  aio::process_pool_executor pool(1);
  try {
    co_await pool.submit(throw_range, std::string("index 7 of 3"));
    ADD_FAILURE() << "no exception";
  } catch (const aio::process_job_error& e) {
    EXPECT_EQ(e.job(), "ptest::throw_range");
    EXPECT_EQ(e.type_name(), "std::out_of_range");
    EXPECT_EQ(e.message(), "index 7 of 3");
    EXPECT_STREQ(e.what(), "job 'ptest::throw_range' raised std::out_of_range: index 7 of 3");
  }
  try {
    co_await pool.submit(throw_int);
    ADD_FAILURE() << "no exception";
  } catch (const aio::process_job_error& e) {
    EXPECT_EQ(e.type_name(), "int");
    EXPECT_EQ(e.message(), "");
  }
  EXPECT_EQ(co_await pool.submit(add, 1, 1), 2);  // the worker survives a throwing job
}

AIO_TEST(process_pool_test, only_registered_functions_run) {
  aio::process_pool_executor pool(1);
  EXPECT_THROW(pool.submit(not_registered, 1), std::invalid_argument);
  EXPECT_EQ(co_await pool.submit(&add, 4, 4), 8);  // a pointer to a registered function is fine
}

AIO_TEST(process_pool_test, run_in_executor_and_blocking_result) {
  aio::process_pool_executor pool(1);
  EXPECT_EQ(co_await aio::run_in_executor(&pool, add, 20, 22), 42);
  aio::process_pool_executor* none = nullptr;
  EXPECT_THROW(aio::run_in_executor(none, add, 1, 2), std::invalid_argument);
  // nullptr still means the loop's default (thread) executor.
  EXPECT_EQ(co_await aio::run_in_executor(nullptr, [] { return 7; }), 7);
  auto f = pool.submit(add, 1, 2);
  auto result = std::async(std::launch::async, [&] { return f.result(); });  // another thread
  EXPECT_EQ(result.get(), 3);
}

AIO_TEST(process_pool_test, jobs_run_in_parallel_on_different_workers) {
  aio::process_pool_executor pool(2);
  scratch_dir dir;
  // Neither job ends before "go" exists, which is made only once both have
  // marked: they run at the same time.
  auto a = pool.submit(mark_and_wait, dir / "a", dir / "go");
  auto b = pool.submit(mark_and_wait, dir / "b", dir / "go");
  co_await wait_for_file(dir / "a");
  co_await wait_for_file(dir / "b");
  a.cancel();  // too late: running (the pool does not kill on cancel)
  EXPECT_TRUE(a.running());
  touch(dir / "go");
  EXPECT_EQ(co_await a, 1);
  EXPECT_EQ(co_await b, 1);
}

TEST(process_pool_start, a_threaded_process_cannot_start_the_fork_server) {
  std::atomic<bool> stop{false}, named{false};
  std::thread t([&] {
    ::pthread_setname_np(::pthread_self(), "probe-thread");
    named = true;
    while (!stop) std::this_thread::sleep_for(1ms);
  });
  while (!named) std::this_thread::sleep_for(1ms);
  try {
    aio::detail::fork_server::check_single_threaded();
    ADD_FAILURE() << "no error with two threads";
  } catch (const aio::invalid_state_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("probe-thread"), std::string::npos) << what;
    EXPECT_NE(what.find("aio::start_fork_server()"), std::string::npos) << what;
  }
  stop = true;
  t.join();
}

// Arguments and results far larger than a socket buffer, both ways at once,
// several jobs deep on each worker: the supervisor queues what a worker's
// socket does not take yet and goes on reading results, so neither side
// waits for the other.
AIO_TEST(process_pool_test, large_arguments_and_results_both_ways_at_once) {
  aio::process_pool_executor pool(2);
  constexpr std::size_t jobs = 12, size = 3 << 20;
  std::vector<std::string> inputs;
  std::vector<aio::concurrent_future<std::string>> results;
  for (std::size_t i = 0; i < jobs; ++i) {
    std::string s(size, 'a');
    for (std::size_t j = 0; j < size; j += 4096) s[j] = static_cast<char>('a' + (i + j / 4096) % 26);
    inputs.push_back(s);
    results.push_back(pool.submit(reversed, std::move(s)));
  }
  for (std::size_t i = 0; i < jobs; ++i) {
    const std::string r = co_await std::move(results[i]);
    EXPECT_TRUE(r == std::string(inputs[i].rbegin(), inputs[i].rend())) << "job " << i;
  }
}
