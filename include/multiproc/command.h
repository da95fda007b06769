/**
 * @file
 * multiproc: commands, what a child runs (subprocess.Popen's arguments, the
 * handles it is given). Part of <multiproc.h>; include that.
 */
#ifndef MULTIPROC_COMMAND_H
#define MULTIPROC_COMMAND_H

#include "multiproc/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Commands: what to run (subprocess.Popen's arguments)
 * ---------------------------------------------------------------------- */

/** A command to run: program, arguments, environment, stdio, options. */
typedef struct mp_cmd mp_cmd_t;

/** A child process: a running command or a process running a target. */
typedef struct mp_process mp_process_t;

/** One end of a connection: framed byte messages in both or one direction
 * (multiproc/ipc.h; declared here because commands pass them). */
typedef struct mp_conn mp_conn_t;

/** A multi-producer, multi-consumer queue of byte messages in shared memory
 * (multiproc/ipc.h; declared here because commands pass them). */
typedef struct mp_queue mp_queue_t;

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

/** Flags of mp_cmd_set_stdio_file(). */
#define MP_FILE_TRUNCATE 0 /**< create or truncate (the default) */
#define MP_FILE_APPEND 1   /**< create or append */

/**
 * Create a command that runs program. A program without '/' is looked up in
 * the PATH of the child's environment when the command is spawned; argv[0]
 * is the program as given. Relative and empty PATH entries ("", ".",
 * "../bin") are skipped unless mp_cmd_set_allow_relative_path() allows them
 * (os/exec's ErrDot rule). A program with '/' that is relative, like a
 * relative PATH entry, is resolved against the directory the child runs in
 * (mp_cmd_set_cwd()), not the parent's (Python's rule on POSIX).
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
 * @param arg  not NULL; copied. Errors: MP_EINVAL, MP_ENOMEM. Since 0.3 (as mp_cmd_add_arg(), since 0.1).
 */
MP_EXTERN int mp_cmd_add_arg(mp_cmd_t *cmd, const char *arg);

/**
 * Replace argv[0] (by default the program as given to mp_cmd_new()).
 *
 * @param arg0  not NULL; copied. Errors: MP_EINVAL, MP_ENOMEM. Since 0.3 (as mp_cmd_set_arg0(), since 0.1).
 */
MP_EXTERN int mp_cmd_set_arg0(mp_cmd_t *cmd, const char *arg0);

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
 * does not exist makes mp_process_spawn() fail with MP_ENOENT, whose
 * message names the directory (checked before the program is looked up).
 *
 * @param dir  not NULL or empty; copied.
 * Errors: MP_EINVAL, MP_ENOMEM. Since 0.3 (as mp_cmd_set_cwd(), since 0.1).
 */
MP_EXTERN int mp_cmd_set_cwd(mp_cmd_t *cmd, const char *dir);

/**
 * Connect a standard stream of the child to the parent's, /dev/null, a new
 * pipe, or (stderr only) the child's stdout.
 *
 * Errors: MP_EINVAL (unknown stream or mode; MP_STDIO_STDOUT for a stream
 * other than MP_STDERR). Since 0.3 (as mp_cmd_set_stdio(), since 0.1).
 */
MP_EXTERN int mp_cmd_set_stdio(mp_cmd_t *cmd, mp_stream_t stream, mp_stdio_t mode);

/**
 * Connect a standard stream of the child to a file, opened at spawn time:
 * read-only for MP_STDIN; created with mode 0644 and truncated or appended
 * (flags MP_FILE_TRUNCATE / MP_FILE_APPEND) for MP_STDOUT and MP_STDERR.
 * A file that cannot be opened makes mp_process_spawn() fail.
 *
 * @param path  not NULL or empty; copied.
 * Errors: MP_EINVAL, MP_ENOMEM. Since 0.3 (as mp_cmd_set_stdio_file(), since 0.1).
 */
MP_EXTERN int mp_cmd_set_stdio_file(mp_cmd_t *cmd, mp_stream_t stream,
                                    const char *path, int flags);

/**
 * Connect a standard stream of the child to an open descriptor of the
 * parent. The descriptor is borrowed: it must stay open until
 * mp_process_spawn() returns; the parent may close it afterwards.
 *
 * Errors: MP_EINVAL (bad stream, fd < 0). A descriptor that is not open
 * makes mp_process_spawn() fail with MP_EINVAL. Since 0.3 (as mp_cmd_set_stdio_fd(), since 0.1).
 */
MP_EXTERN int mp_cmd_set_stdio_fd(mp_cmd_t *cmd, mp_stream_t stream, int fd);

/** The lowest child descriptor mp_cmd_pass_fd_at() takes (0-2 are stdio). */
#define MP_CMD_FD_AT_MIN 3
/** The highest child descriptor mp_cmd_pass_fd_at() takes. */
#define MP_CMD_FD_AT_MAX 1023

/**
 * Give the child the parent's descriptor fd as its descriptor child_fd
 * (Go's Cmd.ExtraFiles; Python's pass_fds, at a number of the caller's
 * choosing). The child's descriptors from 3 up to the highest child_fd
 * that no call names are closed in it; handles passed by name
 * (mp_cmd_pass_queue(), mp_cmd_pass_conn(), mp_cmd_pass_fd()) take the
 * numbers after the highest child_fd. The child's copy is not
 * close-on-exec, whatever fd's flag. A later call for the same child_fd
 * replaces the earlier one.
 *
 * @param fd        an open descriptor of the parent; borrowed: it must stay
 *                  open until mp_process_spawn() returns.
 * @param child_fd  MP_CMD_FD_AT_MIN (3) to MP_CMD_FD_AT_MAX (1023); 0-2 are
 *                  the standard streams (mp_cmd_set_stdio_fd()).
 * Errors: MP_EINVAL (NULL cmd, fd < 0, child_fd out of range), MP_ENOMEM.
 * A descriptor that is not open makes mp_process_spawn() fail with
 * MP_EINVAL. Never blocks. Since 0.2.
 */
MP_EXTERN int mp_cmd_pass_fd_at(mp_cmd_t *cmd, int fd, int child_fd);

/* ------------------------------------------------------------------------
 * Handles for commands, by name (the child opens them with mp_*_inherit(),
 * multiproc/ipc.h). A name reaches the command's program only: the
 * children that program starts (targets and commands) find only what it
 * passes them itself.
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
 * Hand any shared object to the command's child under a name, by its
 * descriptor: a lock, semaphore, event, barrier, value, shared memory block
 * or dict (mp_lock_fileno(lock), mp_dict_fileno(dict), …). The child, in any
 * language, gets a descriptor with mp_fd_inherit() and opens the object with
 * the matching *_from_fd() function (mp_lock_from_fd(), …), which checks
 * that the descriptor holds that kind of object. The descriptor is borrowed
 * until the spawn (keep the object alive until then).
 *
 * Errors: MP_EINVAL (NULL, bad name, fd < 0), MP_EEXIST (name already used
 * in this command), MP_ENOMEM. Since 0.1.
 */
MP_EXTERN int mp_cmd_pass_fd(mp_cmd_t *cmd, const char *name, int fd);

/**
 * Start the child in a new process group of its own (setpgid(0, 0)), so
 * that mp_process_signal(..., MP_SIGNAL_GROUP) reaches its whole tree.
 * The portable backend (docs/guide.md, "Platforms") cannot: there
 * mp_process_spawn() fails with MP_ENOTSUP unless mp_cmd_set_new_session()
 * is set too (a new session is a new group as well).
 *
 * @param enabled  0 or 1 (default 0). Errors: MP_EINVAL. Since 0.3 (as mp_cmd_set_new_group(), since 0.1).
 */
MP_EXTERN int mp_cmd_set_new_group(mp_cmd_t *cmd, int enabled);

/**
 * Start the child in a new session (setsid()): it is the leader of a new
 * session and of a new process group, with no controlling terminal
 * (Python's start_new_session=True; mp_cmd_set_new_group() is Python's
 * process_group=0 and keeps the session). A child in a new session counts
 * as started in a new group for MP_SIGNAL_GROUP.
 *
 * @param enabled  0 or 1 (default 0). Errors: MP_EINVAL. Never blocks.
 * Since 0.3 (as mp_cmd_set_new_session(), since 0.2).
 */
MP_EXTERN int mp_cmd_set_new_session(mp_cmd_t *cmd, int enabled);

/**
 * Let the PATH search use relative and empty PATH entries ("", ".",
 * "../bin"), resolved against the directory the child runs in. By default
 * they are skipped, and a program found only through one makes
 * mp_process_spawn() fail with MP_EACCES and a message saying it was
 * found relative to the current directory (os/exec's ErrDot).
 *
 * @param enabled  0 or 1 (default 0). Errors: MP_EINVAL. Never blocks.
 * Since 0.3 (as mp_cmd_set_allow_relative_path(), since 0.2).
 */
MP_EXTERN int mp_cmd_set_allow_relative_path(mp_cmd_t *cmd, int enabled);

/**
 * Make mp_run() return MP_ECALLEDPROCESS when the child ends with an exit
 * code other than 0, a signal death included (Python's check=True). The
 * exit code and the captured output are delivered as on success, so the
 * caller can report them. mp_process_spawn() ignores this option.
 *
 * @param enabled  0 or 1 (default 0). Errors: MP_EINVAL. Never blocks.
 * Since 0.3 (as mp_cmd_set_check(), since 0.2).
 */
MP_EXTERN int mp_cmd_set_check(mp_cmd_t *cmd, int enabled);

/**
 * Make the child a daemon: it is sent SIGKILL when the parent process ends,
 * however it ends (also when the parent is SIGKILLed). On Linux this is
 * PR_SET_PDEATHSIG armed from the library's long-lived runtime thread, so
 * it does not fire when the thread that called mp_process_spawn() exits.
 * The portable backend (docs/guide.md, "Platforms") has no way to make an
 * exec'd program die with its parent: there mp_process_spawn() of a
 * daemon command fails with MP_ENOTSUP.
 *
 * @param enabled  0 or 1 (default 0). Errors: MP_EINVAL. Since 0.3 (as mp_cmd_set_daemon(), since 0.1).
 */
MP_EXTERN int mp_cmd_set_daemon(mp_cmd_t *cmd, int enabled);


/* Deprecated since 0.3: the command's options before the rule "a setter is
 * mp_<object>_set_<option>, an appender mp_<object>_add_<item>"
 * (docs/style.md). Each stays exported and behaves exactly as its
 * replacement (errors name the old function) until the next soname. */

/** Deprecated since 0.3: use mp_cmd_add_arg(), which it equals. Since 0.1. */
MP_EXTERN int mp_cmd_arg(mp_cmd_t *cmd, const char *arg);

/** Deprecated since 0.3: use mp_cmd_set_arg0(), which it equals. Since 0.1. */
MP_EXTERN int mp_cmd_arg0(mp_cmd_t *cmd, const char *arg0);

/** Deprecated since 0.3: use mp_cmd_set_cwd(), which it equals. Since 0.1. */
MP_EXTERN int mp_cmd_cwd(mp_cmd_t *cmd, const char *dir);

/** Deprecated since 0.3: use mp_cmd_set_stdio(), which it equals. Since 0.1. */
MP_EXTERN int mp_cmd_stdio(mp_cmd_t *cmd, mp_stream_t stream, mp_stdio_t mode);

/** Deprecated since 0.3: use mp_cmd_set_stdio_file(), which it equals. Since 0.1. */
MP_EXTERN int mp_cmd_stdio_file(mp_cmd_t *cmd, mp_stream_t stream,
                                const char *path, int flags);

/** Deprecated since 0.3: use mp_cmd_set_stdio_fd(), which it equals. Since 0.1. */
MP_EXTERN int mp_cmd_stdio_fd(mp_cmd_t *cmd, mp_stream_t stream, int fd);

/** Deprecated since 0.3: use mp_cmd_set_new_group(), which it equals. Since 0.1. */
MP_EXTERN int mp_cmd_new_group(mp_cmd_t *cmd, int enabled);

/** Deprecated since 0.3: use mp_cmd_set_new_session(), which it equals. Since 0.2. */
MP_EXTERN int mp_cmd_new_session(mp_cmd_t *cmd, int enabled);

/** Deprecated since 0.3: use mp_cmd_set_allow_relative_path(), which it equals. Since 0.2. */
MP_EXTERN int mp_cmd_allow_relative_path(mp_cmd_t *cmd, int enabled);

/** Deprecated since 0.3: use mp_cmd_set_check(), which it equals. Since 0.2. */
MP_EXTERN int mp_cmd_check(mp_cmd_t *cmd, int enabled);

/** Deprecated since 0.3: use mp_cmd_set_daemon(), which it equals. Since 0.1. */
MP_EXTERN int mp_cmd_daemon(mp_cmd_t *cmd, int enabled);

#ifdef __cplusplus
}
#endif

#endif /* MULTIPROC_COMMAND_H */
