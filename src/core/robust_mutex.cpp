#include "core/robust_mutex.hpp"

#include <time.h>

#include <cerrno>

namespace mp {
namespace {

constexpr int64_t kSliceMs = 50;

timespec monotonic_after(int64_t ms) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
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
    timespec ts = monotonic_after(last ? left : slice);
    do {
      r = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts);
    } while (r == EINTR);
    if (r != ETIMEDOUT || last) return r;
  }
}

}  // namespace mp
