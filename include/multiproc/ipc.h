/**
 * @file
 * multiproc: connections (Pipe), handles passed by name, waiting on several
 * objects; queues are in multiproc/queue.h, which this includes. Part of
 * <multiproc.h>; include that.
 */
#ifndef MULTIPROC_IPC_H
#define MULTIPROC_IPC_H

#include "multiproc/process.h"
#include "multiproc/queue.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Connections (multiprocessing.Pipe / Connection)
 * ---------------------------------------------------------------------- */

/* mp_conn_t, one end of a connection, is declared in multiproc/command.h:
 * commands pass connections to their children (mp_cmd_pass_conn()). */

/** Flag of mp_conn_from_fd(): the end receives. */
#define MP_CONN_READABLE 1
/** Flag of mp_conn_from_fd(): the end sends. */
#define MP_CONN_WRITABLE 2

/**
 * Create a connected pair of ends (Python's Pipe(duplex)). With duplex = 1
 * both ends send and receive; with duplex = 0, *a_out only receives and
 * *b_out only sends (as in Python: `r, w = Pipe(False)`).
 *
 * The wire format is CPython's Connection framing (a 4-byte big-endian
 * length, or -1 and an 8-byte length above 2 GiB, then the bytes), so a
 * Python multiprocessing.connection.Connection on the other descriptor can
 * send_bytes()/recv_bytes() with a multiproc end. Both ends are Unix
 * stream sockets, close-on-exec.
 *
 * @param[out] a_out, b_out  the ends; free each with mp_conn_free().
 * Errors: MP_EINVAL (NULL out, duplex not 0/1), MP_ENOSPC (out of
 * descriptors), MP_ENOMEM, MP_ESYS. Never blocks. Since 0.1.
 */
MP_EXTERN int mp_pipe(mp_conn_t **a_out, mp_conn_t **b_out, int duplex);

/**
 * Wrap a descriptor a child received (mp_child_fd()) or any connected
 * stream socket or pipe as a connection end. The end takes ownership of fd
 * (mp_conn_free() closes it) and marks it close-on-exec.
 *
 * @param flags  MP_CONN_READABLE, MP_CONN_WRITABLE or both.
 * Errors: MP_EINVAL (NULL out, fd not open, no or unknown flags). Since 0.1.
 */
MP_EXTERN int mp_conn_from_fd(mp_conn_t **out, int fd, int flags);

/**
 * Send one message of len bytes (send_bytes). Messages of any size, up to
 * the receiver's maximum, arrive whole and in order.
 *
 * Errors: MP_EINVAL (NULL, buf NULL with len > 0, bad timeout, a receive-only
 * end), MP_ECLOSED (this end was closed), MP_EPIPE (every copy of the peer
 * end is closed; never SIGPIPE), MP_ETIMEDOUT (if some bytes of the message
 * had gone out, the connection is unusable afterwards: MP_ESTATE),
 * MP_ECANCELED (the cancel token bound to the thread fired; if some bytes
 * had gone out, the end keeps the message's place: calling mp_conn_send()
 * again with the same buffer, unchanged, and length finishes it, and the
 * peer receives it once; any other send then gets MP_ESTATE and the end is
 * unusable), MP_ESTATE, MP_ESYS.
 * Blocking: until the whole message is written or timeout_ms. One sender at
 * a time per end: concurrent sends are serialised. Since 0.1.
 */
MP_EXTERN int mp_conn_send(mp_conn_t *conn, const void *buf, size_t len,
                           int64_t timeout_ms);

/**
 * Receive one message into a buffer the library allocates (recv_bytes).
 *
 * @param[out] out      the bytes, NUL-terminated (the NUL not counted);
 *                      free with mp_free(). NULL on failure.
 * @param[out] out_len  the message length.
 * Errors: MP_EINVAL (NULL, bad timeout, a send-only end), MP_ECLOSED (this
 * end was closed, or the peer closed and everything sent was received),
 * MP_ETIMEDOUT (a partly received message is kept for the next call),
 * MP_EMSGSIZE (the peer announced more than mp_conn_set_max_message()
 * allows; nothing is allocated and the connection is unusable afterwards),
 * MP_ENOMEM, MP_ESYS.
 * Blocking: until a whole message arrives or timeout_ms. Since 0.1.
 */
MP_EXTERN int mp_conn_recv(void **out, size_t *out_len, mp_conn_t *conn,
                           int64_t timeout_ms);

/**
 * Receive one message into the caller's buffer (recv_bytes_into).
 *
 * @param[out] out_len  the message length; on MP_ENOSPC the size needed.
 * Errors: those of mp_conn_recv(), and MP_ENOSPC when cap is too small:
 * the message stays queued for a call with a larger buffer.
 * Blocking: as mp_conn_recv(). Since 0.1.
 */
MP_EXTERN int mp_conn_recv_into(size_t *out_len, mp_conn_t *conn, void *buf,
                                size_t cap, int64_t timeout_ms);

/**
 * Whether a message (or the end of the stream) can be received now or
 * within timeout_ms (Connection.poll).
 *
 * Returns: 1 (ready), 0 (not ready by the deadline), or an error:
 * MP_EINVAL, MP_ECLOSED (this end was closed).
 * Blocking: up to timeout_ms. Since 0.1.
 */
MP_EXTERN int mp_conn_poll(mp_conn_t *conn, int64_t timeout_ms);

/**
 * Set the largest message this end accepts (default 1 GiB), so that a peer
 * announcing a huge length gets MP_EMSGSIZE instead of an allocation.
 *
 * Errors: MP_EINVAL (NULL, max 0). Since 0.1.
 */
MP_EXTERN int mp_conn_set_max_message(mp_conn_t *conn, size_t max);

/**
 * The descriptor of this end, for an event loop (readable = poll() says a
 * message may be ready) or for mp_process_pass_fd(). A receive may read
 * ahead the start of later messages, which the descriptor then no longer
 * signals: after a wake-up, receive until mp_conn_poll(conn, 0) returns 0.
 *
 * Returns: the descriptor, MP_EINVAL (NULL), MP_ECLOSED (closed).
 * The descriptor stays owned by the connection. Since 0.1.
 */
MP_EXTERN int mp_conn_fileno(mp_conn_t *conn);

/**
 * Close this end's descriptor (Connection.close). The handle stays valid
 * until mp_conn_free(); every later operation returns MP_ECLOSED. Closing
 * again is a no-op. The peer sees the end of the stream once every copy of
 * this end (in children too) is closed.
 *
 * Errors: MP_EINVAL (NULL). Since 0.1.
 */
MP_EXTERN int mp_conn_close(mp_conn_t *conn);

/** Close (if needed) and free an end; NULL does nothing. Since 0.1. */
MP_EXTERN void mp_conn_free(mp_conn_t *conn);

/* ------------------------------------------------------------------------
 * Handles passed to a child by name: the child's side. The parent's side
 * is mp_cmd_pass_queue()/_conn()/_fd() for a command (multiproc/command.h),
 * mp_process_pass_queue()/_conn()/_fd2() for a target process
 * (multiproc/process.h) and mp_pool_opts_pass_queue()/_conn()/_fd() for a
 * pool's workers (multiproc/pool.h). A target child looks in what its
 * parent passed it (never what its own parent got); a command's program in
 * its environment (MULTIPROC_HANDLE_<name>).
 * ---------------------------------------------------------------------- */

/**
 * In a child given a descriptor by name (mp_cmd_pass_fd(),
 * mp_process_pass_fd2(), mp_pool_opts_pass_fd()), a descriptor of the object
 * passed under name: a close-on-exec duplicate that belongs to the caller
 * (give it to a *_from_fd() function, which takes it over, or close it).
 *
 * @param[out] out  the descriptor.
 * Errors: MP_EINVAL (NULL, bad name), MP_ENOENT (nothing passed under that
 * name), MP_ESTATE (the name holds a queue or connection: use
 * mp_queue_inherit() / mp_conn_inherit()), MP_ESYS. Since 0.1.
 */
MP_EXTERN int mp_fd_inherit(int *out, const char *name);

/**
 * In a child given a queue by name (mp_cmd_pass_queue(),
 * mp_process_pass_queue(), mp_pool_opts_pass_queue()), open the queue
 * passed under name.
 *
 * Errors: MP_EINVAL (NULL, bad name), MP_ENOENT (nothing passed under that
 * name), MP_ESTATE (the name holds another kind of handle), and those of
 * mp_queue_from_fd(). Since 0.1.
 */
MP_EXTERN int mp_queue_inherit(mp_queue_t **out, const char *name);

/**
 * In a child given a connection end by name (mp_cmd_pass_conn(),
 * mp_process_pass_conn(), mp_pool_opts_pass_conn()), open the end passed
 * under name, readable and writable as flags says.
 *
 * Errors: as mp_queue_inherit(). Since 0.1.
 */
MP_EXTERN int mp_conn_inherit(mp_conn_t **out, const char *name, int flags);

/* ------------------------------------------------------------------------
 * Waiting on several objects at once (multiprocessing.connection.wait)
 * ---------------------------------------------------------------------- */

/** Kinds of mp_waitable_t entries: what "ready" means for each handle. */
#define MP_WAIT_CONN 1    /**< mp_conn_t: a message or end of stream can be received (mp_conn_poll() would say 1) */
#define MP_WAIT_QUEUE 2   /**< mp_queue_t: a message is queued, or the queue is closed */
#define MP_WAIT_PROCESS 3 /**< mp_process_t (started): the child has ended (Python's sentinel) */
#define MP_WAIT_EVENT 4   /**< mp_event_t: the event is set */
#define MP_WAIT_FD 5      /**< a descriptor, stored as handle = (void *)(intptr_t)fd: readable or hung up (Python's wait takes integers too) */

/** The most entries one mp_wait() call takes. */
#define MP_WAIT_MAX 64

/** One object for mp_wait(): the caller fills kind and handle. */
typedef struct mp_waitable {
  int kind;     /**< MP_WAIT_CONN, MP_WAIT_QUEUE, MP_WAIT_PROCESS, MP_WAIT_EVENT or MP_WAIT_FD */
  void *handle; /**< the mp_conn_t *, mp_queue_t *, mp_process_t * or mp_event_t *, or the descriptor (MP_WAIT_FD); borrowed */
  int ready;    /**< out: 1 if the object was ready when the call returned, else 0 */
} mp_waitable_t;

/**
 * Wait until at least one of n objects is ready, or timeout_ms passes
 * (Python's multiprocessing.connection.wait(object_list, timeout)). Any mix
 * of connections, queues, processes, events and plain descriptors (a
 * socket, another library's pipe, a Ruby-forked child's sentinel); the
 * same handle may appear
 * more than once. Each entry's ready is set to 1 or 0.
 *
 * Ready is a snapshot, as with select(): another consumer may take the
 * queued message or receive the message first, and an event may be cleared
 * again, so follow up with a call that does not block for long (a get or
 * receive with timeout 0 or a short timeout). A queue that is ready because
 * it was closed answers MP_ECLOSED to a get.
 *
 * How it waits (no busy polling): connections and processes are
 * descriptors (the child's pidfd, see mp_process_sentinel()), queues and
 * events are futex words. Descriptors alone are waited for with poll(),
 * futex words alone with one futex_waitv (Linux 5.16; on older kernels the
 * words are re-checked every 10 ms); a mix runs the futex wait on a helper
 * thread made for the call, which wakes the poll() through an eventfd.
 * Wake-up latency: about 20-30 us for one kind alone, about 0.1 ms for a
 * mix, which costs one short-lived thread per call that sleeps (numbers
 * in docs/guide.md).
 *
 * The handles are borrowed: each must stay alive (not freed, the
 * connection not closed) until the call returns. A handle freed by another
 * thread during the call is undefined behaviour, as for any other call
 * that uses it.
 *
 * @param items      the entries; kind and handle are read, ready written.
 * @param n          1 to MP_WAIT_MAX entries.
 * @param timeout_ms MP_FOREVER, or >= 0 (0: only look, never sleep).
 * Returns: the number of ready entries (>= 1), or 0 if none became ready
 * within timeout_ms (Python returns an empty list).
 * Errors: MP_EINVAL (items NULL, n 0, an unknown kind, a NULL or dead
 * handle, a descriptor that is not open, a send-only connection end, bad timeout), MP_ENOSPC (n above
 * MP_WAIT_MAX), MP_ECLOSED (a connection end was closed), MP_ESTATE (a
 * process that was not started), MP_ECANCELED (the thread's cancel token
 * fired; every ready is then 0), MP_ENOMEM, MP_ESYS (no descriptor or
 * thread left for the mixed wait).
 * Blocking: until an entry is ready, timeout_ms, or cancellation; the
 * bound cancel token wakes it at once. Since 0.2.
 */
MP_EXTERN int mp_wait(mp_waitable_t *items, size_t n, int64_t timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* MULTIPROC_IPC_H */
