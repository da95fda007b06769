// LockWord: a robust, process-shared mutex with an owner and a depth, the
// core of mp_lock_t and of the lock inside an mp_value_t. The owner's death
// is reported to the next acquirer (EOWNERDEAD), never a deadlock.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/deadline.hpp"
#include "core/robust_mutex.hpp"
#include "multiproc.h"

namespace mp {

// On a cache line of its own: an acquire and a release touch the mutex and
// depth and owner, and a word that straddled two lines (the mutex at offset
// 24 of a lock's segment, depth and owner past 64) moved both lines between
// the CPUs of contending processes, twice the traffic of the mutex alone.
struct alignas(64) LockWord {
  RobustMutex mutex;
  uint32_t recursive;
  std::atomic<uint32_t> depth;   // acquisitions not yet released
  std::atomic<int32_t> owner;    // thread id of the holder, 0 if free
};

void lock_init(LockWord &w, bool recursive);
// MP_OK, MP_EOWNERDEAD (held; the previous holder died), MP_ETIMEDOUT
// (also at once for a plain lock this thread holds, given a timeout),
// MP_ESTATE (a plain lock this thread already holds, no timeout).
inline int lock_acquire(LockWord &w, const Deadline &deadline);
// MP_OK or MP_ESTATE (not held by this thread).
inline int lock_release(LockWord &w);
bool lock_is_locked(const LockWord &w);
bool lock_held_by_me(const LockWord &w);

// For a condition's wait: release every level this thread holds (returning
// how many) and take them back.
int lock_release_all(LockWord &w, uint32_t *levels);
int lock_reacquire(LockWord &w, uint32_t levels);

// Acquire and release are inline: an uncontended pair is two glibc calls
// and a few stores, which a chain of calls through the library would
// nearly double. What is not the common case stays out of line.
namespace detail {
extern __thread int32_t t_tid __attribute__((tls_model("initial-exec")));
int32_t fetch_tid();
int lock_acquire_rest(LockWord &w, const Deadline &deadline, int r);
int lock_release_failed(int r);
}  // namespace detail

// The calling thread's id, cached; a forked child's thread has a new one.
inline int32_t my_tid() {
  int32_t t = detail::t_tid;
  return t ? t : detail::fetch_tid();
}

inline int lock_acquire(LockWord &w, const Deadline &deadline) {
  int r = robust_mutex_lock(&w.mutex, deadline);
  if (r != 0) return detail::lock_acquire_rest(w, deadline, r);
  // depth and owner change only under the mutex: plain stores suffice.
  w.depth.store(w.depth.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  w.owner.store(my_tid(), std::memory_order_relaxed);
  return MP_OK;
}

inline int lock_release(LockWord &w) {
  if (w.owner.load(std::memory_order_relaxed) != my_tid()) return detail::lock_release_failed(EPERM);
  uint32_t depth = w.depth.load(std::memory_order_relaxed) - 1;
  w.depth.store(depth, std::memory_order_relaxed);
  if (depth == 0) w.owner.store(0, std::memory_order_relaxed);
  int r = robust_mutex_unlock(&w.mutex);
  return r == 0 ? MP_OK : detail::lock_release_failed(r);
}

}  // namespace mp
