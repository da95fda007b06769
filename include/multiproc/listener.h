/**
 * @file
 * multiproc: Listener and Client (multiprocessing.connection), wire
 * compatible with CPython. Part of <multiproc.h>; include that.
 */
#ifndef MULTIPROC_LISTENER_H
#define MULTIPROC_LISTENER_H

#include "multiproc/ipc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Listener / Client (multiprocessing.connection.Listener and Client)
 *
 * A listener accepts connections at a tcp://host:port or unix: address
 * (multiproc/broker.h, "Addresses"; no \#name) and gives each as an
 * ordinary mp_conn_t, framed as CPython's Connection frames its messages,
 * so a Python program using multiprocessing.connection.Client(address,
 * authkey=...) is a peer, and mp_conn_connect() is a peer of a Python
 * Listener. With an authkey both sides run CPython's challenge-response
 * handshake (HMAC; the digest CPython 3.11 uses, and the "{sha256}" form
 * of CPython 3.12 and later), each side proving it knows the key; the key
 * itself never crosses the wire. Without an authkey the data is accepted
 * from anyone who can reach the address, so a tcp:// listener without one
 * is refused unless mp_listener_opts_set_allow_no_auth() says so.
 * Messages are not encrypted (as in CPython).
 * ---------------------------------------------------------------------- */

/** A listening endpoint (multiprocessing.connection.Listener). */
typedef struct mp_listener mp_listener_t;

/** Options of mp_listener_new() (NULL options mean every default). */
typedef struct mp_listener_opts mp_listener_opts_t;

/** Create listener options with every default. Errors: MP_EINVAL,
 * MP_ENOMEM. Since 0.4. */
MP_EXTERN int mp_listener_opts_new(mp_listener_opts_t **out);

/** Free listener options; NULL does nothing. Since 0.4. */
MP_EXTERN void mp_listener_opts_free(mp_listener_opts_t *opts);

/** The key every client must prove it knows (CPython's authkey; copied).
 * Default: none. Errors: MP_EINVAL (NULL opts, NULL key with len > 0,
 * len > 4096), MP_ENOMEM. Since 0.4. */
MP_EXTERN int mp_listener_opts_set_authkey(mp_listener_opts_t *opts, const void *key,
                                           size_t len);

/** 1: a tcp:// listener may run without an authkey (default 0: refused
 * with MP_EINVAL). Errors: MP_EINVAL. Since 0.4. */
MP_EXTERN int mp_listener_opts_set_allow_no_auth(mp_listener_opts_t *opts, int enabled);

/** listen()'s backlog (default 128, 1 to 65535). Errors: MP_EINVAL.
 * Since 0.4. */
MP_EXTERN int mp_listener_opts_set_backlog(mp_listener_opts_t *opts, int backlog);

/** How long a connecting peer may take over the handshake (default 5000
 * ms, 1 to 3600000); a slower one is dropped. Errors: MP_EINVAL.
 * Since 0.4. */
MP_EXTERN int mp_listener_opts_set_handshake_timeout(mp_listener_opts_t *opts,
                                                     int64_t timeout_ms);

/**
 * Listen at address: tcp://host:port (port 0: a free port, see
 * mp_listener_address()) or unix:/path / unix:\@name. A unix: socket file
 * is created mode 0600 and must not exist (MP_EEXIST; it is never
 * unlinked); mp_listener_free() removes it.
 *
 * @param[out] out  the listener; free with mp_listener_free().
 * @param opts      borrowed; NULL for the defaults.
 * Errors: MP_EINVAL (bad address, a \#name given, a redis:// address,
 * tcp:// without an authkey and without allow_no_auth), MP_EEXIST (address
 * in use), MP_EACCES, MP_ENOENT (unknown host, no such directory),
 * MP_ENOMEM, MP_ETIMEDOUT (looking up a host name took more than 30 s),
 * MP_ESYS. Blocking: looking up a host name that is not numeric, at most
 * 30 s. Since 0.4.
 */
MP_EXTERN int mp_listener_new(mp_listener_t **out, const char *address,
                              const mp_listener_opts_t *opts);

/**
 * The address the listener serves, with the port the system chose for
 * port 0 ("tcp://127.0.0.1:40123"). Returns: a string owned by the
 * listener, valid until mp_listener_free(); NULL for a bad handle.
 * Never blocks. Since 0.4.
 */
MP_EXTERN const char *mp_listener_address(const mp_listener_t *listener);

/**
 * Wait for the next peer that has finished the handshake. Handshakes run
 * apart from this call, on the listener's own threads, up to 32 at once,
 * so a peer that connects and says nothing delays no other peer; it is
 * dropped after the handshake timeout. Up to 64 connections wait for
 * accept; beyond that new peers wait in the kernel's backlog.
 *
 * @param[out] out  the connection (readable and writable); free with
 *                  mp_conn_free().
 * Errors: MP_EINVAL (NULL), MP_ETIMEDOUT, MP_EACCES (a peer failed the
 * authentication: the message gives its address and why; that peer is
 * closed, as Python's accept() raises AuthenticationError; the next call
 * goes on with the next peer), MP_ECLOSED (the listener was closed, also
 * from another thread while this call waited), MP_ENOMEM, MP_ESYS.
 * Blocks up to timeout_ms (MP_FOREVER waits; 0 takes a ready peer only);
 * a fired cancel token (core.h) ends it with MP_ECANCELED. Several
 * threads may accept at once. Since 0.4.
 */
MP_EXTERN int mp_listener_accept(mp_conn_t **out, mp_listener_t *listener, int64_t timeout_ms);

/**
 * Stop listening (Python's Listener.close()): the socket is closed and a
 * unix: socket file removed (only if it is still the one this listener
 * created), peers in the middle of a handshake are dropped, connections
 * not yet accepted are closed, and every mp_listener_accept() (waiting
 * now in another thread, or later) returns MP_ECLOSED. Connections
 * already accepted are the caller's and stay open. The handle stays valid
 * until mp_listener_free(); closing again does nothing.
 *
 * Returns: MP_OK; MP_EINVAL (NULL or not a listener). Blocking: waits for
 * the listener's own threads to stop (they stop at once). Since 0.4.
 */
MP_EXTERN int mp_listener_close(mp_listener_t *listener);

/**
 * Close the listener as mp_listener_close() does and free it, after any
 * mp_listener_accept() of another thread has returned (MP_ECLOSED). NULL
 * does nothing. In a child created by fork() it only closes the child's
 * copy of the socket: the socket file is the creator's and stays. Since 0.4.
 */
MP_EXTERN void mp_listener_free(mp_listener_t *listener);

/**
 * Connect to a listener at address (multiprocessing.connection.Client),
 * CPython's or this library's, and run the handshake when authkey is
 * given.
 *
 * @param[out] out    the connection; free with mp_conn_free().
 * @param authkey     NULL (len 0) for none; borrowed.
 * @param timeout_ms  for connecting and the handshake; MP_FOREVER waits.
 * Errors: MP_EINVAL (bad address, a \#name given, a redis:// address),
 * MP_ECONNREFUSED (nothing
 * listens), MP_ENOENT (no such socket file, unknown host), MP_EACCES (the
 * listener refused the key, or could not prove it knows it), MP_ETIMEDOUT,
 * MP_EPIPE (the listener closed during the handshake), MP_ENOMEM, MP_ESYS.
 * Blocks up to timeout_ms, looking up a host name included; a fired cancel
 * token (core.h) ends it with MP_ECANCELED. Since 0.4.
 */
MP_EXTERN int mp_conn_connect(mp_conn_t **out, const char *address, const void *authkey,
                              size_t authkey_len, int64_t timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* MULTIPROC_LISTENER_H */
