// The entry points every shared object's handle has (from_fd, fileno,
// free): the argument checks and guarded() around sync/handles.hpp. Each
// mp_*_from_fd/_fileno/_free is defined plainly in its concept's file.
#pragma once

#include <fcntl.h>

#include "capi/guard.hpp"
#include "sync/handles.hpp"

// A lock that backs a condition or a value: it needs the shared word a
// lock on a redis server does not have (checked before MP_CHECK_HANDLE,
// whose message would call it dead).
#define MP_CHECK_LOCAL_LOCK(l, op)                                            \
  MP_CHECK_ARG(!(l) || (l)->magic != mp_lock::kMagic || !(l)->remote, op,     \
               "a lock on a redis server cannot back a condition or a value")

namespace mp {

template <class H>
int object_from_fd(H **out, int fd, ObjectKind kind, const char *op) {
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(fd >= 0 && fcntl(fd, F_GETFD) >= 0, op, "fd is not an open descriptor");
  return guarded(op, [&]() -> int { return attach_object(out, fd, kind); });
}

template <class H>
int object_fileno(H *h, const char *op) {
  MP_CHECK_ARG(valid_handle(h), op, "NULL or not a live handle");
  return h->segment.fd();
}

// Only this process's handle goes (its mapping and descriptor).
template <class H>
void object_free(H *h) {
  if (!valid_handle(h)) return;
  h->magic = 0;
  delete h;
}

}  // namespace mp
