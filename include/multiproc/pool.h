/**
 * @file
 * multiproc: pools (Pool, multiprocessing.dummy.Pool). Part of <multiproc.h>; include that.
 */
#ifndef MULTIPROC_POOL_H
#define MULTIPROC_POOL_H

#include "multiproc/process.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Pools (multiprocessing.Pool, multiprocessing.dummy.Pool)
 * ---------------------------------------------------------------------- */

/**
 * A pool task (the function a Pool worker calls). Register it with
 * mp_register_task() before mp_main().
 *
 * @param[out] out, out_len  the result bytes: a buffer from malloc() (the
 *                 library frees it) or NULL with length 0.
 * @param arg, arg_len       the task's argument bytes (borrowed).
 * @param payload            the payload given to mp_register_task().
 * Returns: 0 for success; any other value makes the task fail with
 * MP_ETASKFAILED, and then *out (if set) is the error message the caller
 * sees (the equivalent of an exception raised in the worker).
 */
typedef int (*mp_task_fn)(void **out, size_t *out_len, const void *arg, size_t arg_len,
                          void *payload);

/**
 * Register a pool task under name (a namespace apart from mp_register()'s
 * targets). Errors: MP_EINVAL, MP_EEXIST, MP_ENOMEM. Since 0.1.
 */
MP_EXTERN int mp_register_task(const char *name, mp_task_fn fn, void *payload);

/** Options of a pool (opaque; NULL options mean every default). */
typedef struct mp_pool_opts mp_pool_opts_t;

/** A pool of worker processes (or threads). */
typedef struct mp_pool mp_pool_t;

/** The pending or finished outcome of an asynchronous call (AsyncResult). */
typedef struct mp_result mp_result_t;

/** An iterator over the results of mp_pool_imap(). */
typedef struct mp_iter mp_pool_iter_t;

/** The same type under its 0.1 name (mp_pool_imap()'s out-parameter and
 * the deprecated mp_iter_next()/mp_iter_free() use it). */
typedef struct mp_iter mp_iter_t;

/** Create pool options with every default. Errors: MP_EINVAL, MP_ENOMEM. Since 0.1. */
MP_EXTERN int mp_pool_opts_new(mp_pool_opts_t **out);

/** Free pool options; NULL does nothing. Since 0.1. */
MP_EXTERN void mp_pool_opts_free(mp_pool_opts_t *opts);

/** Number of workers (processes=); default mp_cpu_count(). Errors:
 * MP_EINVAL (0 or above 1024). Since 0.1. */
MP_EXTERN int mp_pool_opts_set_workers(mp_pool_opts_t *opts, unsigned workers);

/** How worker processes start (default: the process-wide one,
 * mp_get_start_method(), read by mp_pool_new(); MP_START_SPAWN and
 * MP_START_FORKSERVER, since 0.4, need mp_main()). Errors: MP_EINVAL.
 * Since 0.1. */
MP_EXTERN int mp_pool_opts_set_start_method(mp_pool_opts_t *opts, mp_start_method_t method);

/** Tasks a worker runs before it is replaced by a fresh one
 * (maxtasksperchild); 0 (default) = never. Errors: MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_pool_opts_set_max_tasks_per_worker(mp_pool_opts_t *opts, unsigned n);

/**
 * A registered task each worker runs once when it starts (initializer,
 * initargs); its result is ignored; if it fails the worker exits and is
 * replaced. @param task  a name given to mp_register_task(); copied.
 * Errors: MP_EINVAL, MP_ENOMEM. Since 0.1.
 */
MP_EXTERN int mp_pool_opts_set_initializer(mp_pool_opts_t *opts, const char *task,
                                           const void *arg, size_t arg_len);

/**
 * Hand a queue to every worker of the pool under a name (Python's initargs
 * with a Queue): the initializer (mp_pool_opts_set_initializer()), or any
 * task, opens it with mp_queue_inherit(&q, name). Every worker gets it,
 * with either start method, replacement workers included.
 *
 * @param name   1-64 characters of [A-Za-z0-9_]; copied.
 * @param queue  borrowed: its descriptor is duplicated at once and kept by
 *               the options and by each pool made from them.
 * Errors: MP_EINVAL (NULL, bad name, not a live queue), MP_EEXIST (name
 * already passed in these options), MP_ENOSPC (more than 62 handles),
 * MP_ENOMEM, MP_ESYS. A thread pool (mp_pool_opts_set_threads()) given
 * handles fails in mp_pool_new() with MP_EINVAL: its initializer runs in
 * this process and takes the objects themselves. Never blocks. Since 0.4.
 */
MP_EXTERN int mp_pool_opts_pass_queue(mp_pool_opts_t *opts, const char *name,
                                      mp_queue_t *queue);

/**
 * Hand a connection end to every worker under a name; a worker opens it
 * with mp_conn_inherit(). Errors: as mp_pool_opts_pass_queue(); MP_EINVAL
 * also for a closed end. Never blocks. Since 0.4.
 */
MP_EXTERN int mp_pool_opts_pass_conn(mp_pool_opts_t *opts, const char *name,
                                     mp_conn_t *conn);

/**
 * Hand any open descriptor (a lock's: mp_lock_fileno(), …) to every worker
 * under a name; a worker opens it with mp_fd_inherit() (then
 * mp_lock_from_fd(), …). @param fd  duplicated at once.
 * Errors: as mp_pool_opts_pass_queue(); MP_EINVAL also for fd < 0 or not
 * open. Never blocks. Since 0.4.
 */
MP_EXTERN int mp_pool_opts_pass_fd(mp_pool_opts_t *opts, const char *name, int fd);

/**
 * Run tasks on threads of this process instead of worker processes
 * (multiprocessing.dummy.Pool): the same API, no serialisation cost, no
 * protection against a task that crashes. @param enabled  0 or 1.
 * Errors: MP_EINVAL. Since 0.1.
 */
MP_EXTERN int mp_pool_opts_set_threads(mp_pool_opts_t *opts, int enabled);

/**
 * Start a pool. Worker processes are daemons: they die with the parent.
 * A worker that dies (SIGKILL, crash) fails only the task it was running,
 * with MP_EWORKERDIED, and is replaced; the pool never hangs. Tasks are
 * sent ahead to each worker process, but one that has not started is
 * handed to an idle worker once the task ahead of it has run ~2 ms: a
 * long task never holds the ones queued behind it.
 *
 * @param opts  borrowed for the call; NULL for the defaults.
 * Errors: MP_EINVAL, MP_ESTATE (MP_START_SPAWN or MP_START_FORKSERVER without mp_main()),
 * MP_ENOSPC (the process's descriptor limit is reached), MP_ENOMEM, MP_ESYS.
 * Blocking: until the workers are started. Since 0.1.
 */
MP_EXTERN int mp_pool_new(mp_pool_t **out, const mp_pool_opts_t *opts);

/**
 * Open the pool published under the address's name by a broker
 * (mp_broker_publish_pool()) in another program: the handle's
 * mp_pool_apply(), mp_pool_apply_async(), mp_pool_map_async(),
 * mp_pool_map() and mp_pool_imap() send the task name and arguments to the
 * owner, whose workers run them (the owner's mp_register_task() registry:
 * an unknown name is MP_ENOENT from the owner). Results are read with the
 * same mp_result_*() and mp_pool_iter_*() calls, with the same meanings
 * (MP_ETASKFAILED, MP_EWORKERDIED when an owner's worker dies). Callbacks
 * run on a thread of this process. One connection to the owner's broker
 * carries the handle's tasks and results (a task message is at most
 * 64 MiB); the owner's broker thread hands them to and from its pool. An
 * unknown task name fails the task (MP_ENOENT from mp_result_get() and
 * mp_pool_apply()), as the owner, not this process, knows the names.
 *
 * If the owner or its broker ends (or mp_broker_unpublish()), every
 * unfinished task of the handle fails with MP_EPIPE (MP_ECLOSED after an
 * unpublish) and later submissions are MP_EPIPE: a wait never hangs. If
 * this process dies, the owner drops its queued tasks and discards the
 * results of the running ones: no task stays half-owned.
 *
 * On an opened pool: mp_pool_close() refuses new tasks on this handle
 * (the owner's pool is untouched); mp_pool_join() (after close) waits
 * until this handle's tasks are finished; mp_pool_terminate() abandons
 * them (unfinished ones fail with MP_ECANCELED here; the owner drops the
 * queued ones) and disconnects; mp_pool_free() terminates if needed and
 * frees the handle. mp_pool_stat() counts this handle's tasks only
 * (MP_POOL_WORKERS_* are 0).
 *
 * A redis:// address ("redis://[user@]host[:port][/db]\#name") opens a
 * pool across hosts instead: the tasks go to the server, and the hosts
 * that serve the name (mp_pool_serve()) run them; hosts may come and go,
 * tasks wait in the server while none serves. What differs: submitting is
 * one round trip per batch of chunks on the handle's thread (the calls
 * still never block); a result comes back in one more; an unknown task
 * name is MP_ENOENT from the host that took it; a host's worker dying is
 * MP_EWORKERDIED, and so is a host that vanished (detected within
 * MULTIPROC_REDIS_LEASE_MS by any serving host or by this handle while it
 * waits), unless mp_pool_set_retries() asked for more runs; the server
 * unreachable fails the tasks being sent with its error (MP_ECONNREFUSED,
 * MP_EPIPE, MP_ETIMEDOUT). mp_pool_close() refuses new tasks on this
 * handle only (the hosts go on serving); mp_pool_join() waits for this
 * handle's results; mp_pool_terminate() fails this handle's unfinished
 * tasks with MP_ECANCELED at once, but tasks already sent still run on the
 * hosts (their results are dropped); mp_pool_free() also deletes the
 * handle's result list on the server. The automatic chunk size of map and
 * imap counts the workers of the hosts serving when the handle opened.
 *
 * @param[out] out   the handle; free with mp_pool_free().
 * @param address    "unix:/path\#name" or "unix:\@name\#name" (broker.h),
 *                   or a redis:// address.
 * @param timeout_ms for connecting and the owner's reply; MP_FOREVER waits.
 * Errors: those of mp_fd_open() (MP_ESTATE does not occur), plus MP_EINVAL
 * when the name holds an object that is not a pool; for redis://,
 * MP_ENOTSUP (a build without the redis backend), MP_ECONNREFUSED,
 * MP_EPIPE, MP_ETIMEDOUT, MP_EACCES. Blocks up to timeout_ms. Since 0.4.
 */
MP_EXTERN int mp_pool_open(mp_pool_t **out, const char *address, int64_t timeout_ms);

/**
 * Run one task and wait for its result (apply).
 *
 * @param[out] out, out_len  the result (NUL-terminated; mp_free()); on
 *             MP_ETASKFAILED the worker's error message, if it gave one.
 * Errors: MP_EINVAL, MP_ENOENT (no task of that name), MP_ESTATE (the pool
 * is closed), MP_ETASKFAILED (the task returned non-zero), MP_EWORKERDIED,
 * MP_ECANCELED (the pool was terminated).
 * Blocking: until the task is done. Since 0.1.
 */
MP_EXTERN int mp_pool_apply(void **out, size_t *out_len, mp_pool_t *pool, const char *task,
                            const void *arg, size_t arg_len);

/**
 * A function the pool calls once when an asynchronous call finishes, on
 * the pool's callback thread (one callback at a time, in completion order,
 * never on the dispatch path). It may call any multiproc function except
 * mp_pool_join(), mp_pool_terminate() and mp_pool_free() on its own pool.
 * The result stays valid during the call.
 *
 * Order (as Python's): the callback runs before the result is ready to
 * anyone else. mp_result_wait(), mp_result_get(), mp_pool_map() and
 * mp_result_ready() on other threads report it finished only after the
 * callback returned, so what the callback wrote is visible to them. Inside
 * the callback its own result already reads as finished. A callback must
 * therefore not wait for another result of the same pool that has a
 * callback: that one runs after it, on the same thread (a deadlock, as in
 * Python).
 */
typedef void (*mp_result_cb)(mp_result_t *result, void *payload);

/**
 * Submit one task (apply_async).
 *
 * @param[out] out     the result; free it with mp_result_free() (also
 *                     before it is ready: the task still runs).
 * @param on_success   called if the task succeeds; may be NULL.
 * @param on_error     called if it fails (error_callback); may be NULL.
 * @param payload      passed to the callbacks.
 * Errors: MP_EINVAL, MP_ENOENT, MP_ESTATE (closed), MP_ENOMEM.
 * Never blocks. Since 0.1.
 */
MP_EXTERN int mp_pool_apply_async(mp_result_t **out, mp_pool_t *pool, const char *task,
                                  const void *arg, size_t arg_len, mp_result_cb on_success,
                                  mp_result_cb on_error, void *payload);

/**
 * Submit task for each of n arguments (map_async), in chunks of chunksize
 * arguments per message (0: automatic, as Python: n / (4 * workers),
 * rounded up). The result holds n items in argument order; it succeeds only
 * if every item succeeded.
 *
 * @param args, arg_lens  n argument buffers and lengths, copied.
 * Errors: as mp_pool_apply_async(). Never blocks. Since 0.1.
 */
MP_EXTERN int mp_pool_map_async(mp_result_t **out, mp_pool_t *pool, const char *task,
                                const void *const *args, const size_t *arg_lens, size_t n,
                                size_t chunksize, mp_result_cb on_success,
                                mp_result_cb on_error, void *payload);

/** map_async, then wait (map). Returns MP_OK or the first failure's code;
 * *out is set either way (free it). Since 0.1. */
MP_EXTERN int mp_pool_map(mp_result_t **out, mp_pool_t *pool, const char *task,
                          const void *const *args, const size_t *arg_lens, size_t n,
                          size_t chunksize);

/*
 * starmap (Python's Pool.starmap / starmap_async): no separate C call. C
 * has no tuples: each argument of mp_pool_map() is already an opaque byte
 * string that the task decodes, so a starmap is mp_pool_map() (or
 * mp_pool_map_async()) over argument lists packed by the caller in an
 * encoding its task unpacks. The bindings give the Python form: Go's
 * Pool.StarMap with RegisterStarTask (packing: a little-endian uint32
 * count, then per argument a uint32 length and its bytes; PackArgs,
 * UnpackArgs), Ruby's Pool#starmap (each item an Array, splatted).
 */

/** Flag of mp_pool_imap(): yield results as they complete
 * (imap_unordered) instead of in argument order. */
#define MP_IMAP_UNORDERED 1

/**
 * Iterate over task(args[i]) results (imap / imap_unordered). At most a
 * few chunks per worker are in flight at once (back-pressure).
 * @param[out] out  read with mp_pool_iter_next(), free with mp_pool_iter_free()
 *                  (unfinished tasks still run).
 * Errors: as mp_pool_apply_async(). Never blocks. Since 0.1.
 */
MP_EXTERN int mp_pool_imap(mp_iter_t **out, mp_pool_t *pool, const char *task,
                           const void *const *args, const size_t *arg_lens, size_t n,
                           size_t chunksize, int flags);

/**
 * The next result of mp_pool_imap() (next(timeout)).
 * @param[out] index     the argument's index (useful when unordered).
 * @param[out] data, len the result bytes, owned by the iterator, valid
 *                       until the next call or mp_pool_iter_free().
 * Returns: 1 with a result, 0 after the last one (every iterator's
 * protocol, docs/style.md). Errors: MP_ETASKFAILED, MP_EWORKERDIED or
 * MP_ECANCELED for a failed item (index and data, the error message, are
 * set; the next call moves on to the next item); MP_ETIMEDOUT (nothing was
 * taken: call again); MP_EINVAL.
 * Blocking: up to timeout_ms. Since 0.3.
 */
MP_EXTERN int mp_pool_iter_next(size_t *index, const void **data, size_t *len,
                                mp_pool_iter_t *iter, int64_t timeout_ms);

/** Free an iterator of mp_pool_imap(); NULL does nothing. Unfinished tasks
 * still run. Never blocks. Since 0.3. */
MP_EXTERN void mp_pool_iter_free(mp_pool_iter_t *iter);

/**
 * Deprecated since 0.3: use mp_pool_iter_next(), which ends with 0 instead
 * of MP_ECLOSED (one end-of-iteration protocol, docs/style.md).
 * The next result (next(timeout)).
 * @param[out] index     the argument's index (useful when unordered).
 * @param[out] data, len the result bytes, owned by the iterator, valid
 *                       until the next call or mp_iter_free().
 * Returns: MP_OK; MP_ECLOSED after the last result; MP_ETASKFAILED,
 * MP_EWORKERDIED or MP_ECANCELED for a failed item (data holds the error
 * message; iteration may go on); MP_ETIMEDOUT; MP_EINVAL.
 * Blocking: up to timeout_ms. Since 0.1.
 */
MP_EXTERN int mp_iter_next(size_t *index, const void **data, size_t *len, mp_iter_t *iter,
                           int64_t timeout_ms);

/** Deprecated since 0.3: use mp_pool_iter_free(), which it equals. Free an
 * iterator; NULL does nothing. Since 0.1. */
MP_EXTERN void mp_iter_free(mp_iter_t *iter);

/**
 * Wait for the result and give its bytes (get(timeout)): the task's result
 * (for a map, use mp_result_item()).
 * @param[out] data, len  owned by the result, valid until mp_result_free().
 * Returns: MP_OK, or the task's failure (MP_ETASKFAILED with data = the
 * error message, MP_EWORKERDIED, MP_ECANCELED); MP_ETIMEDOUT; MP_EINVAL.
 * Blocking: up to timeout_ms. Since 0.1.
 */
MP_EXTERN int mp_result_get(const void **data, size_t *len, mp_result_t *result,
                            int64_t timeout_ms);

/** Wait until ready (wait(timeout)): MP_OK or MP_ETIMEDOUT. Since 0.1. */
MP_EXTERN int mp_result_wait(mp_result_t *result, int64_t timeout_ms);

/** 1 if finished, 0 if not, or MP_EINVAL (ready()). Since 0.1. */
MP_EXTERN int mp_result_ready(mp_result_t *result);

/** 1 if finished and every task succeeded, 0 if it failed, MP_ESTATE if
 * not finished (successful()). Since 0.1. */
MP_EXTERN int mp_result_successful(mp_result_t *result);

/** The number of items (1 for apply_async, n for map), or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_result_count(mp_result_t *result);

/**
 * Item i of a finished result: its bytes (owned by the result) and its own
 * status (MP_OK, MP_ETASKFAILED with the message as data, MP_EWORKERDIED,
 * MP_ECANCELED). Errors: MP_EINVAL (index), MP_ESTATE (not finished). Since 0.1.
 */
MP_EXTERN int mp_result_item(const void **data, size_t *len, mp_result_t *result, size_t i);

/** Release the caller's reference; NULL does nothing. Since 0.1. */
MP_EXTERN void mp_result_free(mp_result_t *result);

/** Refuse new work (close). Errors: MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_pool_close(mp_pool_t *pool);

/**
 * Wait for the workers to finish every submitted task and exit (join);
 * the pool must be closed or terminated first.
 * Errors: MP_EINVAL, MP_ESTATE (neither closed nor terminated),
 * MP_ETIMEDOUT. Blocking: up to timeout_ms. Since 0.1.
 */
MP_EXTERN int mp_pool_join(mp_pool_t *pool, int64_t timeout_ms);

/**
 * Stop at once (terminate): workers are killed, tasks not finished fail
 * with MP_ECANCELED, callbacks still run once each.
 * Errors: MP_EINVAL. Blocking: until the workers are reaped. Since 0.1.
 */
MP_EXTERN int mp_pool_terminate(mp_pool_t *pool);

/**
 * Also serve this pool's workers to other hosts through a redis server
 * (a pool across hosts): tasks that any program submits to address
 * ("redis://[user@]host[:port][/db]\#name", see broker.h) through a handle
 * of mp_pool_open() run on these workers, by task name (this program's
 * mp_register_task() registry; code never travels). Any number of hosts
 * may serve the same address; each takes tasks while its workers have
 * room (at most four chunks per worker held at once, as Celery's default
 * prefetch), so the fastest hosts take the most.
 * Arguments and results are the same bytes as for a local pool.
 *
 * Guarantees: each result is published by the host that holds its task at
 * that moment, checked by the script that writes it (fencing): a host cut
 * off from the server whose task went to another host cannot publish a
 * stale result. A worker dying mid-task fails the task with
 * MP_EWORKERDIED, or sends it back to the stream while the submitting
 * handle's mp_pool_set_retries() allows. A host that vanishes (its
 * heartbeat key, refreshed by this library's event loop, expires after
 * MULTIPROC_REDIS_LEASE_MS, default 10000) has its tasks retried elsewhere
 * or failed with MP_EWORKERDIED, within that lease, by another host or by
 * the waiting client. Tasks may run more than once (at least once).
 *
 * The serving runs in the background (one thread per served pool, the
 * connection is this process's shared one) until mp_pool_close() (the
 * tasks taken are finished and published, no more are taken; mp_pool_join()
 * waits for that), mp_pool_terminate() or mp_pool_free() (the tasks taken
 * and not finished go back to the stream at once, for other hosts). The
 * pool keeps working for local calls meanwhile.
 *
 * @param pool       a pool of mp_pool_new() (not an opened one).
 * @param address    the redis server and the pool's name.
 * @param timeout_ms for the first round trips (registering this host).
 * Errors: MP_EINVAL (NULL, an opened pool, a bad or non-redis address),
 * MP_ENOTSUP (a build without the redis backend), MP_ESTATE (the pool is
 * closed, or serves already), MP_ECONNREFUSED, MP_EPIPE, MP_ETIMEDOUT,
 * MP_EACCES (the server), MP_ENOMEM. Blocks up to timeout_ms for
 * registering; never after. Since 0.4.
 */
MP_EXTERN int mp_pool_serve(mp_pool_t *pool, const char *address, int64_t timeout_ms);

/**
 * How many times a task whose worker died (or whose serving host vanished)
 * runs again before it fails with MP_EWORKERDIED (default 0: it fails at
 * once, as Python's Pool would hang). Applies to tasks submitted after the
 * call. On a pool of mp_pool_new() the task runs again on a replacement
 * worker; on a handle of mp_pool_open() of a redis:// address it goes back
 * to the pool's stream for any serving host. A retried task may have run
 * partly before: make tasks idempotent.
 *
 * @param retries  0 to 1000.
 * Errors: MP_EINVAL (NULL pool, retries above 1000), MP_ENOTSUP (a pool
 * opened through a broker: its owner's pool decides). Never blocks.
 * Since 0.4.
 */
MP_EXTERN int mp_pool_set_retries(mp_pool_t *pool, unsigned retries);

/** What mp_pool_stat() reports. */
typedef enum mp_pool_stat {
  MP_POOL_SUBMITTED = 0,        /**< tasks submitted */
  MP_POOL_RUNNING = 1,          /**< tasks running now */
  MP_POOL_DONE = 2,             /**< tasks that succeeded */
  MP_POOL_FAILED = 3,           /**< tasks that failed (any reason) */
  MP_POOL_WORKERS_STARTED = 4,  /**< workers started, replacements included */
  MP_POOL_WORKERS_REPLACED = 5  /**< workers that died or were recycled */
} mp_pool_stat_t;

/** One counter of the pool (a snapshot), or MP_EINVAL. Since 0.1. */
MP_EXTERN int64_t mp_pool_stat(mp_pool_t *pool, mp_pool_stat_t what);

/** Terminate if needed and free the pool; no child, zombie or descriptor
 * is left. Results still held stay valid. NULL does nothing. Since 0.1. */
MP_EXTERN void mp_pool_free(mp_pool_t *pool);

#ifdef __cplusplus
}
#endif

#endif /* MULTIPROC_POOL_H */
