// The C handle types of the shared objects and how one is made. Their
// entry points (from_fd, fileno, free) are in src/capi/, which checks the
// arguments (capi/object_api.hpp).
#pragma once

#include <memory>

#include "sync/objects.hpp"

#define MP__OBJECT_HANDLE(type, Shared, magic_value)                 \
  struct type : mp::ObjectHandle<mp::Shared> {                       \
    static constexpr uint32_t kMagic = magic_value;                  \
    uint32_t magic = kMagic;                                         \
  };

MP__OBJECT_HANDLE(mp_sem, SemShared, 0x4d505345)        // "MPSE"
MP__OBJECT_HANDLE(mp_event, EventShared, 0x4d504556)    // "MPEV"
MP__OBJECT_HANDLE(mp_shm, ShmShared, 0x4d50534d)        // "MPSM"

namespace mp {
struct RemoteLock;
}

// A lock in shared memory, or on a redis server (remote set, shared NULL:
// redis/lock.hpp; such a handle is no valid_handle() for the calls that
// need the shared word, conditions and values).
struct mp_lock : mp::ObjectHandle<mp::LockShared> {
  static constexpr uint32_t kMagic = 0x4d504c4b;  // "MPLK"
  uint32_t magic = kMagic;
  mp::RemoteLock *remote = nullptr;
};

struct mp_barrier : mp::ObjectHandle<mp::BarrierShared> {
  static constexpr uint32_t kMagic = 0x4d504252;  // "MPBR"
  uint32_t magic = kMagic;
  mp::BarrierAction action;  // this process's (mp_barrier_set_action)
};

struct mp_value : mp::ObjectHandle<mp::ValueShared> {
  static constexpr uint32_t kMagic = 0x4d505641;  // "MPVA"
  uint32_t magic = kMagic;
  mp_lock *lock = nullptr;  // borrowed: the shared lock (kValueSharedLock)
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

// Attach a new handle to the object behind fd (a descriptor checked open).
template <class H>
int attach_object(H **out, int fd, ObjectKind kind) {
  std::unique_ptr<H> h(new H());
  int r = h->attach(fd, kind);
  if (r != MP_OK) return r;
  *out = h.release();
  return MP_OK;
}

}  // namespace mp
