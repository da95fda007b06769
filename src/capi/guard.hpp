// The extern "C" edge: every public function body runs inside guarded(), so
// no C++ exception ever crosses the ABI.
#pragma once

#include <cstring>
#include <exception>
#include <new>
#include <type_traits>

#include "core/cancel.hpp"
#include "core/error.hpp"

namespace mp {

// A wait cut short by the thread's fired cancel token looks like an expired
// timeout inside the library; the caller is told the real reason.
inline int report_cancel(const char *op, int rc) {
  if (rc != MP_ETIMEDOUT || !cancel_fired(bound_cancel())) return rc;
  return fail(MP_ECANCELED, "%s: canceled", op);
}

template <class F>
int guarded(const char *op, F &&body) noexcept {
  try {
    return report_cancel(op, body());
  } catch (const std::bad_alloc &) {
    return fail(MP_ENOMEM, "%s: out of memory", op);
  } catch (const std::exception &e) {
    return fail(MP_ESYS, "%s: %s", op, e.what());
  } catch (...) {
    return fail(MP_ESYS, "%s: unexpected failure", op);
  }
}

// The int a C caller passed for an enum parameter. C allows any int there;
// in C++ loading an enum outside its enumerators' range is undefined, so the
// value is copied out as bytes before it is checked.
template <class E>
int enum_value(const E &e) {
  static_assert(std::is_enum<E>::value && sizeof(E) == sizeof(int), "int-sized enum");
  int v;
  memcpy(&v, &e, sizeof v);
  return v;
}

}  // namespace mp

// Return MP_EINVAL with a message naming the bad argument.
#define MP_CHECK_ARG(cond, op, what)                              \
  do {                                                            \
    if (!(cond)) return mp::fail(MP_EINVAL, "%s: %s", op, what); \
  } while (0)
