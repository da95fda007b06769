// LockWord: a robust, process-shared mutex with an owner and a depth, the
// core of mp_lock_t and of the lock inside an mp_value_t. The owner's death
// is reported to the next acquirer (EOWNERDEAD), never a deadlock.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/deadline.hpp"
#include "core/robust_mutex.hpp"

namespace mp {

struct LockWord {
  RobustMutex mutex;
  uint32_t recursive;
  std::atomic<uint32_t> depth;   // acquisitions not yet released
  std::atomic<int32_t> owner;    // thread id of the holder, 0 if free
};

void lock_init(LockWord &w, bool recursive);
// MP_OK, MP_EOWNERDEAD (held; the previous holder died), MP_ETIMEDOUT
// (also at once for a plain lock this thread holds, given a timeout),
// MP_ESTATE (a plain lock this thread already holds, no timeout).
int lock_acquire(LockWord &w, const Deadline &deadline);
// MP_OK or MP_ESTATE (not held by this thread).
int lock_release(LockWord &w);
bool lock_is_locked(const LockWord &w);
bool lock_held_by_me(const LockWord &w);

// For a condition's wait: release every level this thread holds (returning
// how many) and take them back.
int lock_release_all(LockWord &w, uint32_t *levels);
int lock_reacquire(LockWord &w, uint32_t levels);

}  // namespace mp
