#include "core/robust_mutex.hpp"

#include <time.h>

#include <cerrno>

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
