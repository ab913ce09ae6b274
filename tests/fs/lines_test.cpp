// SPDX-License-Identifier: MIT
// readline, readlines, lines(): line ends, empty and long lines, the limit,
// and the read-ahead staying consistent with read/seek/tell.

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "aio/core/errors.hpp"
#include "aio/fs/file.hpp"
#include "aio/fs/read_file.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::temp_dir;

namespace {

// Every line through lines(), copied.
aio::task<std::vector<std::string>> collect(fs::file& f) {
  std::vector<std::string> out;
  auto lines = f.lines();
  while (auto line = co_await lines.next()) out.emplace_back(*line);
  co_return out;
}

// Every line through readline(), until "".
aio::task<std::vector<std::string>> collect_readline(fs::file& f) {
  std::vector<std::string> out;
  for (;;) {
    std::string line = co_await f.readline();
    if (line.empty()) break;
    out.push_back(std::move(line));
  }
  co_return out;
}

aio::task<std::vector<std::string>> lines_of(std::string path, std::string content) {
  co_await fs::write_file(path, content);
  auto f = co_await fs::open(path);
  std::vector<std::string> a = co_await collect(f);
  EXPECT_EQ(f.tell(), content.size());
  co_await f.seek(0);
  std::vector<std::string> b = co_await collect_readline(f);
  EXPECT_EQ(a, b);
  co_await f.seek(0);
  EXPECT_EQ(co_await f.readlines(), a);
  EXPECT_EQ(co_await fs::read_lines(path), a);
  co_return a;
}

using lines = std::vector<std::string>;

}  // namespace

AIO_TEST_SUITE(fs_lines_test);

AIO_TEST(fs_lines_test, lines_keep_their_newline_and_the_last_may_lack_it) {
  temp_dir d;
  const lines want1{"one\n", "two\n", "three"};
  EXPECT_EQ(co_await lines_of(d / "a", "one\ntwo\nthree"), want1);
  const lines want2{"one\n", "two\n"};
  EXPECT_EQ(co_await lines_of(d / "b", "one\ntwo\n"), want2);
}

AIO_TEST(fs_lines_test, crlf_lines_keep_the_carriage_return) {
  temp_dir d;
  const lines want3{"a\r\n", "b\r\n", "\r\n", "c\r"};
  EXPECT_EQ(co_await lines_of(d / "crlf", "a\r\nb\r\n\r\nc\r"), want3);
}

AIO_TEST(fs_lines_test, empty_file_and_empty_lines) {
  temp_dir d;
  const lines want4{};
  EXPECT_EQ(co_await lines_of(d / "empty", ""), want4);
  const lines want5{"\n"};
  EXPECT_EQ(co_await lines_of(d / "nl", "\n"), want5);
  const lines want6{"\n", "\n", "x\n", "\n"};
  EXPECT_EQ(co_await lines_of(d / "blank", "\n\nx\n\n"), want6);
  auto f = co_await fs::open(d / "empty");
  EXPECT_EQ(co_await f.readline(), "");
  EXPECT_EQ(co_await f.readline(), "");  // EOF again, not an error
  auto l = f.lines();
  std::optional<std::string_view> none = co_await l.next();
  EXPECT_FALSE(none.has_value());
}

AIO_TEST(fs_lines_test, lines_longer_than_the_buffer) {
  temp_dir d;
  const std::string long1(fs::read_buffer_size * 3 + 17, 'L');
  const std::string long2(fs::read_buffer_size - 1, 'M');  // with its '\n': exactly one buffer
  std::string content = "a\n" + long1 + "\n" + long2 + "\nshort\n" + long1;
  lines got = co_await lines_of(d / "long", content);
  CO_ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0], "a\n");
  EXPECT_TRUE(got[1] == long1 + "\n");
  EXPECT_TRUE(got[2] == long2 + "\n");
  EXPECT_EQ(got[3], "short\n");
  EXPECT_TRUE(got[4] == long1);
}

AIO_TEST(fs_lines_test, many_lines_across_buffer_boundaries_in_order) {
  temp_dir d;
  std::string content;
  lines expected;
  for (int i = 0; i < 20000; ++i) {
    expected.push_back(std::string(static_cast<std::size_t>(i % 37), static_cast<char>('a' + i % 26)) + "\n");
    content += expected.back();
  }
  EXPECT_EQ(co_await lines_of(d / "many", content), expected);
}

AIO_TEST(fs_lines_test, a_line_over_max_line_throws_and_leaves_the_position_at_its_start) {
  temp_dir d;
  const std::string big(150, 'x');
  co_await fs::write_file(d / "lim", "ok\n" + big + "\nafter\n" + std::string(120, 'z'));
  fs::open_options o;
  o.max_line = 100;
  auto f = co_await fs::open(d / "lim", "r", o);
  EXPECT_EQ(co_await f.readline(), "ok\n");
  std::string what;
  try {
    co_await f.readline();
  } catch (const aio::limit_overrun_error& e) {
    what = e.what();
  }
  EXPECT_NE(what.find("readline '" + (d / "lim") + "'"), std::string::npos) << what;
  EXPECT_NE(what.find("100 bytes at offset 3"), std::string::npos) << what;
  EXPECT_EQ(f.tell(), 3u);
  // The same through lines(); then the line in pieces with readline(size).
  auto l = f.lines();
  bool threw = false;
  try {
    co_await l.next();
  } catch (const aio::limit_overrun_error&) {
    threw = true;
  }
  EXPECT_TRUE(threw);
  EXPECT_EQ(co_await f.readline(100), std::string(100, 'x'));
  EXPECT_EQ(co_await f.readline(), std::string(50, 'x') + "\n");
  std::optional<std::string_view> after = co_await l.next();
  CO_ASSERT_TRUE(after.has_value());
  EXPECT_EQ(*after, "after\n");
  // An over-long last line without '\n' is an error too, not a silent cut.
  threw = false;
  try {
    co_await f.readline();
  } catch (const aio::limit_overrun_error& e) {
    threw = e.consumed() >= 100;
  }
  EXPECT_TRUE(threw);
  EXPECT_EQ(co_await f.read(), std::string(120, 'z'));
}

AIO_TEST(fs_lines_test, a_line_of_exactly_max_line_bytes_fits) {
  temp_dir d;
  co_await fs::write_file(d / "exact", std::string(9, 'e') + "\n" + std::string(10, 'f'));
  fs::open_options o;
  o.max_line = 10;
  auto f = co_await fs::open(d / "exact", "r", o);
  EXPECT_EQ(co_await f.readline(), std::string(9, 'e') + "\n");
  EXPECT_EQ(co_await f.readline(), std::string(10, 'f'));
  EXPECT_EQ(co_await f.readline(), "");
  o.max_line = 0;
  bool threw = false;
  try {
    co_await fs::open(d / "exact", "r", o);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  EXPECT_TRUE(threw);
}

AIO_TEST(fs_lines_test, no_limit_at_all_reads_long_lines_whole) {
  // max_line = SIZE_MAX means "no limit": a line many buffers long is still
  // one line (the one-past-the-limit read must not wrap around to 0).
  temp_dir d;
  const std::string long_line = std::string(200 * 1024, 'n') + "\n";
  co_await fs::write_file(d / "long", long_line + "tail");
  fs::open_options o;
  o.max_line = SIZE_MAX;
  auto f = co_await fs::open(d / "long", "r", o);
  EXPECT_EQ((co_await f.readline()).size(), long_line.size());
  EXPECT_EQ(co_await f.readline(), "tail");
  EXPECT_EQ(co_await f.readline(), "");
}

AIO_TEST(fs_lines_test, readline_with_a_size_returns_pieces_like_python) {
  temp_dir d;
  co_await fs::write_file(d / "s", "abcdef\ngh\n");
  auto f = co_await fs::open(d / "s");
  EXPECT_EQ(co_await f.readline(0), "");
  EXPECT_EQ(co_await f.readline(4), "abcd");
  EXPECT_EQ(co_await f.readline(4), "ef\n");
  EXPECT_EQ(co_await f.readline(3), "gh\n");
  EXPECT_EQ(co_await f.readline(3), "");
}

AIO_TEST(fs_lines_test, readline_after_read_and_seek) {
  temp_dir d;
  co_await fs::write_file(d / "rs", "l1\nl2\nl3\n");
  auto f = co_await fs::open(d / "rs");
  EXPECT_EQ(co_await f.read(1), "l");
  EXPECT_EQ(co_await f.readline(), "1\n");
  EXPECT_EQ(f.tell(), 3u);
  EXPECT_EQ(co_await f.read(2), "l2");  // from the read-ahead
  EXPECT_EQ(f.tell(), 5u);
  EXPECT_EQ(co_await f.readline(), "\n");
  EXPECT_EQ(co_await f.seek(0), 0u);  // backwards: read again from the file
  EXPECT_EQ(co_await f.readline(), "l1\n");
  EXPECT_EQ(co_await f.seek(6), 6u);  // forwards within the read-ahead
  EXPECT_EQ(co_await f.readline(), "l3\n");
  EXPECT_EQ(co_await f.seek(-6, fs::whence::end), 3u);
  EXPECT_EQ(co_await f.seek(1, fs::whence::cur), 4u);
  EXPECT_EQ(co_await f.readline(), "2\n");
  std::byte b[2];
  EXPECT_EQ(co_await f.read_into(b), 2u);
  EXPECT_EQ(static_cast<char>(b[0]), 'l');
  EXPECT_EQ(co_await f.read(), "\n");
  EXPECT_EQ(co_await f.readline(), "");
  co_await f.seek(0);
  EXPECT_EQ(co_await f.readline(), "l1\n");
  EXPECT_EQ(co_await f.read(), "l2\nl3\n");  // read() to EOF takes the read-ahead first
  EXPECT_EQ(co_await f.pread(2, 3), "l2");  // pread ignores the position and the read-ahead
}

AIO_TEST(fs_lines_test, while_auto_line_co_await_next_compiles_and_runs) {
  // The GCC 12 pitfall (`while (co_await x)` in a frame without locals) does
  // not bite the documented form: the reader is a local.
  temp_dir d;
  co_await fs::write_file(d / "w", "1\n2\n3\n");
  auto f = co_await fs::open(d / "w");
  auto lines = f.lines();
  int n = 0;
  while (auto line = co_await lines.next()) n += (*line)[0] - '0';
  EXPECT_EQ(n, 6);
}

AIO_TEST(fs_lines_test, closed_file_throws_ebadf) {
  fs::file f;
  int err = 0;
  try {
    co_await f.readline();
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  EXPECT_EQ(err, EBADF);
  err = 0;
  auto l = f.lines();
  try {
    co_await l.next();
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  EXPECT_EQ(err, EBADF);
}

AIO_TEST(fs_lines_test, read_lines_of_a_missing_file_names_it) {
  temp_dir d;
  std::string what;
  try {
    co_await fs::read_lines(d / "missing");
  } catch (const std::system_error& e) {
    what = e.what();
  }
  EXPECT_NE(what.find("open '" + (d / "missing") + "'"), std::string::npos) << what;
}
