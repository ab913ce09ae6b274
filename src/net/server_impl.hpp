// SPDX-License-Identifier: MIT
#pragma once
// The state behind aio::server. It outlives the server object while any of
// its tasks (accept loops, connections, waiters) still runs: a count of
// references decides when it goes.
//
// Each connection runs as one task; its record (pooled, linked in the core)
// holds the task, so the server can cancel it, and the connection's
// transport while it lives, so close_clients can reach it. The record is
// told when the task ends through the task's done list (no per-connection
// callback object, no allocation after warm-up).

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "aio/core/detail/wait_list.hpp"
#include "aio/net/start_server.hpp"
#include "plain_transport.hpp"
#include "socket_impl.hpp"

namespace aio::detail {

class tracked_link;
class server_core;

struct accept_record : done_node {
  server_core* core = nullptr;
  struct listener* owner = nullptr;
};

struct listener {
  unique_fd fd;
  std::string name;       // "server 127.0.0.1:8000", for task names
  std::string unix_path;  // a filesystem Unix socket to clean up, else empty
  dev_t unix_dev = 0;
  ino_t unix_ino = 0;
  bool shared = false;  // server_options::sock: close() must not shut the socket down
  promise_base* accept_task = nullptr;  // the accept loop, while it runs
  accept_record done;                   // tells the core when it ends
};

struct conn_record : done_node {
  server_core* core = nullptr;
  conn_record* prev = nullptr;
  conn_record* next = nullptr;
  promise_base* task = nullptr;
  transport* live = nullptr;     // the handler's transport while it exists
  tracked_link* link = nullptr;  // …and how to make it forget this record
  bool handed_over = false;      // the handler got its transport (TLS handshake done)
};

class server_core {
 public:
  server_core(event_loop& loop, std::unique_ptr<connection_handler> handler,
              server_options options);
  ~server_core();

  void add_ref() noexcept { ++refs_; }
  /// Drops a reference; deletes the core at zero.
  void release() noexcept;

  void start_serving();
  void close() noexcept;
  void close_clients(bool abort) noexcept;
  void cancel_connections() noexcept;
  bool drained() const noexcept { return closed_ && active_ == 0 && accepting_ == 0; }
  std::vector<sock_address> sockets() const;

  /// Takes a new connection: spawns its task.
  void start_connection(listener& l, int fd, const sock_address& peer);
  /// Reports a failure that is not the handler's (accept errors, once).
  void report(const char* message, std::exception_ptr e) noexcept;

  event_loop& loop;
  std::unique_ptr<connection_handler> handler;
  server_options options;
  std::vector<std::unique_ptr<listener>> listeners;
  wait_list closed_waiters;    // serve_forever
  wait_list drained_waiters;   // wait_closed
  wait_list capacity_waiters;  // accept loops at max_connections
  std::size_t active_ = 0;     // connections
  std::size_t accepting_ = 0;  // accept loops running
  bool serving_ = false;
  bool closed_ = false;
  bool serving_forever_ = false;
  bool accept_error_logged_ = false;

 private:
  conn_record* new_record();
  static void on_connection_done(done_node* n, promise_base& p) noexcept;
  static void on_accept_done(done_node* n, promise_base& p) noexcept;
  void wake_drained() noexcept;

  std::size_t refs_ = 1;  // the server object's
  conn_record* head_ = nullptr;
  conn_record* free_ = nullptr;
  std::uint64_t sequence_ = 0;
};

/// What a connection's record knows of its transport while it lives (so
/// close_clients never touches a dead one), and how the record lets go of
/// it when the connection's task ends first.
class tracked_link {
 public:
  /// The connection's task ended while the transport lives on (a handler
  /// kept its streams, or the writer still flushes): forget the record.
  void detach() noexcept { rec_ = nullptr; }

 protected:
  tracked_link(conn_record* rec, transport* self) noexcept : rec_(rec) {
    rec_->live = self;
    rec_->link = this;
  }
  ~tracked_link() {
    if (rec_) {
      rec_->live = nullptr;
      rec_->link = nullptr;
    }
  }

 private:
  conn_record* rec_;
};

/// The transport a handler gets: forwards every call to the real one.
template <class Base>
class tracked_forward : public Base, public tracked_link {
 public:
  tracked_forward(std::unique_ptr<transport> inner, conn_record* rec) noexcept
      : tracked_link(rec, this), inner_(std::move(inner)) {}

  task<std::size_t> read_some(std::span<std::byte> buf) override { return inner_->read_some(buf); }
  task<std::size_t> write_some(std::span<const std::byte> buf) override {
    return inner_->write_some(buf);
  }
  task<> write_eof() override { return inner_->write_eof(); }
  bool can_write_eof() const noexcept override { return inner_->can_write_eof(); }
  void close() noexcept override { inner_->close(); }
  bool is_closing() const noexcept override { return inner_->is_closing(); }
  int fd() const noexcept override { return inner_->fd(); }
  std::optional<std::string> extra_info(std::string_view name) const override {
    return inner_->extra_info(name);
  }
  void* native_handle(std::string_view name) const noexcept override {
    return inner_->native_handle(name);
  }

 protected:
  std::unique_ptr<transport> inner_;
};

using tracked_transport = tracked_forward<transport>;

/// Over a plain socket transport the streams take their fast paths (writes
/// straight to the kernel, writev, sendfile) through plain_transport: the
/// tracked transport must be one too, or the server's connections would
/// lose them.
class tracked_plain_transport final : public tracked_forward<plain_transport> {
 public:
  tracked_plain_transport(std::unique_ptr<transport> inner, plain_transport* plain,
                          conn_record* rec) noexcept
      : tracked_forward(std::move(inner), rec), plain_(plain) {}
  std::size_t try_write(std::span<const std::string_view> parts) override {
    return plain_->try_write(parts);
  }
  void shutdown_write() override { plain_->shutdown_write(); }
  task<bool> wait_writable() override { return plain_->wait_writable(); }
  bool is_socket() const noexcept override { return plain_->is_socket(); }

 private:
  plain_transport* plain_;
};

/// Wraps a connection's transport for its record, keeping its kind.
inline std::unique_ptr<transport> track(std::unique_ptr<transport> t, conn_record* rec) {
  if (plain_transport* plain = as_plain(t.get()))
    return std::make_unique<tracked_plain_transport>(std::move(t), plain, rec);
  return std::make_unique<tracked_transport>(std::move(t), rec);
}

/// Awaits a wait_list of the core (cancel-safe: leaves the list).
struct list_wait : wait_node {
  wait_list* list;
  explicit list_wait(wait_list& l, const char* what) noexcept : list(&l) { what_ = what; }
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { list->suspend(*this, h); }
  void await_resume() const { resume_or_throw(); }
};

/// Holds a reference on the core for the life of a coroutine frame.
class core_ref {
 public:
  explicit core_ref(server_core* c) noexcept : c_(c) { c_->add_ref(); }
  core_ref(core_ref&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  core_ref(const core_ref&) = delete;
  ~core_ref() {
    if (c_) c_->release();
  }
  server_core* operator->() const noexcept { return c_; }
  server_core& operator*() const noexcept { return *c_; }

 private:
  server_core* c_;
};

/// The accept loop of one listener (server_accept.cpp).
task<> accept_loop(server_core* core, listener* l);
/// The task of one connection (server_accept.cpp).
task<> serve_connection(server_core* core, conn_record* rec, unique_fd fd);

}  // namespace aio::detail
