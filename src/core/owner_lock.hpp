// A lock in shared memory owned by a *process* (pid and start time), not a
// thread: any thread of the owner may release it, and it can be held
// across calls. A waiter that finds the owner dead takes the lock over and
// is told so. Used where a robust pthread mutex's per-thread ownership does
// not fit (a queue consumer holding a half-received message between gets).
#pragma once

#include <atomic>
#include <cstdint>

#include "core/deadline.hpp"
#include "multiproc.h"

namespace mp {

struct OwnerLock {
  std::atomic<uint64_t> owner;  // 0: free; else process_token() of the holder
  std::atomic<uint32_t> seq;    // bumped on release; waiters sleep on it
  std::atomic<uint32_t> waiters;
};

namespace detail {
extern std::atomic<uint64_t> g_token;  // 0 until computed (and after fork)
uint64_t compute_token();
int owner_lock_acquire_busy(OwnerLock &l, const Deadline &deadline, int64_t check_ms,
                            uint64_t me);
void owner_lock_release_wake(OwnerLock &l);
}  // namespace detail

// This process's identity: pid and start time, so a recycled pid never
// passes for the dead owner.
inline uint64_t process_token() {
  uint64_t t = detail::g_token.load(std::memory_order_relaxed);
  return t ? t : detail::compute_token();
}

// Whether the process of a process_token() still lives: kill(pid, 0), and
// where /proc exists its start time (elsewhere a recycled pid passes for
// the dead process).
bool process_alive(uint64_t token);

// How often a blocked waiter checks that the owner still lives, by default.
constexpr int64_t kLivenessCheckMs = 100;

// MP_OK, MP_EOWNERDEAD (taken over from a dead owner), MP_ETIMEDOUT. The
// owner's liveness is checked when the wait starts and whenever a wait of
// check_ms ends without a release.
//
// Inline, as the release: a queue put or get takes and releases a lock
// once, and the common case is one compare-and-swap (out of line: the
// spin, the sleep, a dead owner).
inline int owner_lock_acquire(OwnerLock &l, const Deadline &deadline,
                              int64_t check_ms = kLivenessCheckMs) {
  uint64_t me = process_token(), free = 0;
  if (l.owner.compare_exchange_strong(free, me, std::memory_order_acquire)) return MP_OK;
  return detail::owner_lock_acquire_busy(l, deadline, check_ms, me);
}

// Ends with a seq_cst fence after the release store: a caller's stores
// before the release are ordered before its loads after it (the queue's
// index store and its check for sleeping peers rely on that).
//
// Wake one sleeper, and only when a sleeper armed seq since the last wake:
// a woken waiter stays counted until it runs, and on a loaded machine that
// is long enough for thousands of releases, each of which would otherwise
// make a futex_wake call. The wake clears the bit and moves the word; the
// woken waiter arms it again for those still asleep (a hand-off, not a
// herd of every sleeper racing for one lock). A waiter that dies between
// its wake and re-arming leaves the others to their liveness slice
// (check_ms), at worst once; a bit left by a dead or timed-out waiter
// costs one needless wake.
//
// The release store and a seq_cst fence, not a seq_cst store: the fence
// orders both this lock's waiter check and the caller's wake-up checks
// after it (the queue's index stores before it), one barrier for both.
inline void owner_lock_release(OwnerLock &l) {
  l.owner.store(0, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (l.waiters.load(std::memory_order_seq_cst) == 0) return;  // nobody sleeps: no syscall
  detail::owner_lock_release_wake(l);
}

}  // namespace mp
