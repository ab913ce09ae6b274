// SPDX-License-Identifier: MIT
#include "aio/net/getaddrinfo.hpp"

#include <netdb.h>

#include <system_error>

namespace aio {

task<std::vector<address_info>> getaddrinfo(std::string host, unsigned short port, int family, int type) {
  std::vector<address_info> out;
  if (detail::resolve_without_lookup(host, port, family, type, out)) {
    if (out.empty())
      throw std::system_error(EAI_ADDRFAMILY, std::generic_category(),
                              "getaddrinfo: '" + host + "' has no address of the requested family");
    co_return out;
  }
  // The c-ares resolver lands in the next commit; until then names other
  // than literals and localhost are refused loudly rather than resolved
  // with a blocking call.
  throw std::system_error(EAI_NONAME, std::generic_category(),
                          "getaddrinfo: cannot resolve '" + host + "' (resolver not built yet)");
}

}  // namespace aio
