#include "core/robust_mutex.hpp"

#include <time.h>
#ifdef __linux__
#include <linux/futex.h>
#endif

#include <atomic>
#include <cerrno>

#include "core/futex.hpp"

namespace mp {
namespace {

// The holder's death needs no polling: the kernel walks a dying thread's
// robust list, marks the mutex FUTEX_OWNER_DIED and wakes a waiter, and
// (since the 2020 fix "futex: Prevent robust futex exit race", in stable
// kernels too) also wakes one when a waiter it had just woken dies before
// taking the lock, as glibc marks that waiter's list_op_pending. What
// it cannot see is a woken waiter killed after a third process took the
// lock without the FUTEX_WAITERS bit: the other sleepers then miss the
// next unlock. Waking every 2 s bounds that rare loss to a delay while an
// idle waiter stays at ~0.03 ms of CPU per second (20 wake-ups per second,
// the former 50 ms slices, cost ~1 ms/s: tests/bench idle_waiter_cpu).
constexpr int64_t kSliceMs = 2000;

// ThreadSanitizer (GCC 12's and clang 14's) has no interceptor for
// pthread_mutex_clocklock: a mutex taken with it looks free to TSan, and
// every access it protects a race. TSan builds wait in the same slices with
// pthread_mutex_timedlock on CLOCK_REALTIME, which TSan intercepts (a
// wall-clock jump only stretches or shortens one slice). clang 14 does not
// define __SANITIZE_THREAD__; it answers __has_feature(thread_sanitizer).
#if defined(__SANITIZE_THREAD__)
#define MP_TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MP_TSAN_BUILD 1
#endif
#endif

#ifdef MP_TSAN_BUILD
constexpr clockid_t kLockClock = CLOCK_REALTIME;
#else
constexpr clockid_t kLockClock = CLOCK_MONOTONIC;
#endif

timespec clock_after(int64_t ms) {
  timespec ts;
  clock_gettime(kLockClock, &ts);
  ts.tv_sec += time_t(ms / 1000);
  ts.tv_nsec += long(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec += 1;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

#if defined(__GLIBC__) && defined(__linux__)
#define MP_LOCK_WORD_WAIT 1
// A wait a bound cancel token can cut short without polling: sleep on the
// mutex's own futex word and the token's word at once (futex_wait with a
// token is a futex_waitv). The word of a robust mutex is the kernel's
// robust-futex word (owner TID | FUTEX_WAITERS | FUTEX_OWNER_DIED), which
// the kernel itself rewrites when an owner dies; setting FUTEX_WAITERS, as
// glibc's own waiters do, makes the holder's unlock, or the kernel at the
// holder's death, wake a sleeper. A waiter that gets the lock sets the bit
// on its own word too, so that its unlock wakes the sleepers left behind
// (glibc's waiters do the same, assuming contention after a wait).
int lock_cancelable(pthread_mutex_t *m, const Deadline &deadline) {
  auto *word = reinterpret_cast<std::atomic<uint32_t> *>(&m->__data.__lock);
  for (;;) {
    int r = pthread_mutex_trylock(m);
    if (r != EBUSY) {
      if (r == 0 || r == EOWNERDEAD) word->fetch_or(FUTEX_WAITERS);
      return r;
    }
    if (deadline.expired()) return ETIMEDOUT;
    uint32_t v = word->load();
    if ((v & FUTEX_TID_MASK) == 0) continue;  // released (or its owner died) meanwhile
    if (!(v & FUTEX_WAITERS) && !word->compare_exchange_strong(v, v | FUTEX_WAITERS))
      continue;
    futex_wait(word, v | FUTEX_WAITERS, deadline.within(kSliceMs));
  }
}
#endif

}  // namespace

void robust_mutex_init(pthread_mutex_t *m, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutexattr_settype(&attr, type);
  pthread_mutex_init(m, &attr);
  pthread_mutexattr_destroy(&attr);
}

int robust_mutex_lock(pthread_mutex_t *m, const Deadline &deadline) {
  int r = pthread_mutex_trylock(m);
  if (r != EBUSY) return r;
  if (deadline.expired()) return ETIMEDOUT;
#ifdef MP_LOCK_WORD_WAIT
  if (deadline.cancel()) return lock_cancelable(m, deadline);
#endif
  // A bound cancel token cannot wake a mutex wait: re-check it more often.
  int64_t slice = deadline.cancel() ? kCancelSliceMs : kSliceMs;
  for (;;) {
    if (deadline.canceled()) return ETIMEDOUT;
    int64_t left = deadline.remaining_ms();
    bool last = !deadline.forever() && left <= slice;
    timespec ts = clock_after(last ? left : slice);
    do {
#ifdef MP_TSAN_BUILD
      r = pthread_mutex_timedlock(m, &ts);
#else
      r = pthread_mutex_clocklock(m, kLockClock, &ts);
#endif
    } while (r == EINTR);
    if (r != ETIMEDOUT || last) return r;
  }
}

}  // namespace mp
