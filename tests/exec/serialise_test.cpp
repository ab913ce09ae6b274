// SPDX-License-Identifier: MIT
// serialise.hpp on its own: round trips, and bad input is an error, not a crash.
#include <gtest/gtest.h>

#include <array>
#include <limits>
#include <string>

#include "aio/exec/serialise.hpp"

namespace {

template <class T>
T round_trip(const T& v) {
  std::string bytes;
  aio::byte_writer w(bytes);
  w.write(v);
  aio::byte_reader r(bytes);
  T out = r.read<T>();
  r.expect_end();
  return out;
}

struct inner {
  int a = 0;
  std::vector<std::string> names;
  template <class Ar>
  void serialise(Ar& ar) {
    ar(a, names);
  }
  bool operator==(const inner&) const = default;
};

struct no_way {
  int* p;
};

static_assert(aio::serialisable<int>);
static_assert(aio::serialisable<std::vector<std::optional<std::pair<int, std::string>>>>);
static_assert(aio::serialisable<inner>);
static_assert(!aio::serialisable<int*>);
static_assert(!aio::serialisable<no_way>);
static_assert(!aio::serialisable<std::vector<no_way>>);
static_assert(!aio::serialisable<std::tuple<int, const char*>>);
static_assert(!aio::serialisable<std::string_view>);

}  // namespace

TEST(serialise_test, round_trips) {
  EXPECT_EQ(round_trip(std::numeric_limits<long>::min()), std::numeric_limits<long>::min());
  EXPECT_EQ(round_trip(-0.25), -0.25);
  EXPECT_EQ(round_trip(std::string("a\0b", 3)), std::string("a\0b", 3));
  EXPECT_EQ(round_trip(std::array<short, 3>{1, 2, 3}), (std::array<short, 3>{1, 2, 3}));
  EXPECT_EQ(round_trip(std::optional<std::string>()), std::nullopt);
  std::vector<inner> v{{1, {"x", ""}}, {2, {}}};
  EXPECT_EQ(round_trip(v), v);
  auto t = std::make_tuple(1u, std::string("two"), std::vector<double>{3.0}, false);
  EXPECT_EQ(round_trip(t), t);
}

TEST(serialise_test, truncated_or_trailing_input_throws) {
  std::string bytes;
  aio::byte_writer w(bytes);
  w.write(std::vector<std::string>{"hello", "world"});
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    aio::byte_reader r(std::string_view(bytes).substr(0, cut));
    EXPECT_THROW(r.read<std::vector<std::string>>(), aio::serialise_error) << cut;
  }
  std::string huge;
  aio::byte_writer hw(huge);
  hw.write(std::uint64_t{1} << 60);  // a length no input could hold
  aio::byte_reader hr(huge);
  EXPECT_THROW(hr.read<std::vector<int>>(), aio::serialise_error);
  bytes += 'x';
  aio::byte_reader r(bytes);
  r.read<std::vector<std::string>>();
  EXPECT_THROW(r.expect_end(), aio::serialise_error);
}
