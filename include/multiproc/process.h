/**
 * @file
 * multiproc: processes (multiprocessing.Process, subprocess.Popen's handle,
 * run). Part of <multiproc.h>; include that. Commands: multiproc/command.h.
 */
#ifndef MULTIPROC_PROCESS_H
#define MULTIPROC_PROCESS_H

#include "multiproc/command.h"
#include "multiproc/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Processes
 * ---------------------------------------------------------------------- */

/**
 * How a child running a target is started.
 *
 * MP_START_FORKSERVER (Python's forkserver), since 0.4: at the first start
 * the program is executed once more as a server (its environment and
 * argv, as for spawn, so main() must call mp_main()). The server runs from
 * the library's constructor, before the program's main() (no threads of
 * the caller, no Go runtime, a small heap), and forks each child on
 * request; the child leaves the constructor, runs the program's start-up
 * up to mp_main(), which runs the target (so its environment and working
 * directory are the caller's when the server started, as in Python). The
 * handles passed by index or by name reach it over SCM_RIGHTS. The server is the child's parent
 * (getppid()); mp_parent_pid() is still the caller. Its wait status comes
 * to the caller from the server, over a socket per child that is the
 * child's sentinel; join, exitcode, is_alive, the signals (through the
 * child's pidfd), the sentinel and mp_wait() work as for the other
 * methods, and the library reaps everything: no zombies.
 *
 * The server dies with the caller (PR_SET_PDEATHSIG, and the end of its
 * request socket), and a daemon child dies with the server, so with the
 * caller, even on SIGKILL. A server that was killed is replaced at the
 * next start; the children it was running keep running (daemons die with
 * it), but their exit status is lost: they end, for the caller, at once,
 * with exit code 255, as Python reports them.
 */
typedef enum mp_start_method {
  MP_START_FORK = 0, /**< fork(): fastest; the child is a copy (default) */
  MP_START_SPAWN = 1, /**< re-execute the program; mp_main() runs the target */
  MP_START_FORKSERVER = 2 /**< forked by a server started once (see above); since 0.4 */
} mp_start_method_t;

/**
 * Spawn a command. Exec failures come back from this call, not as a child
 * that exits with 127: a program that does not exist or a missing working
 * directory is MP_ENOENT, a file that is not executable is MP_EACCES.
 *
 * The child gets exactly descriptors 0, 1 and 2 as the command says, and
 * those given by mp_cmd_pass_fd_at() and the mp_cmd_pass_* calls; every
 * other descriptor of the parent is closed in the child. It starts with an
 * empty signal mask, default handlers, and SIGPIPE and SIGXFSZ reset to
 * their default action (Python's restore_signals). Under the portable
 * backend (docs/guide.md, "Platforms") only close-on-exec descriptors are
 * closed, and every signal below 32 is reset to its default action.
 *
 * The library reaps the child when it exits, whether or not anybody waits
 * for it; never reap it yourself (waitpid(-1, ...) in the host program
 * steals the exit status from the library).
 *
 * @param[out] out  the running child; free it with mp_process_free().
 * @param cmd       the command; borrowed for the duration of the call.
 * Errors: MP_EINVAL (NULL argument, bad stdio descriptor), MP_ENOENT,
 * MP_EACCES, MP_ENOMEM, MP_ENOTSUP (portable backend: a daemon command, or
 * a new group without a new session), MP_ESYS (another system call
 * failed; see mp_last_error()).
 * Blocking: until the child has executed the program (or failed to).
 * Since 0.1.
 */
MP_EXTERN int mp_process_spawn(mp_process_t **out, const mp_cmd_t *cmd);

/**
 * Create (but do not start) a process that will run the registered target
 * with a copy of the argument bytes (Python's Process(target, args)).
 *
 * @param[out] out  the new process; free it with mp_process_free().
 * @param target    the registered name; not NULL.
 * @param arg       argument bytes, copied; may be NULL when arg_len is 0.
 * @param arg_len   number of bytes at arg.
 * Errors: MP_EINVAL, MP_ENOENT (no target of that name), MP_ENOMEM.
 * Never blocks. Since 0.1.
 */
MP_EXTERN int mp_process_new(mp_process_t **out, const char *target,
                             const void *arg, size_t arg_len);

/**
 * Set the name of a process that is not yet started (default "Process-N",
 * N counting processes created by this one). The child sees it through
 * mp_current_name().
 *
 * @param name  1 to 255 bytes; copied.
 * Errors: MP_EINVAL, MP_ESTATE (already started, or a command), MP_ENOMEM.
 * Since 0.1.
 */
MP_EXTERN int mp_process_set_name(mp_process_t *proc, const char *name);

/**
 * Make a not yet started process a daemon (Python's daemon=True, default
 * 0): it is terminated when the parent exits normally and killed when the
 * parent dies in any other way (PR_SET_PDEATHSIG, or under the portable
 * backend a pipe from the parent that the child watches).
 *
 * Errors: MP_EINVAL (NULL, enabled not 0 or 1), MP_ESTATE (already started,
 * or a command). Since 0.1.
 */
MP_EXTERN int mp_process_set_daemon(mp_process_t *proc, int enabled);

/**
 * Choose the start method of a not yet started process (default: the
 * process-wide one, mp_get_start_method(), read when it starts).
 * MP_START_SPAWN and MP_START_FORKSERVER (since 0.4) require that main()
 * called mp_main().
 *
 * Errors: MP_EINVAL, MP_ESTATE (already started, or a command). Since 0.1.
 */
MP_EXTERN int mp_process_set_start_method(mp_process_t *proc,
                                          mp_start_method_t method);

/**
 * Pass an open descriptor of the parent to the child of a not yet started
 * process; the child finds it with mp_child_fd(index). The descriptor is
 * duplicated at once, so the caller may close fd after this call.
 *
 * Returns: the index (0, 1, …) the child will use, or an error.
 * Errors: MP_EINVAL (fd not open), MP_ESTATE (already started, or a
 * command), MP_ENOSPC (more than 64 descriptors), MP_ESYS. Since 0.1.
 */
MP_EXTERN int mp_process_pass_fd(mp_process_t *proc, int fd);

/**
 * Hand a queue to the child of a not yet started target process under a
 * name (1-64 characters of [A-Za-z0-9_]); the child opens it with
 * mp_queue_inherit(&q, name), as a command's program does (the by-name rule
 * of docs/style.md). Works with both start methods. Only that child sees
 * the name: a process it starts in turn gets only what it is passed.
 *
 * @param proc   a target process (mp_process_new()) not yet started.
 * @param name   copied.
 * @param queue  borrowed: its descriptor is duplicated at once, so the
 *               caller may free the queue after this call.
 * Errors: MP_EINVAL (NULL, bad name, not a live queue), MP_ESTATE (already
 * started, or a command), MP_EEXIST (name already passed to this process),
 * MP_ENOSPC (more than 64 descriptors, by index and by name together),
 * MP_ENOMEM, MP_ESYS. Never blocks. Since 0.4.
 */
MP_EXTERN int mp_process_pass_queue(mp_process_t *proc, const char *name,
                                    mp_queue_t *queue);

/**
 * Hand a connection end to the child of a not yet started target process
 * under a name; the child opens it with mp_conn_inherit(&c, name, flags).
 *
 * @param conn  borrowed: its descriptor is duplicated at once.
 * Errors: as mp_process_pass_queue(); MP_EINVAL also for a closed end.
 * Never blocks. Since 0.4.
 */
MP_EXTERN int mp_process_pass_conn(mp_process_t *proc, const char *name,
                                   mp_conn_t *conn);

/**
 * Hand any open descriptor (a lock's, a dict's: mp_lock_fileno(), …) to the
 * child of a not yet started target process under a name; the child opens
 * it with mp_fd_inherit(&fd, name) (then mp_lock_from_fd(), …). The by-name
 * form of mp_process_pass_fd(), with the parameters of mp_cmd_pass_fd().
 *
 * @param fd  duplicated at once, so the caller may close it after this call.
 * Errors: as mp_process_pass_queue(); MP_EINVAL also for fd < 0 or not
 * open. Never blocks. Since 0.4.
 */
MP_EXTERN int mp_process_pass_fd2(mp_process_t *proc, const char *name, int fd);

/**
 * Set the process-wide default start method (Python's
 * multiprocessing.set_start_method()): every later target process and
 * worker pool that does not choose its own (mp_process_set_start_method(),
 * mp_pool_opts_set_start_method()) uses it. The default is fixed once it is
 * set or once the first process or pool has used it; a later call then
 * fails with MP_ESTATE unless force is 1, as Python raises "context has
 * already been set" unless force=True. Processes already created but not
 * started take the method in force when they start.
 *
 * @param method  MP_START_FORK, MP_START_SPAWN or MP_START_FORKSERVER (the
 *                last two need mp_main()).
 * @param force   0: fail if already fixed; 1: replace it.
 * Errors: MP_EINVAL (unknown method, force not 0/1), MP_ESTATE (already
 * fixed and force is 0; the message says by what). Thread-safe; never
 * blocks. Since 0.4.
 */
MP_EXTERN int mp_set_start_method(mp_start_method_t method, int force);

/**
 * The process-wide default start method (Python's get_start_method()):
 * MP_START_FORK until mp_set_start_method() changes it. Unlike Python's,
 * asking does not fix it. Cannot fail. Thread-safe. Since 0.4.
 */
MP_EXTERN mp_start_method_t mp_get_start_method(void);

/**
 * Start a process created by mp_process_new() (Python's start()).
 *
 * Errors: MP_EINVAL (NULL), MP_ESTATE (already started, a command, or
 * MP_START_SPAWN or MP_START_FORKSERVER without mp_main()), MP_ENOMEM,
 * MP_ESYS (also: the forkserver could not be started, or ended before it
 * forked the child).
 * MP_START_FORK flushes every stdio stream (fflush(NULL)) before it forks,
 * so buffered output is not written twice; the other start paths
 * (MP_START_SPAWN, mp_process_spawn, mp_run) do not flush: flush stdout
 * yourself before starting a child that shares it if order matters.
 *
 * Blocking: MP_START_FORK returns once the child exists; MP_START_SPAWN
 * once the child has executed the program and the bootstrap is handed over
 * (large arguments take as long as the child takes to read them);
 * MP_START_FORKSERVER once the server has forked the child (the first
 * start also starts the server). Since 0.1.
 */
MP_EXTERN int mp_process_start(mp_process_t *proc);

/**
 * Wait until the child has ended (Python's join(timeout) / Popen.wait).
 * The exit status is then available from mp_process_exitcode().
 *
 * Errors: MP_EINVAL (NULL, bad timeout), MP_ESTATE (not started),
 * MP_ETIMEDOUT (still running when timeout_ms passed).
 * Blocking: up to timeout_ms; event-driven, no polling. Several threads may
 * wait on one process. Since 0.1.
 */
MP_EXTERN int mp_process_join(mp_process_t *proc, int64_t timeout_ms);

/**
 * Whether the child is running (started and not yet ended).
 *
 * Returns: 1 or 0; MP_EINVAL for NULL. Never blocks. Since 0.1.
 */
MP_EXTERN int mp_process_is_alive(mp_process_t *proc);

/**
 * The exit code of an ended child in Python's convention: the exit status
 * (0–255) if it exited, -N if signal N killed it.
 *
 * @param[out] out  the exit code.
 * Errors: MP_EINVAL (NULL), MP_ESTATE (not started or still running; Python
 * returns None). Never blocks. Since 0.1.
 */
MP_EXTERN int mp_process_exitcode(int *out, mp_process_t *proc);

/**
 * The child's process id.
 *
 * Returns: the pid (> 0), MP_EINVAL (NULL) or MP_ESTATE (not started).
 * Never blocks. Since 0.1.
 */
MP_EXTERN int mp_process_pid(mp_process_t *proc);

/**
 * The process's name: for a target its multiproc name, for a command the
 * program as given.
 *
 * Returns: a string owned by proc, valid until mp_process_free(); "" for
 * NULL. Never blocks. Since 0.1.
 */
MP_EXTERN const char *mp_process_name(mp_process_t *proc);

/**
 * Whether the process is a daemon (Python's Process.daemon): for a target
 * what mp_process_set_daemon() set (readable before and after start), for
 * a command what mp_cmd_set_daemon() said when it was spawned. Takes a
 * non-const handle like the other getters (mp_process_pid(),
 * mp_process_is_alive()): they read state guarded by the handle's lock.
 *
 * Returns: 1 or 0; MP_EINVAL for NULL. Never blocks. Since 0.2.
 */
MP_EXTERN int mp_process_daemon(mp_process_t *proc);

/**
 * A descriptor that becomes readable when the child ends and stays
 * readable (Python's Process.sentinel), for poll()/epoll or an event loop;
 * mp_wait() takes the process itself. It is the child's pidfd where the
 * kernel has them (Linux 5.3), else an eventfd the library signals when it
 * reaps the child.
 *
 * @param[out] out_fd  the descriptor, borrowed: owned by proc, valid until
 *                     mp_process_free(); do not close it, read it or pass
 *                     it to a child (it is close-on-exec). The same number
 *                     on every call.
 * Errors: MP_EINVAL (NULL), MP_ESTATE (not started), MP_ESYS (no
 * descriptor left for the eventfd). Never blocks. Since 0.2.
 */
MP_EXTERN int mp_process_sentinel(int *out_fd, mp_process_t *proc);

/**
 * The pids of this process's live target children (Python's
 * active_children()): those started with mp_process_start() that have not
 * ended, whether or not their handle was freed. Commands
 * (mp_process_spawn()) are not children in this sense, as Popen objects are
 * not in Python. Ended children are dropped from the library's list, as
 * Python's call joins them; the library reaps every child anyway.
 *
 * Pids rather than handles: the handles belong to the caller, who may free
 * them at any time, so the library cannot hand them out again. Bindings
 * map the pids back to their own process objects.
 *
 * @param[out] pids   up to cap pids; may be NULL when cap is 0.
 * @param cap         room at pids.
 * @param[out] count  the number of live children, which may exceed cap
 *                    (then only the first cap are written).
 * Errors: MP_EINVAL (count NULL, pids NULL with cap > 0), MP_ENOMEM.
 * Never blocks. Since 0.2.
 */
MP_EXTERN int mp_active_children(int *pids, size_t cap, size_t *count);

/** Flag of mp_process_signal() and mp_process_stop(): signal the child's
 * whole process group (the child must have been started in a new group). */
#define MP_SIGNAL_GROUP 1

/**
 * Send signal signum to the child, or with MP_SIGNAL_GROUP to its process
 * group. Sending to a child that already ended is a no-op that succeeds
 * (never a signal to a recycled pid); a group is still signalled while any
 * member lives.
 *
 * Errors: MP_EINVAL (NULL, bad signal, unknown flags), MP_ESTATE (not
 * started; MP_SIGNAL_GROUP for a child not started in a new group),
 * MP_ESYS. Never blocks. Since 0.1.
 */
MP_EXTERN int mp_process_signal(mp_process_t *proc, int signum, int flags);

/** Send SIGTERM to the child (Python's terminate()); see mp_process_signal. Since 0.1. */
MP_EXTERN int mp_process_terminate(mp_process_t *proc);

/** Send SIGKILL to the child (Python's kill()); see mp_process_signal. Since 0.1. */
MP_EXTERN int mp_process_kill(mp_process_t *proc);

/** A list of stop steps for mp_process_stop(). */
typedef struct mp_stop mp_stop_t;

/** Actions of a stop step. */
typedef enum mp_stop_action {
  MP_STOP_WAIT = 0,      /**< only wait */
  MP_STOP_TERMINATE = 1, /**< send SIGTERM, then wait */
  MP_STOP_KILL = 2,      /**< send SIGKILL, then wait */
  MP_STOP_INTERRUPT = 3  /**< send SIGINT, then wait */
} mp_stop_action_t;

/**
 * Create an empty list of stop steps.
 *
 * @param[out] out  free it with mp_stop_free().
 * Errors: MP_EINVAL, MP_ENOMEM. Since 0.1.
 */
MP_EXTERN int mp_stop_new(mp_stop_t **out);

/**
 * Append a step: do action, then wait up to timeout_ms for the child to
 * end before going to the next step.
 *
 * Errors: MP_EINVAL (NULL, unknown action, bad timeout), MP_ENOSPC (more
 * than 8 steps). Since 0.1.
 */
MP_EXTERN int mp_stop_add(mp_stop_t *stop, mp_stop_action_t action,
                          int64_t timeout_ms);

/** Free a list of steps; NULL does nothing. Since 0.1. */
MP_EXTERN void mp_stop_free(mp_stop_t *stop);

/**
 * Stop a child by running steps in order until it has ended. With steps
 * NULL the default is: SIGTERM, wait up to 3000 ms, SIGKILL, wait forever.
 * With flags MP_SIGNAL_GROUP every signal goes to the child's process group.
 *
 * Returns: MP_OK once the child has ended (its exit code is then
 * available); MP_ETIMEDOUT if it still runs after the last step.
 * Errors: MP_EINVAL, MP_ESTATE (not started; group flag without a group),
 * MP_ETIMEDOUT, MP_ESYS.
 * Blocking: up to the sum of the steps' timeouts. Since 0.1.
 */
MP_EXTERN int mp_process_stop(mp_process_t *proc, const mp_stop_t *steps,
                              int flags);

/**
 * Write all len bytes to the child's stdin pipe.
 *
 * Errors: MP_EINVAL, MP_ESTATE (stdin is not a pipe, or was closed),
 * MP_EPIPE (the child closed its end; never SIGPIPE), MP_ETIMEDOUT (some
 * bytes may have been written).
 * Blocking: until every byte is written or timeout_ms passed. Since 0.1.
 */
MP_EXTERN int mp_process_write(mp_process_t *proc, const void *buf,
                               size_t len, int64_t timeout_ms);

/**
 * Close the parent's end of the child's stdin pipe, so the child reads EOF.
 * Closing again is a no-op.
 *
 * Errors: MP_EINVAL (NULL), MP_ESTATE (stdin is not a pipe). Since 0.1.
 */
MP_EXTERN int mp_process_close_stdin(mp_process_t *proc);

/**
 * Close the parent's end of one of the child's pipes. For MP_STDIN this is
 * mp_process_close_stdin(). After MP_STDOUT or MP_STDERR is closed, the
 * child's writes to it fail with EPIPE (SIGPIPE, which kills a child that
 * keeps the default action) instead of blocking on a full pipe, so a
 * parent that stops reading never hangs a later join or communicate; reads
 * of the stream return MP_ECLOSED and communicate treats it as ended (an
 * empty buffer). Closing again is a no-op.
 *
 * Errors: MP_EINVAL (NULL, unknown stream), MP_ESTATE (the stream is not a
 * pipe). Blocking: waits for a read of the same stream that another thread
 * is in (it holds the stream). Since 0.2.
 */
MP_EXTERN int mp_process_close_stream(mp_process_t *proc, mp_stream_t stream);

/**
 * Read up to cap bytes that the child wrote to its stdout or stderr pipe.
 *
 * @param[out] out_len  the number of bytes read (> 0 on success).
 * @param stream        MP_STDOUT or MP_STDERR.
 * @param buf, cap      the caller's buffer; cap > 0.
 * Errors: MP_EINVAL, MP_ESTATE (the stream is not a pipe), MP_ECLOSED (end
 * of stream: the child and everything it started closed the pipe),
 * MP_ETIMEDOUT.
 * Blocking: until some bytes arrive, end of stream or timeout_ms.
 * Since 0.1.
 */
MP_EXTERN int mp_process_read(size_t *out_len, mp_process_t *proc,
                              mp_stream_t stream, void *buf, size_t cap,
                              int64_t timeout_ms);

/**
 * Feed input to the child's stdin (then close it) while reading all of its
 * stdout and stderr, until the child has ended (Popen.communicate). Never
 * deadlocks, whatever the sizes: the three pipes are served at once.
 *
 * Once the child has ended, output still arriving is collected for at most
 * 250 ms more, so a grandchild that keeps a pipe open cannot hang the call.
 *
 * @param[out] out, out_len  stdout's bytes (NUL-terminated for
 *             convenience, the NUL not counted); NULL if stdout is not a
 *             pipe. out may be NULL to discard. Free with mp_free().
 * @param[out] err, err_len  the same for stderr.
 * @param input, input_len   bytes for stdin (stdin must be a pipe unless
 *             input_len is 0); borrowed.
 * Returns: MP_OK when the child has ended; its exit code is then available.
 * Errors: MP_EINVAL, MP_ESTATE (not started; input for a stdin that is not
 * a pipe), MP_ETIMEDOUT (the child still runs; *out and *err hold what was
 * read so far and must still be freed; stdin was closed), MP_ENOMEM,
 * MP_ESYS. A child that closes stdin early is not an error.
 * Blocking: until the child ends or timeout_ms. Since 0.1.
 */
MP_EXTERN int mp_process_communicate(void **out, size_t *out_len, void **err,
                                     size_t *err_len, mp_process_t *proc,
                                     const void *input, size_t input_len,
                                     int64_t timeout_ms);

/**
 * Release a process handle and its pipes. A child that still runs is not
 * signalled and keeps running; the library still reaps it when it ends (no
 * zombie), and still joins or terminates a target child at exit as
 * mp_set_exit_join() says. mp_process_free(NULL) does nothing.
 *
 * Never blocks. Since 0.1.
 */
MP_EXTERN void mp_process_free(mp_process_t *proc);

/**
 * Run a command to completion (subprocess.run / check_output): spawn it,
 * feed input, collect the streams that are pipes, wait. On timeout the child
 * is killed (SIGKILL, to its group if it has one) and reaped, and
 * MP_ETIMEDOUT is returned with what was read so far. Every other error
 * after the start (cancellation included) also kills and reaps the child
 * first: no child outlives the call.
 *
 * @param[out] exitcode  the exit code (Python's convention); may be NULL.
 * @param[out] out, out_len, err, err_len  as mp_process_communicate().
 * With mp_cmd_set_check() set, a child that ended with an exit code other than
 * 0 makes the call return MP_ECALLEDPROCESS, with *exitcode and the output
 * delivered as on success (Python's CalledProcessError).
 *
 * Errors: those of mp_process_spawn() and mp_process_communicate();
 * MP_ESTATE for input with a stdin that is not a pipe is returned before
 * anything is started; MP_ECALLEDPROCESS (see above).
 * Blocking: until the child ends or timeout_ms. Since 0.1.
 */
MP_EXTERN int mp_run(int *exitcode, void **out, size_t *out_len, void **err,
                     size_t *err_len, const mp_cmd_t *cmd, const void *input,
                     size_t input_len, int64_t timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* MULTIPROC_PROCESS_H */
