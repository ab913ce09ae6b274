// SPDX-License-Identifier: MIT
// Compiled by tests/CMakeLists.txt once per case: AIO_CASE_OK must build; each
// other case must fail with its static_assert's message (checked by ctest).
#include <aio/exec/process_pool_executor.hpp>

namespace {

struct opaque {
  int* p;
};

int fine(int x) { return x; }
AIO_PROCESS_JOB(fine);

#if defined(AIO_CASE_POINTER_PARAM)
int takes_pointer(const char* s) { return s[0]; }
AIO_PROCESS_JOB(takes_pointer);
#elif defined(AIO_CASE_UNSUPPORTED_RESULT)
opaque returns_opaque(int) { return {}; }
AIO_PROCESS_JOB(returns_opaque);
#elif defined(AIO_CASE_NONCONST_REF)
void fills(std::string& out) { out = "x"; }
AIO_PROCESS_JOB(fills);
#endif

}  // namespace

void use(aio::process_pool_executor& pool) {
#if defined(AIO_CASE_LAMBDA)
  auto f = pool.submit([](int x) { return x; }, 1);
#elif defined(AIO_CASE_BAD_ARGUMENT)
  opaque o;
  auto f = pool.submit(fine, o);
#else
  auto f = pool.submit(fine, 1);
#endif
  (void)f;
}
