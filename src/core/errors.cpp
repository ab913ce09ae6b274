// SPDX-License-Identifier: MIT
#include "aio/core/errors.hpp"

namespace aio {

exception_group::exception_group(std::string msg, std::vector<std::exception_ptr> exceptions)
    : msg_(std::move(msg)), exceptions_(std::move(exceptions)) {
  what_ = msg_ + " (" + std::to_string(exceptions_.size()) + " sub-exception" +
          (exceptions_.size() == 1 ? "" : "s") + ")";
  for (const auto& e : exceptions_) what_ += "\n  - " + describe(e);
}

incomplete_read_error::incomplete_read_error(std::string partial, std::optional<std::size_t> expected)
    : std::runtime_error(std::to_string(partial.size()) + " bytes read on a total of " +
                         (expected ? std::to_string(*expected) : std::string("undefined")) + " expected bytes"),
      partial_(std::move(partial)),
      expected_(expected) {}

std::string describe(const std::exception_ptr& e) {
  if (!e) return "no exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (const cancelled_error& x) {
    return std::string("cancelled_error: ") + x.what();
  } catch (const keyboard_interrupt& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace aio
