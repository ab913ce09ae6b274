// SPDX-License-Identifier: MIT
// stream_writer's handle, its awaiters (write, drain, wait_closed) and
// make_streams.
#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "stream_state.hpp"

namespace aio {

namespace detail {

bool stream_write_awaiter::await_ready() {
  stream_state& st = *s;
  st.check_writable("write()");
  // Wait behind writers already waiting (or woken and not yet run): a turn
  // is never overtaken, so the buffer stays near high_water plus one message.
  if (st.buffered() > st.opts.high_water || !st.writers.empty() || st.woken_writers > 0)
    return false;
  st.submit(message());
  return true;
}

void stream_write_awaiter::await_suspend(std::coroutine_handle<> h) {
  what_ = "stream_writer.write";
  s->writers.suspend(*this, h);
}

void stream_write_awaiter::await_resume() {
  resume_or_throw();
  if (!woken) return;  // completed in await_ready
  stream_state& st = *s;
  --st.woken_writers;
  st.check_writable("write()");
  st.submit(message());
  st.pass_turn();
}

bool stream_drain_awaiter::await_ready() {
  stream_state& st = *s;
  if (st.error) std::rethrow_exception(st.error);
  target = st.accepted;
  return st.flushed >= target;
}

void stream_drain_awaiter::await_suspend(std::coroutine_handle<> h) {
  what_ = "stream_writer.drain";
  s->drains.suspend(*this, h);
}

void stream_drain_awaiter::await_resume() {
  resume_or_throw();
  if (!woken) return;
  stream_state& st = *s;
  if (st.error) std::rethrow_exception(st.error);
  if (st.flushed < target)
    throw_stream_errno(EPIPE, "stream_writer::drain: closed before the data was sent");
}

bool stream_closed_awaiter::await_ready() {
  stream_state& st = *s;
  if (!st.closed) return false;
  if (st.error) std::rethrow_exception(st.error);
  return true;
}

void stream_closed_awaiter::await_suspend(std::coroutine_handle<> h) {
  what_ = "stream_writer.wait_closed";
  s->closers.suspend(*this, h);
}

void stream_closed_awaiter::await_resume() {
  resume_or_throw();
  if (woken && s->error) std::rethrow_exception(s->error);
}

}  // namespace detail

namespace {

detail::stream_state& state_of(const detail::stream_ref& s, const char* what) {
  if (!s)
    throw invalid_state_error(std::string("stream_writer::") + what +
                              " on an empty (moved-from) writer");
  return *s;
}

}  // namespace

stream_writer::stream_writer(detail::stream_ref s) noexcept : s_(std::move(s)) { ++s_->handles; }

stream_writer& stream_writer::operator=(stream_writer&& o) noexcept {
  if (this != &o) {
    stream_writer old(std::move(*this));
    s_ = std::move(o.s_);
  }
  return *this;
}

stream_writer::~stream_writer() {
  if (s_ && --s_->handles == 0) s_->close_writer();
}

detail::stream_write_awaiter stream_writer::write(std::string_view data) {
  state_of(s_, "write");
  return detail::stream_write_awaiter(s_, data);
}

detail::stream_write_awaiter stream_writer::write(std::span<const std::byte> data) {
  return write(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
}

detail::stream_write_awaiter stream_writer::writelines(std::span<const std::string_view> parts) {
  state_of(s_, "writelines");
  return detail::stream_write_awaiter(s_, parts);
}

detail::stream_drain_awaiter stream_writer::drain() {
  state_of(s_, "drain");
  return detail::stream_drain_awaiter(s_);
}

detail::stream_closed_awaiter stream_writer::wait_closed() {
  state_of(s_, "wait_closed");
  return detail::stream_closed_awaiter(s_);
}

void stream_writer::write_eof() {
  auto& s = state_of(s_, "write_eof");
  if (s.eof_requested || s.closing || s.closed) return;
  // TLS 1.2 has no half-close: close_notify asks the peer to stop writing
  // too, so the answer the caller waits for might never come (asyncio
  // raises NotImplementedError here).
  if (s.t && !s.t->can_write_eof())
    throw invalid_state_error("stream_writer::write_eof: this transport cannot half-close (TLS 1.2: use close())");
  s.eof_requested = true;
  s.wake_all_writers();  // they now throw invalid_state_error
  s.kick();
}

bool stream_writer::can_write_eof() const noexcept { return s_ && s_->t && s_->t->can_write_eof(); }

void stream_writer::close() { state_of(s_, "close").close_writer(); }

bool stream_writer::is_closing() const noexcept {
  return !s_ || s_->closing || s_->closed || s_->error;
}

std::optional<std::string> stream_writer::get_extra_info(std::string_view name) const {
  if (!s_ || !s_->t) return std::nullopt;
  if (name == "socket") {
    int fd = s_->t->fd();
    if (fd < 0) return std::nullopt;
    return std::to_string(fd);
  }
  return s_->t->extra_info(name);
}

void* stream_writer::native_handle(std::string_view name) const noexcept {
  return s_ && s_->t ? s_->t->native_handle(name) : nullptr;
}

int stream_writer::socket_fd() const noexcept { return s_ && s_->t ? s_->t->fd() : -1; }

aio::transport& stream_writer::transport() const {
  auto& s = state_of(s_, "transport");
  if (!s.t)
    throw invalid_state_error("stream_writer::transport: start_tls is replacing the transport");
  return *s.t;
}

std::size_t stream_writer::buffer_size() const noexcept { return s_ ? s_->buffered() : 0; }

void stream_writer::set_write_buffer_limits(std::size_t high, std::optional<std::size_t> low) {
  auto& s = state_of(s_, "set_write_buffer_limits");
  std::size_t lo = low.value_or(high / 4);
  if (lo > high) throw std::invalid_argument("set_write_buffer_limits: low > high");
  s.opts.high_water = high;
  s.opts.low_water = lo;
  s.on_flushed();  // a writer may fit under the new mark
}

std::pair<stream_reader, stream_writer> make_streams(std::unique_ptr<aio::transport> t,
                                                     const stream_options& options) {
  if (!t) throw std::invalid_argument("make_streams: null transport");
  if (options.low_water > options.high_water)
    throw std::invalid_argument("make_streams: low_water > high_water");
  auto* s = new detail::stream_state;
  detail::stream_ref ref(s);
  s->t = std::move(t);
  s->plain = detail::as_plain(s->t.get());
  s->opts = options;
  return {detail::stream_access::reader(ref), detail::stream_access::writer(ref)};
}

}  // namespace aio
