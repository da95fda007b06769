#include "core/robust_mutex.hpp"

#include <time.h>
#ifdef MP_HAVE_LINUX_MECHANISMS
#include <linux/futex.h>
#endif

#include <atomic>
#include <cerrno>

#include "core/backend.hpp"
#include "core/futex.hpp"
#include "core/spin.hpp"

namespace mp {
namespace {

// ---- The portable backend's mutex (robust_mutex.hpp). ----

enum MutexState : uint32_t { kConsistent, kInconsistent, kNotRecoverable };

// How often a blocked waiter checks that the holder's process lives: each
// check is a wake-up, a kill() and a read of /proc (50 to 100 us on a
// loaded 2-core VM), so 2 s (the Linux backend's slice too) keeps an idle
// waiter near 0.04 ms of CPU per second (1 s measured 0.06 to 0.11: over
// the 0.1 bound), and a dead holder is found within 2 s.
constexpr int64_t kPortableSliceMs = 2000;

PortableMutex &portable(RobustMutex *m) { return *reinterpret_cast<PortableMutex *>(m); }

// Thread numbers within this process; a holder is (process_token(), number).
std::atomic<uint32_t> g_threads{0};
__attribute__((tls_model("initial-exec"))) thread_local uint32_t t_number = 0;

uint32_t thread_number() {
  if (!t_number) t_number = g_threads.fetch_add(1, std::memory_order_relaxed) + 1;
  return t_number;
}

bool held_by_me(const PortableMutex &p) {
  return p.lock.owner.load(std::memory_order_acquire) == process_token() &&
         p.thread.load(std::memory_order_relaxed) == thread_number();
}

void give_back(PortableMutex &p) {
  p.thread.store(0, std::memory_order_relaxed);
  p.depth = 0;
  owner_lock_release(p.lock);
}

// The lock was just taken (how: MP_OK or MP_EOWNERDEAD): record the thread
// and answer as pthread would.
int took(PortableMutex &p, int how) {
  p.thread.store(thread_number(), std::memory_order_relaxed);
  p.depth = 1;
  if (how == MP_EOWNERDEAD) {
    p.state.store(kInconsistent, std::memory_order_relaxed);
    return EOWNERDEAD;
  }
  if (p.state.load(std::memory_order_relaxed) == kNotRecoverable) {
    give_back(p);
    return ENOTRECOVERABLE;
  }
  return 0;
}

int portable_trylock(PortableMutex &p) {
  if (held_by_me(p)) {
    if (p.type != kMutexRecursive) return EBUSY;
    ++p.depth;
    return 0;
  }
  if (p.state.load(std::memory_order_relaxed) == kNotRecoverable) return ENOTRECOVERABLE;
  uint64_t me = process_token(), cur = 0;
  if (p.lock.owner.compare_exchange_strong(cur, me, std::memory_order_acq_rel))
    return took(p, MP_OK);
  if (cur != me && !process_alive(cur) &&
      p.lock.owner.compare_exchange_strong(cur, me, std::memory_order_acq_rel))
    return took(p, MP_EOWNERDEAD);
  return EBUSY;
}

int portable_lock(PortableMutex &p, const Deadline &deadline) {
  if (held_by_me(p)) {
    if (p.type != kMutexRecursive) return EDEADLK;  // pthread's NORMAL would hang
    ++p.depth;
    return 0;
  }
  if (p.state.load(std::memory_order_relaxed) == kNotRecoverable) return ENOTRECOVERABLE;
  if (deadline.nonblocking()) {
    int r = portable_trylock(p);
    return r == EBUSY ? ETIMEDOUT : r;
  }
  int r = owner_lock_acquire(p.lock, deadline, kPortableSliceMs);
  return r == MP_ETIMEDOUT ? ETIMEDOUT : took(p, r);
}

int portable_unlock(PortableMutex &p) {
  if (!held_by_me(p)) return EPERM;
  if (p.depth > 1) {
    --p.depth;
    return 0;
  }
  if (p.state.load(std::memory_order_relaxed) == kInconsistent)
    p.state.store(kNotRecoverable, std::memory_order_relaxed);
  give_back(p);
  return 0;
}

void portable_consistent(PortableMutex &p) {
  if (held_by_me(p)) p.state.store(kConsistent, std::memory_order_relaxed);
}

// ---- The Linux backend's: a robust process-shared pthread mutex. ----
#ifdef MP_HAVE_LINUX_MECHANISMS

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

void pthread_init(pthread_mutex_t *m, MutexType type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutexattr_settype(&attr, type == kMutexRecursive    ? PTHREAD_MUTEX_RECURSIVE
                                   : type == kMutexErrorCheck ? PTHREAD_MUTEX_ERRORCHECK
                                                              : PTHREAD_MUTEX_NORMAL);
  pthread_mutex_init(m, &attr);
  pthread_mutexattr_destroy(&attr);
}

// Whether the mutex looks held, without writing to it: glibc's trylock of
// a robust mutex is a compare-and-swap even when it fails, and a spinner
// that swaps takes the holder's cache line away on every try. Only the
// holder's thread id counts: a word the kernel left as FUTEX_OWNER_DIED
// goes to the trylock at once, which reports the dead owner.
bool looks_held(pthread_mutex_t *m) {
#if defined(__GLIBC__) && defined(__linux__)
  return (__atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) & FUTEX_TID_MASK) != 0;
#else
  (void)m;
  return false;
#endif
}

// Try again for a few microseconds before sleeping. A holder of these
// mutexes (locks, values, the dict's and the queue's stream) holds them
// for a short copy or a counter, so the mutex is usually free again well
// before a futex sleep and wake-up (several microseconds each) would end;
// glibc's robust mutexes never spin. Capped by time (core/spin.hpp): a
// preempted holder is not waited out on the CPU it needs.
constexpr uint64_t kLockSpinNs = 4000;

bool spin_trylock(pthread_mutex_t *m, int *r) {
  return spin_for(kLockSpinNs, [&] {
    if (looks_held(m)) return false;
    *r = pthread_mutex_trylock(m);
    return *r != EBUSY;
  });
}

// After a trylock found *m held (robust_mutex_lock in the header).
int pthread_lock_busy(pthread_mutex_t *m, const Deadline &deadline) {
  if (deadline.expired()) return ETIMEDOUT;
  int r;
  if (spin_trylock(m, &r)) return r;
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

#endif  // MP_HAVE_LINUX_MECHANISMS

}  // namespace

void robust_mutex_init(RobustMutex *m, MutexType type) {
#ifdef MP_HAVE_LINUX_MECHANISMS
  if (!portable_backend()) return pthread_init(&m->pthread, type);
#endif
  portable(m).type = type;
}

int robust_mutex_lock_busy(RobustMutex *m, const Deadline &deadline) {
#ifdef MP_HAVE_LINUX_MECHANISMS
  if (!portable_backend()) return pthread_lock_busy(&m->pthread, deadline);
#endif
  return portable_lock(portable(m), deadline);
}

int robust_mutex_trylock(RobustMutex *m) {
#ifdef MP_HAVE_LINUX_MECHANISMS
  if (!portable_backend()) return pthread_mutex_trylock(&m->pthread);
#endif
  return portable_trylock(portable(m));
}

int robust_mutex_unlock_portable(RobustMutex *m) { return portable_unlock(portable(m)); }

void robust_mutex_consistent(RobustMutex *m) {
#ifdef MP_HAVE_LINUX_MECHANISMS
  if (!portable_backend()) {
    pthread_mutex_consistent(&m->pthread);
    return;
  }
#endif
  portable_consistent(portable(m));
}

}  // namespace mp
