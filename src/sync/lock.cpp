#include "sync/lock.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.hpp"
#include "core/robust_mutex.hpp"

namespace mp {

__thread int32_t detail::t_tid = 0;

namespace {
void forget_tid_after_fork() { detail::t_tid = 0; }
const int g_tid_atfork = pthread_atfork(nullptr, nullptr, forget_tid_after_fork);
}  // namespace

int32_t detail::fetch_tid() {
  t_tid = int32_t(syscall(SYS_gettid));
  return t_tid;
}

void lock_init(LockWord &w, bool recursive) {
  // Error-checking: a plain lock taken twice by its owner is an error, not
  // a deadlock, and only the owner can release.
  robust_mutex_init(&w.mutex, recursive ? kMutexRecursive : kMutexErrorCheck);
  w.recursive = recursive ? 1 : 0;
}

// robust_mutex_lock's answer when it was not 0 (lock_acquire).
int detail::lock_acquire_rest(LockWord &w, const Deadline &deadline, int r) {
  if (r == ETIMEDOUT) return fail(MP_ETIMEDOUT, "acquire: timed out");
  // A plain lock held by this thread: with a timeout the answer is "not
  // acquired", as for any busy lock (Python's acquire(False) is False), and
  // at once, since only this thread could release it; without one it is an
  // error, where Python would wait for ever.
  if (r == EDEADLK && !deadline.forever())
    return fail(MP_ETIMEDOUT, "acquire: the lock is held (by this thread)");
  if (r == EDEADLK) return fail(MP_ESTATE, "acquire: this thread already holds the lock");
  if (r == ENOTRECOVERABLE)
    return fail(MP_ESTATE, "acquire: the lock is unrecoverable (a holder died and "
                "the lock was released without repair)");
  if (r != EOWNERDEAD) return fail_errno("pthread_mutex_lock", "lock", r);
  robust_mutex_consistent(&w.mutex);
  w.depth.store(1, std::memory_order_relaxed);  // the dead holder's levels are gone
  w.owner.store(my_tid(), std::memory_order_relaxed);
  return fail(MP_EOWNERDEAD, "acquire: the previous holder died holding the lock");
}

int detail::lock_release_failed(int r) {
  if (r == EPERM) return fail(MP_ESTATE, "release: this thread does not hold the lock");
  return fail_errno("pthread_mutex_unlock", "lock", r);
}

bool lock_is_locked(const LockWord &w) {
  return w.depth.load(std::memory_order_relaxed) > 0;
}

bool lock_held_by_me(const LockWord &w) {
  return w.owner.load(std::memory_order_relaxed) == my_tid() &&
         w.depth.load(std::memory_order_relaxed) > 0;
}

int lock_release_all(LockWord &w, uint32_t *levels) {
  if (!lock_held_by_me(w)) return fail(MP_ESTATE, "wait: this thread does not hold the lock");
  *levels = w.depth.load(std::memory_order_relaxed);
  for (uint32_t i = 0; i < *levels; ++i) {
    int r = lock_release(w);
    if (r != MP_OK) return r;
  }
  return MP_OK;
}

int lock_reacquire(LockWord &w, uint32_t levels) {
  int result = MP_OK;
  for (uint32_t i = 0; i < levels; ++i) {
    int r = lock_acquire(w, Deadline::uncancelable(MP_FOREVER));
    if (r == MP_EOWNERDEAD) {
      result = r;
    } else if (r != MP_OK) {
      return r;
    }
    if (!w.recursive) break;
  }
  return result;
}

}  // namespace mp
