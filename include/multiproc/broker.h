/**
 * @file
 * multiproc: a broker, through which programs that did not start each other
 * open the same shared objects by address. Part of <multiproc.h>; include
 * that.
 */
#ifndef MULTIPROC_BROKER_H
#define MULTIPROC_BROKER_H

#include "multiproc/pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Addresses
 *
 * Every call that opens something by address takes one string:
 *
 *   unix:/abs/path/app.sock#name   a broker's socket file and an object
 *   unix:@app#name                 the same in Linux's abstract namespace
 *   tcp://host:port                a Listener (host: a name, IPv4, [IPv6])
 *   redis://[user@]host[:port][/db]#name   the redis backend (a password
 *                                  never goes in an address)
 *
 * The object's name is the fragment after '#' (1-64 characters of
 * [A-Za-z0-9_], the rule of handles passed by name), so one string from a
 * config file or an environment variable says everything. A unix: path is
 * absolute and at most 107 bytes (an abstract name 106); '#' cannot be part
 * of a path. Parsing is strict: a malformed, relative, over-long (4096
 * bytes) or control-character address is MP_EINVAL with a message that says
 * what is wrong; an unknown scheme is MP_EINVAL naming the schemes the build
 * knows. A call that never serves a scheme (a Listener and redis://, a
 * broker and tcp://) answers MP_EINVAL in every build; a call that serves
 * redis:// (mp_queue_open(), mp_pool_open(), mp_pool_serve()) answers
 * MP_ENOTSUP in a build without the redis backend.
 * ---------------------------------------------------------------------- */

/* ------------------------------------------------------------------------
 * Broker (the serving side)
 *
 * A broker serves a unix: socket from a thread of its own and hands the
 * objects published under names to the programs that connect: the
 * descriptor of a queue, lock, semaphore, event, condition, barrier,
 * value, shared memory block or dict goes over SCM_RIGHTS, so the other
 * program uses the real object at full speed, with no broker in the data
 * path, and keeps it when the broker ends. A published pool stays in its
 * owner: an opened pool sends its tasks to the owner's workers.
 *
 * Who may connect: the broker's own uid, plus the uids and gids added to
 * its options, checked by SO_PEERCRED on every connection (also in the
 * abstract namespace, where a socket has no file mode). The socket file
 * is created mode 0600 (0660 with gids added, 0666 with other uids added;
 * the peer check still applies) in a directory the caller chose; that
 * directory's own permissions are the caller's. A refused peer is
 * disconnected and learns nothing about the published names.
 *
 * Whom an opening program trusts: a broker running as its own uid, as
 * root, or, for a socket file, as the owner of the directory that holds
 * the file (a service's /run/<service>/). Any other broker is refused with
 * MP_EACCES before a request is sent: a name in a shared directory such as
 * /tmp, or in the abstract namespace, can be taken by anyone first.
 *
 * Beside the socket the broker holds a lock file, path + ".lock" (flock),
 * which is how a later broker tells a stale socket of a dead broker, which
 * it replaces, from anything else, which it never unlinks.
 * ---------------------------------------------------------------------- */

/** A broker serving named objects at a unix: address. */
typedef struct mp_broker mp_broker_t;

/** Options of mp_broker_new() (NULL options mean every default). */
typedef struct mp_broker_opts mp_broker_opts_t;

/** Create broker options with every default. Errors: MP_EINVAL, MP_ENOMEM.
 * Since 0.4. */
MP_EXTERN int mp_broker_opts_new(mp_broker_opts_t **out);

/** Free broker options; NULL does nothing. Since 0.4. */
MP_EXTERN void mp_broker_opts_free(mp_broker_opts_t *opts);

/** Also let processes running as uid connect (default: only the broker's
 * own effective uid). Errors: MP_EINVAL (NULL opts), MP_ENOMEM. Since 0.4. */
MP_EXTERN int mp_broker_opts_add_uid(mp_broker_opts_t *opts, uint32_t uid);

/** Also let processes whose effective gid is gid connect. Errors:
 * MP_EINVAL (NULL opts), MP_ENOMEM. Since 0.4. */
MP_EXTERN int mp_broker_opts_add_gid(mp_broker_opts_t *opts, uint32_t gid);

/** The most connections served at once (default 128, 1 to 65536); one
 * more is told MP_EBUSY-style "too many clients" (MP_ENOSPC) and closed.
 * Errors: MP_EINVAL. Since 0.4. */
MP_EXTERN int mp_broker_opts_set_max_clients(mp_broker_opts_t *opts, unsigned n);

/** How long a connection may take to send its request (default 5000 ms,
 * 1 to 3600000); a peer that says nothing is closed after it. Errors:
 * MP_EINVAL. Since 0.4. */
MP_EXTERN int mp_broker_opts_set_handshake_timeout(mp_broker_opts_t *opts,
                                                   int64_t timeout_ms);

/**
 * Serve at address (unix:/path or unix:\@name, without \#name): bind the
 * socket, start the broker's thread. Nothing is published yet.
 *
 * @param[out] out   the broker; free with mp_broker_free().
 * @param opts       borrowed; NULL for the defaults.
 * Errors: MP_EINVAL (bad address; a tcp:// or redis:// address),
 * MP_EEXIST (a live broker serves the path, or the path exists and is not
 * a stale socket of a multiproc broker: never unlinked), MP_EACCES (the
 * directory), MP_ENOENT (no such directory), MP_ENOMEM, MP_ESYS.
 * Blocking: never beyond the bind. Since 0.4.
 */
MP_EXTERN int mp_broker_new(mp_broker_t **out, const char *address,
                            const mp_broker_opts_t *opts);

/**
 * Publish the object whose descriptor is fd under name: the fileno of a
 * queue, lock, semaphore, event, condition, barrier, value, shared memory
 * block or dict (mp_queue_fileno(), mp_lock_fileno(), ...). The broker
 * keeps a duplicate; the caller keeps fd. Openers check the kind
 * (mp_queue_open() of a lock is MP_EINVAL).
 *
 * Errors: MP_EINVAL (NULL broker, bad name, fd not open), MP_EEXIST (name
 * taken), MP_ENOMEM, MP_ESYS. Never blocks. Since 0.4.
 */
MP_EXTERN int mp_broker_publish(mp_broker_t *broker, const char *name, int fd);

/**
 * Publish a pool under name: mp_pool_open() in another program gives a
 * handle whose tasks run on this pool's workers, by task name (this
 * program's mp_register_task() registry).
 *
 * @param pool  borrowed: it must stay alive until mp_broker_unpublish()
 *              of name or mp_broker_free(), which wait for the requests
 *              in flight to it.
 * Errors: MP_EINVAL (NULL, bad name), MP_EEXIST, MP_ENOMEM. Since 0.4.
 */
MP_EXTERN int mp_broker_publish_pool(mp_broker_t *broker, const char *name, mp_pool_t *pool);

/**
 * Withdraw name: later opens get MP_ENOENT; objects already opened live
 * on. For a pool, the clients' tasks not yet finished fail with
 * MP_ECLOSED and the call returns once no request uses the pool.
 * Errors: MP_EINVAL, MP_ENOENT (nothing published under name). Since 0.4.
 */
MP_EXTERN int mp_broker_unpublish(mp_broker_t *broker, const char *name);

/**
 * Stop serving and free the broker: close every connection (pool clients'
 * pending tasks fail with MP_EPIPE), unlink the socket and its lock file.
 * Published objects live on in every process that opened them. Blocks
 * until the broker's thread has ended. NULL does nothing. Since 0.4.
 */
MP_EXTERN void mp_broker_free(mp_broker_t *broker);

/* ------------------------------------------------------------------------
 * Opening by address (the other program's side). The typed calls
 * (mp_queue_open(), mp_lock_open(), mp_dict_open(), mp_pool_open(), ...)
 * are declared with their objects; this one gives the bare descriptor.
 * ---------------------------------------------------------------------- */

/**
 * Ask the broker at address ("unix:...\#name") for the descriptor published
 * under name: a close-on-exec descriptor that belongs to the caller (give it
 * to a *_from_fd() function, which takes it over, or close it).
 *
 * @param[out] out  the descriptor.
 * @param timeout_ms  for connecting and the reply; MP_FOREVER waits.
 * Errors: MP_EINVAL (bad address, no \#name, a tcp:// or redis:// address:
 * a bare descriptor comes from a broker only), MP_ENOENT (no broker at the
 * path, or nothing published under name), MP_ECONNREFUSED (a socket file
 * nobody serves), MP_EACCES (the broker refused this process, or runs as
 * a uid this process does not trust: see "Whom an opening program
 * trusts"), MP_ESTATE
 * (name is a pool: use mp_pool_open()), MP_ENOSPC (the broker has its
 * maximum of clients), MP_ETIMEDOUT, MP_EPIPE (the broker ended during the
 * request), MP_ESYS. Blocks up
 * to timeout_ms. Since 0.4.
 */
MP_EXTERN int mp_fd_open(int *out, const char *address, int64_t timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* MULTIPROC_BROKER_H */
