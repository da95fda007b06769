/*
 * multiproc — Python's multiprocessing/subprocess model for C, Go and Ruby.
 *
 * This header is the whole public C ABI. Anything not declared here is not
 * published API. Every function is documented where it is declared, in one
 * fixed order: what it does, parameters, returns, errors, ownership,
 * blocking, since.
 *
 * Conventions (see docs/guide.md):
 *  - Functions that can fail return int: MP_OK (0) or a negative MP_E* code.
 *    A function may instead return a non-negative count or value; that is
 *    said in its documentation.
 *  - Results come back through out-parameters that come first. After a
 *    failure every out-parameter that carries an object is set to NULL.
 *  - mp_last_error() gives this thread's last detailed message.
 *  - Timeouts are int64_t milliseconds: MP_FOREVER (-1) blocks, 0 never
 *    blocks. Any other negative timeout is MP_EINVAL. EINTR is retried
 *    inside the library and never returned.
 *  - Buffers the library allocates for the caller are released with
 *    mp_free().
 *  - No C++ exception, abort() or assert crosses this ABI.
 *  - Every object may be used from several threads at once unless its
 *    documentation says otherwise.
 */
#ifndef MULTIPROC_H
#define MULTIPROC_H

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

#define MP_VERSION_MAJOR 0
#define MP_VERSION_MINOR 1
#define MP_VERSION_PATCH 0
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

/*
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
  XX(EEXIST, -19, "already exists")

/** Error codes. MP_OK is success; every error is negative. */
typedef enum mp_errno {
  MP_OK = 0,
#define MP__ERRNO_ENUM(name, value, msg) MP_##name = value,
  MP_ERRNO_MAP(MP__ERRNO_ENUM)
#undef MP__ERRNO_ENUM
  MP__ERRNO_LAST = -20
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

/* ------------------------------------------------------------------------
 * Commands: what to run (subprocess.Popen's arguments)
 * ---------------------------------------------------------------------- */

/** A command to run: program, arguments, environment, stdio, options. */
typedef struct mp_cmd mp_cmd_t;

/** A child process: a running command or a process running a target. */
typedef struct mp_process mp_process_t;

/** The three standard streams, for per-stream settings. */
typedef enum mp_stream {
  MP_STDIN = 0,
  MP_STDOUT = 1,
  MP_STDERR = 2
} mp_stream_t;

/** What a standard stream of the child is connected to. */
typedef enum mp_stdio {
  MP_STDIO_INHERIT = 0, /**< the parent's descriptor (the default) */
  MP_STDIO_NULL = 1,    /**< /dev/null */
  MP_STDIO_PIPE = 2,    /**< a pipe the parent reads or writes */
  MP_STDIO_STDOUT = 3   /**< stderr only: the same as the child's stdout */
} mp_stdio_t;

/** Flags of mp_cmd_stdio_file(). */
#define MP_FILE_TRUNCATE 0 /**< create or truncate (the default) */
#define MP_FILE_APPEND 1   /**< create or append */

/**
 * Create a command that runs program. A program without '/' is looked up in
 * the PATH of the child's environment when the command is spawned; argv[0]
 * is the program as given.
 *
 * @param[out] out   the new command; free it with mp_cmd_free().
 * @param program    the program path or name; not NULL or empty; copied.
 * Errors: MP_EINVAL, MP_ENOMEM.
 * Never blocks. A command may be spawned many times; do not change it from
 * one thread while another spawns it. Since 0.1.
 */
MP_EXTERN int mp_cmd_new(mp_cmd_t **out, const char *program);

/**
 * Free a command. Processes spawned from it are not affected.
 * mp_cmd_free(NULL) does nothing. Never blocks. Since 0.1.
 */
MP_EXTERN void mp_cmd_free(mp_cmd_t *cmd);

/**
 * Append one argument (argv[1], argv[2], … in order).
 *
 * @param arg  not NULL; copied. Errors: MP_EINVAL, MP_ENOMEM. Since 0.1.
 */
MP_EXTERN int mp_cmd_arg(mp_cmd_t *cmd, const char *arg);

/**
 * Replace argv[0] (by default the program as given to mp_cmd_new()).
 *
 * @param arg0  not NULL; copied. Errors: MP_EINVAL, MP_ENOMEM. Since 0.1.
 */
MP_EXTERN int mp_cmd_arg0(mp_cmd_t *cmd, const char *arg0);

/**
 * Set an environment variable for the child, on top of the inherited (or
 * cleared) environment. A later set of the same name wins.
 *
 * @param name   not NULL, not empty, no '='; copied.
 * @param value  not NULL; copied.
 * Errors: MP_EINVAL, MP_ENOMEM. Since 0.1.
 */
MP_EXTERN int mp_cmd_env_set(mp_cmd_t *cmd, const char *name,
                             const char *value);

/**
 * Remove an environment variable from the child's environment.
 *
 * @param name  not NULL, not empty, no '='; copied.
 * Errors: MP_EINVAL, MP_ENOMEM. Since 0.1.
 */
MP_EXTERN int mp_cmd_env_unset(mp_cmd_t *cmd, const char *name);

/**
 * Start the child from an empty environment (only what mp_cmd_env_set()
 * adds) instead of the parent's environment at spawn time (the default).
 * Also forgets earlier mp_cmd_env_set()/mp_cmd_env_unset() calls.
 *
 * Errors: MP_EINVAL (NULL cmd). Since 0.1.
 */
MP_EXTERN int mp_cmd_env_clear(mp_cmd_t *cmd);

/**
 * Run the child in directory dir (default: the parent's). A directory that
 * does not exist makes mp_process_spawn() fail with MP_ENOENT.
 *
 * @param dir  not NULL or empty; copied.
 * Errors: MP_EINVAL, MP_ENOMEM. Since 0.1.
 */
MP_EXTERN int mp_cmd_cwd(mp_cmd_t *cmd, const char *dir);

/**
 * Connect a standard stream of the child to the parent's, /dev/null, a new
 * pipe, or (stderr only) the child's stdout.
 *
 * Errors: MP_EINVAL (unknown stream or mode; MP_STDIO_STDOUT for a stream
 * other than MP_STDERR). Since 0.1.
 */
MP_EXTERN int mp_cmd_stdio(mp_cmd_t *cmd, mp_stream_t stream, mp_stdio_t mode);

/**
 * Connect a standard stream of the child to a file, opened at spawn time:
 * read-only for MP_STDIN; created with mode 0644 and truncated or appended
 * (flags MP_FILE_TRUNCATE / MP_FILE_APPEND) for MP_STDOUT and MP_STDERR.
 * A file that cannot be opened makes mp_process_spawn() fail.
 *
 * @param path  not NULL or empty; copied.
 * Errors: MP_EINVAL, MP_ENOMEM. Since 0.1.
 */
MP_EXTERN int mp_cmd_stdio_file(mp_cmd_t *cmd, mp_stream_t stream,
                                const char *path, int flags);

/**
 * Connect a standard stream of the child to an open descriptor of the
 * parent. The descriptor is borrowed: it must stay open until
 * mp_process_spawn() returns; the parent may close it afterwards.
 *
 * Errors: MP_EINVAL (bad stream, fd < 0). A descriptor that is not open
 * makes mp_process_spawn() fail with MP_EINVAL. Since 0.1.
 */
MP_EXTERN int mp_cmd_stdio_fd(mp_cmd_t *cmd, mp_stream_t stream, int fd);

/**
 * Start the child in a new process group of its own (setpgid(0, 0)), so
 * that mp_process_signal(..., MP_SIGNAL_GROUP) reaches its whole tree.
 *
 * @param enabled  0 or 1 (default 0). Errors: MP_EINVAL. Since 0.1.
 */
MP_EXTERN int mp_cmd_new_group(mp_cmd_t *cmd, int enabled);

/**
 * Make the child a daemon: it is sent SIGKILL when the parent process ends,
 * however it ends (also when the parent is SIGKILLed). On Linux this is
 * PR_SET_PDEATHSIG armed from the library's long-lived runtime thread, so
 * it does not fire when the thread that called mp_process_spawn() exits.
 *
 * @param enabled  0 or 1 (default 0). Errors: MP_EINVAL. Since 0.1.
 */
MP_EXTERN int mp_cmd_daemon(mp_cmd_t *cmd, int enabled);

/* ------------------------------------------------------------------------
 * Processes
 * ---------------------------------------------------------------------- */

/** How a child running a target is started. */
typedef enum mp_start_method {
  MP_START_FORK = 0, /**< fork(): fastest; the child is a copy (default) */
  MP_START_SPAWN = 1 /**< re-execute the program; mp_main() runs the target */
} mp_start_method_t;

/**
 * Spawn a command. Exec failures come back from this call, not as a child
 * that exits with 127: a program that does not exist or a missing working
 * directory is MP_ENOENT, a file that is not executable is MP_EACCES.
 *
 * The child gets exactly descriptors 0, 1 and 2 as the command says; every
 * other descriptor of the parent is closed in the child. It starts with an
 * empty signal mask, default handlers, and SIGPIPE and SIGXFSZ reset to
 * their default action (Python's restore_signals).
 *
 * The library reaps the child when it exits, whether or not anybody waits
 * for it; never reap it yourself (waitpid(-1, ...) in the host program
 * steals the exit status from the library).
 *
 * @param[out] out  the running child; free it with mp_process_free().
 * @param cmd       the command; borrowed for the duration of the call.
 * Errors: MP_EINVAL (NULL argument, bad stdio descriptor), MP_ENOENT,
 * MP_EACCES, MP_ENOMEM, MP_ESYS (another system call failed; see
 * mp_last_error()).
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
 * parent dies in any other way.
 *
 * Errors: MP_EINVAL (NULL, enabled not 0 or 1), MP_ESTATE (already started,
 * or a command). Since 0.1.
 */
MP_EXTERN int mp_process_set_daemon(mp_process_t *proc, int enabled);

/**
 * Choose the start method of a not yet started process (default
 * MP_START_FORK). MP_START_SPAWN requires that main() called mp_main().
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
 * Start a process created by mp_process_new() (Python's start()).
 *
 * Errors: MP_EINVAL (NULL), MP_ESTATE (already started, a command, or
 * MP_START_SPAWN without mp_main()), MP_ENOMEM, MP_ESYS.
 * MP_START_FORK flushes every stdio stream (fflush(NULL)) before it forks,
 * so buffered output is not written twice; the other start paths
 * (MP_START_SPAWN, mp_process_spawn, mp_run) do not flush: flush stdout
 * yourself before starting a child that shares it if order matters.
 *
 * Blocking: MP_START_FORK returns once the child exists; MP_START_SPAWN
 * once the child has executed the program and the bootstrap is handed over
 * (large arguments take as long as the child takes to read them).
 * Since 0.1.
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

/** Send SIGTERM to the child (Python's terminate()); see mp_process_signal. */
MP_EXTERN int mp_process_terminate(mp_process_t *proc);

/** Send SIGKILL to the child (Python's kill()); see mp_process_signal. */
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
 * MP_ETIMEDOUT is returned with what was read so far.
 *
 * @param[out] exitcode  the exit code (Python's convention); may be NULL.
 * @param[out] out, out_len, err, err_len  as mp_process_communicate().
 * Errors: those of mp_process_spawn() and mp_process_communicate().
 * Blocking: until the child ends or timeout_ms. Since 0.1.
 */
MP_EXTERN int mp_run(int *exitcode, void **out, size_t *out_len, void **err,
                     size_t *err_len, const mp_cmd_t *cmd, const void *input,
                     size_t input_len, int64_t timeout_ms);

/* ------------------------------------------------------------------------
 * Connections (multiprocessing.Pipe / Connection)
 * ---------------------------------------------------------------------- */

/** One end of a connection: framed byte messages in both or one direction. */
typedef struct mp_conn mp_conn_t;

/** Flags of mp_conn_from_fd(). */
#define MP_CONN_READABLE 1
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
 * MP_ESTATE, MP_ESYS.
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
 * Queues (multiprocessing.Queue / JoinableQueue)
 * ---------------------------------------------------------------------- */

/** A multi-producer, multi-consumer queue of byte messages in shared memory. */
typedef struct mp_queue mp_queue_t;

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
 * Messages of any size go through: a message larger than half of max_bytes
 * is streamed through the queue in pieces, so memory stays bounded by
 * max_bytes. FIFO order holds per producer; every message is delivered
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
 * The queue's shared-memory descriptor, to pass to a child.
 *
 * Returns: the descriptor (owned by the queue), or MP_EINVAL. Since 0.1.
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
 * Blocking: while the queue is empty, up to timeout_ms. Since 0.1.
 */
MP_EXTERN int mp_queue_get(void **out, size_t *out_len, mp_queue_t *queue,
                           int64_t timeout_ms);

/**
 * Get the oldest message into the caller's buffer.
 *
 * @param[out] out_len  the length; on MP_ENOSPC the size needed (the
 *                      message stays queued).
 * Errors: those of mp_queue_get(), and MP_ENOSPC. Since 0.1.
 */
MP_EXTERN int mp_queue_get_into(size_t *out_len, mp_queue_t *queue, void *buf,
                                size_t cap, int64_t timeout_ms);

/**
 * The number of messages queued (qsize; a snapshot).
 *
 * Returns: the count (>= 0, clamped to INT_MAX) or MP_EINVAL. Never blocks
 * beyond a short lock. Since 0.1.
 */
MP_EXTERN int mp_queue_qsize(mp_queue_t *queue);

/** 1 if no message is queued, 0 if some are, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_queue_empty(mp_queue_t *queue);

/** 1 if a put would wait now, 0 if not, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_queue_full(mp_queue_t *queue);

/**
 * Close the queue for everyone who holds it (no more poison pills):
 * every put returns MP_ECLOSED; gets drain what is queued and then every
 * blocked and future get returns MP_ECLOSED. Closing again is a no-op.
 *
 * Errors: MP_EINVAL. Never blocks beyond a short lock. Since 0.1.
 */
MP_EXTERN int mp_queue_close(mp_queue_t *queue);

/**
 * Mark one message that this process got as processed (task_done).
 *
 * Errors: MP_EINVAL, MP_ESTATE (not a joinable queue, or called more times
 * than messages were got). Since 0.1.
 */
MP_EXTERN int mp_queue_task_done(mp_queue_t *queue);

/**
 * Wait until every message put has been got and marked task_done (join).
 *
 * Errors: MP_EINVAL, MP_ESTATE (not joinable), MP_ETIMEDOUT.
 * Blocking: up to timeout_ms. Since 0.1.
 */
MP_EXTERN int mp_queue_join(mp_queue_t *queue, int64_t timeout_ms);

/**
 * Release this process's handle (unmap, close the descriptor). Other
 * processes keep using the queue; the memory goes away with the last one.
 * This does not close the queue (see mp_queue_close()). NULL does nothing.
 * Since 0.1.
 */
MP_EXTERN void mp_queue_free(mp_queue_t *queue);

/* ------------------------------------------------------------------------
 * Handles for commands, by name
 * ---------------------------------------------------------------------- */

/**
 * Hand a queue to the command's child under a name (1-64 characters of
 * [A-Za-z0-9_]). The child, in any language, opens it with
 * mp_queue_inherit(&q, name). The queue is borrowed until the spawn.
 *
 * Errors: MP_EINVAL (NULL, bad name), MP_EEXIST (name already used in
 * this command), MP_ENOMEM. Since 0.1.
 */
MP_EXTERN int mp_cmd_pass_queue(mp_cmd_t *cmd, const char *name, mp_queue_t *queue);

/**
 * Hand a connection end to the command's child under a name; the child opens
 * it with mp_conn_inherit(). The end is borrowed until the spawn.
 *
 * Errors: as mp_cmd_pass_queue(). Since 0.1.
 */
MP_EXTERN int mp_cmd_pass_conn(mp_cmd_t *cmd, const char *name, mp_conn_t *conn);

/**
 * In a program started with mp_cmd_pass_queue(), open the queue passed
 * under name.
 *
 * Errors: MP_EINVAL (NULL, bad name), MP_ENOENT (nothing passed under that
 * name), MP_ESTATE (the name holds another kind of handle), and those of
 * mp_queue_from_fd(). Since 0.1.
 */
MP_EXTERN int mp_queue_inherit(mp_queue_t **out, const char *name);

/**
 * In a program started with mp_cmd_pass_conn(), open the connection end
 * passed under name, readable and writable as flags says.
 *
 * Errors: as mp_queue_inherit(). Since 0.1.
 */
MP_EXTERN int mp_conn_inherit(mp_conn_t **out, const char *name, int flags);

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

/** The lock's descriptor (owned by the lock), or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_lock_fileno(mp_lock_t *lock);

/**
 * Acquire the lock (acquire(timeout)); timeout_ms 0 is acquire(False).
 *
 * Returns: MP_OK, or MP_EOWNERDEAD: the lock is now held by the caller,
 * but its previous holder died while holding it, so the data it protects
 * may be half-updated; repair it, then go on (the lock stays usable).
 * Errors: MP_EINVAL, MP_ETIMEDOUT, MP_ESTATE (a plain lock already held by
 * this thread: Python would deadlock).
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

/** Release this process's handle (not the lock); NULL does nothing. */
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

/** The condition's descriptor, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_cond_fileno(mp_cond_t *cond);

/**
 * Release the lock, wait for a notification, and acquire the lock again
 * before returning, whatever the outcome (wait(timeout)). The caller must
 * hold the lock (once, for a recursive lock).
 *
 * Returns: MP_OK when notified; MP_ETIMEDOUT; MP_EOWNERDEAD when, while
 * re-acquiring, the lock's holder was found dead (the caller holds it).
 * Errors: MP_EINVAL, MP_ESTATE (the caller does not hold the lock).
 * A waiter that dies breaks nothing. Blocking: up to timeout_ms (plus the
 * time to re-acquire the lock). Since 0.1.
 */
MP_EXTERN int mp_cond_wait(mp_cond_t *cond, int64_t timeout_ms);

/**
 * Wake up to n waiters (notify(n)); the caller must hold the lock.
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

/** Open a barrier from a received descriptor (takes ownership); errors as
 * mp_lock_from_fd(). Since 0.1. */
MP_EXTERN int mp_barrier_from_fd(mp_barrier_t **out, int fd);

/** The barrier's descriptor, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_barrier_fileno(mp_barrier_t *barrier);

/**
 * Wait until `parties` callers have arrived (wait(timeout)).
 *
 * Returns: the arrival index, 0 to parties-1, different for each caller of
 * one round; or an error: MP_EINVAL, MP_ETIMEDOUT (this caller timed out;
 * as in Python the barrier is now broken for everyone), MP_ESTATE (the
 * barrier is broken: aborted, or another waiter timed out; every waiter
 * gets it until mp_barrier_reset()).
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

/** The block's descriptor, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_shm_fileno(mp_shm_t *shm);

/** The block's address in this process, valid until mp_shm_free(); NULL
 * for a bad handle. Since 0.1. */
MP_EXTERN void *mp_shm_data(mp_shm_t *shm);

/** The block's size in bytes (0 for a bad handle). Since 0.1. */
MP_EXTERN size_t mp_shm_size(mp_shm_t *shm);

/** Unmap the block in this process; other processes keep it; NULL does
 * nothing. Since 0.1. */
MP_EXTERN void mp_shm_free(mp_shm_t *shm);

/** A typed value or array in shared memory (Value, Array). */
typedef struct mp_value mp_value_t;

/** Element types of mp_value_new(). */
typedef enum mp_type {
  MP_TYPE_INT32 = 1,  /**< 'i' */
  MP_TYPE_INT64 = 2,  /**< 'q' */
  MP_TYPE_UINT64 = 3, /**< 'Q' */
  MP_TYPE_DOUBLE = 4, /**< 'd' */
  MP_TYPE_BYTES = 5   /**< 'c' array: a byte string */
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

/** Open a value from a received descriptor (takes ownership); errors as
 * mp_lock_from_fd(). Since 0.1. */
MP_EXTERN int mp_value_from_fd(mp_value_t **out, int fd);

/** The value's descriptor, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_value_fileno(mp_value_t *value);

/** The element type, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_value_type(mp_value_t *value);

/** The number of elements (bytes for MP_TYPE_BYTES); 0 for a bad handle. */
MP_EXTERN size_t mp_value_count(mp_value_t *value);

/**
 * Read element index as a signed integer (MP_TYPE_INT32, MP_TYPE_INT64;
 * MP_TYPE_UINT64 if it fits). Each element is read atomically.
 * Errors: MP_EINVAL (NULL, index out of range, a type that does not fit).
 * Since 0.1.
 */
MP_EXTERN int mp_value_get_i64(int64_t *out, mp_value_t *value, size_t index);

/** Write element index from a signed integer (which must fit the type).
 * Errors: MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_value_set_i64(mp_value_t *value, size_t index, int64_t v);

/** Read element index of an MP_TYPE_UINT64 value. Errors: MP_EINVAL. */
MP_EXTERN int mp_value_get_u64(uint64_t *out, mp_value_t *value, size_t index);

/** Write element index of an MP_TYPE_UINT64 value. Errors: MP_EINVAL. */
MP_EXTERN int mp_value_set_u64(mp_value_t *value, size_t index, uint64_t v);

/** Read element index of an MP_TYPE_DOUBLE value. Errors: MP_EINVAL. */
MP_EXTERN int mp_value_get_f64(double *out, mp_value_t *value, size_t index);

/** Write element index of an MP_TYPE_DOUBLE value. Errors: MP_EINVAL. */
MP_EXTERN int mp_value_set_f64(mp_value_t *value, size_t index, double v);

/**
 * Atomically add delta to an integer element and report the new value
 * (no lock needed). Errors: MP_EINVAL (not an integer type, index). Since
 * 0.1.
 */
MP_EXTERN int mp_value_add_i64(int64_t *out, mp_value_t *value, size_t index,
                               int64_t delta);

/**
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
 * Take the value's lock (value.get_lock().acquire()) for a compound update
 * such as read-modify-write of a double. Returns and errors as
 * mp_lock_acquire(), and MP_ESTATE for a value created without
 * MP_VALUE_LOCK. Since 0.1.
 */
MP_EXTERN int mp_value_acquire(mp_value_t *value, int64_t timeout_ms);

/** Release the value's lock; errors as mp_lock_release(). Since 0.1. */
MP_EXTERN int mp_value_release(mp_value_t *value);

/** Unmap the value in this process; NULL does nothing. Since 0.1. */
MP_EXTERN void mp_value_free(mp_value_t *value);

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

/** The dict's descriptor, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_dict_fileno(mp_dict_t *dict);

/** Set key to value (d[key] = value). Errors: MP_EINVAL, MP_ENOSPC (no
 * entry or bytes left). Since 0.1. */
MP_EXTERN int mp_dict_set(mp_dict_t *dict, const void *key, size_t key_len,
                          const void *value, size_t value_len);

/** Get the value of key into a library buffer (NUL-terminated; mp_free()).
 * Errors: MP_EINVAL, MP_ENOENT (no such key), MP_ENOMEM. Since 0.1. */
MP_EXTERN int mp_dict_get(void **out, size_t *out_len, mp_dict_t *dict,
                          const void *key, size_t key_len);

/** Get the value of key into the caller's buffer; on MP_ENOSPC *out_len is
 * the size needed. Errors: MP_EINVAL, MP_ENOENT, MP_ENOSPC. Since 0.1. */
MP_EXTERN int mp_dict_get_into(size_t *out_len, mp_dict_t *dict, const void *key,
                               size_t key_len, void *buf, size_t cap);

/** Remove key (del d[key]). Errors: MP_EINVAL, MP_ENOENT. Since 0.1. */
MP_EXTERN int mp_dict_delete(mp_dict_t *dict, const void *key, size_t key_len);

/** 1 if key is present, 0 if not, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_dict_contains(mp_dict_t *dict, const void *key, size_t key_len);

/** The number of keys, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_dict_len(mp_dict_t *dict);

/** Remove every key. Errors: MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_dict_clear(mp_dict_t *dict);

/**
 * Atomically add delta to the integer stored at key (8 bytes, little-endian
 * two's complement; a missing key counts as 0) and report the new value.
 * Errors: MP_EINVAL (the value is not 8 bytes), MP_ENOSPC. Since 0.1.
 */
MP_EXTERN int mp_dict_incr(int64_t *out, mp_dict_t *dict, const void *key,
                           size_t key_len, int64_t delta);

/**
 * Atomically set key to desired if its value equals expected (expected
 * NULL: only if the key is absent).
 * Returns: 1 if set, 0 if not, or an error: MP_EINVAL, MP_ENOSPC. Since 0.1.
 */
MP_EXTERN int mp_dict_cas(mp_dict_t *dict, const void *key, size_t key_len,
                          const void *expected, size_t expected_len,
                          const void *desired, size_t desired_len);

/** An iterator over a snapshot of a dict's items. */
typedef struct mp_dict_iter mp_dict_iter_t;

/**
 * Take a consistent snapshot of every item (keys(), items()): later changes
 * to the dict do not show in the iterator.
 * Errors: MP_EINVAL, MP_ENOMEM. Since 0.1.
 */
MP_EXTERN int mp_dict_iter_new(mp_dict_iter_t **out, mp_dict_t *dict);

/**
 * The next item of the snapshot. The pointers stay valid until the next
 * call or mp_dict_iter_free(); the value is NUL-terminated.
 * Returns: 1 with an item, 0 at the end, or MP_EINVAL. Since 0.1.
 */
MP_EXTERN int mp_dict_iter_next(mp_dict_iter_t *iter, const void **key, size_t *key_len,
                                const void **value, size_t *value_len);

/** Free an iterator; NULL does nothing. Since 0.1. */
MP_EXTERN void mp_dict_iter_free(mp_dict_iter_t *iter);

/** Unmap the dict in this process; NULL does nothing. Since 0.1. */
MP_EXTERN void mp_dict_free(mp_dict_t *dict);

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
typedef struct mp_iter mp_iter_t;

/** Create pool options with every default. Errors: MP_EINVAL, MP_ENOMEM. */
MP_EXTERN int mp_pool_opts_new(mp_pool_opts_t **out);

/** Free pool options; NULL does nothing. */
MP_EXTERN void mp_pool_opts_free(mp_pool_opts_t *opts);

/** Number of workers (processes=); default mp_cpu_count(). Errors:
 * MP_EINVAL (0 or above 1024). Since 0.1. */
MP_EXTERN int mp_pool_opts_set_workers(mp_pool_opts_t *opts, unsigned workers);

/** How worker processes start (default MP_START_FORK; MP_START_SPAWN needs
 * mp_main()). Errors: MP_EINVAL. Since 0.1. */
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
 * Run tasks on threads of this process instead of worker processes
 * (multiprocessing.dummy.Pool): the same API, no serialisation cost, no
 * protection against a task that crashes. @param enabled  0 or 1.
 * Errors: MP_EINVAL. Since 0.1.
 */
MP_EXTERN int mp_pool_opts_set_threads(mp_pool_opts_t *opts, int enabled);

/**
 * Start a pool. Worker processes are daemons: they die with the parent.
 * A worker that dies (SIGKILL, crash) fails only the task it was running,
 * with MP_EWORKERDIED, and is replaced; the pool never hangs.
 *
 * @param opts  borrowed for the call; NULL for the defaults.
 * Errors: MP_EINVAL, MP_ESTATE (MP_START_SPAWN without mp_main()),
 * MP_ENOMEM, MP_ESYS. Blocking: until the workers are started. Since 0.1.
 */
MP_EXTERN int mp_pool_new(mp_pool_t **out, const mp_pool_opts_t *opts);

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

/** Flag of mp_pool_imap(): yield results as they complete
 * (imap_unordered) instead of in argument order. */
#define MP_IMAP_UNORDERED 1

/**
 * Iterate over task(args[i]) results (imap / imap_unordered). At most a
 * few chunks per worker are in flight at once (back-pressure).
 * @param[out] out  free with mp_iter_free() (unfinished tasks still run).
 * Errors: as mp_pool_apply_async(). Never blocks. Since 0.1.
 */
MP_EXTERN int mp_pool_imap(mp_iter_t **out, mp_pool_t *pool, const char *task,
                           const void *const *args, const size_t *arg_lens, size_t n,
                           size_t chunksize, int flags);

/**
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

/** Free an iterator; NULL does nothing. Since 0.1. */
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

/** The number of items (1 for apply_async, n for map), or MP_EINVAL. */
MP_EXTERN int mp_result_count(mp_result_t *result);

/**
 * Item i of a finished result: its bytes (owned by the result) and its own
 * status (MP_OK, MP_ETASKFAILED with the message as data, MP_EWORKERDIED,
 * MP_ECANCELED). Errors: MP_EINVAL (index), MP_ESTATE (not finished).
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

#endif /* MULTIPROC_H */
