// SPDX-License-Identifier: MIT
// Permission denied, for each file-system call of scandir / link / copy /
// temporary. Root ignores permission bits, so as root the test runs itself
// again as the user nobody (the static below drops privileges before any
// test starts when AIO_FS_TEST_AS_NOBODY is set) and checks that run.

#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "aio/fs/copy_file.hpp"
#include "aio/fs/directory.hpp"
#include "aio/fs/link.hpp"
#include "aio/fs/read_file.hpp"
#include "aio/fs/scandir.hpp"
#include "aio/fs/temporary.hpp"
#include "aio/net/subprocess.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::error_of;
using fs::test::temp_dir;

namespace {

constexpr const char* as_nobody_env = "AIO_FS_TEST_AS_NOBODY";

const bool dropped_to_nobody = [] {
  if (!std::getenv(as_nobody_env) || ::geteuid() != 0) return false;
  // 65534 is nobody/nogroup on Debian; failing here fails the child loudly.
  if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) std::abort();
  return true;
}();

bool denied(int err) { return err == EACCES || err == EPERM; }

aio::task<> check_each_call_is_denied() {
  temp_dir d;
  co_await fs::write_file(d / "src", "x");
  co_await fs::mkdir(d / "locked");
  co_await fs::write_file(d / "locked/inner", "y");
  co_await fs::symlink("inner", d / "locked/link");
  co_await fs::mkdir(d / "ro");
  co_await fs::write_file(d / "ro/file", "z");
  co_await fs::write_file(d / "unreadable", "secret");
  co_await fs::chmod(d / "unreadable", 0);
  co_await fs::chmod(d / "ro", 0500);   // no new names, no removals
  co_await fs::chmod(d / "locked", 0);  // no listing, no lookups

  auto scan = co_await error_of(fs::scandir(d / "locked"));
  EXPECT_TRUE(denied(scan.err)) << scan.what;
  EXPECT_EQ(scan.what, "scandir '" + d / "locked" + "': Permission denied");
  auto rl = co_await error_of(fs::readlink(d / "locked/link"));
  EXPECT_TRUE(denied(rl.err)) << rl.what;
  auto sym = co_await error_of(fs::symlink("t", d / "ro/link"));
  EXPECT_TRUE(denied(sym.err)) << sym.what;
  EXPECT_EQ(sym.what, "symlink 't' -> '" + d / "ro/link" + "': Permission denied");
  auto ln = co_await error_of(fs::link(d / "src", d / "ro/hard"));
  EXPECT_TRUE(denied(ln.err)) << ln.what;
  auto from = co_await error_of(fs::copy_file(d / "unreadable", d / "out"));
  EXPECT_TRUE(denied(from.err)) << from.what;
  EXPECT_EQ(from.what, "copy_file '" + d / "unreadable" + "': Permission denied");
  auto to = co_await error_of(fs::copy_file(d / "src", d / "ro/out"));
  EXPECT_TRUE(denied(to.err)) << to.what;
  EXPECT_EQ(to.what, "copy_file '" + d / "ro/out" + "': Permission denied");
  auto ch = co_await error_of(fs::chmod("/etc/passwd", 0600));
  EXPECT_TRUE(denied(ch.err)) << ch.what;
  auto dtemp = co_await error_of(fs::mkdtemp("p", "", d / "ro"));
  EXPECT_TRUE(denied(dtemp.err)) << dtemp.what;
  auto stemp = co_await error_of(fs::make_temporary_file("p", "", d / "ro"));
  EXPECT_TRUE(denied(stemp.err)) << stemp.what;
  auto tree = co_await error_of(fs::remove_tree(d / "ro"));
  EXPECT_TRUE(denied(tree.err)) << tree.what;
  EXPECT_EQ(tree.what, "remove_tree '" + d / "ro/file" + "': Permission denied");
  EXPECT_TRUE(co_await fs::exists(d / "ro/file"));

  // A temporary directory's owner may lock parts of it: cleanup still works.
  auto t = co_await fs::make_temporary_directory("own-", "", d.path);
  co_await fs::mkdir(t.path() / "sub");
  co_await fs::write_file(t.path() / "sub/f", "");
  co_await fs::chmod(t.path() / "sub", 0);
  std::filesystem::path tp = t.path();
  co_await t.remove();
  EXPECT_FALSE(co_await fs::exists(tp));
  co_await fs::chmod(d / "ro", 0700);
  co_await fs::chmod(d / "locked", 0700);
}

}  // namespace

AIO_TEST_SUITE(fs_names_permission_test);

AIO_TEST(fs_names_permission_test, each_call_reports_permission_denied) {
  if (::geteuid() != 0) {
    co_await check_each_call_is_denied();
    co_return;
  }
  EXPECT_FALSE(dropped_to_nobody);
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  aio::subprocess_options o;
  o.stdout = aio::subprocess::pipe;
  o.stderr = aio::subprocess::stdout;
  o.extra_env[as_nobody_env] = "1";
  o.cwd = "/";
  std::vector<std::string> args(1, "--gtest_filter=*fs_names_permission_test.*");
  auto p = co_await aio::create_subprocess_exec(self, args, o);
  auto out = co_await p.communicate();
  int code = co_await p.wait();
  EXPECT_EQ(code, 0) << out.out;
  EXPECT_NE(out.out.find("[  PASSED  ] 2 tests"), std::string::npos) << out.out;
}
