// futex.hpp's waits: Linux futexes (futex_waitv for several words), or in
// the portable backend (core/backend.hpp) the parking lot of core/park.hpp.
// A port with a native address wait (macOS os_sync_wait_on_address,
// FreeBSD _umtx_op UMTX_OP_WAIT_UINT) would add a third branch here.
#include "core/futex.hpp"

#include "core/backend.hpp"
#include "core/park.hpp"

#ifdef MP_HAVE_LINUX_MECHANISMS
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <ctime>
#endif

namespace mp {

#ifdef MP_HAVE_LINUX_MECHANISMS
namespace {

#ifndef FUTEX_32
#define FUTEX_32 2
#endif

timespec relative(int64_t ms) {
  timespec ts;
  ts.tv_sec = time_t(ms / 1000);
  ts.tv_nsec = long(ms % 1000) * 1000000L;
  return ts;
}

// errno of a futex call → MP_OK (re-check) or MP_ETIMEDOUT.
int futex_result(long r) {
  if (r >= 0 || errno != ETIMEDOUT) return MP_OK;  // woken, changed, EINTR: re-check
  return MP_ETIMEDOUT;
}

// Not FUTEX_PRIVATE: the word lives in memory shared between processes.
long plain_wait(std::atomic<uint32_t> *word, uint32_t expected, int64_t timeout_ms) {
  timespec ts, *tsp = nullptr;
  if (timeout_ms != MP_FOREVER) {
    ts = relative(timeout_ms);
    tsp = &ts;
  }
  return syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAIT, expected, tsp,
                 nullptr, 0);
}

// The kernel lacks futex_waitv (before 5.16). MULTIPROC_DISABLE_FUTEX_WAITV=1
// forces the fallback (to test it on new kernels).
bool g_no_waitv = getenv("MULTIPROC_DISABLE_FUTEX_WAITV") != nullptr;

#ifdef SYS_futex_waitv
// futex_waitv on n words until timeout_ms (MP_FOREVER: no limit). Returns
// what the call returns; -1 with ENOSYS on a kernel without it.
long waitv(futex_waitv *w, size_t n, int64_t timeout_ms) {
  if (g_no_waitv) {
    errno = ENOSYS;
    return -1;
  }
  timespec at, *atp = nullptr;
  if (timeout_ms != MP_FOREVER) {
    clock_gettime(CLOCK_MONOTONIC, &at);
    at.tv_sec += time_t(timeout_ms / 1000);
    at.tv_nsec += long(timeout_ms % 1000) * 1000000L;
    if (at.tv_nsec >= 1000000000L) {
      at.tv_sec += 1;
      at.tv_nsec -= 1000000000L;
    }
    atp = &at;
  }
  long r = syscall(SYS_futex_waitv, w, n, 0, atp, CLOCK_MONOTONIC);
  if (r < 0 && errno == ENOSYS) g_no_waitv = true;
  return r;
}

void set_waitv(futex_waitv &w, std::atomic<uint32_t> *word, uint32_t expected) {
  w = futex_waitv{};
  w.val = expected;
  w.uaddr = reinterpret_cast<uintptr_t>(word);
  w.flags = FUTEX_32;
}
#endif

// Without futex_waitv: sleep on one word for at most a slice, and report
// the end of a slice as a wake-up so that the caller re-checks the rest.
long sliced_wait(std::atomic<uint32_t> *word, uint32_t expected, int64_t timeout_ms) {
  int64_t slice = timeout_ms == MP_FOREVER || timeout_ms > kCancelSliceMs ? kCancelSliceMs
                                                                          : timeout_ms;
  long r = plain_wait(word, expected, slice);
  if (r < 0 && errno == ETIMEDOUT && slice != timeout_ms) return 0;  // not the real timeout
  return r;
}

// Sleep on the word and the cancel token's word at once: a fire between our
// check of the token and the sleep changes `fired`, so it cannot be missed.
long wait_with_cancel(std::atomic<uint32_t> *word, uint32_t expected, mp_cancel *c,
                      int64_t timeout_ms) {
#ifdef SYS_futex_waitv
  futex_waitv w[2];
  set_waitv(w[0], word, expected);
  set_waitv(w[1], &c->fired, 0);
  long r = waitv(w, 2, timeout_ms);
  if (r >= 0 || errno != ENOSYS) return r;
#endif
  // Old kernel: wait in short slices and let the caller re-check the token.
  return sliced_wait(word, expected, timeout_ms);
}

int linux_wait(std::atomic<uint32_t> *word, uint32_t expected, const Deadline &deadline) {
  int64_t timeout_ms = deadline.remaining_ms();
  if (timeout_ms == 0) return MP_ETIMEDOUT;  // expired or canceled
  mp_cancel *c = deadline.cancel();
  long r = c ? wait_with_cancel(word, expected, c, timeout_ms)
             : plain_wait(word, expected, timeout_ms);
  if (deadline.canceled()) return MP_ETIMEDOUT;
  return futex_result(r);
}

int linux_wait_any(std::atomic<uint32_t> *const *words, const uint32_t *values, size_t n,
                   const Deadline &deadline) {
  int64_t timeout_ms = deadline.remaining_ms();
  if (timeout_ms == 0) return MP_ETIMEDOUT;  // expired or canceled
  mp_cancel *c = deadline.cancel();
  long r;
#ifdef SYS_futex_waitv
  futex_waitv w[kFutexWaitAnyMax + 1];
  size_t k = 0;
  for (; k < n && k < kFutexWaitAnyMax; ++k) set_waitv(w[k], words[k], values[k]);
  if (c) set_waitv(w[k++], &c->fired, 0);
  r = waitv(w, k, timeout_ms);
  if (r < 0 && errno == ENOSYS)
#endif
    // Old kernel: the first word (or the token's, in slices), the others
    // re-checked by the caller after each slice.
    r = n == 1 && c ? wait_with_cancel(words[0], values[0], c, timeout_ms)
                    : sliced_wait(words[0], values[0], timeout_ms);
  if (deadline.canceled()) return MP_ETIMEDOUT;
  return futex_result(r);
}

void linux_wake(std::atomic<uint32_t> *word, int n) {
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAKE, n < 0 ? INT_MAX : n,
          nullptr, nullptr, 0);
}

}  // namespace
#endif  // MP_HAVE_LINUX_MECHANISMS

int futex_wait(std::atomic<uint32_t> *word, uint32_t expected, const Deadline &deadline) {
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "futex word");
#ifdef MP_HAVE_LINUX_MECHANISMS
  if (!portable_backend()) return linux_wait(word, expected, deadline);
#endif
  return park_wait(word, expected, deadline);
}

int futex_wait_any(std::atomic<uint32_t> *const *words, const uint32_t *values, size_t n,
                   const Deadline &deadline) {
#ifdef MP_HAVE_LINUX_MECHANISMS
  if (!portable_backend()) return linux_wait_any(words, values, n, deadline);
#endif
  return park_wait_any(words, values, n, deadline);
}

// The portable backend wakes every waiter of the word (they re-check): n
// is a hint there, as futex(2) allows spurious wake-ups.
void futex_wake(std::atomic<uint32_t> *word, int n) {
#ifdef MP_HAVE_LINUX_MECHANISMS
  if (!portable_backend()) return linux_wake(word, n);
#endif
  (void)n;
  park_wake(word);
}

}  // namespace mp
