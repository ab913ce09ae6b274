// SPDX-License-Identifier: MIT
// remove_tree: shutil.rmtree through directory fds on one pool thread, the
// detached removal of names nobody waits for, and chmod (pool: io_uring has
// no fchmodat).

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "aio/exec/thread_pool_executor.hpp"
#include "aio/fs/directory.hpp"
#include "pool_call_impl.hpp"
#include "remove_tree_impl.hpp"

namespace aio::fs {

namespace detail {

namespace {

constexpr int dir_flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

struct name_and_type {
  std::string name;
  unsigned char type;
};

class remover {
 public:
  remover(tree_removal& t, const std::atomic<bool>& stop) noexcept : t_(t), stop_(stop) {}

  int run() {
    t_.failed = t_.path;
    // A trailing slash makes the kernel follow a final symlink, O_NOFOLLOW
    // or not: "link/" would empty the directory it points to. Without the
    // slashes, the link itself is what open sees and refuses.
    std::string path = t_.path;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    const std::size_t slash = path.rfind('/');
    const std::string_view last = std::string_view(path).substr(slash == std::string::npos ? 0 : slash + 1);
    if (last == "." || last == "..") return fail(EINVAL, t_.path);  // as rmdir says of them
    int fd = ::open(path.c_str(), dir_flags);
    if (fd < 0 && is_permission(errno) && t_.fix_permissions && ::chmod(path.c_str(), 0700) == 0)
      fd = ::open(path.c_str(), dir_flags);
    if (fd < 0) {
      int err = errno;
      struct ::stat st {};
      // O_NOFOLLOW said ELOOP: a symlink, which rmtree refuses to start from.
      if (err == ELOOP && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) err = ENOTDIR;
      return fail(err, t_.path);
    }
    int r = empty(fd, t_.path);  // closes fd
    if (r < 0) return r;
    if (::rmdir(path.c_str()) < 0) return fail(errno, t_.path);
    return 0;
  }

 private:
  static bool is_permission(int err) noexcept { return err == EACCES || err == EPERM; }

  int fail(int err, const std::string& where) {
    if (t_.ignore_errors) return 0;
    t_.failed = where;
    return -err;
  }

  // Removes the entries of the directory open as `fd` (named `dir`); closes fd.
  int empty(int fd, const std::string& dir) {
    DIR* d = ::fdopendir(fd);
    if (!d) {
      int err = errno;
      ::close(fd);
      return fail(err, dir);
    }
    // All names first: removing entries while readdir walks the directory
    // may make some file systems skip others.
    std::vector<name_and_type> names;
    int read_err = 0;
    for (;;) {
      errno = 0;
      dirent* e = ::readdir(d);
      if (!e) {
        read_err = errno;
        break;
      }
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      names.push_back({e->d_name, e->d_type});
    }
    int r = read_err != 0 ? fail(read_err, dir) : 0;
    for (std::size_t i = 0; r == 0 && i < names.size(); ++i) {
      if (stop_.load(std::memory_order_relaxed))
        r = -ECANCELED;
      else
        r = remove_entry(::dirfd(d), dir, names[i]);
    }
    ::closedir(d);
    return r;
  }

  int remove_entry(int fd, const std::string& dir, const name_and_type& e) {
    const char* name = e.name.c_str();
    bool is_dir = e.type == DT_DIR;
    if (e.type == DT_UNKNOWN) {
      struct ::stat st {};
      is_dir = ::fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    if (!is_dir) {
      int err = unlink_at(fd, name, 0);
      if (err == 0 || err == ENOENT) return 0;
      if (err != EISDIR) return fail(err, join_path(dir, e.name));
      // It became a directory since readdir: remove it as one.
    }
    int sub = ::openat(fd, name, dir_flags);
    if (sub < 0 && is_permission(errno) && t_.fix_permissions && ::fchmodat(fd, name, 0700, 0) == 0)
      sub = ::openat(fd, name, dir_flags);
    if (sub < 0) {
      int err = errno;
      if (err == ENOENT) return 0;
      if (err == ENOTDIR ||
          err == ELOOP) {  // swapped for a file or symlink: remove that, never follow it
        err = unlink_at(fd, name, 0);
        if (err == 0 || err == ENOENT) return 0;
      }
      return fail(err, join_path(dir, e.name));
    }
    std::string path = join_path(dir, e.name);
    int r = empty(sub, path);
    if (r < 0) return r;
    int err = unlink_at(fd, name, AT_REMOVEDIR);
    return err == 0 || err == ENOENT ? 0 : fail(err, path);
  }

  // unlinkat in `fd`; with fix_permissions, makes the directory writable once.
  int unlink_at(int fd, const char* name, int flags) {
    if (::unlinkat(fd, name, flags) == 0) return 0;
    int err = errno;
    if (!is_permission(err) || !t_.fix_permissions || ::fchmod(fd, 0700) < 0) return err;
    return ::unlinkat(fd, name, flags) == 0 ? 0 : errno;
  }

  tree_removal& t_;
  const std::atomic<bool>& stop_;
};

}  // namespace

int remove_tree_blocking(tree_removal& t, const std::atomic<bool>& stop) noexcept {
  try {
    return remover(t, stop).run();
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
}

namespace {
// The blocking removal of an owned name (a tree, or one file); errors are
// dropped (nobody is left to hear them), as a TemporaryDirectory finalizer does.
void remove_owned(const std::string& path, bool tree) noexcept {
  if (!tree) {
    ::unlink(path.c_str());
    return;
  }
  tree_removal t;
  t.path = path;
  t.ignore_errors = true;
  t.fix_permissions = true;
  std::atomic<bool> never{false};
  remove_tree_blocking(t, never);
}
}  // namespace

void remove_detached(std::string path, bool tree) noexcept {
  aio::detail::exit_waits_for(1);  // a name dropped at the end of main is still removed
  auto job = [](const std::string& name, bool whole_tree) noexcept {
    remove_owned(name, whole_tree);
    aio::detail::exit_waits_for(-1);
  };
  try {
    aio::detail::internal_executor().submit(job, path, tree);
  } catch (...) {
    job(path, tree);  // no thread could take it: better a short block than a leak
  }
}

}  // namespace detail

namespace {

int tree_call(void* arg, const std::atomic<bool>& stop) noexcept {
  return detail::remove_tree_blocking(*static_cast<detail::tree_removal*>(arg), stop);
}

task<> remove_tree_impl(std::string path, bool ignore_errors) {
  detail::tree_removal t;
  t.path = std::move(path);
  t.failed = t.path;
  t.ignore_errors = ignore_errors;
  detail::pool_call call(&tree_call, &t, "remove_tree", t.failed);
  co_await call;
}

struct chmod_call {
  std::string path;
  mode_t mode;
};

int change_mode(void* arg, const std::atomic<bool>&) noexcept {
  auto& c = *static_cast<chmod_call*>(arg);
  return ::chmod(c.path.c_str(), c.mode) == 0 ? 0 : -errno;
}

task<> chmod_impl(std::string path, mode_t mode) {
  chmod_call c{std::move(path), mode};
  detail::pool_call call(&change_mode, &c, "chmod", c.path);
  co_await call;
}

}  // namespace

task<> remove_tree(const std::filesystem::path& path, bool ignore_errors) {
  return remove_tree_impl(path.string(), ignore_errors);
}

task<> chmod(const std::filesystem::path& path, mode_t mode) {
  return chmod_impl(path.string(), mode);
}

}  // namespace aio::fs
