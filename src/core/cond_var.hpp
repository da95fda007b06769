// A condition variable for the threads of one process whose waits a cancel
// token can end from any thread or signal handler (core/cancel.hpp).
//
// It is an eventcount: every notify bumps a futex word; a waiter reads the
// word while holding its mutex, releases the mutex and sleeps while the word
// is unchanged. futex_wait() also sleeps on the token's `fired` word, so a
// fire needs no lock and no registration of the waiter: a notify or a fire
// that comes after the waiter's read changes a word it sleeps on, and none
// is lost. std::condition_variable could only be woken by notifying it under
// its mutex, and a token fired from a signal handler on a thread that held
// that mutex waited for it for ever (issue 22).
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>
#include <mutex>

#include "core/deadline.hpp"
#include "core/futex.hpp"

namespace mp {

class CondVar {
 public:
  void notify_all() { bump(INT_MAX); }
  void notify_one() { bump(1); }

  // Sleep until notified, the deadline passes or its token fires; may also
  // return spuriously. lock is released while asleep and held on return.
  void wait(std::unique_lock<std::mutex> &lock, const Deadline &deadline) {
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    uint32_t seen = seq_.load(std::memory_order_seq_cst);
    lock.unlock();
    futex_wait(&seq_, seen, deadline);
    lock.lock();
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
  }

  // Wait, with no timeout and no token, until pred() holds.
  template <class Pred>
  void wait(std::unique_lock<std::mutex> &lock, Pred pred) {
    const Deadline forever = Deadline::uncancelable(MP_FOREVER);
    while (!pred()) wait(lock, forever);
  }

 private:
  // seq_cst on both sides: either the notifier sees the sleeper counted, or
  // the sleeper read the bumped word and does not sleep.
  void bump(int n) {
    seq_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) != 0) futex_wake(&seq_, n);
  }

  std::atomic<uint32_t> seq_{0};       // the futex word, bumped by each notify
  std::atomic<uint32_t> sleepers_{0};  // waiters between their read and return
};

// Wait on cv (lock held) until pred() holds. Returns true then, false once
// the deadline has expired or its cancel token fired (which wakes the wait).
template <class Pred>
bool wait_cv(CondVar &cv, std::unique_lock<std::mutex> &lock, const Deadline &deadline,
             Pred pred) {
  while (!pred()) {
    if (deadline.expired()) return false;
    cv.wait(lock, deadline);
  }
  return true;
}

}  // namespace mp
