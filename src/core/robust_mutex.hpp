// Robust, process-shared pthread mutexes: one way to create them and one way
// to wait for them, used by locks, values, queue streams and the dict.
#pragma once

#include <pthread.h>

#include "core/deadline.hpp"

namespace mp {

// Initialise *m in shared memory: robust and process-shared, of the given
// pthread type (PTHREAD_MUTEX_NORMAL, _ERRORCHECK or _RECURSIVE).
void robust_mutex_init(pthread_mutex_t *m, int type);

// Lock *m before the deadline. Returns the pthread result: 0, EOWNERDEAD
// (held; the previous holder died), ETIMEDOUT (also for a timeout of 0),
// EDEADLK, ENOTRECOVERABLE, ...
//
// A holder's death wakes a waiter at once (the kernel's robust list). A
// robust mutex can still lose a wake-up when processes die around it (an
// unlock wakes a waiter that is killed before it takes the lock while
// another process takes it). So a wait is a series of timed waits of 2 s,
// and such a loss costs a delay, never a hang. With a bound cancel token,
// glibc on Linux sleeps on the mutex's futex word and the token together;
// elsewhere a token is re-checked every 10 ms. The uncontended case is a
// single trylock: no clock, no system call.
int robust_mutex_lock(pthread_mutex_t *m, const Deadline &deadline);

}  // namespace mp
