/* The clock of the tests, the soak and the helper program (no CMocka
 * here: soak-test and mp-test-helper do not link it; testutil.h includes
 * this for the CMocka tests). */
#ifndef MP_TESTCLOCK_H
#define MP_TESTCLOCK_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds of the monotonic clock. */
static inline int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep ms milliseconds, the whole time even when a signal interrupts. */
static inline void sleep_ms(int64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

#endif
