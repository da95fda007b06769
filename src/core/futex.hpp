// Futex-based waiting on a 32-bit word in shared memory (an eventcount):
// read the word, re-check the condition, wait while the word is unchanged.
// Waiters that die leave nothing behind, unlike pthread_cond in shared memory.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/deadline.hpp"

namespace mp {

// Wait while *word == expected, up to the deadline. Returns MP_OK on a wake
// or a changed word (callers re-check their condition), MP_ETIMEDOUT.
int futex_wait(std::atomic<uint32_t> *word, uint32_t expected, const Deadline &deadline);

// The most words futex_wait_any takes (futex_waitv's limit, less the
// cancel token's word).
constexpr size_t kFutexWaitAnyMax = 127;

// Wait while every words[i] == values[i] (n from 1 to kFutexWaitAnyMax),
// up to the deadline; its cancel token wakes it too. One futex_waitv; on
// kernels without it the first word is waited for in kCancelSliceMs
// slices. MP_OK (re-check: woken, changed, a slice ended) or MP_ETIMEDOUT.
int futex_wait_any(std::atomic<uint32_t> *const *words, const uint32_t *values, size_t n,
                   const Deadline &deadline);

// Wake up to n waiters (any process) on word.
void futex_wake(std::atomic<uint32_t> *word, int n);

}  // namespace mp
