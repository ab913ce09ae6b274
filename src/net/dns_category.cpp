// SPDX-License-Identifier: MIT
// dns_errc values are c-ares's status codes: the messages are c-ares's own.

#include <ares.h>

#include "aio/net/resolver.hpp"

namespace aio {

static_assert(static_cast<int>(dns_errc::no_data) == ARES_ENODATA);
static_assert(static_cast<int>(dns_errc::format_error) == ARES_EFORMERR);
static_assert(static_cast<int>(dns_errc::server_failure) == ARES_ESERVFAIL);
static_assert(static_cast<int>(dns_errc::not_found) == ARES_ENOTFOUND);
static_assert(static_cast<int>(dns_errc::not_implemented) == ARES_ENOTIMP);
static_assert(static_cast<int>(dns_errc::refused) == ARES_EREFUSED);
static_assert(static_cast<int>(dns_errc::bad_query) == ARES_EBADQUERY);
static_assert(static_cast<int>(dns_errc::bad_name) == ARES_EBADNAME);
static_assert(static_cast<int>(dns_errc::bad_family) == ARES_EBADFAMILY);
static_assert(static_cast<int>(dns_errc::bad_response) == ARES_EBADRESP);
static_assert(static_cast<int>(dns_errc::connection_refused) == ARES_ECONNREFUSED);
static_assert(static_cast<int>(dns_errc::timeout) == ARES_ETIMEOUT);
static_assert(static_cast<int>(dns_errc::eof) == ARES_EOF);
static_assert(static_cast<int>(dns_errc::file_error) == ARES_EFILE);
static_assert(static_cast<int>(dns_errc::no_memory) == ARES_ENOMEM);
static_assert(static_cast<int>(dns_errc::destruction) == ARES_EDESTRUCTION);
static_assert(static_cast<int>(dns_errc::bad_string) == ARES_EBADSTR);
static_assert(static_cast<int>(dns_errc::bad_flags) == ARES_EBADFLAGS);
static_assert(static_cast<int>(dns_errc::no_name) == ARES_ENONAME);
static_assert(static_cast<int>(dns_errc::bad_hints) == ARES_EBADHINTS);
static_assert(static_cast<int>(dns_errc::not_initialized) == ARES_ENOTINITIALIZED);
static_assert(static_cast<int>(dns_errc::cancelled) == ARES_ECANCELLED);

namespace {

class dns_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "aio.dns"; }
  std::string message(int ev) const override { return ::ares_strerror(ev); }
  std::error_condition default_error_condition(int ev) const noexcept override {
    switch (ev) {
      case ARES_ETIMEOUT:
        return std::errc::timed_out;
      case ARES_ECONNREFUSED:
        return std::errc::connection_refused;
      case ARES_ECANCELLED:
        return std::errc::operation_canceled;
      case ARES_ENOMEM:
        return std::errc::not_enough_memory;
      default:
        return {ev, *this};
    }
  }
};

}  // namespace

const std::error_category& dns_category() noexcept {
  static const dns_category_impl category;
  return category;
}

}  // namespace aio
