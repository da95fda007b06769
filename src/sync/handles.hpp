// The C handle types of the shared objects, and the entry points every one
// of them has (from_fd, fileno, free), generated once.
#pragma once

#include <fcntl.h>

#include <memory>

#include "capi/guard.hpp"
#include "sync/objects.hpp"

#define MP__OBJECT_HANDLE(type, Shared, magic_value)                 \
  struct type : mp::ObjectHandle<mp::Shared> {                       \
    static constexpr uint32_t kMagic = magic_value;                  \
    uint32_t magic = kMagic;                                         \
  };

MP__OBJECT_HANDLE(mp_lock, LockShared, 0x4d504c4b)      // "MPLK"
MP__OBJECT_HANDLE(mp_sem, SemShared, 0x4d505345)        // "MPSE"
MP__OBJECT_HANDLE(mp_event, EventShared, 0x4d504556)    // "MPEV"
MP__OBJECT_HANDLE(mp_shm, ShmShared, 0x4d50534d)        // "MPSM"
MP__OBJECT_HANDLE(mp_value, ValueShared, 0x4d505641)    // "MPVA"

struct mp_barrier : mp::ObjectHandle<mp::BarrierShared> {
  static constexpr uint32_t kMagic = 0x4d504252;  // "MPBR"
  uint32_t magic = kMagic;
  mp::BarrierAction action;  // this process's (mp_barrier_set_action)
};

struct mp_cond : mp::ObjectHandle<mp::CondShared> {
  static constexpr uint32_t kMagic = 0x4d50434f;  // "MPCO"
  uint32_t magic = kMagic;
  mp_lock *lock = nullptr;  // borrowed
};

namespace mp {

template <class H>
bool valid_handle(const H *h) {
  return h && h->magic == H::kMagic && h->shared;
}

// Create a handle whose segment holds `extra` bytes after its shared part;
// init(*handle) fills the shared part in.
template <class H, class Init>
int new_object(H **out, ObjectKind kind, size_t extra, Init init) {
  std::unique_ptr<H> h(new H());
  int r = h->create(kind, extra);
  if (r != MP_OK) return r;
  r = init(*h);
  if (r != MP_OK) return r;
  *out = h.release();
  return MP_OK;
}

template <class H>
int object_from_fd(H **out, int fd, ObjectKind kind, const char *op) {
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(fd >= 0 && fcntl(fd, F_GETFD) >= 0, op, "fd is not an open descriptor");
  return guarded(op, [&]() -> int {
    std::unique_ptr<H> h(new H());
    int r = h->attach(fd, kind);
    if (r != MP_OK) return r;
    *out = h.release();
    return MP_OK;
  });
}

}  // namespace mp

// fileno and free of a handle type: the same for every shared object.
#define MP__OBJECT_FILENO_FREE(type)                                           \
  MP_EXTERN int type##_fileno(type##_t *h) {                                   \
    MP_CHECK_ARG(mp::valid_handle(h), #type "_fileno", "NULL or not a live handle"); \
    return h->segment.fd();                                                    \
  }                                                                            \
  MP_EXTERN void type##_free(type##_t *h) {                                    \
    if (!mp::valid_handle(h)) return;                                          \
    h->magic = 0;                                                              \
    delete h;                                                                  \
  }
