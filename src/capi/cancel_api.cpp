// The cancel-token API (mp_cancel_*); the mechanism is core/cancel.
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <new>

#include "capi/guard.hpp"
#include "core/backend.hpp"
#include "core/cancel.hpp"
#include "core/error.hpp"

using namespace mp;

extern "C" {

MP_EXTERN int mp_cancel_new(mp_cancel_t **out) {
  MP_CHECK_ARG(out, "cancel_new", "out is NULL");
  *out = nullptr;
  return guarded("cancel_new", [&]() -> int {
    (void)backend();  // chosen now: mp_cancel_fire may run in a signal handler
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) return fail_errno("eventfd", "cancel_new", errno);
    auto *c = new (std::nothrow) mp_cancel;
    if (!c) {
      close(efd);
      return fail(MP_ENOMEM, "cancel_new: out of memory");
    }
    c->efd = efd;
    *out = c;
    return MP_OK;
  });
}

MP_EXTERN void mp_cancel_free(mp_cancel_t *cancel) {
  if (!cancel) return;
  close(cancel->efd);
  delete cancel;
}

MP_EXTERN int mp_cancel_fire(mp_cancel_t *cancel) {
  MP_CHECK_ARG(cancel, "cancel_fire", "cancel is NULL");
  // Deliberately not guarded() (see capi/guard.hpp): async-signal-safe, as
  // documented, and nothing in it can throw.
  fire_cancel(cancel);
  return MP_OK;
}

MP_EXTERN int mp_cancel_reset(mp_cancel_t *cancel) {
  MP_CHECK_ARG(cancel, "cancel_reset", "cancel is NULL");
  reset_cancel(cancel);
  return MP_OK;
}

MP_EXTERN int mp_cancel_fired(const mp_cancel_t *cancel) {
  MP_CHECK_ARG(cancel, "cancel_fired", "cancel is NULL");
  return cancel_fired(cancel) ? 1 : 0;
}

MP_EXTERN mp_cancel_t *mp_cancel_bind(mp_cancel_t *cancel) { return bind_cancel(cancel); }

}  // extern "C"
