// A lock in shared memory owned by a *process* (pid and start time), not a
// thread: any thread of the owner may release it, and it can be held
// across calls. A waiter that finds the owner dead takes the lock over and
// is told so. Used where a robust pthread mutex's per-thread ownership does
// not fit (a queue consumer holding a half-received message between gets).
#pragma once

#include <atomic>
#include <cstdint>

#include "core/deadline.hpp"

namespace mp {

struct OwnerLock {
  std::atomic<uint64_t> owner;  // 0: free; else process_token() of the holder
  std::atomic<uint32_t> seq;    // bumped on release; waiters sleep on it
  std::atomic<uint32_t> waiters;
};

// This process's identity: pid and start time, so a recycled pid never
// passes for the dead owner.
uint64_t process_token();

// Whether the process of a process_token() still lives: kill(pid, 0), and
// where /proc exists its start time (elsewhere a recycled pid passes for
// the dead process).
bool process_alive(uint64_t token);

// How often a blocked waiter checks that the owner still lives, by default.
constexpr int64_t kLivenessCheckMs = 100;

// MP_OK, MP_EOWNERDEAD (taken over from a dead owner), MP_ETIMEDOUT. The
// owner's liveness is checked when the wait starts and whenever a wait of
// check_ms ends without a release.
int owner_lock_acquire(OwnerLock &l, const Deadline &deadline,
                       int64_t check_ms = kLivenessCheckMs);
// Ends with a seq_cst fence after the release store: a caller's stores
// before the release are ordered before its loads after it (the queue's
// index store and its check for sleeping peers rely on that).
void owner_lock_release(OwnerLock &l);

}  // namespace mp
