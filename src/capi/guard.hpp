// The extern "C" edge: every public function body runs inside guarded(), so
// no C++ exception ever crosses the ABI.
#pragma once

#include <exception>
#include <new>

#include "core/error.hpp"

namespace mp {

template <class F>
int guarded(const char *op, F &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return fail(MP_ENOMEM, "%s: out of memory", op);
  } catch (const std::exception &e) {
    return fail(MP_ESYS, "%s: %s", op, e.what());
  } catch (...) {
    return fail(MP_ESYS, "%s: unexpected failure", op);
  }
}

}  // namespace mp

// Return MP_EINVAL with a message naming the bad argument.
#define MP_CHECK_ARG(cond, op, what)                              \
  do {                                                            \
    if (!(cond)) return mp::fail(MP_EINVAL, "%s: %s", op, what); \
  } while (0)
