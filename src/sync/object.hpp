// Small shared objects (locks, semaphores, events, conditions, barriers,
// shared blocks, values): each in its own anonymous memfd segment that
// starts with an ObjectHeader, so that a descriptor of the wrong kind, of
// another layout version or full of garbage is refused on attach.
#pragma once

#include <cstdint>
#include <new>

#include "core/error.hpp"
#include "ipc/shm.hpp"

namespace mp {

enum class ObjectKind : uint32_t {
  kLock = 1,
  kSemaphore,
  kEvent,
  kCondition,
  kBarrier,
  kShm,
  kValue,
};

struct ObjectHeader {
  uint32_t magic;
  uint32_t version;
  uint32_t kind;
  uint32_t reserved;
  uint64_t size;  // the whole segment
};

constexpr uint32_t kObjectMagic = 0x424f504d;  // "MPOB"
// 2: a condition counts its pending notifications (CondShared::pending).
// 3: a barrier keeps a default timeout and whether it has an action.
// 4: a value may be bool or records and may share a lock (ValueShared), so
//    that a library of version 3 refuses such a value instead of misreading it.
// 5: a LockWord (locks, values, barriers) starts a cache line of its own.
constexpr uint32_t kObjectVersion = 5;

const char *object_kind_name(ObjectKind kind);

// A process's handle on one shared object: `Shared` starts with an
// ObjectHeader; `extra` bytes follow it in the segment.
template <class Shared>
struct ObjectHandle {
  Segment segment;
  Shared *shared = nullptr;

  char *extra() { return reinterpret_cast<char *>(shared) + sizeof(Shared); }
  size_t extra_size() const { return segment.size() - sizeof(Shared); }

  // Create the segment and construct Shared in it (zeroed by the kernel).
  int create(ObjectKind kind, size_t extra_bytes) {
    int r = segment.create(object_kind_name(kind), sizeof(Shared) + extra_bytes);
    if (r != MP_OK) return r;
    shared = new (segment.data()) Shared();
    shared->header = ObjectHeader{kObjectMagic, kObjectVersion, uint32_t(kind), 0,
                                  uint64_t(segment.size())};
    return MP_OK;
  }

  // Map a received descriptor (owned from now on) and check what it holds.
  int attach(int fd, ObjectKind kind) {
    int r = segment.attach(fd, sizeof(Shared));
    if (r != MP_OK) return r;
    auto *h = static_cast<const ObjectHeader *>(segment.data());
    if (h->magic != kObjectMagic)
      return fail(MP_EINVAL, "attach: descriptor %d is not a multiproc object", fd);
    if (h->version != kObjectVersion)
      return fail(MP_ENOTSUP, "attach: layout version %u, this library reads %u", h->version,
                  kObjectVersion);
    if (h->kind != uint32_t(kind))
      return fail(MP_EINVAL, "attach: descriptor %d holds a %s, not a %s", fd,
                  object_kind_name(ObjectKind(h->kind)), object_kind_name(kind));
    if (h->size != segment.size())
      return fail(MP_EINVAL, "attach: the %s's header is inconsistent with its size",
                  object_kind_name(kind));
    shared = static_cast<Shared *>(segment.data());
    return MP_OK;
  }
};

}  // namespace mp
