// The extern "C" edge. No C++ exception may cross the ABI, so every public
// function whose body can throw (it allocates, or calls code that does:
// std::string, containers, new, std::thread, the runtime's post()) runs that
// body inside guarded(), after its argument checks. The others stay outside
// it: argument checks, reads and writes of shared memory, futex and poll
// waits, std::mutex locks (they throw only for a corrupt mutex), fail() (a
// fixed thread-local buffer), deleting a handle (destructors do not
// throw). Those that wait pass their result through report_cancel().
// mp_cancel_fire is never guarded: it is async-signal-safe (a signal
// handler may call it), which guarded()'s try/catch machinery is not
// promised to be.
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
