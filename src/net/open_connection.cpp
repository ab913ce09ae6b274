// SPDX-License-Identifier: MIT
// create_connection / create_unix_connection: resolve, connect (one address
// after another, or the staggered race), then the optional TLS handshake.
#include "aio/net/open_connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <stdexcept>

#include "aio/core/timeout.hpp"
#include "aio/net/getaddrinfo.hpp"
#include "connect_impl.hpp"

namespace aio {

connect_error::connect_error(std::error_code code, std::string message,
                             std::vector<std::exception_ptr> exceptions)
    : std::system_error(code, message),
      message_(std::move(message)),
      exceptions_(std::move(exceptions)) {}

namespace detail {

task<unique_fd> connect_one(const address_info& target, const std::optional<sock_address>& local) {
  unique_fd fd = open_socket(target.family, SOCK_STREAM, target.protocol);
  if (target.family == AF_INET || target.family == AF_INET6)
    set_int_option(fd.get(), IPPROTO_TCP, TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)");
  if (local && ::bind(fd.get(), local->data(), local->size) != 0)
    throw_os_error(errno, "bind to local address " + local->to_string());
  co_await sock_connect(fd.get(), target.address);
  co_return fd;
}

void throw_connect_errors(std::vector<std::exception_ptr> errors) {
  std::vector<std::string> messages;
  std::error_code first;
  for (auto& e : errors) {
    try {
      std::rethrow_exception(e);
    } catch (const std::system_error& se) {
      if (!first) first = se.code();
      messages.emplace_back(se.what());
    } catch (const std::exception& ex) {
      messages.emplace_back(ex.what());
    }
  }
  bool same = true;
  for (auto& m : messages) same = same && m == messages.front();
  if (errors.size() == 1 || same) std::rethrow_exception(errors.front());
  std::string text = "Multiple exceptions: ";
  for (std::size_t i = 0; i < messages.size(); ++i) text += (i ? ", " : "") + messages[i];
  if (!first) first = std::make_error_code(std::errc::host_unreachable);
  throw connect_error(first, std::move(text), std::move(errors));
}

}  // namespace detail

namespace {

using detail::unique_fd;

task<unique_fd> connect_host(const std::string& host, unsigned short port,
                             const connect_options& o) {
  int family = o.family;
  if (o.local_addr) {
    if (family != AF_UNSPEC && family != o.local_addr->family())
      throw std::invalid_argument("connect_options: local_addr's family differs from `family`");
    family = o.local_addr->family();
  }
  std::vector<address_info> targets = co_await getaddrinfo(host, port, family, SOCK_STREAM);
  if (targets.empty())
    detail::throw_os_error(EADDRNOTAVAIL,
                           "getaddrinfo: '" + host + "' has no address of the requested family");
  int interleave = o.interleave ? o.interleave : (o.happy_eyeballs_delay ? 1 : 0);
  if (interleave > 0 && targets.size() > 1)
    targets = detail::interleave_families(targets, interleave);

  std::vector<std::exception_ptr> errors;
  if (o.happy_eyeballs_delay && targets.size() > 1) {
    unique_fd fd =
        co_await detail::connect_staggered(targets, *o.happy_eyeballs_delay, o.local_addr, errors);
    if (fd) co_return fd;
  } else {
    for (const auto& t : targets) {
      try {
        co_return co_await detail::connect_one(t, o.local_addr);
      } catch (const std::system_error&) {
        errors.push_back(std::current_exception());
      }
    }
  }
  detail::throw_connect_errors(std::move(errors));
}

task<unique_fd> connect_unix(const std::string& path) {
  sock_address target = sock_address::from_unix(path);
  unique_fd fd = detail::open_socket(AF_UNIX);
  co_await sock_connect(fd.get(), target);
  co_return fd;
}

// Runs `connect` under the connect timeout, renaming the timeout after the target.
task<unique_fd> with_connect_timeout(task<unique_fd> connect, std::chrono::milliseconds limit,
                                     const std::string& target) {
  if (limit <= limit.zero()) co_return co_await std::move(connect);
  auto scope = timeout(limit);
  try {
    co_return co_await scope.run(std::move(connect));
  } catch (const timeout_error&) {
    if (!scope.expired()) throw;
  }
  throw timeout_error("connect to " + target + " timed out after " + std::to_string(limit.count()) +
                      " ms");
}

task<std::unique_ptr<transport>> secure(std::unique_ptr<transport> t, const connect_options& o,
                                        std::string hostname, const std::string& target) {
  if (!o.ssl) co_return t;
  auto handshake = o.ssl->wrap_client(std::move(t), std::move(hostname), "");
  if (o.ssl_handshake_timeout <= o.ssl_handshake_timeout.zero())
    co_return co_await std::move(handshake);
  auto scope = timeout(o.ssl_handshake_timeout);
  try {
    co_return co_await scope.run(std::move(handshake));
  } catch (const timeout_error&) {
    if (!scope.expired()) throw;
  }
  throw timeout_error("TLS handshake with " + target + " timed out after " +
                      std::to_string(o.ssl_handshake_timeout.count()) + " ms");
}

task<std::unique_ptr<transport>> create_connection_impl(std::string host, unsigned short port,
                                                        connect_options options) {
  if (!options.server_hostname.empty() && !options.ssl)
    throw std::invalid_argument("connect_options: server_hostname is only meaningful with ssl");
  std::string target = detail::host_port(host, port);
  unique_fd fd = co_await with_connect_timeout(connect_host(host, port, options),
                                               options.connect_timeout, target);
  auto t = make_fd_transport(fd.release(), true);
  std::string name = options.server_hostname.empty() ? host : options.server_hostname;
  if (name.size() > 2 && name.front() == '[' && name.back() == ']')
    name = name.substr(1, name.size() - 2);
  co_return co_await secure(std::move(t), options, std::move(name), target);
}

task<std::unique_ptr<transport>> create_unix_connection_impl(std::string path,
                                                             connect_options options) {
  if (options.local_addr || options.happy_eyeballs_delay || options.interleave ||
      options.family != AF_UNSPEC)
    throw std::invalid_argument(
        "connect_options: local_addr, happy_eyeballs_delay, interleave and family do not apply to "
        "Unix sockets");
  if (!options.server_hostname.empty() && !options.ssl)
    throw std::invalid_argument("connect_options: server_hostname is only meaningful with ssl");
  if (options.ssl && options.server_hostname.empty())
    throw std::invalid_argument("connect_options: TLS over a Unix socket needs server_hostname");
  unique_fd fd = co_await with_connect_timeout(connect_unix(path), options.connect_timeout, path);
  auto t = make_fd_transport(fd.release(), true);
  co_return co_await secure(std::move(t), options, options.server_hostname, path);
}

task<std::pair<stream_reader, stream_writer>> with_streams(task<std::unique_ptr<transport>> connect,
                                                           stream_options streams) {
  std::unique_ptr<transport> t = co_await std::move(connect);
  co_return make_streams(std::move(t), streams);
}

}  // namespace

// The public functions hand the options to the coroutines as xvalues.
task<std::unique_ptr<transport>> create_connection(std::string host, unsigned short port,
                                                   connect_options options) {
  return create_connection_impl(std::move(host), port, std::move(options));
}

task<std::unique_ptr<transport>> create_unix_connection(std::string path, connect_options options) {
  return create_unix_connection_impl(std::move(path), std::move(options));
}

task<std::pair<stream_reader, stream_writer>> open_connection(std::string host, unsigned short port,
                                                              connect_options options) {
  stream_options streams = options.streams;
  return with_streams(create_connection(std::move(host), port, std::move(options)), streams);
}

task<std::pair<stream_reader, stream_writer>> open_unix_connection(std::string path,
                                                                   connect_options options) {
  stream_options streams = options.streams;
  return with_streams(create_unix_connection(std::move(path), std::move(options)), streams);
}

}  // namespace aio
