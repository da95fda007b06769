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
 * @param[out] out   the lock (or RLock); free it as one made here.
 * @param address    "unix:/path\#name" or "unix:\@name\#name" (broker.h).
 * @param timeout_ms for connecting and the reply; MP_FOREVER waits.
 * Errors: those of mp_fd_open(), plus those of mp_lock_from_fd(): MP_EINVAL
 * when the name holds another kind of object. Blocks up to timeout_ms.
 * Since 0.4.
 */
MP_EXTERN int mp_lock_open(mp_lock_t **out, const char *address, int64_t timeout_ms);

/** The lock's descriptor (owned by the lock), or MP_EINVAL. Since 0.1. */
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
 * Blocking: up to timeout_ms. Since 0.1.
 */
MP_EXTERN int mp_lock_acquire(mp_lock_t *lock, int64_t timeout_ms);

/**
 * Release the lock (one level of a recursive lock).
 *
 * Errors: MP_EINVAL, MP_ESTATE (the caller does not hold it; note that
 * Python's plain Lock lets any process release it; a multiproc lock is
 * released by its owner only, which is what makes owner death detectable).
 * Never blocks. Since 0.1.
 */
MP_EXTERN int mp_lock_release(mp_lock_t *lock);

/** 1 if some thread of some process holds the lock, 0 if not, or an
 * error. Never blocks. Since 0.1. */
MP_EXTERN int mp_lock_locked(mp_lock_t *lock);

/** Release this process's handle (not the lock); NULL does nothing. Since 0.1. */
MP_EXTERN void mp_lock_free(mp_lock_t *lock);

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

/* ------------------------------------------------------------------------
 * Shared memory (shared_memory.SharedMemory, Value, Array)
 * ---------------------------------------------------------------------- */

/** A block of bytes shared between the processes it is passed to. */
typedef struct mp_shm mp_shm_t;

/**
 * Create a zero-filled block of size bytes (> 0). The memory is allocated
 * at once, so a full /dev/shm is MP_ENOSPC here, not a SIGBUS later.
 * Errors: MP_EINVAL, MP_ENOSPC, MP_ENOMEM, MP_ESYS. Since 0.1.
 */
MP_EXTERN int mp_shm_new(mp_shm_t **out, size_t size);

/** Open a block from a received descriptor (takes ownership); errors as
 * mp_lock_from_fd(). Since 0.1. */
MP_EXTERN int mp_shm_from_fd(mp_shm_t **out, int fd);

/**
 * Open the shared memory block published under the address's name by a broker
 * (mp_broker_publish()): mp_fd_open() then mp_shm_from_fd(). The shared memory block is
 * the real shared object, used with no broker in the data path; it stays
 * usable when the broker ends.
 *
 * @param[out] out   the shared memory block; free it as one made here.
 * @param address    "unix:/path\#name" or "unix:\@name\#name" (broker.h).
 * @param timeout_ms for connecting and the reply; MP_FOREVER waits.
 * Errors: those of mp_fd_open(), plus those of mp_shm_from_fd(): MP_EINVAL
 * when the name holds another kind of object. Blocks up to timeout_ms.
 * Since 0.4.
 */
MP_EXTERN int mp_shm_open(mp_shm_t **out, const char *address, int64_t timeout_ms);

/** The block's descriptor, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_shm_fileno(mp_shm_t *shm);

/** The block's address in this process, valid until mp_shm_free(); NULL
 * for a bad handle. Since 0.1. */
MP_EXTERN void *mp_shm_data(mp_shm_t *shm);

/**
 * The block's size in bytes.
 * @param[out] out  the size; 0 on an error.
 * Errors: MP_EINVAL (NULL out, NULL or not a live handle). Never blocks.
 * Since 0.3.
 */
MP_EXTERN int mp_shm_size2(size_t *out, mp_shm_t *shm);

/** Deprecated since 0.3: use mp_shm_size2(), which reports a bad handle as
 * MP_EINVAL (the getter rule of docs/style.md). The block's size in bytes
 * (0 for a bad handle). Since 0.1. */
MP_EXTERN size_t mp_shm_size(mp_shm_t *shm);

/** Unmap the block in this process; other processes keep it; NULL does
 * nothing. Since 0.1. */
MP_EXTERN void mp_shm_free(mp_shm_t *shm);

/** A typed value or array in shared memory (Value, Array). */
typedef struct mp_value mp_value_t;

/**
 * Element types of mp_value_new(). The integer types are read and written
 * with the _i64 accessors (mp_value_add_i64() wraps around within the
 * type, as ctypes does), MP_TYPE_FLOAT with the _f64 ones (a double is
 * rounded to float on the way in).
 */
typedef enum mp_type {
  MP_TYPE_INT32 = 1,  /**< int32_t, Python's 'i' */
  MP_TYPE_INT64 = 2,  /**< int64_t, Python's 'q' */
  MP_TYPE_UINT64 = 3, /**< uint64_t, Python's 'Q' */
  MP_TYPE_DOUBLE = 4, /**< double, Python's 'd' */
  MP_TYPE_BYTES = 5,  /**< bytes, Python's 'c' array: a byte string */
  MP_TYPE_INT16 = 6,  /**< int16_t, Python's 'h'. Since 0.2. */
  MP_TYPE_UINT16 = 7, /**< uint16_t, Python's 'H'. Since 0.2. */
  MP_TYPE_INT8 = 8,   /**< int8_t, Python's 'b'. Since 0.2. */
  MP_TYPE_UINT8 = 9,  /**< uint8_t, Python's 'B'. Since 0.2. */
  /** one byte per element, Python's 'c' Value (a single char; an element
   * reads as 0-255). For a byte string use MP_TYPE_BYTES. Since 0.2. */
  MP_TYPE_CHAR = 10,
  MP_TYPE_FLOAT = 11, /**< float, Python's 'f'. Since 0.2. */
  /** bool, Python's '?' (ctypes' c_bool): one byte, 0 or 1, read and
   * written with mp_value_get_bool()/mp_value_set_bool(). Since 0.4. */
  MP_TYPE_BOOL = 12,
  /** The type mp_value_type() reports for records (mp_value_new_record());
   * not an argument of mp_value_new(). Since 0.4. */
  MP_TYPE_RECORD = 13
} mp_type_t;

/** Flag of mp_value_new(): with a lock (lock=True), for compound updates
 * with mp_value_acquire()/mp_value_release(). */
#define MP_VALUE_LOCK 1

/**
 * Create `count` zero-initialised elements of `type` (count 1: a Value;
 * more: an Array; for MP_TYPE_BYTES, count is the byte capacity).
 * Errors: MP_EINVAL (unknown type or flags, count 0 or too large),
 * MP_ENOSPC, MP_ENOMEM, MP_ESYS. Since 0.1.
 */
MP_EXTERN int mp_value_new(mp_value_t **out, mp_type_t type, size_t count, int flags);

/**
 * Create `count` zero-initialised records of numbers: Python's
 * Array(Point, n) with Point a ctypes Structure (count 1: Value(Point)).
 *
 * A record's fields are `fields`, one Python typecode per field in order:
 * 'b' int8, 'B' uint8, 'h' int16, 'H' uint16, 'i' int32, 'q' int64,
 * 'Q' uint64, 'f' float, 'd' double, 'c' char, '?' bool; 1 to 32 fields.
 * They lie as a C compiler and ctypes lay out the struct of these members
 * (natural alignment): each field at the next offset that is a multiple of
 * its size, the record padded to a multiple of its largest field. So
 * `struct point { double x, y; }` is the record "dd", and
 * mp_value_get_record() copies a record into such a struct. Fields are
 * read and written with mp_value_get_field_i64()/_f64() and their setters,
 * each field atomically; a whole record under the value's lock.
 *
 * @param[out] out  the records; free with mp_value_free().
 * @param fields    the typecodes, e.g. "dd" for Point(x, y).
 * @param count     the number of records (> 0).
 * @param flags     0 or MP_VALUE_LOCK (lock=True).
 * Errors: MP_EINVAL (NULL out or fields, an unknown typecode, no field or
 * more than 32, count 0 or too large, unknown flags), MP_ENOSPC, MP_ENOMEM,
 * MP_ESYS. Never blocks. Since 0.4.
 */
MP_EXTERN int mp_value_new_record(mp_value_t **out, const char *fields, size_t count, int flags);

/**
 * Create a value or array guarded by an existing lock (Python's
 * Value('i', 0, lock=lock)): the values and arrays made with one lock are
 * updated together under it. mp_value_acquire() and mp_value_release()
 * take and release that lock, the same as mp_lock_acquire() on it.
 *
 * The value records which lock it is (its memory object). A process that
 * opens the value (mp_value_from_fd(), mp_value_open()) also opens the
 * lock, passed to it alongside the value, and binds its handle on it with
 * mp_value_bind_lock() before mp_value_acquire(), as mp_cond_from_fd()
 * takes a condition's lock. Elements are read and written without the
 * lock as in any value.
 *
 * @param[out] out  the value; free with mp_value_free().
 * @param type      as mp_value_new().
 * @param count     as mp_value_new().
 * @param lock      borrowed: it must outlive the value's handle. A
 *                  recursive lock (MP_LOCK_RECURSIVE) may be held already
 *                  when mp_value_acquire() takes it again.
 * Errors: those of mp_value_new(); MP_EINVAL for a NULL or dead lock.
 * Never blocks. Since 0.4.
 */
MP_EXTERN int mp_value_new_with_lock(mp_value_t **out, mp_type_t type, size_t count,
                                     mp_lock_t *lock);

/**
 * Create records (mp_value_new_record()) guarded by an existing lock, as
 * mp_value_new_with_lock(): Python's Array(Point, n, lock=lock).
 * @param[out] out  the records; free with mp_value_free().
 * @param fields    the typecodes, as mp_value_new_record().
 * @param count     the number of records (> 0).
 * @param lock      borrowed: it must outlive the value's handle.
 * Errors: those of mp_value_new_record(); MP_EINVAL for a NULL or dead
 * lock. Never blocks. Since 0.4.
 */
MP_EXTERN int mp_value_new_record_with_lock(mp_value_t **out, const char *fields, size_t count,
                                            mp_lock_t *lock);

/**
 * Bind this process's handle on a value made with a shared lock
 * (mp_value_new_with_lock(), mp_value_new_record_with_lock()) to this
 * process's handle on that lock, so that mp_value_acquire() can take it.
 * Needed in a process that opened the value; binding again replaces the
 * handle.
 * @param value  the value.
 * @param lock   borrowed: this process's handle on the same lock (checked:
 *               another lock is MP_EINVAL); it must outlive the value's
 *               handle.
 * Errors: MP_EINVAL (NULL or dead handles, not the value's lock), MP_ESTATE
 * (the value has no shared lock). Never blocks. Since 0.4.
 */
MP_EXTERN int mp_value_bind_lock(mp_value_t *value, mp_lock_t *lock);

/** Open a value from a received descriptor (takes ownership); errors as
 * mp_lock_from_fd(). Since 0.1. */
MP_EXTERN int mp_value_from_fd(mp_value_t **out, int fd);

/**
 * Open the value or array published under the address's name by a broker
 * (mp_broker_publish()): mp_fd_open() then mp_value_from_fd(). The value or array is
 * the real shared object, used with no broker in the data path; it stays
 * usable when the broker ends.
 *
 * @param[out] out   the value or array; free it as one made here.
 * @param address    "unix:/path\#name" or "unix:\@name\#name" (broker.h).
 * @param timeout_ms for connecting and the reply; MP_FOREVER waits.
 * Errors: those of mp_fd_open(), plus those of mp_value_from_fd(): MP_EINVAL
 * when the name holds another kind of object. Blocks up to timeout_ms.
 * Since 0.4.
 */
MP_EXTERN int mp_value_open(mp_value_t **out, const char *address, int64_t timeout_ms);

/** The value's descriptor, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_value_fileno(mp_value_t *value);

/** The element type, or MP_EINVAL. Since 0.4 it may also be MP_TYPE_BOOL
 * or MP_TYPE_RECORD: a caller handles types it does not know. Since 0.1. */
MP_EXTERN int mp_value_type(mp_value_t *value);

/**
 * The number of elements (bytes for MP_TYPE_BYTES).
 * @param[out] out  the count; 0 on an error.
 * Errors: MP_EINVAL (NULL out, NULL or not a live handle). Never blocks.
 * Since 0.3.
 */
MP_EXTERN int mp_value_count2(size_t *out, mp_value_t *value);

/** Deprecated since 0.3: use mp_value_count2(), which reports a bad handle
 * as MP_EINVAL (the getter rule of docs/style.md). The number of elements;
 * 0 for a bad handle. Since 0.1. */
MP_EXTERN size_t mp_value_count(mp_value_t *value);

/**
 * Read element index as a signed integer (any integer type: MP_TYPE_INT32,
 * _INT64, _INT16, _UINT16, _INT8, _UINT8, _CHAR; MP_TYPE_UINT64 if it
 * fits). Each element is read atomically.
 * Errors: MP_EINVAL (NULL, index out of range, a type that does not fit).
 * Since 0.1.
 */
MP_EXTERN int mp_value_get_i64(int64_t *out, mp_value_t *value, size_t index);

/** Write element index from a signed integer (which must fit the type).
 * Errors: MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_value_set_i64(mp_value_t *value, size_t index, int64_t v);

/** Read element index of an MP_TYPE_UINT64 value. Errors: MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_value_get_u64(uint64_t *out, mp_value_t *value, size_t index);

/** Write element index of an MP_TYPE_UINT64 value. Errors: MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_value_set_u64(mp_value_t *value, size_t index, uint64_t v);

/** Read element index of an MP_TYPE_DOUBLE or MP_TYPE_FLOAT value. Errors:
 * MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_value_get_f64(double *out, mp_value_t *value, size_t index);

/** Write element index of an MP_TYPE_DOUBLE or MP_TYPE_FLOAT value (rounded
 * to float, out of range giving infinity, as ctypes' c_float). Errors:
 * MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_value_set_f64(mp_value_t *value, size_t index, double v);

/**
 * Atomically add delta to an integer element and report the new value
 * (no lock needed). The types narrower than 64 bits wrap around as ctypes
 * does; delta must fit the type (for an unsigned one, its negation may).
 * Errors: MP_EINVAL (not an integer type, index, delta). Since 0.1.
 */
MP_EXTERN int mp_value_add_i64(int64_t *out, mp_value_t *value, size_t index,
                               int64_t delta);

/**
 * Atomically replace an integer element that equals expected by desired
 * (C11's atomic_compare_exchange_strong). No lock needed.
 * @param[out] actual  the element's value before the call (expected when
 *                     it was replaced); may be NULL.
 * Returns: 1 if replaced, 0 if the element differed. Errors: MP_EINVAL (NULL
 * or not a live handle, not an integer type, index, expected or desired not
 * fitting the type). Never blocks. Since 0.3.
 */
MP_EXTERN int mp_value_compare_exchange_i64(int64_t *actual, mp_value_t *value, size_t index,
                                            int64_t expected, int64_t desired);

/**
 * Deprecated since 0.3: use mp_value_compare_exchange_i64(), the same call
 * with the out-parameter first (docs/style.md).
 * Atomically replace an integer element that equals expected by desired.
 * Returns: 1 if replaced, 0 if the element differed (then *actual, if not
 * NULL, holds its value), or MP_EINVAL. Since 0.1.
 */
MP_EXTERN int mp_value_cas_i64(mp_value_t *value, size_t index, int64_t expected,
                               int64_t desired, int64_t *actual);

/**
 * Copy the bytes of an MP_TYPE_BYTES value (up to its length, the last
 * set_bytes) into buf.
 * @param[out] out_len  the length; on MP_ENOSPC the size needed.
 * Errors: MP_EINVAL, MP_ENOSPC. Since 0.1.
 */
MP_EXTERN int mp_value_get_bytes(size_t *out_len, mp_value_t *value, void *buf, size_t cap);

/** Replace the bytes of an MP_TYPE_BYTES value. Errors: MP_EINVAL,
 * MP_ENOSPC (len above the capacity). Since 0.1. */
MP_EXTERN int mp_value_set_bytes(mp_value_t *value, const void *buf, size_t len);

/**
 * Read element index of an MP_TYPE_BOOL value, atomically.
 * @param[out] out  0 or 1.
 * Errors: MP_EINVAL (NULL out, NULL or dead handle, another type, index out
 * of range). Never blocks. Since 0.4.
 */
MP_EXTERN int mp_value_get_bool(int *out, mp_value_t *value, size_t index);

/**
 * Write element index of an MP_TYPE_BOOL value, atomically.
 * @param v  0 or 1; anything else is MP_EINVAL.
 * Errors: MP_EINVAL (NULL or dead handle, another type, index, v). Never
 * blocks. Since 0.4.
 */
MP_EXTERN int mp_value_set_bool(mp_value_t *value, size_t index, int v);

/** The number of fields of a record (mp_value_new_record()); 0 for any
 * other value; MP_EINVAL for a NULL or dead handle. Never blocks.
 * Since 0.4. */
MP_EXTERN int mp_value_field_count(mp_value_t *value);

/** The type (mp_type_t) of field `field` of a record, or MP_EINVAL (NULL
 * or dead handle, not a record, field out of range). Never blocks.
 * Since 0.4. */
MP_EXTERN int mp_value_field_type(mp_value_t *value, size_t field);

/**
 * Read field `field` of record index as a signed integer, atomically: an
 * integer field as mp_value_get_i64() reads an element ('Q' if it fits),
 * a '?' field as 0 or 1.
 * @param[out] out  the field's value.
 * Errors: MP_EINVAL (NULL out, NULL or dead handle, not a record, index or
 * field out of range, a float field, a 'Q' field above INT64_MAX). Never
 * blocks. Since 0.4.
 */
MP_EXTERN int mp_value_get_field_i64(int64_t *out, mp_value_t *value, size_t index,
                                     size_t field);

/** Write field `field` of record index from a signed integer that fits
 * the field's type ('?': 0 or 1), atomically. Errors: MP_EINVAL (as
 * mp_value_get_field_i64(), v not fitting). Never blocks. Since 0.4. */
MP_EXTERN int mp_value_set_field_i64(mp_value_t *value, size_t index, size_t field, int64_t v);

/**
 * Read a 'd' or 'f' field of record index, atomically.
 * @param[out] out  the field's value.
 * Errors: MP_EINVAL (NULL out, NULL or dead handle, not a record, index or
 * field out of range, an integer field). Never blocks. Since 0.4.
 */
MP_EXTERN int mp_value_get_field_f64(double *out, mp_value_t *value, size_t index,
                                     size_t field);

/** Write a 'd' or 'f' field of record index ('f' rounded as
 * mp_value_set_f64() does), atomically. Errors: as
 * mp_value_get_field_f64(). Never blocks. Since 0.4. */
MP_EXTERN int mp_value_set_field_f64(mp_value_t *value, size_t index, size_t field, double v);

/**
 * Copy record index into buf, laid out as the C struct of its fields
 * (mp_value_new_record()). Not atomic as a whole: hold the value's lock
 * where another process may write the record meanwhile.
 * @param[out] buf  receives the record.
 * @param size      buf's size: exactly the record's size (sizeof the
 *                  struct), anything else is MP_EINVAL naming the size.
 * Errors: MP_EINVAL (NULL buf, NULL or dead handle, not a record, index,
 * size). Never blocks. Since 0.4.
 */
MP_EXTERN int mp_value_get_record(void *buf, size_t size, mp_value_t *value, size_t index);

/** Replace record index by the struct in buf (size: exactly the record's
 * size); not atomic as a whole, as mp_value_get_record(). Errors: as
 * mp_value_get_record(). Never blocks. Since 0.4. */
MP_EXTERN int mp_value_set_record(mp_value_t *value, size_t index, const void *buf, size_t size);

/**
 * Take the value's lock (value.get_lock().acquire()) for a compound update
 * such as read-modify-write of a double. Returns and errors as
 * mp_lock_acquire(), and MP_ESTATE for a value created without
 * MP_VALUE_LOCK or a shared lock. Since 0.4, for a value made with a
 * shared lock (mp_value_new_with_lock()), that lock; MP_ESTATE if this
 * process's handle was not bound to it (mp_value_bind_lock()). Since 0.1.
 */
MP_EXTERN int mp_value_acquire(mp_value_t *value, int64_t timeout_ms);

/** Release the value's lock (its own or, since 0.4, the shared one);
 * errors as mp_lock_release() and mp_value_acquire(). Since 0.1. */
MP_EXTERN int mp_value_release(mp_value_t *value);

/** Unmap the value in this process; NULL does nothing. Since 0.1. */
MP_EXTERN void mp_value_free(mp_value_t *value);

#ifdef __cplusplus
}
#endif

#endif /* MULTIPROC_SYNC_H */
