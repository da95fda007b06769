// Deadlines on the monotonic clock, for turning a timeout_ms budget into
// the remaining wait of each step of a blocking call.
#pragma once

#include <cstdint>
#include <ctime>

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

class Deadline {
 public:
  explicit Deadline(int64_t timeout_ms)
      : forever_(timeout_ms == MP_FOREVER),
        at_(forever_ ? 0 : now_ms() + timeout_ms) {}

  bool forever() const { return forever_; }
  bool expired() const { return !forever_ && now_ms() >= at_; }

  // Milliseconds left, or -1 for forever; clamped to int for poll().
  int poll_ms() const {
    if (forever_) return -1;
    int64_t left = at_ - now_ms();
    if (left <= 0) return 0;
    return left > 0x7fffffff ? 0x7fffffff : int(left);
  }

  int64_t remaining_ms() const {
    if (forever_) return MP_FOREVER;
    int64_t left = at_ - now_ms();
    return left < 0 ? 0 : left;
  }

 private:
  bool forever_;
  int64_t at_;
};

}  // namespace mp
