// SPDX-License-Identifier: MIT
#pragma once
// How values cross a process boundary: the arguments and results of
// process_pool_executor jobs (what pickle does for Python's ProcessPoolExecutor,
// but decided at compile time). Supported out of the box: arithmetic types and
// enums, std::string, std::vector, std::array, std::pair, std::tuple,
// std::optional, and any nesting of them. A user type joins in one of two ways:
//
//   struct point {                       // default-constructible: a member
//     double x, y;
//     std::string label;
//     template <class Archive> void serialise(Archive& ar) { ar(x, y, label); }
//   };
//
//   template <> struct aio::serialiser<money> {   // any type: a specialisation
//     static void write(aio::byte_writer& w, const money& m) { w.write(m.cents()); }
//     static money read(aio::byte_reader& r) { return money(r.read<long>()); }
//   };
//
// Anything else (pointers, references to memory, file descriptors, function
// objects) cannot be sent: using it in a job is a compile-time error naming
// the type. The encoding is the machine's own (the reader is a fork of the
// same binary), not a portable format.

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace aio {

/// Thrown when bytes do not decode into the expected type (truncated or
/// trailing data). Like `pickle.UnpicklingError`.
class serialise_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// How a type T is written and read. Specialise it for a type that cannot
/// have a serialise member (or is not default-constructible): static
/// `void write(byte_writer&, const T&)` and `T read(byte_reader&)`.
template <class T, class = void>
struct serialiser {};

class byte_writer;
class byte_reader;

/// True when T can be a process job's argument or result.
template <class T>
concept serialisable = requires(byte_writer& w, byte_reader& r, const T& v) {
  serialiser<T>::write(w, v);
  { serialiser<T>::read(r) } -> std::same_as<T>;
};

/// Appends encoded values to a std::string. Also the archive a serialise
/// member receives when its object is written: `ar(a, b, c)` writes them.
class byte_writer {
 public:
  /// Appends to `out` (not owned).
  explicit byte_writer(std::string& out) noexcept : out_(&out) {}
  /// Appends n raw bytes.
  void write_bytes(const void* p, std::size_t n) { out_->append(static_cast<const char*>(p), n); }
  /// Appends v's encoding.
  template <serialisable T>
  void write(const T& v) {
    serialiser<T>::write(*this, v);
  }
  /// Archive form for serialise members: writes each value in order.
  template <class... T>
  void operator()(const T&... v) {
    (write(v), ...);
  }

 private:
  std::string* out_;
};

/// Decodes values from bytes it does not own. Also the archive a serialise
/// member receives when its object is read: `ar(a, b, c)` assigns them.
class byte_reader {
 public:
  explicit byte_reader(std::string_view in) noexcept : p_(in.data()), end_(in.data() + in.size()) {}
  /// Copies the next n bytes to p; serialise_error if fewer are left.
  void read_bytes(void* p, std::size_t n) {
    if (n > left()) throw serialise_error("aio::byte_reader: truncated input");
    if (n) std::memcpy(p, p_, n);
    p_ += n;
  }
  /// Decodes the next value of type T.
  template <serialisable T>
  T read() {
    return serialiser<T>::read(*this);
  }
  /// Archive form for serialise members: reads each value in order.
  template <class... T>
  void operator()(T&... v) {
    ((v = read<T>()), ...);
  }
  std::size_t left() const noexcept { return static_cast<std::size_t>(end_ - p_); }
  /// serialise_error unless every byte was consumed.
  void expect_end() const {
    if (p_ != end_) throw serialise_error("aio::byte_reader: trailing bytes after the value");
  }
  /// Reads a length prefix, checking that at least `min_each` bytes per item remain.
  std::size_t read_size(std::size_t min_each) {
    std::uint64_t n = 0;
    read_bytes(&n, sizeof n);
    if (min_each && n > left() / min_each)
      throw serialise_error("aio::byte_reader: length exceeds the input");
    return static_cast<std::size_t>(n);
  }

 private:
  const char* p_;
  const char* end_;
};

// --- the built-in encodings ----------------------------------------------------

template <class T>
requires(std::is_arithmetic_v<T> || std::is_enum_v<T>)
struct serialiser<T> {
  static void write(byte_writer& w, const T& v) { w.write_bytes(&v, sizeof v); }
  static T read(byte_reader& r) {
    if constexpr (std::is_same_v<T, bool>) {  // any other byte would be undefined behaviour as a bool
      unsigned char b = 0;
      r.read_bytes(&b, 1);
      if (b > 1) throw serialise_error("aio::byte_reader: a bool that is neither 0 nor 1");
      return b == 1;
    } else {
      T v;
      r.read_bytes(&v, sizeof v);
      return v;
    }
  }
};

template <>
struct serialiser<std::string> {
  static void write(byte_writer& w, const std::string& s) {
    std::uint64_t n = s.size();
    w.write_bytes(&n, sizeof n);
    w.write_bytes(s.data(), s.size());
  }
  static std::string read(byte_reader& r) {
    std::string s(r.read_size(1), '\0');
    r.read_bytes(s.data(), s.size());
    return s;
  }
};

template <serialisable T, class A>
struct serialiser<std::vector<T, A>> {
  static void write(byte_writer& w, const std::vector<T, A>& v) {
    std::uint64_t n = v.size();
    w.write_bytes(&n, sizeof n);
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)
      w.write_bytes(v.data(), v.size() * sizeof(T));
    else
      for (const auto& x : v) w.write(static_cast<const T&>(x));
  }
  static std::vector<T, A> read(byte_reader& r) {
    std::vector<T, A> v;
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      v.resize(r.read_size(sizeof(T)));
      r.read_bytes(v.data(), v.size() * sizeof(T));
    } else {
      // An empty type encodes to no bytes: its count is bounded by the frame size instead.
      std::size_t n = std::is_empty_v<T> ? r.read_size(0) : r.read_size(1);
      if (std::is_empty_v<T> && n > (std::size_t{1} << 30))
        throw serialise_error("aio::byte_reader: length exceeds the input");
      v.reserve(std::min(n, r.left()));
      for (std::size_t i = 0; i < n; ++i) v.push_back(r.read<T>());
    }
    return v;
  }
};

template <serialisable T, std::size_t N>
requires std::is_default_constructible_v<T>
struct serialiser<std::array<T, N>> {
  static void write(byte_writer& w, const std::array<T, N>& a) {
    for (const auto& x : a) w.write(x);
  }
  static std::array<T, N> read(byte_reader& r) {
    std::array<T, N> a;
    for (auto& x : a) x = r.read<T>();
    return a;
  }
};

template <serialisable T, serialisable U>
struct serialiser<std::pair<T, U>> {
  static void write(byte_writer& w, const std::pair<T, U>& p) {
    w.write(p.first);
    w.write(p.second);
  }
  static std::pair<T, U> read(byte_reader& r) {
    T first = r.read<T>();  // named: the order of the reads matters
    U second = r.read<U>();
    return {std::move(first), std::move(second)};
  }
};

template <serialisable... T>
struct serialiser<std::tuple<T...>> {
  static void write(byte_writer& w, const std::tuple<T...>& t) {
    std::apply([&](const T&... x) { (w.write(x), ...); }, t);
  }
  static std::tuple<T...> read(byte_reader& r) {
    return std::tuple<T...>{r.read<T>()...};  // a braced list reads left to right
  }
};

template <serialisable T>
struct serialiser<std::optional<T>> {
  static void write(byte_writer& w, const std::optional<T>& o) {
    w.write(o.has_value());
    if (o) w.write(*o);
  }
  static std::optional<T> read(byte_reader& r) {
    if (!r.read<bool>()) return std::nullopt;
    return std::optional<T>(r.read<T>());
  }
};

/// A user type with a `template <class Archive> void serialise(Archive&)`
/// member that lists its fields (and a default constructor).
template <class T>
requires(std::is_class_v<T> && std::is_default_constructible_v<T> &&
         requires(T& t, byte_writer& w, byte_reader& r) {
           t.serialise(w);
           t.serialise(r);
         })
struct serialiser<T> {
  static void write(byte_writer& w, const T& v) { const_cast<T&>(v).serialise(w); }
  static T read(byte_reader& r) {
    T v;
    v.serialise(r);
    return v;
  }
};

namespace detail {
/// Instantiated for each job parameter and result type: the error a user
/// sees for a type that cannot be sent names T in its instantiation context.
template <class T>
constexpr bool check_serialisable() {
  static_assert(serialisable<T>,
                "aio::process_pool_executor: this type cannot cross a process boundary. Supported: "
                "arithmetic types, enums, std::string, std::vector, std::array, std::pair, "
                "std::tuple, std::optional, and types with a `template <class Archive> void "
                "serialise(Archive&)` member or an aio::serialiser<T> specialisation");
  return true;
}
}  // namespace detail

}  // namespace aio
