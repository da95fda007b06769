// Cancel tokens (mp_cancel_t): a thread binds one, and every Deadline made
// on that thread carries it, so each wait of a blocking call can be woken
// by mp_cancel_fire() from another thread. A fired token makes a wait end
// as if its timeout had expired; the C API edge (guarded()) then reports
// MP_ECANCELED instead of MP_ETIMEDOUT.
//
// How each kind of wait is woken:
// - futex waits: futex_waitv on the waited word and the token's `fired`
//   word together (no lost wake-up); kernels without futex_waitv re-check
//   the token every kFallbackSliceMs. The portable backend's waits sleep
//   on a semaphore they publish in the token (core/park.hpp); a fire posts
//   to it (sem_post is async-signal-safe).
// - poll() waits: the token's eventfd is one more descriptor in the set.
// - condition variables (core/cond_var.hpp): futex-based, so their waits
//   sleep on the token's `fired` word too, like the futex waits.
// - process-shared robust mutexes cannot be woken: their timed waits are
//   cut into kSliceMs pieces when a token is bound.
//
// So firing is an atomic store, a futex wake and an eventfd write: no lock,
// no allocation, errno kept. It is async-signal-safe and may run on any
// thread, also inside a signal handler on a thread that holds a library
// lock (Ruby calls it from its signal handler, on whatever thread the
// signal landed). Nothing may ever be added to it that waits for a lock.
#pragma once

#include <atomic>
#include <cstdint>

struct mp_cancel {
  std::atomic<uint32_t> fired{0};  // also a futex word: 1 once fired
  int efd = -1;                    // eventfd, readable once fired
  // The portable backend (core/park.hpp): the semaphores of the waits
  // parked with this token, which a fire posts to, and how many fires are
  // posting right now (a waiter leaving its slot waits for them to finish).
  static constexpr int kParked = 4;
  std::atomic<void *> parked[kParked] = {};
  std::atomic<uint32_t> firing{0};
};

namespace mp {

// Re-check interval of waits that cannot be woken directly.
constexpr int64_t kCancelSliceMs = 10;

namespace detail {
// __thread, not thread_local: no wrapper call for an extern read;
// initial-exec: no __tls_get_addr call (read on every Deadline).
extern __thread mp_cancel *t_bound_cancel __attribute__((tls_model("initial-exec")));
}  // namespace detail

// The token bound to the calling thread, or nullptr.
inline mp_cancel *bound_cancel() { return detail::t_bound_cancel; }

// Bind c (or nullptr) to the calling thread; returns the previous binding.
mp_cancel *bind_cancel(mp_cancel *c);

// Set the token and wake the wait of the thread it is bound to.
// Async-signal-safe (see the top of this file).
void fire_cancel(mp_cancel *c);

// Clear the token (and drain its eventfd).
void reset_cancel(mp_cancel *c);

inline bool cancel_fired(const mp_cancel *c) {
  return c && c->fired.load(std::memory_order_acquire) != 0;
}

}  // namespace mp
