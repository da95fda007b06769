#include "core/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

namespace mp {

int futex_wait(std::atomic<uint32_t> *word, uint32_t expected, const Deadline &deadline) {
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "futex word");
  timespec ts, *tsp = nullptr;
  if (!deadline.forever()) {
    int64_t left = deadline.remaining_ms();
    if (left <= 0) return MP_ETIMEDOUT;
    ts.tv_sec = time_t(left / 1000);
    ts.tv_nsec = long(left % 1000) * 1000000L;
    tsp = &ts;
  }
  // Not FUTEX_PRIVATE: the word lives in memory shared between processes.
  long r = syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAIT, expected,
                   tsp, nullptr, 0);
  if (r == 0 || errno == EAGAIN || errno == EINTR) return MP_OK;
  if (errno == ETIMEDOUT) return MP_ETIMEDOUT;
  return MP_OK;  // anything else: let the caller re-check
}

void futex_wake(std::atomic<uint32_t> *word, int n) {
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAKE, n < 0 ? INT_MAX : n,
          nullptr, nullptr, 0);
}

}  // namespace mp
