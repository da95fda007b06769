/**
 * @file
 * multiproc: queues (Queue, JoinableQueue), split from multiproc/ipc.h, which
 * includes it. Part of <multiproc.h>; include that.
 */
#ifndef MULTIPROC_QUEUE_H
#define MULTIPROC_QUEUE_H

#include "multiproc/process.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Queues (multiprocessing.Queue / JoinableQueue)
 * ---------------------------------------------------------------------- */

/* mp_queue_t, a multi-producer, multi-consumer queue of byte messages in
 * shared memory, is declared in multiproc/command.h: commands pass queues
 * to their children (mp_cmd_pass_queue()). */

/** Flag of mp_queue_new(): the queue counts task_done() (JoinableQueue). */
#define MP_QUEUE_JOINABLE 1

/**
 * Create a queue (Python's Queue(maxsize) / JoinableQueue(maxsize)).
 *
 * The queue lives in an anonymous shared-memory object (no /dev/shm name;
 * the kernel frees it when the last process holding it closes it, however
 * that process ends). Hand it to a child with mp_process_pass_fd(proc,
 * mp_queue_fileno(q)) (the child calls mp_queue_from_fd(&q, mp_child_fd(i)))
 * or to a command with mp_cmd_pass_queue().
 *
 * Messages of any size go through: a message larger than a quarter of
 * max_bytes is streamed through the queue in pieces, so memory stays
 * bounded by max_bytes. FIFO order holds per producer; every message is delivered
 * exactly once. A producer or consumer killed in the middle of a put or get
 * loses at most the message it was moving; the queue stays usable.
 *
 * @param[out] out     the queue; free with mp_queue_free().
 * @param maxsize      the most messages queued at once; 0 = no limit.
 * @param max_bytes    the shared ring's size in bytes; 0 = 1 MiB; at least
 *                     4096, at most 16 GiB.
 * @param flags        0 or MP_QUEUE_JOINABLE.
 * Errors: MP_EINVAL, MP_ENOSPC (no shared memory left), MP_ENOMEM, MP_ESYS.
 * Never blocks. Since 0.1.
 */
MP_EXTERN int mp_queue_new(mp_queue_t **out, size_t maxsize, size_t max_bytes,
                           int flags);

/**
 * Open a queue from a descriptor received from another process
 * (mp_child_fd(), or any SCM_RIGHTS transfer). Takes ownership of fd.
 *
 * Errors: MP_EINVAL (NULL out, fd not open or not a multiproc queue, a
 * corrupt header), MP_EACCES (owned by another user), MP_ENOTSUP (a layout
 * version this library does not read). Never blocks. Since 0.1.
 */
MP_EXTERN int mp_queue_from_fd(mp_queue_t **out, int fd);

/**
 * Open the queue published under the address's name by a broker
 * (mp_broker_publish()): mp_fd_open() then mp_queue_from_fd(). The queue is
 * the real shared object, used with no broker in the data path; it stays
 * usable when the broker ends.
 *
 * With "redis://[user\@]host[:port][/db]\#name" the queue lives on that
 * redis server (a build with the meson feature `redis`; otherwise
 * MP_ENOTSUP naming the option): if no queue of that name exists there,
 * a plain, unbounded one is made (create a bounded or joinable one with
 * mp_queue_new_at()). Every mp_queue_* call works on the handle; what
 * changes is written under "On a redis server" in each call's
 * documentation, and in docs/guide.md "Beyond one machine". In short:
 * every call is one round trip or more ("never blocks" becomes "one round
 * trip"); delivery is at least once, not exactly once: a message is
 * acknowledged when its consumer is done with it (at its next get or at
 * mp_queue_free() on a plain queue, at mp_queue_task_done() on a joinable
 * one), and the messages of a consumer that dies (no heartbeat for the
 * lease, MULTIPROC_REDIS_LEASE_MS, default 10000 ms) go to another
 * consumer with a higher delivery count (mp_queue_last_delivery());
 * mp_queue_fileno() and passing the handle to a child are MP_ENOTSUP
 * (the child opens the address). The password is never in the address:
 * it is read from the file named by MULTIPROC_REDIS_PASSWORD_FILE, else
 * from MULTIPROC_REDIS_PASSWORD. If the server's maxmemory-policy can
 * evict keys, the open succeeds and mp_last_error() holds a warning.
 *
 * @param[out] out   the queue; free it as one made here.
 * @param address    "unix:/path\#name" or "unix:\@name\#name" (broker.h),
 *                   or "redis://host:port\#name".
 * @param timeout_ms for connecting and the reply; MP_FOREVER waits.
 * Errors: those of mp_fd_open(), plus those of mp_queue_from_fd(): MP_EINVAL
 * when the name holds another kind of object. On a redis server:
 * MP_ECONNREFUSED (nothing answers at host:port), MP_ETIMEDOUT (no answer
 * within timeout_ms), MP_EACCES (the server refused the credentials, or
 * the password file is unreadable), MP_EINVAL (the queue's keys hold
 * something that is not a multiproc queue), MP_EPIPE (the connection was
 * lost), MP_ENOTSUP (no redis backend in this build). Blocks up to
 * timeout_ms. Since 0.4.
 */
MP_EXTERN int mp_queue_open(mp_queue_t **out, const char *address, int64_t timeout_ms);

/**
 * Make a queue on a redis server, or open the one already there if it has
 * the same maxsize and flags: all the programs that share a queue can
 * call this with the same settings, in any order. (mp_queue_open() of an
 * address with no queue makes a plain unbounded one: the first creator
 * decides the settings.)
 *
 * @param[out] out     the queue; free with mp_queue_free().
 * @param address      "redis://[user\@]host[:port][/db]\#name".
 * @param maxsize      the most messages put and not yet got; 0 = no limit.
 * @param flags        0 or MP_QUEUE_JOINABLE.
 * @param timeout_ms   for connecting and the reply; MP_FOREVER waits.
 * Errors: MP_EINVAL (NULL out or address, an address that is not
 * redis://, unknown flags), MP_EEXIST (a queue of that name exists with
 * another maxsize or flags), and those of mp_queue_open() on a redis
 * server. Blocks up to timeout_ms. Since 0.4.
 */
MP_EXTERN int mp_queue_new_at(mp_queue_t **out, const char *address, size_t maxsize, int flags,
                              int64_t timeout_ms);

/** Room for a message id of mp_queue_last_delivery(), its NUL included. */
#define MP_QUEUE_ID_MAX 48

/**
 * The id and the delivery count of the last message got through this
 * handle, from a queue on a redis server (at-least-once delivery). The id
 * ("ms-seq", the stream entry's id) names the message for its whole life,
 * also when it is delivered again; a count above 1 says it was delivered
 * before, to a consumer that died holding it: a consumer that must not
 * act twice dedupes by the id. With several threads getting through one
 * handle, the last get of any of them counts: give each thread its own
 * handle.
 *
 * @param[out] out_count the delivery count (>= 1).
 * @param[out] id        id_cap bytes (MP_QUEUE_ID_MAX is enough); the id,
 *                       NUL-terminated.
 * Errors: MP_EINVAL (NULL argument, id_cap 0, bad handle), MP_ENOTSUP (a
 * local queue: it delivers each message once and keeps no ids), MP_ESTATE
 * (nothing got through this handle yet), MP_ENOSPC (id_cap too small).
 * Never blocks. Since 0.4.
 */
MP_EXTERN int mp_queue_last_delivery(int64_t *out_count, char *id, size_t id_cap,
                                     mp_queue_t *queue);

/**
 * The queue's shared-memory descriptor, to pass to a child.
 *
 * Returns: the descriptor (owned by the queue), or MP_EINVAL. On a redis
 * server: MP_ENOTSUP (there is none; a child opens the address). Since 0.1.
 */
MP_EXTERN int mp_queue_fileno(mp_queue_t *queue);

/**
 * Put one message of len bytes (put / put_nowait with timeout_ms 0).
 *
 * Errors: MP_EINVAL, MP_ECLOSED (the queue was closed), MP_EFULL (timeout 0
 * and no room), MP_ETIMEDOUT (no room in time; a large message that timed
 * out half-way is withdrawn: consumers never see it).
 * Blocking: while the queue is full (maxsize messages or no bytes left), up
 * to timeout_ms; an idle wait spins briefly, then sleeps on a futex.
 * On a redis server: one round trip per try; a full queue (maxsize) is
 * waited for as here; MP_EMSGSIZE above 256 MiB (bodies above 64 KiB are
 * stored in a key of their own); MP_EPIPE when the connection is lost
 * (the put may or may not have happened), MP_ECONNREFUSED, MP_EACCES;
 * a reply may be waited for up to 2 s beyond timeout_ms.
 * Since 0.1.
 */
MP_EXTERN int mp_queue_put(mp_queue_t *queue, const void *buf, size_t len,
                           int64_t timeout_ms);

/**
 * Get the oldest message into a buffer the library allocates.
 *
 * @param[out] out      the bytes, NUL-terminated (not counted); mp_free().
 * @param[out] out_len  the message length.
 * Errors: MP_EINVAL, MP_EEMPTY (timeout 0 and nothing queued),
 * MP_ETIMEDOUT, MP_ECLOSED (the queue was closed and everything queued has
 * been got: the end of the stream), MP_ENOMEM.
 * Blocking: while the queue is empty, up to timeout_ms.
 * On a redis server: one round trip per try; a waiting get asks again when
 * the queue's channel says something was put, and at least every 250 ms;
 * the message is held by this consumer until it is acknowledged (at the
 * next get or mp_queue_free(); at mp_queue_task_done() if joinable) and
 * is delivered again to another consumer if this process dies first;
 * MP_EINVAL for an entry another client wrote into the stream (reported
 * once, then dropped); MP_EPIPE, MP_ECONNREFUSED as mp_queue_put(). A
 * get that ends with MP_ETIMEDOUT or MP_EPIPE may still have taken
 * messages on the server (its reply was lost): the next get through this
 * handle delivers them (delivery count + 1), and mp_queue_free() hands
 * them to the other consumers. A round trip waits at most 30 s, also
 * with MP_FOREVER: a server that stopped answering is MP_ETIMEDOUT.
 * Since 0.1.
 */
MP_EXTERN int mp_queue_get(void **out, size_t *out_len, mp_queue_t *queue,
                           int64_t timeout_ms);

/**
 * Get the oldest message into the caller's buffer.
 *
 * @param[out] out_len  the length; on MP_ENOSPC the size needed (the
 *                      message stays queued).
 * Errors: those of mp_queue_get(), and MP_ENOSPC.
 * On a redis server: as mp_queue_get(); on MP_ENOSPC the message stays
 * with this handle (held, not queued) for its next get.
 * Since 0.1.
 */
MP_EXTERN int mp_queue_get_into(size_t *out_len, mp_queue_t *queue, void *buf,
                                size_t cap, int64_t timeout_ms);

/**
 * Put n messages in order, as n mp_queue_put() calls would, but taking the
 * producers' lock once for all the messages that fit at that moment: for
 * many small messages this moves several times as many per second, and a
 * binding pays its per-call cost once per batch instead of per message.
 * Messages of one call stay contiguous only as far as other producers do
 * not interleave; FIFO order holds for this producer as for single puts.
 *
 * @param[out] out_count how many messages were put: all n on MP_OK; on
 *                       an error, the first *out_count went in and the
 *                       rest did not (on MP_EINVAL, none).
 * @param bufs, lens     n messages: bufs[i] points to lens[i] bytes
 *                       (NULL allowed when lens[i] is 0). Borrowed for
 *                       the call.
 * @param timeout_ms     one deadline for the whole call; 0 puts what fits
 *                       now and fails with MP_EFULL at the first message
 *                       that does not.
 * Errors: MP_EINVAL (NULL out_count or queue, NULL bufs or lens with
 * n > 0, a NULL message with a non-zero length, a message too large for
 * mp_queue_put(), a bad timeout; checked before anything is put),
 * MP_ECLOSED, MP_EFULL, MP_ETIMEDOUT (as mp_queue_put()).
 * Blocking: only while a message must wait for room, as mp_queue_put().
 * On a redis server: one round trip per 1000 messages or 8 MiB, all or
 * what fits (maxsize) going in together.
 * Since 0.1.
 */
MP_EXTERN int mp_queue_put_many(size_t *out_count, mp_queue_t *queue, const void *const *bufs,
                                const size_t *lens, size_t n, int64_t timeout_ms);

/**
 * Get the oldest message, then the messages queued right behind it, into
 * the caller's buffer, back to back (message i starts where message i-1
 * ends, no padding). It waits as mp_queue_get_into() for the first
 * message only; the others are those already queued that fit in what is
 * left of cap, up to max_count in all, and that are not streamed (a
 * message above a quarter of the ring starts the next call instead). The
 * counterpart of mp_queue_put_many(): one lock and one wake-up for many
 * messages.
 *
 * Taking a batch is taking its messages: a process that gets a batch and
 * then dies loses all of them, as it would lose messages it had got one by
 * one. With MP_QUEUE_JOINABLE each message counts for task_done.
 *
 * @param[out] out_count how many messages were got (>= 1 on MP_OK).
 * @param buf, cap       where the bytes go (buf may be NULL when cap is 0).
 * @param[out] lens      max_count entries; lens[i] is the length of
 *                       message i. On MP_ENOSPC lens[0] is the length of
 *                       the oldest message, which is larger than cap and
 *                       stays queued.
 * Errors: MP_EINVAL (NULL out_count, queue or lens, max_count 0, NULL buf
 * with cap > 0, a bad timeout), MP_EEMPTY, MP_ETIMEDOUT, MP_ECLOSED (as
 * mp_queue_get()), MP_ENOSPC.
 * Blocking: until the first message arrives, up to timeout_ms.
 * On a redis server: one round trip takes up to max_count messages; those
 * that do not fit in cap stay with this handle for its next gets.
 * Since 0.1.
 */
MP_EXTERN int mp_queue_get_many(size_t *out_count, mp_queue_t *queue, void *buf, size_t cap,
                                size_t *lens, size_t max_count, int64_t timeout_ms);

/**
 * The number of messages queued (qsize; a snapshot).
 *
 * Returns: the count (>= 0, clamped to INT_MAX) or MP_EINVAL. Never blocks
 * beyond a short lock.
 * On a redis server: one round trip; the messages put and not yet
 * delivered (messages held by a consumer are not counted); a negative
 * MP_E* when the server cannot be asked.
 * Since 0.1.
 */
MP_EXTERN int mp_queue_qsize(mp_queue_t *queue);

/**
 * 1 if no message is queued, 0 if some are, or MP_EINVAL.
 * On a redis server: one round trip, as mp_queue_qsize().
 * Since 0.1.
 */
MP_EXTERN int mp_queue_empty(mp_queue_t *queue);

/**
 * Whether a put would wait now (full; a snapshot).
 *
 * Returns: 1 if maxsize messages are queued, another producer is in the
 * middle of a streamed message, or fewer bytes are free than the largest
 * message the ring keeps whole needs: a quarter of max_bytes less a
 * 24-byte record header (262120 bytes with the default 1 MiB ring).
 * 0 otherwise: then a put of a message up to that size goes in without
 * waiting, unless another producer gets there first. A
 * larger message is streamed and may wait for consumers whatever this
 * says. Python's full() looks at maxsize only; with small messages and a
 * maxsize the two agree. MP_EINVAL for a bad handle.
 * Never blocks beyond a short lock.
 * On a redis server: one round trip; 1 when maxsize messages are queued.
 * Since 0.1.
 */
MP_EXTERN int mp_queue_full(mp_queue_t *queue);

/**
 * Close the queue for everyone who holds it (no more poison pills):
 * every put returns MP_ECLOSED; gets drain what is queued and then every
 * blocked and future get returns MP_ECLOSED. Closing again is a no-op.
 *
 * Errors: MP_EINVAL. Never blocks beyond a short lock.
 * On a redis server: one round trip; the queue stays closed on the server
 * (for every program that opens it later) until its keys are deleted;
 * consumers drain what is queued, then get MP_ECLOSED.
 * Since 0.1.
 */
MP_EXTERN int mp_queue_close(mp_queue_t *queue);

/**
 * Whether the queue has been closed (by any process; a snapshot: it never
 * becomes unclosed). A closed queue may still hold messages to drain.
 *
 * Returns: 1 closed, 0 open, MP_EINVAL (NULL or not a live queue).
 * Never blocks.
 * On a redis server: one round trip; a negative MP_E* when the server
 * cannot be asked.
 * Since 0.2.
 */
MP_EXTERN int mp_queue_closed(mp_queue_t *queue);

/**
 * The most messages the queue holds at once, as given to mp_queue_new()
 * by whichever process made it (0: no limit; the byte limit of the ring
 * still applies).
 *
 * Returns: the maxsize (>= 0) or MP_EINVAL (NULL or not a live queue).
 * Never blocks. Since 0.2.
 */
MP_EXTERN int64_t mp_queue_maxsize(mp_queue_t *queue);

/**
 * Mark one message that this process got as processed (task_done).
 *
 * Errors: MP_EINVAL, MP_ESTATE (not a joinable queue, or called more times
 * than messages were got).
 * On a redis server: one round trip; acknowledges the oldest message this
 * handle got and has not marked done (task_done counts per handle), so
 * a message delivered twice is counted once.
 * Since 0.1.
 */
MP_EXTERN int mp_queue_task_done(mp_queue_t *queue);

/**
 * Wait until every message put has been got and marked task_done (join).
 *
 * Errors: MP_EINVAL, MP_ESTATE (not joinable), MP_ETIMEDOUT.
 * Blocking: up to timeout_ms.
 * On a redis server: waits for the server's count of messages put and not
 * acknowledged, asking again on each acknowledgement that reaches 0 and
 * at least every 250 ms.
 * Since 0.1.
 */
MP_EXTERN int mp_queue_join(mp_queue_t *queue, int64_t timeout_ms);

/**
 * Release this process's handle (unmap, close the descriptor). Other
 * processes keep using the queue; the memory goes away with the last one.
 * This does not close the queue (see mp_queue_close()). NULL does nothing.
 * On a redis server: one round trip (up to 2 s): a plain queue acknowledges
 * what this handle got; a joinable queue's messages not marked done are
 * delivered again to other consumers.
 * Since 0.1.
 */
MP_EXTERN void mp_queue_free(mp_queue_t *queue);

/**
 * @name The ring, for a binding's own put and get
 *
 * A language whose every call into C costs about as much as a whole put
 * (Go's cgo: some 65 ns a crossing, against some 50 ns for a 64-byte put
 * in C) can put and get small whole messages on a queue's ring itself and
 * call the library for everything else. mp_queue_ring_word() gives it the
 * addresses of the ring's words and mp_queue_ring_value() its sizes. The
 * steps are the library's own (src/ipc/queue.cpp), numbered
 * MP_QUEUE_RING_PROTOCOL: a binding compares the number the library
 * speaks (value MP_RING_PROTOCOL) with the one it implements and, when
 * they differ, makes every call through the library. Go's binding uses
 * it; C callers have no reason to. No struct is published: a later
 * protocol adds words and values, never changes these.
 *
 * The binding's put of a message of at most MP_RING_MAX_WHOLE bytes
 * (words named by their MP_RING_ suffix, in lower case):
 *  1. take the put side's lock: compare-and-swap *put_owner from 0 to the
 *     value MP_RING_TOKEN (never wait on it: on failure make the call
 *     through the library, which spins, sleeps and repairs after a dead
 *     owner);
 *  2. if *writing_stream or *closed is non-zero, if MP_RING_MAX_ITEMS is
 *     non-zero and *puts - *gets >= it, or the record does not fit between
 *     *tail and *head_seen (then *head, stored into *head_seen): release
 *     and call the library;
 *  3. write the record at *tail (a 24-byte header {uint32 kind 1, uint32
 *     length, uint64 0, uint64 0} and the payload, the whole 8-byte
 *     aligned; when it does not fit before the ring's end, a pad record
 *     {6, bytes left - 24, 0, 0} there, or nothing when fewer than 24
 *     bytes are left, and the record at the ring's start);
 *  4. store *puts + 1 into *puts, add 1 to *unfinished if MP_RING_JOINABLE,
 *     then store the new tail (a release store: the tail moves last, so a
 *     process that dies before has put nothing);
 *  5. release: store 0 into *put_owner with a full fence after it; then,
 *     if *put_lock_waiters is non-zero and *put_lock_seq odd (a sleeper
 *     armed it), or *get_waiters non-zero and *data_seq odd, call
 *     mp_queue_ring_wake(queue, MP_QUEUE_RING_PUT). A waiter stays
 *     counted from its sleep until it runs again; the odd word says it
 *     still wants a wake-up.
 * A get mirrors it on the get side (*get_owner; *get_lock_waiters and
 * *get_lock_seq, *put_waiters and *space_seq: MP_QUEUE_RING_GET), taking
 * the record at *head, past pad records (and past fewer than 24 bytes at
 * the ring's end), up to *tail_seen (then *tail, stored into *tail_seen),
 * only when it is whole (kind 1), fits the caller's buffer and
 * *parked is 0 (this handle holds no partly received streamed message);
 * it stores *gets + 1 before the new head, and adds 1 to *got_not_done if
 * joinable.
 *
 * Anything unexpected (an index not 8-byte aligned or more than the
 * capacity apart, a record whose kind or size is out of range) is the
 * library's to report: release and call it. A process that dies holding a
 * lock is found and repaired by the next process that waits for it, as
 * when it dies in the library.
 */
/**@{*/

/** The ring protocol this header describes. */
#define MP_QUEUE_RING_PROTOCOL 1

/** mp_queue_ring_wake()'s side: after a put. */
#define MP_QUEUE_RING_PUT 1
/** mp_queue_ring_wake()'s side: after a get. */
#define MP_QUEUE_RING_GET 2

/** A queue's ring words (mp_queue_ring_word()); in shared memory unless
 * said otherwise. */
typedef enum mp_ring_word {
  MP_RING_DATA = 0,         /**< char: the ring's first byte */
  MP_RING_PARKED,           /**< unsigned char, this handle's own (see above) */
  MP_RING_CLOSED,           /**< uint32_t: non-zero once closed */
  MP_RING_PUT_OWNER,        /**< uint64_t: the put lock; 0 when free */
  MP_RING_PUT_LOCK_WAITERS, /**< uint32_t */
  MP_RING_PUT_LOCK_SEQ,     /**< uint32_t: odd when a sleeper wants a wake-up */
  MP_RING_PUTS,             /**< uint64_t: messages put */
  MP_RING_HEAD_SEEN,        /**< uint64_t: put side: an earlier head */
  MP_RING_WRITING_STREAM,   /**< uint64_t: non-zero while a message streams */
  MP_RING_TAIL,             /**< uint64_t */
  MP_RING_GET_OWNER,        /**< uint64_t: the get lock; 0 when free */
  MP_RING_GET_LOCK_WAITERS, /**< uint32_t */
  MP_RING_GET_LOCK_SEQ,     /**< uint32_t */
  MP_RING_HEAD,             /**< uint64_t */
  MP_RING_GETS,             /**< uint64_t: messages got */
  MP_RING_TAIL_SEEN,        /**< uint64_t: get side: an earlier tail */
  MP_RING_GET_WAITERS,      /**< uint32_t: consumers asleep waiting for data */
  MP_RING_PUT_WAITERS,      /**< uint32_t: producers asleep waiting for room */
  MP_RING_DATA_SEQ,         /**< uint32_t: odd when a consumer wants a wake-up */
  MP_RING_SPACE_SEQ,        /**< uint32_t: odd when a producer wants a wake-up */
  MP_RING_UNFINISHED,       /**< uint64_t: joinable: put, not yet done */
  MP_RING_GOT_NOT_DONE      /**< uint64_t: joinable: got, not yet done */
} mp_ring_word_t;

/** A queue's ring values (mp_queue_ring_value()). */
typedef enum mp_ring_value {
  MP_RING_PROTOCOL = 0, /**< the MP_QUEUE_RING_PROTOCOL the library speaks */
  MP_RING_CAPACITY,     /**< the ring's bytes (a multiple of 8) */
  MP_RING_MAX_WHOLE,    /**< the largest payload kept whole */
  MP_RING_MAX_ITEMS,    /**< maxsize; 0: no limit */
  MP_RING_JOINABLE,     /**< 1 for a joinable queue, else 0 */
  MP_RING_TOKEN         /**< this process's lock owner word (after fork(), ask again) */
} mp_ring_value_t;

/**
 * The address of one word of queue's ring (see above), valid while the
 * handle lives.
 *
 * @param[out] out  the address on MP_OK; untouched otherwise.
 * @param which     an mp_ring_word_t.
 * Errors: MP_EINVAL (NULL out, queue not a live handle, which unknown),
 * MP_ENOTSUP (the queue has no ring: one on a redis server).
 * Blocking: never.
 * Since 0.4.
 */
MP_EXTERN int mp_queue_ring_word(void **out, mp_queue_t *queue, int which);

/**
 * One value of queue's ring (see above).
 *
 * @param[out] out  the value on MP_OK; untouched otherwise.
 * @param which     an mp_ring_value_t.
 * Errors: MP_EINVAL (NULL out, queue not a live handle, which unknown),
 * MP_ENOTSUP (the queue has no ring: one on a redis server).
 * Blocking: never.
 * Since 0.4.
 */
MP_EXTERN int mp_queue_ring_value(uint64_t *out, mp_queue_t *queue, int which);

/**
 * Wake the processes a binding's own put (side MP_QUEUE_RING_PUT) or get
 * (MP_QUEUE_RING_GET) may have to wake, after it released the side's
 * lock: a waiter for that lock, and consumers waiting for data (after a
 * put) or producers waiting for room (after a get). Cheap when nobody
 * waits.
 *
 * Errors: MP_EINVAL (queue not a live handle, side neither value),
 * MP_ENOTSUP (the queue has no ring).
 * Blocking: never (a futex wake at most).
 * Since 0.4.
 */
MP_EXTERN int mp_queue_ring_wake(mp_queue_t *queue, int side);

/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* MULTIPROC_QUEUE_H */
