// The shared layouts and operations of semaphores, events, conditions,
// barriers, shared blocks and values. Waiting is on futex words only.
#pragma once

#include <atomic>
#include <cstdint>

#include "multiproc.h"
#include "sync/lock.hpp"
#include "sync/object.hpp"

namespace mp {

struct LockShared {
  ObjectHeader header;
  LockWord word;
};

struct SemShared {
  ObjectHeader header;
  std::atomic<uint32_t> value;  // also the futex word: waiters sleep while 0
  uint32_t max;                 // 0: unbounded
  std::atomic<uint32_t> waiters;
};

struct EventShared {
  ObjectHeader header;
  std::atomic<uint32_t> flag;  // also the futex word
};

// waiters and pending change only under the condition's lock: a waiter
// returns MP_OK only by taking one of the `pending` notifications, so a
// signal, a spurious wake-up or another waiter's notification is never
// reported as its own.
struct CondShared {
  ObjectHeader header;
  std::atomic<uint32_t> seq;      // bumped by notify; waiters sleep on it
  std::atomic<uint32_t> waiters;  // in mp_cond_wait, notified or not
  std::atomic<uint32_t> pending;  // notifications not yet taken (<= waiters)
};

struct BarrierShared {
  ObjectHeader header;
  LockWord guard;  // held only for bookkeeping, never while waiting
  uint32_t parties;
  // Arrived in this round; written under guard, read without it by
  // mp_barrier_n_waiting (hence atomic).
  std::atomic<uint32_t> count;
  std::atomic<uint32_t> generation;  // futex word: bumped when a round passes
  std::atomic<uint32_t> broken;
  std::atomic<uint32_t> resets;  // bumped by reset: waiters of an old round fail
  // Appended in 0.2 (zero in a barrier of 0.1: no default, no action).
  uint32_t has_default_timeout;  // mp_barrier_wait(MP_FOREVER) waits default_timeout_ms
  uint32_t has_action;           // some process gave the barrier an action
  int64_t default_timeout_ms;
};

// The action of a barrier's handle (its process's code) and its payload.
struct BarrierAction {
  int (*fn)(void *payload) = nullptr;
  void *payload = nullptr;
};

struct ShmShared {
  alignas(64) ObjectHeader header;
  uint64_t size;  // bytes after this header
};

struct ValueShared {
  alignas(64) ObjectHeader header;
  uint32_t type;
  uint32_t flags;
  uint64_t count;
  std::atomic<uint64_t> bytes_len;  // MP_TYPE_BYTES: the current length
  LockWord lock;
};

int sem_acquire(SemShared &s, const Deadline &deadline);
int sem_release(SemShared &s);

int event_set(EventShared &e);
int event_wait(EventShared &e, const Deadline &deadline);

int cond_wait(CondShared &c, LockWord &lock, const Deadline &deadline);
int cond_notify(CondShared &c, LockWord &lock, int n);

// Wait for the round (fd: the barrier's descriptor). A wait canceled by a
// token keeps the caller's arrival for this thread's next wait on it.
// The last arrival of a round runs action (with the bookkeeping lock held)
// before the round passes; if it fails, the barrier breaks.
int barrier_wait(BarrierShared &b, int fd, const Deadline &deadline, const BarrierAction &action);
// Drop this thread's arrival left by a canceled wait on the barrier of fd.
void barrier_forget(int fd);
void barrier_abort(BarrierShared &b);
void barrier_reset(BarrierShared &b);

size_t value_element_size(uint32_t type);

}  // namespace mp
