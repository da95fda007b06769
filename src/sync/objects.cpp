#include "sync/objects.hpp"

#include <sys/stat.h>

#include <climits>
#include <cstring>

#include "core/error.hpp"
#include "core/futex.hpp"

namespace mp {

const char *object_kind_name(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kLock: return "multiproc-lock";
    case ObjectKind::kSemaphore: return "multiproc-semaphore";
    case ObjectKind::kEvent: return "multiproc-event";
    case ObjectKind::kCondition: return "multiproc-condition";
    case ObjectKind::kBarrier: return "multiproc-barrier";
    case ObjectKind::kShm: return "multiproc-shm";
    case ObjectKind::kValue: return "multiproc-value";
  }
  return "multiproc-object";
}

// ---- semaphores -----------------------------------------------------------

int sem_acquire(SemShared &s, const Deadline &deadline) {
  for (;;) {
    uint32_t v = s.value.load(std::memory_order_acquire);
    if (v > 0) {
      if (s.value.compare_exchange_weak(v, v - 1, std::memory_order_acq_rel)) return MP_OK;
      continue;
    }
    if (deadline.expired())
      return fail(MP_ETIMEDOUT, "sem_acquire: timed out");
    s.waiters.fetch_add(1, std::memory_order_seq_cst);
    int r = futex_wait(&s.value, 0, deadline);
    s.waiters.fetch_sub(1, std::memory_order_seq_cst);
    if (r == MP_ETIMEDOUT && s.value.load() == 0)
      return fail(MP_ETIMEDOUT, "sem_acquire: timed out");
  }
}

int sem_release(SemShared &s) {
  uint32_t v = s.value.load(std::memory_order_relaxed);
  do {
    if (s.max ? v >= s.max : v >= uint32_t(INT32_MAX))
      return fail(MP_ESTATE, "sem_release: released too many times (value %u)", v);
  } while (!s.value.compare_exchange_weak(v, v + 1, std::memory_order_seq_cst));
  if (s.waiters.load(std::memory_order_seq_cst)) futex_wake(&s.value, 1);
  return MP_OK;
}

// ---- events -----------------------------------------------------------------

int event_set(EventShared &e) {
  if (e.flag.exchange(1, std::memory_order_seq_cst) == 0) futex_wake(&e.flag, -1);
  return MP_OK;
}

int event_wait(EventShared &e, const Deadline &deadline) {
  while (e.flag.load(std::memory_order_acquire) == 0) {
    if (futex_wait(&e.flag, 0, deadline) == MP_ETIMEDOUT &&
        e.flag.load(std::memory_order_acquire) == 0)
      return fail(MP_ETIMEDOUT, "event_wait: timed out");
  }
  return MP_OK;
}

// ---- conditions -------------------------------------------------------------

namespace {

// Leave the wait (lock held again): take the notification this waiter
// found pending, or report the timeout (or the owner's death).
int cond_leave(CondShared &c, bool notified, int reacquired) {
  if (notified) c.pending.store(c.pending.load(std::memory_order_relaxed) - 1,
                                std::memory_order_relaxed);
  c.waiters.fetch_sub(1, std::memory_order_seq_cst);
  if (reacquired != MP_OK) return reacquired;  // MP_EOWNERDEAD: held, data may be torn
  if (!notified) return fail(MP_ETIMEDOUT, "cond_wait: timed out");
  return MP_OK;
}

}  // namespace

// Read seq before releasing the lock: a notify made after the release (it
// needs the lock) changes seq, so futex_wait returns at once rather than
// missing it. A wake-up without a pending notification (a signal's EINTR,
// a spurious one, a notification another waiter took) sleeps again until
// the same deadline: MP_OK means this waiter was notified.
int cond_wait(CondShared &c, LockWord &lock, const Deadline &deadline) {
  if (!lock_held_by_me(lock))
    return fail(MP_ESTATE, "wait: this thread does not hold the condition's lock");
  // Flag the wait while still holding the lock: a notifier needs the lock,
  // so it cannot miss the flag and skip the wake-up.
  c.waiters.fetch_add(1, std::memory_order_seq_cst);
  for (;;) {
    uint32_t seen = c.seq.load(std::memory_order_seq_cst);
    uint32_t levels;
    int r = lock_release_all(lock, &levels);
    if (r != MP_OK) {
      c.waiters.fetch_sub(1, std::memory_order_seq_cst);
      return r;
    }
    int w;
    bool moved;
    do {
      w = futex_wait(&c.seq, seen, deadline);
      moved = c.seq.load(std::memory_order_seq_cst) != seen;
    } while (!moved && w != MP_ETIMEDOUT);
    r = lock_reacquire(lock, levels);
    if (r != MP_OK && r != MP_EOWNERDEAD) {
      c.waiters.fetch_sub(1, std::memory_order_seq_cst);
      return r;
    }
    bool notified = moved && c.pending.load(std::memory_order_relaxed) > 0;
    if (notified || w == MP_ETIMEDOUT || r != MP_OK) return cond_leave(c, notified, r);
    // Another waiter took the notification first: wait on.
  }
}

// Hand out up to n notifications to waiters that have none yet.
int cond_notify(CondShared &c, LockWord &lock, int n) {
  if (!lock_held_by_me(lock))
    return fail(MP_ESTATE, "notify: this thread does not hold the condition's lock");
  uint32_t waiters = c.waiters.load(std::memory_order_seq_cst);
  uint32_t pending = c.pending.load(std::memory_order_relaxed);
  if (waiters <= pending) return MP_OK;  // nobody waits without one
  uint32_t give = waiters - pending;
  if (n > 0 && uint32_t(n) < give) give = uint32_t(n);
  c.pending.store(pending + give, std::memory_order_relaxed);
  c.seq.fetch_add(1, std::memory_order_seq_cst);
  futex_wake(&c.seq, give > uint32_t(INT32_MAX) ? -1 : int(give));
  return MP_OK;
}

// ---- barriers ---------------------------------------------------------------

namespace {

// The barrier's bookkeeping lock. A party that died inside it left the
// count unknown: the barrier is then broken, as if that party had aborted.
void lock_barrier(BarrierShared &b) {
  if (lock_acquire(b.guard, Deadline::uncancelable(MP_FOREVER)) == MP_EOWNERDEAD)
    b.broken.store(1, std::memory_order_seq_cst);
}

void break_barrier(BarrierShared &b) {
  b.count = 0;  // every waiter leaves with MP_ESTATE
  b.broken.store(1, std::memory_order_seq_cst);
  b.generation.fetch_add(1, std::memory_order_seq_cst);  // wake sleepers
  futex_wake(&b.generation, -1);
}

// A wait cut short by a cancel token (not by its timeout) keeps the
// caller's arrival, so that the thread can go on waiting for the same
// round: Ruby's unblock function fires the token for any signal the VM
// handles (a trap, a child's SIGCHLD), and that must not break the barrier
// for everyone, nor count the thread twice. One per thread; the barrier is
// told apart by its memory object (device and inode, unique while it
// exists), not by an address a later mapping may reuse.
struct PendingArrival {
  bool active = false;
  dev_t dev = 0;
  ino_t ino = 0;
  uint32_t index = 0, generation = 0, resets = 0;
};
thread_local PendingArrival t_arrival;

bool object_of(int fd, dev_t *dev, ino_t *ino) {
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  *dev = st.st_dev;
  *ino = st.st_ino;
  return true;
}

// This thread's arrival on the barrier of fd left by a canceled wait, taken.
bool take_pending(int fd, PendingArrival *out) {
  dev_t dev;
  ino_t ino;
  if (!t_arrival.active || !object_of(fd, &dev, &ino) || dev != t_arrival.dev ||
      ino != t_arrival.ino)
    return false;
  *out = t_arrival;
  t_arrival.active = false;
  return true;
}

// Arrive (guard held): the index; true for the round's last arrival.
bool arrive(BarrierShared &b, PendingArrival *a) {
  a->index = b.count++;
  a->generation = b.generation.load(std::memory_order_seq_cst);
  a->resets = b.resets.load(std::memory_order_seq_cst);
  return b.count == b.parties;
}

// The last arrival's action (guard held), as Python's Barrier runs it in
// the last thread before releasing the others. A barrier given an action
// by some process, reached last by a process that set none on its handle,
// cannot run it: that breaks the barrier rather than silently skipping it.
int run_action(const BarrierShared &b, const BarrierAction &action) {
  if (!action.fn) {
    if (!__atomic_load_n(&b.has_action, __ATOMIC_SEQ_CST)) return MP_OK;
    return fail(MP_ESTATE, "barrier_wait: the barrier has an action, but this process set none "
                "on its handle (mp_barrier_set_action); the barrier is now broken");
  }
  int r = action.fn(action.payload);
  if (r == 0) return MP_OK;
  return fail(MP_ETASKFAILED, "barrier_wait: the action returned %d; the barrier is now broken", r);
}

}  // namespace

void barrier_forget(int fd) {
  PendingArrival unused;
  take_pending(fd, &unused);
}

int barrier_wait(BarrierShared &b, int fd, const Deadline &deadline, const BarrierAction &action) {
  PendingArrival a;
  if (!take_pending(fd, &a)) {
    lock_barrier(b);
    if (b.broken.load()) {
      lock_release(b.guard);
      return fail(MP_ESTATE, "barrier_wait: the barrier is broken");
    }
    if (arrive(b, &a)) {  // the last arrival: the action, then the round passes
      int r = run_action(b, action);
      if (r == MP_OK) {
        b.count = 0;
        b.generation.fetch_add(1, std::memory_order_seq_cst);
      } else {
        break_barrier(b);
      }
      lock_release(b.guard);
      futex_wake(&b.generation, -1);
      return r == MP_OK ? int(a.index) : r;
    }
    lock_release(b.guard);
  }
  for (;;) {
    int r = futex_wait(&b.generation, a.generation, deadline);
    if (b.broken.load() || b.resets.load() != a.resets)
      return fail(MP_ESTATE, "barrier_wait: the barrier was broken or reset");
    if (b.generation.load(std::memory_order_seq_cst) != a.generation) return int(a.index);
    if (r == MP_ETIMEDOUT) break;
  }
  if (deadline.canceled() && object_of(fd, &a.dev, &a.ino)) {
    a.active = true;
    t_arrival = a;
    return fail(MP_ETIMEDOUT, "barrier_wait: canceled; this thread's arrival stands");
  }
  lock_barrier(b);  // timed out: break the barrier for everyone, as Python does
  bool passed = b.generation.load() != a.generation && !b.broken.load();
  if (!passed) break_barrier(b);
  lock_release(b.guard);
  if (passed) return int(a.index);
  return fail(MP_ETIMEDOUT, "barrier_wait: timed out; the barrier is now broken");
}

void barrier_abort(BarrierShared &b) {
  lock_barrier(b);
  break_barrier(b);
  lock_release(b.guard);
}

void barrier_reset(BarrierShared &b) {
  lock_barrier(b);
  b.resets.fetch_add(1, std::memory_order_seq_cst);
  b.count = 0;
  b.broken.store(0, std::memory_order_seq_cst);
  b.generation.fetch_add(1, std::memory_order_seq_cst);
  lock_release(b.guard);
  futex_wake(&b.generation, -1);
}

// ---- values -------------------------------------------------------------------

size_t value_element_size(uint32_t type) {
  switch (type) {
    case MP_TYPE_INT32:
    case MP_TYPE_FLOAT: return 4;
    case MP_TYPE_INT64:
    case MP_TYPE_UINT64:
    case MP_TYPE_DOUBLE: return 8;
    case MP_TYPE_INT16:
    case MP_TYPE_UINT16: return 2;
    case MP_TYPE_BYTES:
    case MP_TYPE_INT8:
    case MP_TYPE_UINT8:
    case MP_TYPE_CHAR:
    case MP_TYPE_BOOL: return 1;
  }
  return 0;
}

namespace {

// Python's typecode of a record field (struct/array letters, '?' bool).
uint32_t field_type_of(char code) {
  switch (code) {
    case 'b': return MP_TYPE_INT8;
    case 'B': return MP_TYPE_UINT8;
    case 'h': return MP_TYPE_INT16;
    case 'H': return MP_TYPE_UINT16;
    case 'i': return MP_TYPE_INT32;
    case 'q': return MP_TYPE_INT64;
    case 'Q': return MP_TYPE_UINT64;
    case 'f': return MP_TYPE_FLOAT;
    case 'd': return MP_TYPE_DOUBLE;
    case 'c': return MP_TYPE_CHAR;
    case '?': return MP_TYPE_BOOL;
  }
  return 0;
}

bool is_field_type(uint32_t type) { return type != MP_TYPE_BYTES && value_element_size(type) > 0; }

size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

}  // namespace

// Natural C alignment, as a compiler and ctypes lay a struct out: each
// field at the next multiple of its size (every field type is aligned to
// its size on the platforms we build for), the whole a multiple of the
// largest.
uint32_t record_size_of(const uint8_t *types, uint32_t nfields) {
  size_t at = 0, largest = 1;
  for (uint32_t i = 0; i < nfields; ++i) {
    if (!is_field_type(types[i])) return 0;
    size_t n = value_element_size(types[i]);
    at = align_up(at, n) + n;
    if (n > largest) largest = n;
  }
  return uint32_t(align_up(at, largest));
}

size_t record_field_offset(const uint8_t *types, size_t field) {
  size_t at = 0;
  for (size_t i = 0; i <= field; ++i) {
    size_t n = value_element_size(types[i]);
    at = align_up(at, n) + (i < field ? n : 0);
  }
  return at;
}

bool record_layout(const char *codes, uint8_t *types, uint32_t *nfields, uint32_t *size) {
  size_t n = strnlen(codes, kMaxRecordFields + 1);
  if (n == 0 || n > kMaxRecordFields) return false;
  for (size_t i = 0; i < n; ++i) {
    types[i] = uint8_t(field_type_of(codes[i]));
    if (!types[i]) return false;
  }
  *nfields = uint32_t(n);
  *size = record_size_of(types, *nfields);
  return true;
}

size_t value_stride(const ValueShared &v) {
  if (v.type != MP_TYPE_RECORD) return value_element_size(v.type);
  if (v.nfields == 0 || v.nfields > kMaxRecordFields) return 0;
  uint32_t size = record_size_of(v.fields, v.nfields);
  return size == v.record_size ? size : 0;
}

}  // namespace mp
