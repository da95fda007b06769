#include "core/cancel.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "core/backend.hpp"
#include "core/futex.hpp"
#include "core/park.hpp"

namespace mp {

__thread mp_cancel *detail::t_bound_cancel = nullptr;

mp_cancel *bind_cancel(mp_cancel *c) {
  mp_cancel *prev = detail::t_bound_cancel;
  detail::t_bound_cancel = c;
  return prev;
}

void fire_cancel(mp_cancel *c) {
  int saved_errno = errno;  // a signal handler must leave errno as it found it
  c->fired.store(1, std::memory_order_seq_cst);
  // backend() was first asked when the token was made (mp_cancel_new):
  // here it is a plain load, no initialisation inside a signal handler.
  if (portable_backend()) {
    park_fire_cancel(c);
  } else {
    futex_wake(&c->fired, -1);
  }
  uint64_t one = 1;
  ssize_t n;
  do {
    n = write(c->efd, &one, sizeof one);
  } while (n < 0 && errno == EINTR);  // EAGAIN: the counter is already set
  errno = saved_errno;
}

void reset_cancel(mp_cancel *c) {
  uint64_t v;
  while (read(c->efd, &v, sizeof v) < 0 && errno == EINTR) {
  }
  c->fired.store(0, std::memory_order_release);
}

}  // namespace mp
