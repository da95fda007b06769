/**
 * @file
 * multiproc: versions, errors, memory, targets and the child bootstrap. Part of <multiproc.h>; include that.
 */
#ifndef MULTIPROC_CORE_H
#define MULTIPROC_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(MP_BUILDING_SHARED)
#    define MP_EXTERN __declspec(dllexport)
#  else
#    define MP_EXTERN
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define MP_EXTERN __attribute__((visibility("default")))
#else
#  define MP_EXTERN
#endif

/* ------------------------------------------------------------------------
 * Versions
 * ---------------------------------------------------------------------- */

#define MP_VERSION_MAJOR 0 /**< Major version of these headers; changes with the soname. */
#define MP_VERSION_MINOR 4 /**< Minor version of these headers: new functions and options. */
#define MP_VERSION_PATCH 0 /**< Patch version of these headers: fixes only. */
/** The version as one number: major * 10000 + minor * 100 + patch. */
#define MP_VERSION_NUMBER \
  (MP_VERSION_MAJOR * 10000 + MP_VERSION_MINOR * 100 + MP_VERSION_PATCH)

/**
 * The version of the library that is running, as "major.minor.patch".
 *
 * Returns: a static string; never NULL. Never blocks. Since 0.1.
 */
MP_EXTERN const char *mp_version(void);

/**
 * The version of the library that is running, as MP_VERSION_NUMBER computes
 * it. Compare with MP_VERSION_NUMBER to detect a header/library mismatch.
 *
 * Returns: the version number. Never blocks. Since 0.1.
 */
MP_EXTERN int mp_version_number(void);

/* ------------------------------------------------------------------------
 * Errors
 * ---------------------------------------------------------------------- */

/**
 * The one table of error codes: name, value, message. Codes are only ever
 * appended, never renumbered. The bindings generate their error types from
 * this table.
 */
#define MP_ERRNO_MAP(XX)                                                     \
  XX(EINVAL, -1, "invalid argument")                                         \
  XX(ENOMEM, -2, "out of memory")                                            \
  XX(ETIMEDOUT, -3, "operation timed out")                                   \
  XX(EEMPTY, -4, "empty")                                                    \
  XX(EFULL, -5, "full")                                                      \
  XX(ECLOSED, -6, "closed")                                                  \
  XX(EPIPE, -7, "broken pipe: the peer is gone")                             \
  XX(ENOENT, -8, "no such file, program or name")                            \
  XX(ESTATE, -9, "operation not valid in the object's current state")        \
  XX(EOWNERDEAD, -10, "previous owner died")                                 \
  XX(EWORKERDIED, -11, "worker process died")                                \
  XX(ETASKFAILED, -12, "task failed")                                        \
  XX(ECANCELED, -13, "operation canceled")                                   \
  XX(ENOSPC, -14, "no space left")                                           \
  XX(EMSGSIZE, -15, "message too large")                                     \
  XX(ESYS, -16, "system call failed")                                        \
  XX(EACCES, -17, "permission denied")                                       \
  XX(ENOTSUP, -18, "not supported on this platform")                         \
  XX(EEXIST, -19, "already exists")                                          \
  XX(ECALLEDPROCESS, -20, "command exited with a non-zero status")           \
  XX(ECONNREFUSED, -21, "connection refused: nothing serves that address")

/** Error codes. MP_OK is success; every error is negative. */
typedef enum mp_errno {
  MP_OK = 0,
#define MP__ERRNO_ENUM(name, value, msg) MP_##name = value,
  MP_ERRNO_MAP(MP__ERRNO_ENUM)
#undef MP__ERRNO_ENUM
  MP__ERRNO_LAST = -22
} mp_errno_t;

/**
 * A short English description of an error code.
 *
 * @param code  MP_OK or an MP_E* code; any other value is "unknown error".
 * Returns: a static string; never NULL. Never blocks. Since 0.1.
 */
MP_EXTERN const char *mp_strerror(int code);

/**
 * The name of an error code without its prefix ("ETIMEDOUT"), or "UNKNOWN".
 *
 * Returns: a static string; never NULL. Never blocks. Since 0.1.
 */
MP_EXTERN const char *mp_err_name(int code);

/**
 * This thread's last detailed error message: which operation, which system
 * call, path and errno where there was one (e.g. "spawn: execve
 * /no/such/prog: No such file or directory (errno 2)").
 *
 * Only meaningful right after a function returned a negative code; a
 * successful call may leave the previous message in place. Do not use it to
 * detect failure.
 *
 * Returns: a thread-local string owned by the library, valid until the next
 * call into the library from this thread; never NULL ("" if none).
 * Never blocks. Since 0.1.
 */
MP_EXTERN const char *mp_last_error(void);

/* ------------------------------------------------------------------------
 * Memory
 * ---------------------------------------------------------------------- */

/** Block forever (the timeout value). */
#define MP_FOREVER ((int64_t)-1)

/**
 * Release a buffer that the library allocated for the caller (e.g. the
 * output of mp_process_communicate()). mp_free(NULL) does nothing.
 *
 * Never blocks. Since 0.1.
 */
MP_EXTERN void mp_free(void *ptr);

/* ------------------------------------------------------------------------
 * The program: targets, the child bootstrap, information about this process
 * ---------------------------------------------------------------------- */

/**
 * A function a child process can run (Python's Process target).
 *
 * @param arg      the argument bytes given to mp_process_new() (borrowed,
 *                 valid while the function runs; NULL when arg_len is 0).
 * @param arg_len  number of bytes at arg.
 * @param payload  the payload given to mp_register().
 * Returns: the child's exit status (only the low 8 bits reach the parent,
 * as with exit()).
 */
typedef int (*mp_target_fn)(const void *arg, size_t arg_len, void *payload);

/**
 * Register fn under name, so that a child started with any start method
 * can find it. Register every target before calling mp_main(): a child
 * started with MP_START_SPAWN looks its target up inside mp_main().
 *
 * @param name     1 to 255 bytes, no NUL; copied.
 * @param fn       the function; not NULL.
 * @param payload  passed to fn unchanged; may be NULL; borrowed for the life
 *                 of the process.
 * Errors: MP_EINVAL (NULL or bad name, NULL fn), MP_EEXIST (name already
 * registered), MP_ENOMEM.
 * Blocking: never blocks; thread-safe. Since 0.1.
 */
MP_EXTERN int mp_register(const char *name, mp_target_fn fn, void *payload);

/**
 * Call first thing in main() (Python's `if __name__ == '__main__'`).
 *
 * In a process that multiproc started with MP_START_SPAWN, mp_main() reads
 * the bootstrap the parent sent, runs the registered target and ends the
 * process with the target's return value; it never returns. In any other
 * process it records argc/argv (needed by MP_START_SPAWN, which re-executes
 * the program with the same arguments) and returns at once.
 *
 * A child whose bootstrap is unreadable, or whose target is not registered,
 * prints why on stderr and exits with status 1.
 *
 * @param argc, argv  main()'s arguments; argv is copied.
 * Returns: MP_OK in a parent; MP_EINVAL if argv is NULL or argc < 1.
 * Blocking: in a parent never blocks. Since 0.1.
 */
MP_EXTERN int mp_main(int argc, char **argv);

/**
 * Whether this process was started by multiproc to run a target.
 *
 * Returns: 1 in such a child (while its target runs), 0 otherwise.
 * Never blocks. Since 0.1.
 */
MP_EXTERN int mp_is_child(void);

/**
 * This process's multiproc name (Python's current_process().name):
 * "MainProcess" in a program multiproc did not start, else the name given
 * with mp_process_set_name() or the default "Process-N".
 *
 * Returns: a string owned by the library, valid for the life of the process;
 * never NULL. Never blocks. Since 0.1.
 */
MP_EXTERN const char *mp_current_name(void);

/**
 * The pid of the process that started this one (os.getppid(); in a child
 * started by multiproc, the parent that started it even after that parent
 * died). Returns: the pid. Never blocks. Since 0.1.
 */
MP_EXTERN int mp_parent_pid(void);

/**
 * In a child running a target (fork or spawn), whether the process that
 * started it still lives (Python's parent_process().is_alive()). The
 * parent counts as gone once this process was re-parented (getppid() no
 * longer returns mp_parent_pid()), so a recycled pid cannot fool it.
 *
 * Returns: 1 or 0; MP_ESTATE outside such a child (Python's
 * parent_process() is None there). Never blocks. Since 0.2.
 */
MP_EXTERN int mp_parent_alive(void);

/**
 * In a child running a target, the name of the process that started it
 * as that process's mp_current_name() said at start ("MainProcess" for a
 * program multiproc did not start); "" outside such a child.
 *
 * Returns: a string owned by the library, valid for the life of the
 * process; never NULL. Never blocks. Since 0.2.
 */
MP_EXTERN const char *mp_parent_name(void);

/**
 * In a child running a target, the descriptor the parent passed with
 * mp_process_pass_fd() at position index (0, 1, … in the order passed).
 * The descriptor belongs to the child (close it when done); it is
 * close-on-exec, so it never reaches a program the child executes.
 *
 * Returns: the descriptor (≥ 0), MP_ESTATE outside such a child, MP_ENOENT
 * if fewer descriptors were passed. Never blocks. Since 0.1.
 */
MP_EXTERN int mp_child_fd(size_t index);

/**
 * The number of CPUs online (Python's os.cpu_count()).
 *
 * Returns: a count ≥ 1. Never blocks. Since 0.1.
 */
MP_EXTERN int mp_cpu_count(void);

/* ------------------------------------------------------------------------
 * Cancellation: waking a blocked call from another thread
 * ---------------------------------------------------------------------- */

/**
 * A cancel token. Bound to a thread with mp_cancel_bind(), it lets another
 * thread wake that thread's blocking calls: once the token is fired, every
 * blocking call the bound thread is in, or makes later, returns
 * MP_ECANCELED as soon as it notices, instead of waiting out its timeout.
 * This is what language bindings use for Go's context.Context and Ruby's
 * Thread#kill and Timeout.
 *
 * A canceled call behaves exactly like one whose timeout expired at that
 * moment (nothing is lost: a canceled get takes no message, a canceled put
 * stores none, a canceled acquire holds nothing), except that it returns
 * MP_ECANCELED rather than MP_ETIMEDOUT.
 *
 * Latency: calls that wait on a futex (queues, semaphores, events,
 * conditions, barriers), on descriptors (connections, pipes, process joins,
 * communicate) or on the library's internal condition variables (pool
 * results, map, imap) wake at once; waiting for a lock or a value's lock
 * held by someone else notices within 10 ms. The short internal locks of
 * queues and the dict, and re-taking a condition's lock after a wait, are
 * never interrupted (they are held only for a few instructions).
 */
typedef struct mp_cancel mp_cancel_t;

/**
 * Create a cancel token, not fired, bound to no thread.
 *
 * @param[out] out  the token; free it with mp_cancel_free().
 * Errors: MP_EINVAL (out NULL), MP_ENOMEM, MP_ESYS (no descriptor left for
 * its eventfd). Never blocks. Since 0.1.
 */
MP_EXTERN int mp_cancel_new(mp_cancel_t **out);

/**
 * Free a token. It must not be bound to any thread. NULL does nothing.
 * Never blocks. Since 0.1.
 */
MP_EXTERN void mp_cancel_free(mp_cancel_t *cancel);

/**
 * Fire the token: wake the blocking call of the thread it is bound to (if
 * any) and make later blocking calls of a thread bound to it return
 * MP_ECANCELED until mp_cancel_reset(). Firing twice is harmless.
 *
 * Thread-safe (any thread) and, with a non-NULL token, async-signal-safe:
 * a signal handler may call it on any thread, also one inside a call of
 * this library (it takes no lock, allocates nothing and keeps errno; since
 * 0.2, before which it took a lock).
 * Errors: MP_EINVAL (NULL). Never blocks. Since 0.1.
 */
MP_EXTERN int mp_cancel_fire(mp_cancel_t *cancel);

/**
 * Un-fire the token so that it can be used again.
 * Errors: MP_EINVAL (NULL). Never blocks. Since 0.1.
 */
MP_EXTERN int mp_cancel_reset(mp_cancel_t *cancel);

/**
 * Whether the token has been fired (and not reset).
 * Returns: 1 or 0; MP_EINVAL for NULL. Never blocks. Since 0.1.
 */
MP_EXTERN int mp_cancel_fired(const mp_cancel_t *cancel);

/**
 * Bind cancel to the calling thread (NULL unbinds), replacing the thread's
 * current binding. A token may be bound to one thread at a time.
 *
 * Returns: the token bound before (NULL if none), so that a caller can
 * restore it: prev = mp_cancel_bind(c); call(); mp_cancel_bind(prev);
 * Never fails; never blocks. Since 0.1.
 */
MP_EXTERN mp_cancel_t *mp_cancel_bind(mp_cancel_t *cancel);

/**
 * Choose what happens to the children started with mp_process_start() when
 * this process ends normally (exit() or return from main()).
 *
 * With enabled = 1 (the default, Python's behaviour) an exit handler
 * terminates (SIGTERM, then SIGKILL after 1 s) and reaps daemon children and
 * then joins every non-daemon child. With enabled = 0 the handler does
 * neither: non-daemon children live on, daemon children still die with the
 * process through their death signal. Children of mp_process_spawn()
 * (commands) are never waited for at exit, like Python's Popen.
 *
 * Returns: MP_OK; MP_EINVAL if enabled is not 0 or 1.
 * Never blocks. Since 0.1.
 */
MP_EXTERN int mp_set_exit_join(int enabled);

#ifdef __cplusplus
}
#endif

#endif /* MULTIPROC_CORE_H */
