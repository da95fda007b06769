/**
 * @file
 * multiproc: the shared dict (Manager().dict()). Part of <multiproc.h>; include that.
 */
#ifndef MULTIPROC_DICT_H
#define MULTIPROC_DICT_H

#include "multiproc/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Shared dict (Manager().dict(), without a server process)
 * ---------------------------------------------------------------------- */

/** A map of byte-string keys to byte-string values in shared memory. */
typedef struct mp_dict mp_dict_t;

/**
 * Create a dict with room for max_entries keys and max_bytes of keys and
 * values together; both are fixed at creation. Every operation is atomic
 * with respect to every other process; a process killed in the middle of a
 * write leaves the dict usable and consistent (the write happened entirely
 * or not at all).
 * Errors: MP_EINVAL (0 sizes or too large), MP_ENOSPC, MP_ENOMEM, MP_ESYS.
 * Since 0.1.
 */
MP_EXTERN int mp_dict_new(mp_dict_t **out, size_t max_entries, size_t max_bytes);

/** Open a dict from a received descriptor (takes ownership); errors as
 * mp_lock_from_fd(). Since 0.1. */
MP_EXTERN int mp_dict_from_fd(mp_dict_t **out, int fd);

/**
 * Open the dict published under the address's name by a broker
 * (mp_broker_publish()): mp_fd_open() then mp_dict_from_fd(). The dict is
 * the real shared object, used with no broker in the data path; it stays
 * usable when the broker ends.
 *
 * With "redis://[user\@]host[:port][/db]\#name" the dict lives on that
 * redis server, as one hash (key "mp:dict:{name}:items"; a build with the
 * meson feature `redis`, otherwise MP_ENOTSUP naming the option); a name
 * with no dict there is an empty dict (redis keeps no empty hash, so
 * nothing is written until the first set). Every mp_dict_* call works on
 * the handle; what changes is written under "On a redis server" in each
 * call's documentation, and in docs/guide.md "Beyond one machine". In
 * short: every call is one round trip, atomic on the server, and waits
 * for its reply at most 30 s (the thread's cancel token ends it sooner);
 * there is no size fixed at creation, but a key or value has at most
 * 256 MiB (MP_EMSGSIZE above); mp_dict_fileno() is MP_ENOTSUP (a child
 * opens the address). The password is never in the address (as for
 * mp_queue_open()). If the server's maxmemory-policy can evict keys, the
 * open succeeds and mp_last_error() holds a warning.
 *
 * @param[out] out   the dict; free it as one made here.
 * @param address    "unix:/path\#name" or "unix:\@name\#name" (broker.h),
 *                   or "redis://host:port\#name".
 * @param timeout_ms for connecting and the reply; MP_FOREVER waits.
 * Errors: those of mp_fd_open(), plus those of mp_dict_from_fd(): MP_EINVAL
 * when the name holds another kind of object. On a redis server:
 * MP_ECONNREFUSED (nothing answers at host:port), MP_ETIMEDOUT (no answer
 * within timeout_ms), MP_EACCES (credentials refused or unreadable),
 * MP_EINVAL (the dict's key holds something that is not a hash, written
 * by another client), MP_EPIPE (the connection was lost), MP_ENOTSUP (no
 * redis backend in this build). Blocks up to timeout_ms. Since 0.4.
 */
MP_EXTERN int mp_dict_open(mp_dict_t **out, const char *address, int64_t timeout_ms);

/** The dict's descriptor, or MP_EINVAL. On a redis server: MP_ENOTSUP
 * (there is none; a child opens the address). Since 0.1. */
MP_EXTERN int mp_dict_fileno(mp_dict_t *dict);

/** Set key to value (d[key] = value). Errors: MP_EINVAL, MP_ENOSPC (no
 * entry or bytes left). On a redis server: one round trip (HSET);
 * MP_EMSGSIZE (key or value above 256 MiB), MP_ENOSPC (the server is out
 * of memory), MP_EINVAL (the dict's key holds another type, written by
 * another client), MP_ECONNREFUSED, MP_EPIPE (the connection was lost:
 * the outcome is unknown), MP_ETIMEDOUT (no reply within 30 s),
 * MP_EACCES. Since 0.1. */
MP_EXTERN int mp_dict_set(mp_dict_t *dict, const void *key, size_t key_len,
                          const void *value, size_t value_len);

/** Get the value of key into a library buffer (NUL-terminated; mp_free()).
 * Errors: MP_EINVAL, MP_ENOENT (no such key), MP_ENOMEM. On a redis
 * server: one round trip (HGET); the errors of a round trip as
 * mp_dict_set(). Since 0.1. */
MP_EXTERN int mp_dict_get(void **out, size_t *out_len, mp_dict_t *dict,
                          const void *key, size_t key_len);

/** Get the value of key into the caller's buffer; on MP_ENOSPC *out_len is
 * the size needed. Errors: MP_EINVAL, MP_ENOENT, MP_ENOSPC. On a redis
 * server: one round trip (the value travels whole, also on MP_ENOSPC);
 * the errors of a round trip as mp_dict_set(). Since 0.1. */
MP_EXTERN int mp_dict_get_into(size_t *out_len, mp_dict_t *dict, const void *key,
                               size_t key_len, void *buf, size_t cap);

/** Remove key (del d[key]). Errors: MP_EINVAL, MP_ENOENT. On a redis
 * server: one round trip (HDEL); the errors of a round trip as
 * mp_dict_set(). Since 0.1. */
MP_EXTERN int mp_dict_delete(mp_dict_t *dict, const void *key, size_t key_len);

/** 1 if key is present, 0 if not, or MP_EINVAL. On a redis server: one
 * round trip (HEXISTS); or a negative error of a round trip as
 * mp_dict_set(). Since 0.1. */
MP_EXTERN int mp_dict_contains(mp_dict_t *dict, const void *key, size_t key_len);

/** The number of keys, or MP_EINVAL. On a redis server: one round trip
 * (HLEN; at most INT_MAX); or a negative error of a round trip as
 * mp_dict_set(). Since 0.1. */
MP_EXTERN int mp_dict_len(mp_dict_t *dict);

/** Remove every key. Errors: MP_EINVAL. On a redis server: one round trip
 * (the hash is deleted; a key of another type there is MP_EINVAL and
 * left alone); the errors of a round trip as mp_dict_set(). Since 0.1. */
MP_EXTERN int mp_dict_clear(mp_dict_t *dict);

/**
 * Atomically add delta to the integer stored at key (8 bytes, little-endian
 * two's complement; a missing key counts as 0) and report the new value.
 * Errors: MP_EINVAL (the value is not 8 bytes), MP_ENOSPC.
 * On a redis server: one round trip; atomic (a script adds the same 8
 * bytes modulo 2^64, so a counter means the same on both backends and in
 * every language; `redis-cli HINCRBY` cannot read it); the errors of a
 * round trip as mp_dict_set(). Since 0.1.
 */
MP_EXTERN int mp_dict_incr(int64_t *out, mp_dict_t *dict, const void *key,
                           size_t key_len, int64_t delta);

/**
 * Atomically set key to desired if its value equals expected (expected
 * NULL: only if the key is absent).
 * Returns: 1 if set, 0 if not, or an error: MP_EINVAL, MP_ENOSPC.
 * On a redis server: one round trip, atomic (a script compares and sets);
 * MP_EMSGSIZE (key, expected or desired above 256 MiB); the errors of a
 * round trip as mp_dict_set(). Since 0.1.
 */
MP_EXTERN int mp_dict_cas(mp_dict_t *dict, const void *key, size_t key_len,
                          const void *expected, size_t expected_len,
                          const void *desired, size_t desired_len);

/** An iterator over a snapshot of a dict's items. */
typedef struct mp_dict_iter mp_dict_iter_t;

/**
 * Take a consistent snapshot of every item (keys(), items()): later changes
 * to the dict do not show in the iterator.
 * Errors: MP_EINVAL, MP_ENOMEM.
 * On a redis server: one round trip that copies every item (HGETALL in a
 * script: an atomic snapshot, so a concurrent writer's change is either
 * wholly in it or not at all, as here); MP_EMSGSIZE when the keys and
 * values have more than 256 MiB together (iterate a smaller dict); the
 * errors of a round trip as mp_dict_set(). Since 0.1.
 */
MP_EXTERN int mp_dict_iter_new(mp_dict_iter_t **out, mp_dict_t *dict);

/**
 * The next item of the snapshot.
 * @param[out] key, key_len, value, value_len  the item, owned by the
 *             iterator: valid until the next call or mp_dict_iter_free();
 *             the value is NUL-terminated. NULL/0 at the end or on an error.
 * Returns: 1 with an item, 0 at the end (every iterator's protocol,
 * docs/style.md). Errors: MP_EINVAL (a NULL out-parameter, NULL or not a
 * live iterator). Never blocks. On a redis server: the same (the snapshot
 * is in this process: no round trip). Since 0.3.
 */
MP_EXTERN int mp_dict_iter_next2(const void **key, size_t *key_len, const void **value,
                                 size_t *value_len, mp_dict_iter_t *iter);

/**
 * Deprecated since 0.3: use mp_dict_iter_next2(), the same call with the
 * out-parameters first (docs/style.md).
 * The next item of the snapshot. The pointers stay valid until the next
 * call or mp_dict_iter_free(); the value is NUL-terminated.
 * Returns: 1 with an item, 0 at the end, or MP_EINVAL. On a redis server:
 * as mp_dict_iter_next2(). Since 0.1.
 */
MP_EXTERN int mp_dict_iter_next(mp_dict_iter_t *iter, const void **key, size_t *key_len,
                                const void **value, size_t *value_len);

/** Free an iterator; NULL does nothing. On a redis server: the same (no
 * round trip). Since 0.1. */
MP_EXTERN void mp_dict_iter_free(mp_dict_iter_t *iter);

/** Unmap the dict in this process; NULL does nothing. On a redis server:
 * frees the handle only (the dict stays on the server; no round trip).
 * Since 0.1. */
MP_EXTERN void mp_dict_free(mp_dict_t *dict);

#ifdef __cplusplus
}
#endif

#endif /* MULTIPROC_DICT_H */
