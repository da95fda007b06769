// Deadlines on the monotonic clock, for turning a timeout_ms budget into
// the remaining wait of each step of a blocking call.
#pragma once

#include <cstdint>
#include <ctime>

#include "core/cancel.hpp"
#include "multiproc.h"

namespace mp {

inline int64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// A timeout is valid when it is MP_FOREVER or >= 0.
inline bool timeout_valid(int64_t timeout_ms) {
  return timeout_ms == MP_FOREVER || timeout_ms >= 0;
}

// A deadline also carries the cancel token bound to the thread that made
// it (core/cancel.hpp): once the token fires, the deadline has expired.
class Deadline {
 public:
  explicit Deadline(int64_t timeout_ms)
      : forever_(timeout_ms == MP_FOREVER),
        nonblocking_(timeout_ms == 0),
        // A try (timeout 0) has expired at once: no clock read, which
        // every non-blocking put/get/acquire would otherwise pay.
        at_(forever_ || nonblocking_ ? 0 : now_ms() + timeout_ms),
        cancel_(bound_cancel()) {}

  // A deadline no cancel token can cut short, for internal waits that must
  // finish (re-taking a condition's lock, bookkeeping locks, reaping).
  static Deadline uncancelable(int64_t timeout_ms) {
    Deadline d(timeout_ms);
    d.cancel_ = nullptr;
    return d;
  }

  // A deadline at most ms from now and never after this one, with the same
  // cancel token: one slice of a wait that re-checks something between.
  Deadline within(int64_t ms) const {
    int64_t left = remaining_ms();
    Deadline d(left == MP_FOREVER || left > ms ? ms : left);
    d.cancel_ = cancel_;
    d.nonblocking_ = nonblocking_;
    return d;
  }

  bool forever() const { return forever_; }
  // The caller asked not to wait at all (timeout 0): "empty" or "full" is
  // then the answer, where a timeout that ran out is MP_ETIMEDOUT.
  bool nonblocking() const { return nonblocking_; }
  bool canceled() const { return cancel_fired(cancel_); }
  bool expired() const {
    return nonblocking_ || canceled() || (!forever_ && now_ms() >= at_);
  }
  mp_cancel *cancel() const { return cancel_; }
  // The token's eventfd for a poll() set, or -1 (which poll() ignores).
  int cancel_fd() const { return cancel_ ? cancel_->efd : -1; }

  // Milliseconds left, or -1 for forever; clamped to int for poll().
  int poll_ms() const {
    if (nonblocking_ || canceled()) return 0;
    if (forever_) return -1;
    int64_t left = at_ - now_ms();
    if (left <= 0) return 0;
    return left > 0x7fffffff ? 0x7fffffff : int(left);
  }

  int64_t remaining_ms() const {
    if (nonblocking_ || canceled()) return 0;
    if (forever_) return MP_FOREVER;
    int64_t left = at_ - now_ms();
    return left < 0 ? 0 : left;
  }

 private:
  bool forever_;
  bool nonblocking_;
  int64_t at_;
  mp_cancel *cancel_;
};

}  // namespace mp
