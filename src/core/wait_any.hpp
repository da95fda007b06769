// Sleeping on descriptors and futex words at once (mp_wait): poll() for
// the descriptors, futex_waitv for the words, and for a mix the futex wait
// on a helper thread that wakes the poll() through an eventfd. Nothing
// here polls in a loop: each call sleeps until something may have changed.
#pragma once

#include <poll.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "core/deadline.hpp"

namespace mp {

struct WaitSet {
  std::vector<pollfd> fds;                     // readable (POLLIN) wanted
  std::vector<std::atomic<uint32_t> *> words;  // sleep while each equals its value
  std::vector<uint32_t> values;
};

// Sleep until a descriptor of set is readable (or hung up), a word differs
// from its value, the deadline passes or its cancel token fires. Fills the
// fds' revents when it returns MP_OK. Returns MP_OK (re-check everything:
// spurious wake-ups happen), MP_ETIMEDOUT, or MP_ESYS (the mixed wait had
// no descriptor or thread left).
int wait_any(WaitSet &set, const Deadline &deadline);

}  // namespace mp
