// The portable backend's wait and wake on a 32-bit word (the contract of
// core/futex.hpp without futexes, issue 18): a parking lot of slots, each a
// process-shared unnamed POSIX semaphore a waiter sleeps on alone.
//
// Why slots of one waiter each, and not buckets of waiters on a shared
// semaphore: a semaphore's post goes to any of its sleepers, so a waiter of
// another word in the same bucket (or one that woke, re-checked and went
// back to sleep) could take the post meant for another, and that one would
// sleep on: a lost wake-up. With a slot per waiter a wake posts to each
// slot parked on its word, and nobody can take another's post.
//
// Where the slots are: every shared mapping made by ipc/shm.cpp carries a
// ParkArea at its end (63 slots in 4 KiB); a word inside a registered
// mapping parks in that mapping's area and is named there by its offset,
// which is the same in every process. Words in no mapping (a condition
// variable of one process, a cancel token) park in a process-local lot.
//
// The crash guarantees: a waiter that dies leaves its slot claimed. Wakers
// still post to it (once: the `posted` flag), which wakes nobody else and
// costs nothing more; when a mapping's slots run out, a new waiter reclaims
// the slots of dead processes (kill(pid, 0) answers ESRCH; a recycled pid
// keeps its slot until the mapping goes, the documented limit). Nothing is
// held while asleep, so a dead waiter never blocks a waker. pthread_cond in
// shared memory is not used: glibc's broadcast can wait for ever for a
// waiter that was killed.
//
// Waiting costs no CPU: a sleeper is in sem_wait/sem_timedwait until a post
// or its deadline. When every slot is taken by live waiters, a waiter
// sleeps in kCancelSliceMs slices instead (correct, not free).
//
// Cancel tokens: a waiter publishes its slot's semaphore in its token's
// `parked` array, and fire_cancel posts to it (sem_post is
// async-signal-safe; nothing here takes a lock on that path).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/deadline.hpp"

namespace mp {

// Bytes a shared mapping reserves at its end for its parking area (a
// multiple of 64, so an area put after data rounded up to 64 is aligned).
size_t park_area_size();

// Set up the area at the end of a fresh, zero-filled shared mapping whose
// user data are data_size bytes. MP_OK, or MP_ESYS when the system has
// no process-shared semaphores (sem_init fails: macOS).
int park_area_init(void *area, uint64_t data_size);

// Whether area is a parking area (a mapping of the portable backend); sets
// *data_size to its user data size then.
bool park_area_valid(const void *area, uint64_t *data_size);

// Words in [base, base + bytes) park in area (inside that range); called
// by ipc/shm.cpp when it maps and unmaps.
void park_register(const void *base, size_t bytes, void *area);
void park_unregister(const void *base);

// futex_wait, futex_wait_any, futex_wake of the portable backend.
int park_wait(std::atomic<uint32_t> *word, uint32_t expected, const Deadline &deadline);
int park_wait_any(std::atomic<uint32_t> *const *words, const uint32_t *values, size_t n,
                  const Deadline &deadline);
void park_wake(std::atomic<uint32_t> *word);

// Wake the waits parked with token c (c->fired already set).
// Async-signal-safe.
void park_fire_cancel(mp_cancel *c);

}  // namespace mp
