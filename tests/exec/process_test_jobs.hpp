// SPDX-License-Identifier: MIT
#pragma once
// The jobs and helpers the process_pool tests share (defined and registered
// in process_pool_test.cpp, with the environment that starts the fork server).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "aio_test.hpp"

namespace ptest {

struct point {  // serialised by a member
  double x = 0, y = 0;
  std::string label;
  template <class Archive>
  void serialise(Archive& ar) {
    ar(x, y, label);
  }
  bool operator==(const point&) const = default;
};

class money {  // no default constructor: an aio::serialiser specialisation
 public:
  explicit money(long cents) : cents_(cents) {}
  long cents() const { return cents_; }
  bool operator==(const money&) const = default;

 private:
  long cents_;
};

enum class colour : std::uint8_t { red, green, blue };

int add(int a, int b);
double scale(double x, float f);
std::string greet(const std::string& name, char punct);
std::vector<int> squares(std::vector<int> v);
std::pair<int, std::string> split_first(std::tuple<int, double, std::string> t);
std::optional<long> maybe_twice(std::optional<long> v);
point move_point(point p, double dx);
money add_money(money a, money b);
colour next_colour(colour c);
std::vector<std::vector<std::string>> words(std::vector<std::string> lines);
void nothing(int x);
std::vector<bool> flip(std::vector<bool> v);
std::int64_t big_sum(std::vector<std::int64_t> v);
std::string big_string(std::uint64_t n);
/// `s` reversed: a large argument and a large result.
std::string reversed(std::string s);
int my_pid();
/// Creates `path`, then waits (up to 2 minutes) until `go` exists; returns 1.
int mark_and_wait(std::string path, std::string go);
/// Tries to create a process pool inside a worker: the error it got, or "created".
std::string nested_pool();
/// The fd flags of the worker's socket to the pool (fd 3).
int pool_socket_flags();
int nap(int ms);
int mark_and_nap(std::string path, int ms);
void throw_range(std::string what);
int throw_int();
void do_abort();
void do_segfault();
void do_exit(int code);
bool touch(std::string path);
long cpu_bound_task(long n);
int not_registered(int x);

/// A fresh directory for marker files; removed (with its files) on destruction.
using scratch_dir = aio::test::temp_dir;

/// Waits (polling, on the loop) until `path` exists: the job marked it.
aio::task<> wait_for_file(std::string path);
/// Waits (polling, up to 30 s) until gone(pid); its last answer.
aio::task<bool> wait_gone(pid_t pid);
/// The descriptors this process has open.
std::size_t open_fds();
/// Whether `pid` no longer exists (reaped: a zombie still answers kill(pid, 0)).
bool gone(pid_t pid);
/// The processes that the children of this process have as children (the fork server's workers).
std::vector<pid_t> grandchildren();

}  // namespace ptest

template <>
struct aio::serialiser<ptest::money> {
  static void write(aio::byte_writer& w, const ptest::money& m) { w.write(m.cents()); }
  static ptest::money read(aio::byte_reader& r) { return ptest::money(r.read<long>()); }
};
