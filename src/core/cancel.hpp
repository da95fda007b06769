// Cancel tokens (mp_cancel_t): a thread binds one, and every Deadline made
// on that thread carries it, so each wait of a blocking call can be woken
// by mp_cancel_fire() from another thread. A fired token makes a wait end
// as if its timeout had expired; the C API edge (guarded()) then reports
// MP_ECANCELED instead of MP_ETIMEDOUT.
//
// How each kind of wait is woken:
// - futex waits: futex_waitv on the waited word and the token's `fired`
//   word together (no lost wake-up); kernels without futex_waitv re-check
//   the token every kFallbackSliceMs.
// - poll() waits: the token's eventfd is one more descriptor in the set.
// - condition variables: the waiter registers (mutex, cv); fire() notifies
//   it while holding that mutex, so the notification cannot slip between
//   the waiter's check and its sleep.
// - process-shared robust mutexes cannot be woken: their timed waits are
//   cut into kSliceMs pieces when a token is bound.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

struct mp_cancel {
  std::atomic<uint32_t> fired{0};  // also a futex word: 1 once fired
  int efd = -1;                    // eventfd, readable once fired
  std::mutex mu;                   // guards the registered waiter below
  std::mutex *cv_mutex = nullptr;
  std::condition_variable *cv = nullptr;
};

namespace mp {

// Re-check interval of waits that cannot be woken directly.
constexpr int64_t kCancelSliceMs = 10;

// The token bound to the calling thread, or nullptr.
mp_cancel *bound_cancel();

// Bind c (or nullptr) to the calling thread; returns the previous binding.
mp_cancel *bind_cancel(mp_cancel *c);

// Set the token and wake whatever wait it is registered with.
void fire_cancel(mp_cancel *c);

// Clear the token (and drain its eventfd).
void reset_cancel(mp_cancel *c);

inline bool cancel_fired(const mp_cancel *c) {
  return c && c->fired.load(std::memory_order_acquire) != 0;
}

// Registers a condition-variable wait with a token for its lifetime. Make
// it while holding cv_mutex, before checking the condition.
class CancelCvScope {
 public:
  CancelCvScope(mp_cancel *c, std::mutex *cv_mutex, std::condition_variable *cv);
  ~CancelCvScope();
  CancelCvScope(const CancelCvScope &) = delete;
  CancelCvScope &operator=(const CancelCvScope &) = delete;

 private:
  mp_cancel *c_;
};

}  // namespace mp
