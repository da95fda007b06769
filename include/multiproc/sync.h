/**
 * @file
 * multiproc: locks, semaphores, events, conditions, barriers, shared memory, values. Part of <multiproc.h>; include that.
 */
#ifndef MULTIPROC_SYNC_H
#define MULTIPROC_SYNC_H

#include "multiproc/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Synchronisation shared between processes (Lock, RLock, Semaphore, Event,
 * Condition, Barrier)
 *
 * Each object lives in its own anonymous shared-memory object; hand it to a
 * child with mp_process_pass_fd(proc, mp_<type>_fileno(obj)) and open it
 * there with mp_<type>_from_fd(&obj, mp_child_fd(i)). The memory goes away
 * with the last process that holds it. None of them uses pthread_cond in
 * shared memory; waiting is on futexes, so a waiter that dies breaks
 * nothing.
 * ---------------------------------------------------------------------- */

/** A lock shared between processes (Lock, or RLock with MP_LOCK_RECURSIVE). */
typedef struct mp_lock mp_lock_t;

/** Flag of mp_lock_new(): the owner may acquire again (RLock). */
#define MP_LOCK_RECURSIVE 1

/**
 * Create a lock. Unlike Python's Lock it has an owner: when the owner dies
 * holding it (even SIGKILL), the next acquirer gets it with MP_EOWNERDEAD
 * instead of everyone waiting forever.
 *
 * @param flags  0 (Lock) or MP_LOCK_RECURSIVE (RLock).
 * Errors: MP_EINVAL, MP_ENOSPC, MP_ENOMEM, MP_ESYS. Since 0.1.
 */
MP_EXTERN int mp_lock_new(mp_lock_t **out, int flags);

/**
 * Open a lock from a descriptor received from another process; takes
 * ownership of fd. Errors: MP_EINVAL (not a multiproc lock), MP_EACCES
 * (another user's), MP_ENOTSUP (unknown layout version). Since 0.1.
 */
MP_EXTERN int mp_lock_from_fd(mp_lock_t **out, int fd);

/**
 * Open the lock (or RLock) published under the address's name by a broker
 * (mp_broker_publish()): mp_fd_open() then mp_lock_from_fd(). The lock (or RLock) is
 * the real shared object, used with no broker in the data path; it stays
 * usable when the broker ends.
 *
 * With "redis://[user\@]host[:port][/db]\#name" the lock (a plain Lock)
 * lives on that redis server, made when absent (a build with the meson
 * feature `redis`, otherwise MP_ENOTSUP naming the option): a lease with
 * a fencing token, decided by that one server (not Redlock). The holder
 * is a thread, as locally; while it holds, its process refreshes the
 * lease (MULTIPROC_REDIS_LEASE_MS, default 10000 ms) every third of it. A
 * holder that dies, or whose lease runs out (process stopped, cut off from
 * the server), is taken over by the next acquirer with MP_EOWNERDEAD, as
 * for a local lock; each hold gets a fence greater than every earlier one
 * (mp_lock_fence()), which a resource can check to refuse a late write
 * of a holder that lost its lease. Every mp_lock_* call works on the
 * handle ("On a redis server" in each call's documentation, and
 * docs/guide.md "Beyond one machine"); such a lock cannot back a
 * condition or a value (MP_EINVAL there), and mp_lock_fileno() is
 * MP_ENOTSUP. Keys: "mp:lock:{name}:state" (holder and fence),
 * "mp:lock:{name}:alive:<holder>" (the lease), channel
 * "mp:lock:{name}:notify". The password is never in the address (as for
 * mp_queue_open()). If the server's maxmemory-policy can evict keys, the
 * open succeeds and mp_last_error() holds a warning.
 *
 * @param[out] out   the lock (or RLock); free it as one made here.
 * @param address    "unix:/path\#name" or "unix:\@name\#name" (broker.h),
 *                   or "redis://host:port\#name".
 * @param timeout_ms for connecting and the reply; MP_FOREVER waits.
 * Errors: those of mp_fd_open(), plus those of mp_lock_from_fd(): MP_EINVAL
 * when the name holds another kind of object. On a redis server:
 * MP_ECONNREFUSED (nothing answers at host:port), MP_ETIMEDOUT (no answer
 * within timeout_ms), MP_EACCES (credentials refused or unreadable),
 * MP_EINVAL (the lock's keys hold something else, written by another
 * client), MP_EPIPE (the connection was lost), MP_ENOTSUP (no redis
 * backend in this build). Blocks up to timeout_ms. Since 0.4.
 */
MP_EXTERN int mp_lock_open(mp_lock_t **out, const char *address, int64_t timeout_ms);

/** The lock's descriptor (owned by the lock), or MP_EINVAL. On a redis
 * server: MP_ENOTSUP (there is none; a child opens the address). Since 0.1. */
MP_EXTERN int mp_lock_fileno(mp_lock_t *lock);

/**
 * Acquire the lock (acquire(timeout)); timeout_ms 0 is acquire(False).
 *
 * Returns: MP_OK, or MP_EOWNERDEAD: the lock is now held by the caller,
 * but its previous holder died while holding it, so the data it protects
 * may be half-updated; repair it, then go on (the lock stays usable).
 * Errors: MP_EINVAL, MP_ETIMEDOUT (not acquired in time; also, at once,
 * for a plain lock this thread holds when a timeout is given: Python's
 * acquire(False) returns False), MP_ESTATE (a plain lock already held by
 * this thread, timeout_ms MP_FOREVER: Python would deadlock).
 * Blocking: up to timeout_ms.
 * On a redis server: one round trip per try (timeout_ms 0: exactly one);
 * a waiting acquire sleeps until the lock's channel says it was released
 * or the holder's lease runs out (asking again at least every second).
 * MP_EOWNERDEAD when the previous holder died or its lease ran out while
 * it held the lock (it is taken over once the lease has expired: up to
 * MULTIPROC_REDIS_LEASE_MS after the death). A reply is waited for up to
 * 2 s beyond timeout_ms, and a cancel token ends the wait only between
 * round trips (a canceled acquire holds nothing). Further errors:
 * MP_ECONNREFUSED, MP_EPIPE (the connection was lost; a hold the lost try
 * may have taken is given back), MP_EACCES, MP_EINVAL (the lock's keys
 * hold something else). Since 0.1.
 */
MP_EXTERN int mp_lock_acquire(mp_lock_t *lock, int64_t timeout_ms);

/**
 * Release the lock (one level of a recursive lock).
 *
 * Errors: MP_EINVAL, MP_ESTATE (the caller does not hold it; note that
 * Python's plain Lock lets any process release it; a multiproc lock is
 * released by its owner only, which is what makes owner death detectable).
 * Never blocks.
 * On a redis server: one round trip (at most 30 s); MP_ESTATE also when
 * this thread's lease ran out and another holder took the lock over (the
 * work done under it may have overlapped that holder's: see
 * mp_lock_fence()); the errors of a round trip as mp_lock_acquire() (the
 * hold ends in any case: its lease is no longer refreshed). Since 0.1.
 */
MP_EXTERN int mp_lock_release(mp_lock_t *lock);

/** 1 if some thread of some process holds the lock, 0 if not, or an
 * error. Never blocks. On a redis server: one round trip (at most 30 s);
 * a holder that died counts until the next acquire, as locally. Since 0.1. */
MP_EXTERN int mp_lock_locked(mp_lock_t *lock);

/** Release this process's handle (not the lock); NULL does nothing. On a
 * redis server: a hold of this handle is not released but its lease is no
 * longer refreshed, so the next acquirer gets the lock with MP_EOWNERDEAD
 * once it expires (as when a local holder dies). Since 0.1. */
MP_EXTERN void mp_lock_free(mp_lock_t *lock);

/**
 * The fencing token of the calling thread's current hold of a lock on a
 * redis server: each acquisition gets a number greater than every earlier
 * one of that lock (from 1; restarting only if the lock's keys are
 * deleted or evicted). Pass it with each write to the resource the lock
 * protects; a resource that refuses a token lower than the highest it has
 * seen cannot be overwritten by a holder that lost its lease unawares.
 *
 * @param[out] out  the token; 0 on an error.
 * @param lock      a lock opened from a redis:// address.
 * Errors: MP_EINVAL (NULL out or lock), MP_ESTATE (this thread does not
 * hold the lock), MP_ENOTSUP (a local lock: its holder cannot lose it
 * while alive, so it has no token). Never blocks (no round trip).
 * Since 0.4.
 */
MP_EXTERN int mp_lock_fence(uint64_t *out, mp_lock_t *lock);

/** A counting semaphore shared between processes (Semaphore,
 * BoundedSemaphore). */
typedef struct mp_sem mp_sem_t;

/**
 * Create a semaphore with an initial value.
 *
 * @param value  the initial value.
 * @param max    0: unbounded (Semaphore); else the bound (BoundedSemaphore,
 *               value <= max), above which release is an error.
 * Errors: MP_EINVAL (value > max, value or max above INT32_MAX),
 * MP_ENOSPC, MP_ENOMEM, MP_ESYS. Since 0.1.
 */
MP_EXTERN int mp_sem_new(mp_sem_t **out, unsigned value, unsigned max);

/** Open a semaphore from a received descriptor (takes ownership); errors as
 * mp_lock_from_fd(). Since 0.1. */
MP_EXTERN int mp_sem_from_fd(mp_sem_t **out, int fd);

/**
 * Open the semaphore published under the address's name by a broker
 * (mp_broker_publish()): mp_fd_open() then mp_sem_from_fd(). The semaphore is
 * the real shared object, used with no broker in the data path; it stays
 * usable when the broker ends.
 *
 * @param[out] out   the semaphore; free it as one made here.
 * @param address    "unix:/path\#name" or "unix:\@name\#name" (broker.h).
 * @param timeout_ms for connecting and the reply; MP_FOREVER waits.
 * Errors: those of mp_fd_open(), plus those of mp_sem_from_fd(): MP_EINVAL
 * when the name holds another kind of object. Blocks up to timeout_ms.
 * Since 0.4.
 */
MP_EXTERN int mp_sem_open(mp_sem_t **out, const char *address, int64_t timeout_ms);

/** The semaphore's descriptor, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_sem_fileno(mp_sem_t *sem);

/**
 * Decrement the value, waiting while it is 0 (acquire).
 * Errors: MP_EINVAL, MP_ETIMEDOUT. Blocking: up to timeout_ms. Since 0.1.
 * A process that dies after acquiring does not release (as in Python).
 */
MP_EXTERN int mp_sem_acquire(mp_sem_t *sem, int64_t timeout_ms);

/**
 * Increment the value and wake one waiter (release).
 * Errors: MP_EINVAL, MP_ESTATE (a bounded semaphore already at its bound).
 * Never blocks. Since 0.1.
 */
MP_EXTERN int mp_sem_release(mp_sem_t *sem);

/** The current value (>= 0; a snapshot), or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_sem_value(mp_sem_t *sem);

/** Release this process's handle; NULL does nothing. Since 0.1. */
MP_EXTERN void mp_sem_free(mp_sem_t *sem);

/** An event flag shared between processes (Event). */
typedef struct mp_event mp_event_t;

/** Create an event, initially clear. Errors: MP_EINVAL, MP_ENOSPC,
 * MP_ENOMEM, MP_ESYS. Since 0.1. */
MP_EXTERN int mp_event_new(mp_event_t **out);

/** Open an event from a received descriptor (takes ownership); errors as
 * mp_lock_from_fd(). Since 0.1. */
MP_EXTERN int mp_event_from_fd(mp_event_t **out, int fd);

/**
 * Open the event published under the address's name by a broker
 * (mp_broker_publish()): mp_fd_open() then mp_event_from_fd(). The event is
 * the real shared object, used with no broker in the data path; it stays
 * usable when the broker ends.
 *
 * @param[out] out   the event; free it as one made here.
 * @param address    "unix:/path\#name" or "unix:\@name\#name" (broker.h).
 * @param timeout_ms for connecting and the reply; MP_FOREVER waits.
 * Errors: those of mp_fd_open(), plus those of mp_event_from_fd(): MP_EINVAL
 * when the name holds another kind of object. Blocks up to timeout_ms.
 * Since 0.4.
 */
MP_EXTERN int mp_event_open(mp_event_t **out, const char *address, int64_t timeout_ms);

/** The event's descriptor, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_event_fileno(mp_event_t *event);

/** Set the flag and wake every waiter in every process. Errors: MP_EINVAL.
 * Never blocks. Since 0.1. */
MP_EXTERN int mp_event_set(mp_event_t *event);

/** Clear the flag. Errors: MP_EINVAL. Never blocks. Since 0.1. */
MP_EXTERN int mp_event_clear(mp_event_t *event);

/** 1 if the flag is set, 0 if not, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_event_is_set(mp_event_t *event);

/**
 * Wait until the flag is set (wait(timeout)).
 * Returns: MP_OK when set; MP_ETIMEDOUT. Errors: MP_EINVAL.
 * Blocking: up to timeout_ms. Since 0.1.
 */
MP_EXTERN int mp_event_wait(mp_event_t *event, int64_t timeout_ms);

/** Release this process's handle; NULL does nothing. Since 0.1. */
MP_EXTERN void mp_event_free(mp_event_t *event);

/** A condition variable shared between processes, bound to an mp_lock_t
 * (Condition). */
typedef struct mp_cond mp_cond_t;

/**
 * Create a condition bound to lock (Condition(lock)).
 *
 * @param lock  borrowed: it must outlive the condition. Every process
 *              that opens the condition binds it to its own handle on the
 *              same lock (mp_cond_from_fd()).
 * Errors: MP_EINVAL, MP_ENOSPC, MP_ENOMEM, MP_ESYS. Since 0.1.
 */
MP_EXTERN int mp_cond_new(mp_cond_t **out, mp_lock_t *lock);

/** Open a condition from a received descriptor (takes ownership), bound to
 * this process's handle on the same lock; errors as mp_lock_from_fd().
 * Since 0.1. */
MP_EXTERN int mp_cond_from_fd(mp_cond_t **out, int fd, mp_lock_t *lock);

/**
 * Open the condition published under the address's name by a broker
 * (mp_broker_publish()): mp_fd_open() then mp_cond_from_fd(). The condition is
 * the real shared object, used with no broker in the data path; it stays
 * usable when the broker ends.
 *
 * @param[out] out   the condition; free it as one made here.
 * @param address    "unix:/path\#name" or "unix:\@name\#name" (broker.h).
 * @param lock       borrowed: this process's handle on the condition's
 *                   lock (opened with mp_lock_open()); it must outlive
 *                   the condition.
 * @param timeout_ms for connecting and the reply; MP_FOREVER waits.
 * Errors: those of mp_fd_open(), plus those of mp_cond_from_fd(): MP_EINVAL
 * when the name holds another kind of object. Blocks up to timeout_ms.
 * Since 0.4.
 */
MP_EXTERN int mp_cond_open(mp_cond_t **out, const char *address, mp_lock_t *lock, int64_t timeout_ms);

/** The condition's descriptor, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_cond_fileno(mp_cond_t *cond);

/**
 * Release the lock, wait for a notification, and acquire the lock again
 * before returning, whatever the outcome (wait(timeout)). The caller must
 * hold the lock (once, for a recursive lock).
 *
 * Returns: MP_OK when notified (a notification made while this caller
 * waited and given to it: a signal interrupting the wait, or another
 * waiter's notification, never counts); MP_ETIMEDOUT; MP_EOWNERDEAD when,
 * while re-acquiring, the lock's holder was found dead (the caller holds
 * it).
 * Errors: MP_EINVAL, MP_ESTATE (the caller does not hold the lock).
 * A waiter that dies breaks nothing. Blocking: up to timeout_ms (plus the
 * time to re-acquire the lock). Since 0.1.
 */
MP_EXTERN int mp_cond_wait(mp_cond_t *cond, int64_t timeout_ms);

/** A predicate of mp_cond_wait_for(): non-zero when the awaited state holds. */
typedef int (*mp_cond_pred_fn)(void *payload);

/**
 * Wait until pred(payload) is non-zero (wait_for(predicate, timeout)): the
 * predicate is called with the lock held, first before any wait, then
 * after each mp_cond_wait() until it holds or timeout_ms (for the whole
 * call) has passed, and once more after the timeout, as Python does. The
 * caller must hold the lock, and holds it when this returns.
 *
 * @param pred     called on this thread only, with the lock held.
 * @param payload  passed to pred (libgit2's convention: last).
 * Returns: MP_OK when the predicate held; MP_ETIMEDOUT when it was still
 * false at the end (Python returns its false value); MP_EOWNERDEAD as
 * mp_cond_wait(), returned at once without calling pred again (the data
 * may be half-updated: repair it, then wait again).
 * Errors: MP_EINVAL (NULL cond or pred, bad timeout), MP_ESTATE (the caller
 * does not hold the lock), MP_ECANCELED (the bound cancel token fired).
 * Blocking: up to timeout_ms. Since 0.2.
 */
MP_EXTERN int mp_cond_wait_for(mp_cond_t *cond, mp_cond_pred_fn pred, void *payload,
                               int64_t timeout_ms);

/**
 * Wake up to n waiters (notify(n)); the caller must hold the lock. Each
 * waiter that had no notification yet gets one, up to n of them. After a
 * waiter was killed inside mp_cond_wait(), a notification given to it may
 * later let one more waiter than asked return MP_OK: as with Python, wait
 * in a loop on your predicate (Python's wait_for).
 * Errors: MP_EINVAL, MP_ESTATE (the caller does not hold the lock).
 * Never blocks. Since 0.1.
 */
MP_EXTERN int mp_cond_notify(mp_cond_t *cond, int n);

/** Wake every waiter (notify_all); as mp_cond_notify(). Since 0.1. */
MP_EXTERN int mp_cond_notify_all(mp_cond_t *cond);

/** Release this process's handle; NULL does nothing. Since 0.1. */
MP_EXTERN void mp_cond_free(mp_cond_t *cond);

/** A barrier shared between processes (Barrier). */
typedef struct mp_barrier mp_barrier_t;

/** Create a barrier for `parties` (>= 1) waiters. Errors: MP_EINVAL,
 * MP_ENOSPC, MP_ENOMEM, MP_ESYS. Since 0.1. */
MP_EXTERN int mp_barrier_new(mp_barrier_t **out, unsigned parties);

/**
 * A barrier's action (Barrier(action=)): run by the last party to arrive
 * in a round, before any waiter of the round is released. Returns 0 for
 * success; any other value breaks the barrier.
 */
typedef int (*mp_barrier_action_fn)(void *payload);

/**
 * Create a barrier with an action and a default timeout
 * (Barrier(parties, action, timeout)).
 *
 * The action: a function pointer means nothing in another process, so it
 * belongs to this handle; every process that opens the barrier gives its
 * own handle the same action with mp_barrier_set_action() (Python gives
 * each process the pickled callable). When a round's last party arrives,
 * it runs its handle's action with the barrier's bookkeeping lock held
 * (as Python holds the barrier's condition lock): the other parties stay
 * waiting until it returns, and timing out meanwhile waits for it. If it
 * returns non-zero, the barrier breaks: that party's mp_barrier_wait()
 * returns MP_ETASKFAILED and the others MP_ESTATE. A last party whose
 * process set no action on a barrier that has one also breaks it
 * (MP_ESTATE), rather than skipping the action silently. The action must
 * not wait on, abort or reset its own barrier (Python would deadlock).
 *
 * @param action      NULL: none.
 * @param payload     passed to action (libgit2's convention: last but one).
 * @param timeout_ms  the default timeout, stored in the barrier (shared by
 *                    every process): mp_barrier_wait() with MP_FOREVER
 *                    (Python's timeout=None) waits at most this long;
 *                    MP_FOREVER: no default.
 * Errors: MP_EINVAL, MP_ENOSPC, MP_ENOMEM, MP_ESYS. Since 0.2.
 */
MP_EXTERN int mp_barrier_new2(mp_barrier_t **out, unsigned parties, mp_barrier_action_fn action,
                              void *payload, int64_t timeout_ms);

/**
 * Give this process's handle the barrier's action (see mp_barrier_new2()),
 * typically after mp_barrier_from_fd(); replaces an action set before.
 * From then on every process must have set it before it may arrive last.
 * Errors: MP_EINVAL (NULL barrier or action). Never blocks. Since 0.2.
 */
MP_EXTERN int mp_barrier_set_action(mp_barrier_t *barrier, mp_barrier_action_fn action,
                                    void *payload);

/** Open a barrier from a received descriptor (takes ownership); errors as
 * mp_lock_from_fd(). Since 0.1. */
MP_EXTERN int mp_barrier_from_fd(mp_barrier_t **out, int fd);

/**
 * Open the barrier published under the address's name by a broker
 * (mp_broker_publish()): mp_fd_open() then mp_barrier_from_fd(). The barrier is
 * the real shared object, used with no broker in the data path; it stays
 * usable when the broker ends.
 *
 * @param[out] out   the barrier; free it as one made here.
 * @param address    "unix:/path\#name" or "unix:\@name\#name" (broker.h).
 * @param timeout_ms for connecting and the reply; MP_FOREVER waits.
 * Errors: those of mp_fd_open(), plus those of mp_barrier_from_fd(): MP_EINVAL
 * when the name holds another kind of object. Blocks up to timeout_ms.
 * Since 0.4.
 */
MP_EXTERN int mp_barrier_open(mp_barrier_t **out, const char *address, int64_t timeout_ms);

/** The barrier's descriptor, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_barrier_fileno(mp_barrier_t *barrier);

/**
 * Wait until `parties` callers have arrived (wait(timeout)). MP_FOREVER
 * means the barrier's default timeout if mp_barrier_new2() gave one.
 *
 * Returns: the arrival index, 0 to parties-1, different for each caller of
 * one round; or an error: MP_EINVAL, MP_ETASKFAILED (this caller ran the
 * barrier's action, which failed: the barrier is now broken),
 * MP_ETIMEDOUT (this caller timed out;
 * as in Python the barrier is now broken for everyone), MP_ESTATE (the
 * barrier is broken: aborted, or another waiter timed out; every waiter
 * gets it until mp_barrier_reset()), MP_ECANCELED (the cancel token bound
 * to this thread fired: unlike a timeout this breaks nothing; the caller's
 * arrival stands, and this thread's next mp_barrier_wait() on the same
 * barrier goes on waiting for that round, returning at once if it passed
 * meanwhile; to give up instead, call mp_barrier_abort(), which breaks the
 * barrier as a timeout would).
 * Blocking: up to timeout_ms. Since 0.1.
 */
MP_EXTERN int mp_barrier_wait(mp_barrier_t *barrier, int64_t timeout_ms);

/** Break the barrier: current and future waiters get MP_ESTATE (abort).
 * Errors: MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_barrier_abort(mp_barrier_t *barrier);

/** Return a barrier to its initial state; current waiters get MP_ESTATE
 * (reset). Errors: MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_barrier_reset(mp_barrier_t *barrier);

/** The number of parties, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_barrier_parties(mp_barrier_t *barrier);

/** The number of callers waiting now, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_barrier_n_waiting(mp_barrier_t *barrier);

/** 1 if the barrier is broken, 0 if not, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_barrier_broken(mp_barrier_t *barrier);

/** Release this process's handle; NULL does nothing. Since 0.1. */
MP_EXTERN void mp_barrier_free(mp_barrier_t *barrier);

#ifdef __cplusplus
}
#endif

/* Shared memory and values (they may use a lock declared above). */
#include "multiproc/shared.h"

#endif /* MULTIPROC_SYNC_H */
