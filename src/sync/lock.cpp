#include "sync/lock.hpp"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.hpp"

namespace mp {
namespace {

// The calling thread's id, cached; a forked child's thread has a new one.
// initial-exec: no __tls_get_addr call on every acquire and release.
__attribute__((tls_model("initial-exec"))) thread_local int32_t t_tid = 0;
void forget_tid_after_fork() { t_tid = 0; }
const int g_tid_atfork = pthread_atfork(nullptr, nullptr, forget_tid_after_fork);

int32_t my_tid() {
  if (!t_tid) t_tid = int32_t(syscall(SYS_gettid));
  return t_tid;
}

timespec abs_monotonic(const Deadline &deadline) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t ms = deadline.remaining_ms();
  ts.tv_sec += time_t(ms / 1000);
  ts.tv_nsec += long(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec += 1;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

// A robust mutex can lose a wake-up when processes die around it (an
// unlock wakes a waiter that is then killed, and the next holder dies too:
// the kernel marks the owner dead but wakes nobody). So a wait without a
// deadline is a series of short timed waits, and such a loss costs a delay,
// never a hang.
constexpr int64_t kRobustSliceMs = 50;

int lock_mutex(pthread_mutex_t *m, const Deadline &deadline) {
  int r = pthread_mutex_trylock(m);  // the uncontended case: no clock, no syscall
  if (r != EBUSY || (!deadline.forever() && deadline.remaining_ms() == 0)) return r;
  for (;;) {
    int64_t left = deadline.remaining_ms();
    bool last = !deadline.forever() && left <= kRobustSliceMs;
    timespec ts = abs_monotonic(Deadline(last ? left : kRobustSliceMs));
    r = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts);
    if (r != ETIMEDOUT || last) return r;
  }
}

}  // namespace

void lock_init(LockWord &w, bool recursive) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  // Error-checking: a plain lock taken twice by its owner is an error, not
  // a deadlock, and only the owner can release.
  pthread_mutexattr_settype(&attr, recursive ? PTHREAD_MUTEX_RECURSIVE
                                             : PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&w.mutex, &attr);
  pthread_mutexattr_destroy(&attr);
  w.recursive = recursive ? 1 : 0;
}

int lock_acquire(LockWord &w, const Deadline &deadline) {
  int r;
  do {
    r = lock_mutex(&w.mutex, deadline);
  } while (r == EINTR);
  if (r == EBUSY || r == ETIMEDOUT) return fail(MP_ETIMEDOUT, "acquire: timed out");
  if (r == EDEADLK) return fail(MP_ESTATE, "acquire: this thread already holds the lock");
  if (r == ENOTRECOVERABLE)
    return fail(MP_ESTATE, "acquire: the lock is unrecoverable (a holder died and "
                "the lock was released without repair)");
  bool died = r == EOWNERDEAD;
  if (r != 0 && !died) return fail_errno("pthread_mutex_lock", "lock", r);
  if (died) {
    pthread_mutex_consistent(&w.mutex);
    w.depth.store(0, std::memory_order_relaxed);  // the dead holder's levels
  }
  // depth and owner change only under the mutex: plain stores suffice.
  w.depth.store(w.depth.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  w.owner.store(my_tid(), std::memory_order_relaxed);
  if (died) return fail(MP_EOWNERDEAD, "acquire: the previous holder died holding the lock");
  return MP_OK;
}

int lock_release(LockWord &w) {
  if (w.owner.load(std::memory_order_relaxed) != my_tid())
    return fail(MP_ESTATE, "release: this thread does not hold the lock");
  uint32_t depth = w.depth.load(std::memory_order_relaxed) - 1;
  w.depth.store(depth, std::memory_order_relaxed);
  if (depth == 0) w.owner.store(0, std::memory_order_relaxed);
  int r = pthread_mutex_unlock(&w.mutex);
  if (r == EPERM) return fail(MP_ESTATE, "release: this thread does not hold the lock");
  if (r != 0) return fail_errno("pthread_mutex_unlock", "lock", r);
  return MP_OK;
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
    int r = lock_acquire(w, Deadline(MP_FOREVER));
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
