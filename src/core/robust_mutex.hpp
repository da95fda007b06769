// Robust, process-shared mutexes: one way to create them and one way to
// wait for them, used by locks, values, queue streams and the dict.
//
// Two implementations in the same bytes (core/backend.hpp): the Linux
// backend's pthread mutex (robust and process-shared: the kernel's robust
// list reports a dead holder), and the portable backend's PortableMutex, a
// process-owned lock (core/owner_lock.hpp: pid and start time) with a
// thread, a depth and the robust states. The portable one detects a holder
// whose *process* died (kill(pid, 0), and the start time where /proc
// exists; without /proc a recycled pid passes for the dead holder until it
// exits too), when a waiter starts and each time a wait slice (2 s) ends;
// it cannot see a thread that exits holding it while its process
// lives (pthread's robust list can).
#pragma once

#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "core/backend.hpp"
#include "core/deadline.hpp"
#include "core/owner_lock.hpp"

namespace mp {

enum MutexType : uint32_t { kMutexNormal, kMutexErrorCheck, kMutexRecursive };

// The portable backend's robust mutex. All zero: unlocked, consistent.
struct PortableMutex {
  OwnerLock lock;                // the holding process
  std::atomic<uint32_t> thread;  // the holding thread's number in it
  uint32_t type;                 // MutexType
  uint32_t depth;                // levels held (recursive)
  std::atomic<uint32_t> state;   // MutexState in robust_mutex.cpp
};

struct RobustMutex {
#ifdef MP_HAVE_LINUX_MECHANISMS
  pthread_mutex_t pthread;  // the Linux backend's; the portable one overlays it
#else
  PortableMutex portable;
#endif
};
static_assert(sizeof(PortableMutex) <= sizeof(RobustMutex), "overlay");
static_assert(alignof(PortableMutex) <= alignof(RobustMutex), "overlay");

// Initialise *m in shared memory (zero-filled) as a mutex of the type.
void robust_mutex_init(RobustMutex *m, MutexType type);

// Lock *m before the deadline. Returns the pthread result: 0, EOWNERDEAD
// (held; the previous holder died: repair, then robust_mutex_consistent),
// ETIMEDOUT (also for a timeout of 0), EDEADLK (this thread holds it; the
// portable mutex says so for every type), ENOTRECOVERABLE (a holder died
// and the lock was released without repair).
//
// The Linux backend: a holder's death wakes a waiter at once (the kernel's
// robust list). A robust mutex can still lose a wake-up when processes
// die around it (an unlock wakes a waiter that is killed before it takes
// the lock while another process takes it). So a wait is a series of timed
// waits of 2 s, and such a loss costs a delay, never a hang. With a bound
// cancel token, glibc on Linux sleeps on the mutex's futex word and the
// token together; elsewhere a token is re-checked every 10 ms. The
// uncontended case is a single trylock: no clock, no system call, and
// (inline, below) no call into the library either.
inline int robust_mutex_lock(RobustMutex *m, const Deadline &deadline);

// Lock *m if that needs no wait: 0, EOWNERDEAD, EBUSY, ENOTRECOVERABLE.
int robust_mutex_trylock(RobustMutex *m);

// 0, or EPERM (not held by this thread).
inline int robust_mutex_unlock(RobustMutex *m);

// Mark *m repaired after EOWNERDEAD (held by this thread).
void robust_mutex_consistent(RobustMutex *m);

// The out-of-line halves of the two above: robust_mutex_lock after the
// Linux backend's trylock found *m held (every call under the portable
// backend), and the portable backend's unlock.
int robust_mutex_lock_busy(RobustMutex *m, const Deadline &deadline);
int robust_mutex_unlock_portable(RobustMutex *m);

inline int robust_mutex_lock(RobustMutex *m, const Deadline &deadline) {
#ifdef MP_HAVE_LINUX_MECHANISMS
  if (!portable_backend()) {
    int r = pthread_mutex_trylock(&m->pthread);
    if (r != EBUSY) return r;
  }
#endif
  return robust_mutex_lock_busy(m, deadline);
}

inline int robust_mutex_unlock(RobustMutex *m) {
#ifdef MP_HAVE_LINUX_MECHANISMS
  if (!portable_backend()) return pthread_mutex_unlock(&m->pthread);
#endif
  return robust_mutex_unlock_portable(m);
}

}  // namespace mp
