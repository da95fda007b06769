// Futex-based waiting on a 32-bit word in shared memory (an eventcount):
// read the word, re-check the condition, wait while the word is unchanged.
// Waiters that die leave nothing behind, unlike pthread_cond in shared memory.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/deadline.hpp"

namespace mp {

// Wait while *word == expected, up to the deadline. Returns MP_OK on a wake
// or a changed word (callers re-check their condition), MP_ETIMEDOUT.
int futex_wait(std::atomic<uint32_t> *word, uint32_t expected, const Deadline &deadline);

// Wake up to n waiters (any process) on word.
void futex_wake(std::atomic<uint32_t> *word, int n);

}  // namespace mp
