// SPDX-License-Identifier: MIT
// aio::server and the core behind it: listening, the connection records,
// close / close_clients / wait_closed / shutdown.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aio/core/create_task.hpp"
#include "aio/core/timeout.hpp"
#include "server_impl.hpp"

namespace aio {

namespace detail {

server_core::server_core(event_loop& l, std::unique_ptr<connection_handler> h, server_options o)
    : loop(l), handler(std::move(h)), options(std::move(o)) {}

server_core::~server_core() {
  while (conn_record* r = free_) {
    free_ = r->next;
    delete r;
  }
}

void server_core::release() noexcept {
  if (--refs_ == 0) delete this;
}

void server_core::start_serving() {
  if (closed_) throw invalid_state_error("server is closed");
  if (serving_) return;
  for (auto& l : listeners) {
    if (::listen(l->fd.get(), options.backlog) != 0)
      throw_os_error(errno, "listen on " + l->name.substr(sizeof "server"));
  }
  serving_ = true;
  for (auto& l : listeners) {
    auto h = create_task(accept_loop(this, l.get()), l->name + " accept");
    l->accept_task = h.promise();
    l->done.core = this;
    l->done.owner = l.get();
    l->done.on_done_ = &on_accept_done;
    h.promise()->add_done(l->done);
    ++accepting_;
    add_ref();
  }
}

void server_core::on_accept_done(done_node* n, promise_base& p) noexcept {
  auto* rec = static_cast<accept_record*>(n);
  server_core* c = rec->core;
  listener* l = rec->owner;
  l->accept_task = nullptr;
  l->fd.reset();  // the loop no longer has an operation on it
  --c->accepting_;
  if (p.exception_ && !p.cancelled_) {
    p.retrieved_ = true;
    c->report("accept loop failed; the server no longer accepts on this socket", p.exception_);
  }
  c->wake_drained();
  c->release();
}

void server_core::close() noexcept {
  if (closed_) return;
  closed_ = true;
  serving_ = false;
  for (auto& l : listeners) {
    if (!l->fd) continue;
    // Stops listening now (new connects are refused) while the fd stays
    // open for the accept loop's pending operation. Not a socket shared
    // with others (server_options::sock): they go on accepting from it.
    if (!l->shared) ::shutdown(l->fd.get(), SHUT_RDWR);
    if (!l->unix_path.empty()) {
      struct stat st {};
      if (::stat(l->unix_path.c_str(), &st) == 0 && st.st_dev == l->unix_dev &&
          st.st_ino == l->unix_ino)
        ::unlink(l->unix_path.c_str());
    }
    if (l->accept_task)
      l->accept_task->cancel();
    else
      l->fd.reset();
  }
  while (closed_waiters.wake_front()) {
  }
  while (capacity_waiters.wake_front()) {
  }
  wake_drained();
}

void server_core::wake_drained() noexcept {
  if (!drained()) return;
  while (drained_waiters.wake_front()) {
  }
}

std::vector<sock_address> server_core::sockets() const {
  std::vector<sock_address> out;
  if (closed_) return out;
  for (auto& l : listeners)
    if (l->fd) out.push_back(local_address(l->fd.get()));
  return out;
}

void server_core::cancel_connections() noexcept {
  for (conn_record* r = head_; r;) {
    conn_record* next = r->next;
    r->task->cancel();
    r = next;
  }
}

void server_core::close_clients(bool abort) noexcept {
  for (conn_record* r = head_; r;) {
    conn_record* next = r->next;
    if (r->live) {
      if (abort) {
        if (int fd = r->live->fd(); fd >= 0) {
          linger lg{1, 0};
          ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
      }
      r->live->close();
    } else if (!r->handed_over) {
      r->task->cancel();  // still in its TLS handshake
    }
    r = next;
  }
}

conn_record* server_core::new_record() {
  conn_record* r = free_;
  if (r)
    free_ = r->next;
  else
    r = new conn_record;
  *r = conn_record{};
  r->core = this;
  r->on_done_ = &on_connection_done;
  return r;
}

void server_core::on_connection_done(done_node* n, promise_base&) noexcept {
  auto* r = static_cast<conn_record*>(n);
  server_core* c = r->core;
  if (r->link) r->link->detach();
  if (r->prev)
    r->prev->next = r->next;
  else
    c->head_ = r->next;
  if (r->next) r->next->prev = r->prev;
  r->next = c->free_;
  c->free_ = r;
  --c->active_;
  if (c->options.max_connections && c->active_ < c->options.max_connections) {
    while (c->capacity_waiters.wake_front()) {
    }
  }
  c->wake_drained();
  c->release();
}

void server_core::start_connection(listener& l, int fd, const sock_address& peer) {
  unique_fd owned(fd);
  conn_record* r = new_record();
  try {
    std::string name;
    std::string who = peer.size > sizeof(sa_family_t) ? peer.to_string() : std::string();
    name.reserve(l.name.size() + 6 + (who.empty() ? 21 : who.size()));
    name += l.name;
    name += " conn ";
    if (who.empty()) {
      name += '#';
      name += std::to_string(++sequence_);
    } else {
      name += who;
    }
    auto h = create_task(serve_connection(this, r, std::move(owned)), std::move(name));
    r->task = h.promise();
    r->task->add_done(*r);
  } catch (...) {
    r->next = free_;
    free_ = r;
    throw;
  }
  r->next = head_;
  if (head_) head_->prev = r;
  head_ = r;
  ++active_;
  add_ref();
}

void server_core::report(const char* message, std::exception_ptr e) noexcept {
  try {
    loop.call_exception_handler({message, std::move(e), {}, {}});
  } catch (...) {  // a failing handler must not take the accept loop down
  }
}

namespace {

task<> wait_drained(server_core& c) {
  while (!c.drained()) co_await list_wait(c.drained_waiters, "server.wait_closed");
}

task<> wait_closed_impl(core_ref c) { co_await wait_drained(*c); }

task<> serve_forever_impl(core_ref c) {
  if (c->serving_forever_)
    throw invalid_state_error("server is already being awaited on serve_forever()");
  c->start_serving();
  c->serving_forever_ = true;
  std::exception_ptr cancelled;
  try {
    while (!c->closed_) co_await list_wait(c->closed_waiters, "server.serve_forever");
  } catch (const cancelled_error&) {
    cancelled = std::current_exception();
  }
  c->serving_forever_ = false;
  if (cancelled) {
    c->close();
    co_await wait_drained(*c);
    std::rethrow_exception(cancelled);
  }
}

task<> shutdown_impl(core_ref c, std::chrono::milliseconds grace) {
  c->close();
  if (!c->drained() && grace > grace.zero()) {
    try {
      co_await timeout(grace).run(wait_drained(*c));
    } catch (const timeout_error&) {
    }
  }
  c->cancel_connections();
  co_await wait_drained(*c);
}

}  // namespace

}  // namespace detail

server& server::operator=(server&& o) noexcept {
  if (this != &o) {
    server old(std::move(*this));
    core_ = std::exchange(o.core_, nullptr);
  }
  return *this;
}

server::~server() {
  if (!core_) return;
  core_->close();
  core_->release();
}

detail::server_core& server::core() const {
  if (!core_) throw invalid_state_error("empty or moved-from aio::server");
  return *core_;
}

std::vector<sock_address> server::sockets() const { return core().sockets(); }
bool server::is_serving() const noexcept { return core_ && core_->serving_; }
std::size_t server::active_connections() const noexcept { return core_ ? core_->active_ : 0; }
event_loop& server::get_loop() const { return core().loop; }

task<> server::start_serving() {
  core().start_serving();
  co_return;
}

task<> server::serve_forever() { return detail::serve_forever_impl(detail::core_ref(&core())); }
void server::close() { core().close(); }
void server::close_clients() { core().close_clients(false); }
void server::abort_clients() { core().close_clients(true); }
task<> server::wait_closed() { return detail::wait_closed_impl(detail::core_ref(&core())); }
task<> server::shutdown(std::chrono::milliseconds grace) {
  return detail::shutdown_impl(detail::core_ref(&core()), grace);
}

}  // namespace aio
