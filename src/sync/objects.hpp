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

// The most fields a record (MP_TYPE_RECORD) has.
constexpr size_t kMaxRecordFields = 32;
// ValueShared::flags bit (beside MP_VALUE_LOCK): the value is guarded by
// another lock object, told by lock_dev/lock_ino (mp_value_new_with_lock).
constexpr uint32_t kValueSharedLock = 1u << 16;

struct ValueShared {
  alignas(64) ObjectHeader header;
  uint32_t type;
  uint32_t flags;
  uint64_t count;
  std::atomic<uint64_t> bytes_len;  // MP_TYPE_BYTES: the current length
  LockWord lock;
  // Since objects version 4.
  uint32_t nfields;                        // MP_TYPE_RECORD: fields per record
  uint32_t record_size;                    // MP_TYPE_RECORD: bytes per record
  uint8_t fields[kMaxRecordFields];        // MP_TYPE_RECORD: each field's mp_type_t
  uint64_t lock_dev, lock_ino;             // kValueSharedLock: the lock's memory object
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
// A record's layout from its typecodes ("dd"): the field types and the
// record's size with natural C alignment; false for a bad description.
bool record_layout(const char *codes, uint8_t *types, uint32_t *nfields, uint32_t *size);
// The record's size computed from its field types (0: a bad field).
uint32_t record_size_of(const uint8_t *types, uint32_t nfields);
// The offset of field `field` in a record of these field types.
size_t record_field_offset(const uint8_t *types, size_t field);
// Bytes per element (per record for MP_TYPE_RECORD); 0 for a bad header.
size_t value_stride(const ValueShared &v);

}  // namespace mp
