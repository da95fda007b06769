// The extern "C" edge: every public function body runs inside guarded(), so
// no C++ exception ever crosses the ABI.
#pragma once

#include <cstring>
#include <exception>
#include <new>
#include <type_traits>

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
