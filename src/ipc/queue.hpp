// mp_queue_t: a multi-producer multi-consumer message queue in a shared
// memory segment (an anonymous memfd passed to other processes as a
// descriptor). See queue.cpp for the layout and the crash-repair rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/deadline.hpp"
#include "ipc/shm.hpp"

namespace mp {
struct QueueShared;
struct RemoteQueue;

// A large message this handle had started to receive when a get timed out:
// kept (with the queue's get_stream held) for the next get to finish.
struct Parked {
  bool active = false;
  bool complete = false;  // fully received, waiting for a big enough buffer
  uint64_t id = 0;
  size_t got = 0;
  size_t total = 0;
  char *data = nullptr;  // malloc()ed, total + 1 bytes
};
}  // namespace mp

struct mp_queue {
  static constexpr uint32_t kMagic = 0x4d505155;  // "MPQU"
  uint32_t magic = kMagic;
  mp::Segment segment;
  mp::QueueShared *shared = nullptr;
  char *ring = nullptr;
  // The ring's size, copied when the segment is created or attached and
  // never read again from it: a process that scribbles over the header
  // cannot make this one index past its mapping.
  size_t capacity = 0;
  // capacity - 1 when capacity is a power of two (the default 1 MiB), else
  // 0: a position in the ring is then a mask, not a 64-bit division (some
  // 40 cycles, several per put and get).
  size_t mask = 0;
  mp::Parked parked;
  // Set for a queue on a redis server (redis/queue.hpp): every call goes
  // there, and the fields above are unused.
  mp::RemoteQueue *remote = nullptr;
};

namespace mp {

// Where a message goes on get: a caller buffer (get_into) or a malloc()
// buffer the library grows (get).
struct Sink {
  void *buf = nullptr;  // get_into: the caller's buffer
  size_t cap = 0;
  char *owned = nullptr;  // get: malloc()ed, handed to the caller
  size_t len = 0;         // bytes of the message
};

int queue_create(mp_queue &q, size_t max_items, size_t max_bytes, bool joinable);
int queue_attach(mp_queue &q, int fd);
int queue_put(mp_queue &q, const void *buf, size_t len, const Deadline &deadline);
int queue_get(mp_queue &q, Sink &sink, const Deadline &deadline);
// Put n messages in order, as n queue_put calls with one deadline would,
// taking the put_lock once for all that fit. *done: how many went in (a
// prefix), also when it fails.
int queue_put_many(mp_queue &q, const void *const *bufs, const size_t *lens, size_t n,
                   size_t *done, const Deadline &deadline);
// Get the oldest message as queue_get into buf (cap bytes) would, then
// those queued behind it that fit, back to back; lens[i] their sizes, at
// most max (>= 1) of them; *count how many. buf must not be null (get_into
// mode). On MP_ENOSPC lens[0] is the size the first message needs.
int queue_get_many(mp_queue &q, void *buf, size_t cap, size_t *lens, size_t max, size_t *count,
                   const Deadline &deadline);
int queue_qsize(mp_queue &q, size_t *out);
// Before the handle goes away: a parked partial message is dropped (its
// remaining chunks are discarded by whoever reads them next).
void queue_release(mp_queue &q);
int queue_full(mp_queue &q);
int queue_close(mp_queue &q);
bool queue_closed(const mp_queue &q);
// The maxsize the queue was made with (0: no limit).
uint64_t queue_maxsize(const mp_queue &q);
int queue_task_done(mp_queue &q);
// The ring's words and values for a binding's own put and get
// (mp_queue_ring_word(), _value()): nullptr / false for an unknown which.
void *queue_ring_word(mp_queue &q, int which);
bool queue_ring_value(mp_queue &q, int which, uint64_t *out);
// After a binding's own put (put_side) or get released its lock: wake
// that lock's waiter and the peers waiting for what it made.
void queue_ring_wake(mp_queue &q, bool put_side);
int queue_join(mp_queue &q, const Deadline &deadline);

}  // namespace mp
