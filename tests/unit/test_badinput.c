/* Bad input at the C ABI (docs/reliability.md: "Bad input gets an error
 * code and a message, never a crash"): every public function of the headers in include/multiproc is
 * called with NULL pointers, zero and huge sizes, negative timeouts other
 * than MP_FOREVER, unknown enum values and flags, objects in the wrong state
 * (used after close, closed twice), descriptors of another type and
 * pointers to zeroed memory posing as handles.
 *
 * The calls live in one table. Each row runs on a fresh thread, whose
 * mp_last_error() starts empty, so "the call left a message" is checked for
 * the call itself and not inherited from an earlier one. A last test reads
 * the headers and fails if a declared function has no row. */
#include "testutil.h"

#include <ctype.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>

/* ------------------------------------------------------------------------
 * Fixtures: live objects the rows use (created once, freed at the end)
 * ---------------------------------------------------------------------- */

static struct fixtures {
  mp_cmd_t *cmd;          /* a valid command */
  mp_cmd_t *cmd_passed;   /* a command with queue "q1" and conn "c1" passed */
  mp_cmd_t *cmd_missing;  /* a command whose program does not exist */
  mp_process_t *unstarted;
  mp_process_t *done;     /* a target child that ran and was joined */
  mp_stop_t *stop;
  mp_stop_t *stop_full;   /* holds the maximum of 8 steps */
  mp_conn_t *a, *b;       /* a duplex pair */
  mp_conn_t *r, *w;       /* a one-way pair: r only receives, w only sends */
  mp_conn_t *closed_conn;
  mp_queue_t *queue, *closed_queue, *jqueue;
  mp_lock_t *lock, *rlock;
  mp_sem_t *bsem;         /* bounded, at its bound */
  mp_event_t *event;
  mp_cond_t *cond;
  mp_barrier_t *barrier;
  mp_shm_t *shm;
  mp_value_t *v_i32, *v_f64, *v_bytes, *v_locked;
  mp_value_t *v_bool, *v_rec, *v_shared; /* bool; records "id" x2; lock=F.lock */
  mp_dict_t *dict;
  mp_dict_iter_t *iter;
  mp_pool_opts_t *opts;
  mp_pool_opts_t *opts_passed; /* "q1" passed */
  mp_broker_opts_t *bopts;
  mp_pool_t *pool, *closed_pool;
  mp_result_t *result;    /* a finished apply_async */
  mp_iter_t *imap;
  mp_cancel_t *cancel;
  mp_listener_opts_t *lopts;
  mp_listener_t *listener, *closed_listener; /* abstract unix: addresses */
  int devnull;            /* an open descriptor that is no multiproc object */
  int sock;               /* one end of a socketpair */
} F;

/* Zeroed memory posing as a handle: the magic word never matches. Large
 * enough that reading any handle's fields stays inside it. */
static _Alignas(64) unsigned char g_garbage[4096];
#define GARBAGE(type) ((type *)(void *)g_garbage)

static const char k_long_name[] =
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
    "nnnn"; /* 260 bytes: above every name limit */

static int noop_target(const void *arg, size_t arg_len, void *payload) {
  (void)arg, (void)arg_len, (void)payload;
  return 0;
}

static int echo_task(void **out, size_t *out_len, const void *arg, size_t arg_len,
                     void *payload) {
  (void)payload;
  *out = NULL;
  *out_len = 0;
  if (arg_len == 0) return 0;
  *out = malloc(arg_len);
  if (!*out) return 1;
  memcpy(*out, arg, arg_len);
  *out_len = arg_len;
  return 0;
}

static void noop_cb(mp_result_t *r, void *p) { (void)r, (void)p; }

/* ------------------------------------------------------------------------
 * Helpers for rows that need a fresh object or a particular state
 * ---------------------------------------------------------------------- */

/* Descriptors handed to *_from_fd rows, closed after the row if the call
 * left them open (from_fd takes ownership only when it succeeds). */
static int g_dups[4];
static int g_ndups;

static int dup_fd(int fd) {
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (d >= 0 && g_ndups < 4) g_dups[g_ndups++] = d;
  return d;
}

static int fd_of_lock(void) { return dup_fd(mp_lock_fileno(F.lock)); }
static int fd_of_queue(void) { return dup_fd(mp_queue_fileno(F.queue)); }
static int fd_of_event(void) { return dup_fd(mp_event_fileno(F.event)); }
static int fd_of_dict(void) { return dup_fd(mp_dict_fileno(F.dict)); }
static int fd_of_shm(void) { return dup_fd(mp_shm_fileno(F.shm)); }
static int fd_of_null(void) { return dup_fd(F.devnull); }

/* An empty memfd: no header at all. */
static int fd_of_empty_memfd(void) {
  int fd = memfd_create("badinput", MFD_CLOEXEC);
  if (fd >= 0 && g_ndups < 4) g_dups[g_ndups++] = fd;
  return fd;
}

/* Acquire a plain lock twice on one thread without a timeout: MP_ESTATE,
 * not a deadlock. */
static int lock_twice(void) {
  int r = mp_lock_acquire(F.lock, 1000);
  if (r != MP_OK) return 1;
  r = mp_lock_acquire(F.lock, MP_FOREVER); /* with a timeout: "not acquired" */
  mp_lock_release(F.lock);
  return r;
}

/* A condition wait or notify needs the lock held: MP_ESTATE without it. */
static int cond_wait_unlocked(void) { return mp_cond_wait(F.cond, 0); }
static int pred_true(void *payload) {
  (void)payload;
  return 1;
}

static int free_twice_conn_close(void) {
  /* Closing a closed end again is a documented no-op. */
  return mp_conn_close(F.closed_conn);
}

/* A value's lock taken by this thread, then the timeout check. */
static int value_acquire_bad_timeout(void) { return mp_value_acquire(F.v_locked, -2); }

/* ------------------------------------------------------------------------
 * The table
 *
 * E(id, code, expr): expr must return code and leave a message.
 * V(id, value, expr): expr must return value (functions whose contract is a
 *   value: "" for a bad handle, a no-op for NULL, a documented no-op).
 * ---------------------------------------------------------------------- */

#define NO_CRASH(call) ((call), 0)
#define IS_NULL(ptr) ((ptr) == NULL ? 1 : 0)

/* Rows for the three shared-object entry points every type has:
 * from_fd with NULL out, a negative, a closed, a foreign and a non-multiproc
 * descriptor; fileno of NULL and of garbage; free of NULL and of garbage. */
#define OBJECT_ROWS(X, t, other_fd)                                          \
  X(E, t##_from_fd_null_out, MP_EINVAL, mp_##t##_from_fd(NULL, fd_of_lock())) \
  X(E, t##_from_fd_negative, MP_EINVAL, mp_##t##_from_fd(&o_##t, -1))        \
  X(E, t##_from_fd_closed, MP_EINVAL, mp_##t##_from_fd(&o_##t, 100000))      \
  X(E, t##_from_fd_foreign, MP_EINVAL, mp_##t##_from_fd(&o_##t, other_fd()))  \
  X(E, t##_from_fd_devnull, MP_EINVAL, mp_##t##_from_fd(&o_##t, fd_of_null())) \
  X(E, t##_from_fd_empty, MP_EINVAL,                                         \
    mp_##t##_from_fd(&o_##t, fd_of_empty_memfd()))                           \
  X(E, t##_fileno_null, MP_EINVAL, mp_##t##_fileno(NULL))                    \
  X(E, t##_fileno_garbage, MP_EINVAL, mp_##t##_fileno(GARBAGE(mp_##t##_t))) \
  X(V, t##_free_null, 0, NO_CRASH(mp_##t##_free(NULL)))                      \
  X(V, t##_free_garbage, 0, NO_CRASH(mp_##t##_free(GARBAGE(mp_##t##_t))))

/* Out-parameters the rows write to (never read). */
static mp_cmd_t *o_cmd;
static mp_process_t *o_proc;
static mp_conn_t *o_conn, *o_conn2;
static mp_queue_t *o_queue;
static mp_lock_t *o_lock;
static mp_sem_t *o_sem;
static mp_event_t *o_event;
static mp_cond_t *o_cond;
static mp_barrier_t *o_barrier;
static mp_shm_t *o_shm;
static mp_value_t *o_value;
static mp_dict_t *o_dict;
static mp_dict_iter_t *o_iter;
static mp_result_t *o_result;
static mp_iter_t *o_imap;
static mp_listener_t *o_listener;
static void *o_buf;
static mp_pool_t *o_pool; /* stays NULL: every row that sets it fails */
static size_t o_len;
static int o_int;

/* mp_wait on one entry (n only says how many the call is told of; the
 * array holds one, which is all a call that checks n first reads). */
static int wait_one(int kind, void *handle, size_t n, int64_t timeout_ms) {
  mp_waitable_t w = {kind, handle, 0};
  return mp_wait(&w, n, timeout_ms);
}
static int64_t o_i64;
static uint64_t o_u64;
static double o_f64;
static const void *o_cptr, *o_cptr2;
static char g_buf[64];
/* A redis:// address where a call takes unix: or tcp:// only: MP_EINVAL
 * in every build (MP_ENOTSUP is for calls that serve redis://, in a build
 * without the backend). */
#define REDIS_REFUSED MP_EINVAL
/* mp_queue_put_many / get_many rows: two messages, good and bad. */
static const void *const k_msgs[2] = {"x", "y"};
static const void *const k_msgs_null[2] = {"x", NULL};
static const size_t k_lens[2] = {1, 1};
static const size_t k_lens_null[2] = {1, 4};
static const size_t k_lens_huge[2] = {1, SIZE_MAX};
static size_t g_lens[4];
static void *g_ring_word;
static uint64_t g_ring_value;

static const void *const k_args[2] = {"a", "b"};
static const size_t k_arg_lens[2] = {1, 1};
static const int64_t k_eight = 8;

#define CORE_ROWS(X)                                                          \
  X(V, version, 0, IS_NULL(mp_version()))                                     \
  X(V, version_number, MP_VERSION_NUMBER, mp_version_number())                \
  X(V, strerror_unknown, 0, strcmp(mp_strerror(12345), "unknown error"))      \
  X(V, strerror_min, 0, strcmp(mp_strerror(INT32_MIN), "unknown error"))      \
  X(V, err_name_unknown, 0, strcmp(mp_err_name(-999), "UNKNOWN"))             \
  X(V, last_error, 0, IS_NULL(mp_last_error()))                               \
  X(V, free_null, 0, NO_CRASH(mp_free(NULL)))                                 \
  X(E, register_null_name, MP_EINVAL, mp_register(NULL, noop_target, NULL))   \
  X(E, register_empty_name, MP_EINVAL, mp_register("", noop_target, NULL))    \
  X(E, register_long_name, MP_EINVAL, mp_register(k_long_name, noop_target, NULL)) \
  X(E, register_null_fn, MP_EINVAL, mp_register("bad_fn", NULL, NULL))        \
  X(E, register_twice, MP_EEXIST, mp_register("bad_noop", noop_target, NULL)) \
  X(E, main_null_argv, MP_EINVAL, mp_main(1, NULL))                           \
  X(E, main_zero_argc, MP_EINVAL, mp_main(0, NULL))                           \
  X(V, is_child, 0, mp_is_child())                                            \
  X(V, current_name, 0, strcmp(mp_current_name(), "MainProcess"))             \
  X(V, parent_pid, 1, mp_parent_pid() > 0)                                    \
  X(E, parent_alive_outside_child, MP_ESTATE, mp_parent_alive())              \
  X(V, parent_name_outside_child, 0, strcmp(mp_parent_name(), ""))            \
  X(E, child_fd_outside_child, MP_ESTATE, mp_child_fd(0))                     \
  X(E, child_fd_huge, MP_ESTATE, mp_child_fd(SIZE_MAX))                       \
  X(V, cpu_count, 1, mp_cpu_count() >= 1)                                     \
  X(E, exit_join_2, MP_EINVAL, mp_set_exit_join(2))                       \
  X(E, exit_join_neg, MP_EINVAL, mp_set_exit_join(-1))                    \
  X(E, cancel_new_null, MP_EINVAL, mp_cancel_new(NULL))                       \
  X(V, cancel_free_null, 0, NO_CRASH(mp_cancel_free(NULL)))                   \
  X(E, cancel_fire_null, MP_EINVAL, mp_cancel_fire(NULL))                     \
  X(E, cancel_reset_null, MP_EINVAL, mp_cancel_reset(NULL))                   \
  X(E, cancel_fired_null, MP_EINVAL, mp_cancel_fired(NULL))                   \
  X(V, cancel_bind_null, 1, IS_NULL(mp_cancel_bind(NULL)))

#define CMD_ROWS(X)                                                           \
  X(E, cmd_new_null_out, MP_EINVAL, mp_cmd_new(NULL, "true"))                 \
  X(E, cmd_new_null_prog, MP_EINVAL, mp_cmd_new(&o_cmd, NULL))                \
  X(E, cmd_new_empty_prog, MP_EINVAL, mp_cmd_new(&o_cmd, ""))                 \
  X(V, cmd_free_null, 0, NO_CRASH(mp_cmd_free(NULL)))                         \
  X(E, cmd_arg_null_cmd, MP_EINVAL, mp_cmd_arg(NULL, "x"))                    \
  X(E, cmd_arg_null, MP_EINVAL, mp_cmd_arg(F.cmd, NULL))                      \
  X(E, cmd_arg0_null_cmd, MP_EINVAL, mp_cmd_arg0(NULL, "x"))                  \
  X(E, cmd_arg0_null, MP_EINVAL, mp_cmd_arg0(F.cmd, NULL))                    \
  X(E, cmd_add_arg_null_cmd, MP_EINVAL, mp_cmd_add_arg(NULL, "x")) \
  X(E, cmd_add_arg_null, MP_EINVAL, mp_cmd_add_arg(F.cmd, NULL)) \
  X(E, cmd_set_arg0_null_cmd, MP_EINVAL, mp_cmd_set_arg0(NULL, "x")) \
  X(E, cmd_set_arg0_null, MP_EINVAL, mp_cmd_set_arg0(F.cmd, NULL)) \
  X(E, cmd_env_set_null_cmd, MP_EINVAL, mp_cmd_env_set(NULL, "A", "1"))       \
  X(E, cmd_env_set_null_name, MP_EINVAL, mp_cmd_env_set(F.cmd, NULL, "1"))    \
  X(E, cmd_env_set_empty_name, MP_EINVAL, mp_cmd_env_set(F.cmd, "", "1"))     \
  X(E, cmd_env_set_eq_name, MP_EINVAL, mp_cmd_env_set(F.cmd, "A=B", "1"))     \
  X(E, cmd_env_set_null_value, MP_EINVAL, mp_cmd_env_set(F.cmd, "A", NULL))   \
  X(E, cmd_env_unset_null_cmd, MP_EINVAL, mp_cmd_env_unset(NULL, "A"))        \
  X(E, cmd_env_unset_null, MP_EINVAL, mp_cmd_env_unset(F.cmd, NULL))          \
  X(E, cmd_env_unset_eq, MP_EINVAL, mp_cmd_env_unset(F.cmd, "A=B"))           \
  X(E, cmd_env_clear_null, MP_EINVAL, mp_cmd_env_clear(NULL))                 \
  X(E, cmd_cwd_null_cmd, MP_EINVAL, mp_cmd_cwd(NULL, "/"))                    \
  X(E, cmd_cwd_null, MP_EINVAL, mp_cmd_cwd(F.cmd, NULL))                      \
  X(E, cmd_cwd_empty, MP_EINVAL, mp_cmd_cwd(F.cmd, ""))                       \
  X(E, cmd_set_cwd_null_cmd, MP_EINVAL, mp_cmd_set_cwd(NULL, "/")) \
  X(E, cmd_set_cwd_null, MP_EINVAL, mp_cmd_set_cwd(F.cmd, NULL)) \
  X(E, cmd_set_cwd_empty, MP_EINVAL, mp_cmd_set_cwd(F.cmd, "")) \
  X(E, cmd_stdio_null, MP_EINVAL, mp_cmd_stdio(NULL, MP_STDOUT, MP_STDIO_PIPE)) \
  X(E, cmd_stdio_stream, MP_EINVAL, mp_cmd_stdio(F.cmd, (mp_stream_t)7, MP_STDIO_PIPE)) \
  X(E, cmd_stdio_neg_stream, MP_EINVAL, mp_cmd_stdio(F.cmd, (mp_stream_t)-1, MP_STDIO_PIPE)) \
  X(E, cmd_stdio_mode, MP_EINVAL, mp_cmd_stdio(F.cmd, MP_STDOUT, (mp_stdio_t)9)) \
  X(E, cmd_stdio_stdout_on_stdin, MP_EINVAL,                                 \
    mp_cmd_stdio(F.cmd, MP_STDIN, MP_STDIO_STDOUT))                           \
  X(E, cmd_stdio_file_null_cmd, MP_EINVAL,                                   \
    mp_cmd_stdio_file(NULL, MP_STDOUT, "/tmp/x", 0))                          \
  X(E, cmd_stdio_file_null_path, MP_EINVAL, mp_cmd_stdio_file(F.cmd, MP_STDOUT, NULL, 0)) \
  X(E, cmd_stdio_file_empty, MP_EINVAL, mp_cmd_stdio_file(F.cmd, MP_STDOUT, "", 0)) \
  X(E, cmd_stdio_file_flags, MP_EINVAL, mp_cmd_stdio_file(F.cmd, MP_STDOUT, "/tmp/x", 7)) \
  X(E, cmd_stdio_file_stream, MP_EINVAL,                                     \
    mp_cmd_stdio_file(F.cmd, (mp_stream_t)5, "/tmp/x", 0))                    \
  X(E, cmd_stdio_fd_null, MP_EINVAL, mp_cmd_stdio_fd(NULL, MP_STDIN, 0))      \
  X(E, cmd_stdio_fd_negative, MP_EINVAL, mp_cmd_stdio_fd(F.cmd, MP_STDIN, -1)) \
  X(E, cmd_stdio_fd_stream, MP_EINVAL, mp_cmd_stdio_fd(F.cmd, (mp_stream_t)3, 0)) \
  X(E, cmd_set_stdio_null, MP_EINVAL, mp_cmd_set_stdio(NULL, MP_STDOUT, MP_STDIO_PIPE)) \
  X(E, cmd_set_stdio_stream, MP_EINVAL, mp_cmd_set_stdio(F.cmd, (mp_stream_t)7, MP_STDIO_PIPE)) \
  X(E, cmd_set_stdio_mode, MP_EINVAL, mp_cmd_set_stdio(F.cmd, MP_STDOUT, (mp_stdio_t)9)) \
  X(E, cmd_set_stdio_stdout_on_stdin, MP_EINVAL, mp_cmd_set_stdio(F.cmd, MP_STDIN, MP_STDIO_STDOUT)) \
  X(E, cmd_set_stdio_file_null_cmd, MP_EINVAL, mp_cmd_set_stdio_file(NULL, MP_STDOUT, "/tmp/x", 0)) \
  X(E, cmd_set_stdio_file_empty, MP_EINVAL, mp_cmd_set_stdio_file(F.cmd, MP_STDOUT, "", 0)) \
  X(E, cmd_set_stdio_file_flags, MP_EINVAL, mp_cmd_set_stdio_file(F.cmd, MP_STDOUT, "/tmp/x", 7)) \
  X(E, cmd_set_stdio_fd_null, MP_EINVAL, mp_cmd_set_stdio_fd(NULL, MP_STDIN, 0)) \
  X(E, cmd_set_stdio_fd_negative, MP_EINVAL, mp_cmd_set_stdio_fd(F.cmd, MP_STDIN, -1)) \
  X(E, cmd_set_stdio_fd_stream, MP_EINVAL, mp_cmd_set_stdio_fd(F.cmd, (mp_stream_t)3, 0)) \
  X(E, cmd_pass_fd_at_null, MP_EINVAL, mp_cmd_pass_fd_at(NULL, 0, 3))        \
  X(E, cmd_pass_fd_at_negative, MP_EINVAL, mp_cmd_pass_fd_at(F.cmd, -1, 3))  \
  X(E, cmd_pass_fd_at_stdio, MP_EINVAL, mp_cmd_pass_fd_at(F.cmd, 0, 2))      \
  X(E, cmd_pass_fd_at_high, MP_EINVAL, mp_cmd_pass_fd_at(F.cmd, 0, 1024))    \
  X(E, cmd_new_group_null, MP_EINVAL, mp_cmd_new_group(NULL, 1))              \
  X(E, cmd_new_group_2, MP_EINVAL, mp_cmd_new_group(F.cmd, 2))                \
  X(E, cmd_daemon_null, MP_EINVAL, mp_cmd_daemon(NULL, 1))                    \
  X(E, cmd_daemon_neg, MP_EINVAL, mp_cmd_daemon(F.cmd, -1))                   \
  X(E, cmd_new_session_null, MP_EINVAL, mp_cmd_new_session(NULL, 1))          \
  X(E, cmd_new_session_2, MP_EINVAL, mp_cmd_new_session(F.cmd, 2))            \
  X(E, cmd_allow_relative_path_null, MP_EINVAL, mp_cmd_allow_relative_path(NULL, 0)) \
  X(E, cmd_allow_relative_path_neg, MP_EINVAL, mp_cmd_allow_relative_path(F.cmd, -1)) \
  X(E, cmd_check_null, MP_EINVAL, mp_cmd_check(NULL, 1))                      \
  X(E, cmd_check_2, MP_EINVAL, mp_cmd_check(F.cmd, 2))                        \
  X(E, cmd_set_new_group_null, MP_EINVAL, mp_cmd_set_new_group(NULL, 1)) \
  X(E, cmd_set_new_group_2, MP_EINVAL, mp_cmd_set_new_group(F.cmd, 2)) \
  X(E, cmd_set_daemon_null, MP_EINVAL, mp_cmd_set_daemon(NULL, 1)) \
  X(E, cmd_set_daemon_neg, MP_EINVAL, mp_cmd_set_daemon(F.cmd, -1)) \
  X(E, cmd_set_new_session_null, MP_EINVAL, mp_cmd_set_new_session(NULL, 1)) \
  X(E, cmd_set_new_session_2, MP_EINVAL, mp_cmd_set_new_session(F.cmd, 2)) \
  X(E, cmd_set_allow_relative_path_null, MP_EINVAL, mp_cmd_set_allow_relative_path(NULL, 0)) \
  X(E, cmd_set_allow_relative_path_neg, MP_EINVAL, mp_cmd_set_allow_relative_path(F.cmd, -1)) \
  X(E, cmd_set_check_null, MP_EINVAL, mp_cmd_set_check(NULL, 1)) \
  X(E, cmd_set_check_2, MP_EINVAL, mp_cmd_set_check(F.cmd, 2)) \
  X(E, cmd_pass_queue_null_cmd, MP_EINVAL, mp_cmd_pass_queue(NULL, "q", F.queue)) \
  X(E, cmd_pass_queue_null_name, MP_EINVAL, mp_cmd_pass_queue(F.cmd, NULL, F.queue)) \
  X(E, cmd_pass_queue_bad_name, MP_EINVAL, mp_cmd_pass_queue(F.cmd, "a-b", F.queue)) \
  X(E, cmd_pass_queue_empty_name, MP_EINVAL, mp_cmd_pass_queue(F.cmd, "", F.queue)) \
  X(E, cmd_pass_queue_long_name, MP_EINVAL, mp_cmd_pass_queue(F.cmd, k_long_name, F.queue)) \
  X(E, cmd_pass_queue_null, MP_EINVAL, mp_cmd_pass_queue(F.cmd, "q", NULL))   \
  X(E, cmd_pass_queue_garbage, MP_EINVAL,                                    \
    mp_cmd_pass_queue(F.cmd, "q", GARBAGE(mp_queue_t)))                       \
  X(E, cmd_pass_queue_twice, MP_EEXIST, mp_cmd_pass_queue(F.cmd_passed, "q1", F.queue)) \
  X(E, cmd_pass_conn_null_cmd, MP_EINVAL, mp_cmd_pass_conn(NULL, "c", F.a))   \
  X(E, cmd_pass_conn_bad_name, MP_EINVAL, mp_cmd_pass_conn(F.cmd, "c c", F.a)) \
  X(E, cmd_pass_conn_null, MP_EINVAL, mp_cmd_pass_conn(F.cmd, "c", NULL))     \
  X(E, cmd_pass_conn_closed, MP_EINVAL, mp_cmd_pass_conn(F.cmd, "c", F.closed_conn)) \
  X(E, cmd_pass_conn_garbage, MP_EINVAL,                                     \
    mp_cmd_pass_conn(F.cmd, "c", GARBAGE(mp_conn_t)))                         \
  X(E, cmd_pass_conn_twice, MP_EEXIST, mp_cmd_pass_conn(F.cmd_passed, "c1", F.a)) \
  X(E, cmd_pass_fd_null_cmd, MP_EINVAL, mp_cmd_pass_fd(NULL, "f", F.devnull))  \
  X(E, cmd_pass_fd_bad_name, MP_EINVAL, mp_cmd_pass_fd(F.cmd, "f/g", F.devnull)) \
  X(E, cmd_pass_fd_null_name, MP_EINVAL, mp_cmd_pass_fd(F.cmd, NULL, F.devnull)) \
  X(E, cmd_pass_fd_negative, MP_EINVAL, mp_cmd_pass_fd(F.cmd, "f", -1))       \
  X(E, cmd_pass_fd_twice, MP_EEXIST, mp_cmd_pass_fd(F.cmd_passed, "f1", F.devnull)) \
  X(E, fd_inherit_null, MP_EINVAL, mp_fd_inherit(NULL, "f"))                  \
  X(E, fd_inherit_bad_name, MP_EINVAL, mp_fd_inherit(&o_int, ""))             \
  X(E, fd_inherit_missing, MP_ENOENT, mp_fd_inherit(&o_int, "nothing"))       \
  X(E, fd_inherit_wrong_kind, MP_ESTATE, mp_fd_inherit(&o_int, "bad_queue"))  \
  X(E, queue_inherit_null, MP_EINVAL, mp_queue_inherit(NULL, "q"))            \
  X(E, queue_inherit_null_name, MP_EINVAL, mp_queue_inherit(&o_queue, NULL))  \
  X(E, queue_inherit_bad_name, MP_EINVAL, mp_queue_inherit(&o_queue, "../x")) \
  X(E, queue_inherit_missing, MP_ENOENT, mp_queue_inherit(&o_queue, "nothing")) \
  X(E, queue_inherit_wrong_kind, MP_ESTATE, mp_queue_inherit(&o_queue, "bad_conn")) \
  X(E, queue_inherit_malformed, MP_EINVAL, mp_queue_inherit(&o_queue, "bad_fd")) \
  X(E, conn_inherit_null, MP_EINVAL, mp_conn_inherit(NULL, "c", 3))           \
  X(E, conn_inherit_bad_name, MP_EINVAL, mp_conn_inherit(&o_conn, "", 3))     \
  X(E, conn_inherit_missing, MP_ENOENT, mp_conn_inherit(&o_conn, "nothing", 3)) \
  X(E, conn_inherit_wrong_kind, MP_ESTATE, mp_conn_inherit(&o_conn, "bad_queue", 3))

#define PROCESS_ROWS(X)                                                       \
  X(E, spawn_null_out, MP_EINVAL, mp_process_spawn(NULL, F.cmd))              \
  X(E, spawn_null_cmd, MP_EINVAL, mp_process_spawn(&o_proc, NULL))            \
  X(E, spawn_missing, MP_ENOENT, mp_process_spawn(&o_proc, F.cmd_missing))    \
  X(E, process_new_null_out, MP_EINVAL, mp_process_new(NULL, "bad_noop", NULL, 0)) \
  X(E, process_new_null_target, MP_EINVAL, mp_process_new(&o_proc, NULL, NULL, 0)) \
  X(E, process_new_unknown, MP_ENOENT, mp_process_new(&o_proc, "no_such_target", NULL, 0)) \
  X(E, process_new_null_arg, MP_EINVAL, mp_process_new(&o_proc, "bad_noop", NULL, 5)) \
  X(E, set_name_null_proc, MP_EINVAL, mp_process_set_name(NULL, "x"))         \
  X(E, set_name_null, MP_EINVAL, mp_process_set_name(F.unstarted, NULL))      \
  X(E, set_name_empty, MP_EINVAL, mp_process_set_name(F.unstarted, ""))       \
  X(E, set_name_long, MP_EINVAL, mp_process_set_name(F.unstarted, k_long_name)) \
  X(E, set_name_started, MP_ESTATE, mp_process_set_name(F.done, "x"))         \
  X(E, set_name_garbage, MP_EINVAL, mp_process_set_name(GARBAGE(mp_process_t), "x")) \
  X(E, set_daemon_null, MP_EINVAL, mp_process_set_daemon(NULL, 1))            \
  X(E, set_daemon_2, MP_EINVAL, mp_process_set_daemon(F.unstarted, 2))        \
  X(E, set_daemon_started, MP_ESTATE, mp_process_set_daemon(F.done, 1))       \
  X(E, set_start_method_null, MP_EINVAL, mp_process_set_start_method(NULL, MP_START_FORK)) \
  X(E, set_start_method_bad, MP_EINVAL,                                      \
    mp_process_set_start_method(F.unstarted, (mp_start_method_t)7))           \
  X(E, set_start_method_started, MP_ESTATE,                                  \
    mp_process_set_start_method(F.done, MP_START_FORK))                       \
  X(E, pass_fd_null, MP_EINVAL, mp_process_pass_fd(NULL, 0))                  \
  X(E, pass_fd_negative, MP_EINVAL, mp_process_pass_fd(F.unstarted, -1))      \
  X(E, pass_fd_closed, MP_EINVAL, mp_process_pass_fd(F.unstarted, 100000))    \
  X(E, pass_fd_started, MP_ESTATE, mp_process_pass_fd(F.done, 0))             \
  X(E, proc_pass_queue_null, MP_EINVAL, mp_process_pass_queue(NULL, "q", F.queue)) \
  X(E, proc_pass_queue_null_name, MP_EINVAL, mp_process_pass_queue(F.unstarted, NULL, F.queue)) \
  X(E, proc_pass_queue_bad_name, MP_EINVAL, mp_process_pass_queue(F.unstarted, "a-b", F.queue)) \
  X(E, proc_pass_queue_long_name, MP_EINVAL,                                 \
    mp_process_pass_queue(F.unstarted, k_long_name, F.queue))                 \
  X(E, proc_pass_queue_null_queue, MP_EINVAL, mp_process_pass_queue(F.unstarted, "q", NULL)) \
  X(E, proc_pass_queue_garbage, MP_EINVAL,                                   \
    mp_process_pass_queue(F.unstarted, "q", GARBAGE(mp_queue_t)))             \
  X(E, proc_pass_queue_started, MP_ESTATE, mp_process_pass_queue(F.done, "q", F.queue)) \
  X(E, proc_pass_queue_twice, MP_EEXIST, mp_process_pass_queue(F.unstarted, "q1", F.queue)) \
  X(E, proc_pass_conn_null, MP_EINVAL, mp_process_pass_conn(NULL, "c", F.a))  \
  X(E, proc_pass_conn_bad_name, MP_EINVAL, mp_process_pass_conn(F.unstarted, "", F.a)) \
  X(E, proc_pass_conn_closed, MP_EINVAL,                                     \
    mp_process_pass_conn(F.unstarted, "c", F.closed_conn))                    \
  X(E, proc_pass_conn_started, MP_ESTATE, mp_process_pass_conn(F.done, "c", F.a)) \
  X(E, proc_pass_fd2_null, MP_EINVAL, mp_process_pass_fd2(NULL, "f", F.devnull)) \
  X(E, proc_pass_fd2_negative, MP_EINVAL, mp_process_pass_fd2(F.unstarted, "f", -1)) \
  X(E, proc_pass_fd2_closed, MP_EINVAL, mp_process_pass_fd2(F.unstarted, "f", 100000)) \
  X(E, proc_pass_fd2_bad_name, MP_EINVAL, mp_process_pass_fd2(F.unstarted, "f.g", F.devnull)) \
  X(E, proc_pass_fd2_twice, MP_EEXIST, mp_process_pass_fd2(F.unstarted, "q1", F.devnull)) \
  X(E, set_start_method_default_bad, MP_EINVAL, mp_set_start_method((mp_start_method_t)7, 1)) \
  X(E, set_start_method_default_force_2, MP_EINVAL, mp_set_start_method(MP_START_FORK, 2)) \
  X(E, set_start_method_default_fixed, MP_ESTATE, mp_set_start_method(MP_START_FORK, 0)) \
  X(V, get_start_method, MP_START_FORK, mp_get_start_method())                \
  X(E, start_null, MP_EINVAL, mp_process_start(NULL))                         \
  X(E, start_garbage, MP_EINVAL, mp_process_start(GARBAGE(mp_process_t)))     \
  X(E, start_twice, MP_ESTATE, mp_process_start(F.done))                      \
  X(E, join_null, MP_EINVAL, mp_process_join(NULL, 0))                        \
  X(E, join_unstarted, MP_ESTATE, mp_process_join(F.unstarted, 0))            \
  X(E, join_neg_timeout, MP_EINVAL, mp_process_join(F.done, -2))              \
  X(E, join_min_timeout, MP_EINVAL, mp_process_join(F.done, INT64_MIN))       \
  X(E, is_alive_null, MP_EINVAL, mp_process_is_alive(NULL))                   \
  X(E, exitcode_null_out, MP_EINVAL, mp_process_exitcode(NULL, F.done))       \
  X(E, exitcode_null, MP_EINVAL, mp_process_exitcode(&o_int, NULL))           \
  X(E, exitcode_unstarted, MP_ESTATE, mp_process_exitcode(&o_int, F.unstarted)) \
  X(E, pid_null, MP_EINVAL, mp_process_pid(NULL))                             \
  X(E, pid_unstarted, MP_ESTATE, mp_process_pid(F.unstarted))                 \
  X(E, daemon_null, MP_EINVAL, mp_process_daemon(NULL))                       \
  X(E, daemon_garbage, MP_EINVAL, mp_process_daemon(GARBAGE(mp_process_t)))   \
  X(E, sentinel_null_out, MP_EINVAL, mp_process_sentinel(NULL, F.done))       \
  X(E, sentinel_null, MP_EINVAL, mp_process_sentinel(&o_int, NULL))           \
  X(E, sentinel_unstarted, MP_ESTATE, mp_process_sentinel(&o_int, F.unstarted)) \
  X(E, active_children_null_count, MP_EINVAL, mp_active_children(&o_int, 1, NULL)) \
  X(E, active_children_null_pids, MP_EINVAL, mp_active_children(NULL, 1, &o_len)) \
  X(V, name_null, 0, strcmp(mp_process_name(NULL), ""))                       \
  X(V, name_garbage, 0, strcmp(mp_process_name(GARBAGE(mp_process_t)), ""))   \
  X(E, signal_null, MP_EINVAL, mp_process_signal(NULL, SIGTERM, 0))           \
  X(E, signal_bad_signum, MP_EINVAL, mp_process_signal(F.done, 9999, 0))      \
  X(E, signal_neg_signum, MP_EINVAL, mp_process_signal(F.done, -1, 0))        \
  X(E, signal_bad_flags, MP_EINVAL, mp_process_signal(F.done, SIGTERM, 8))    \
  X(E, signal_unstarted, MP_ESTATE, mp_process_signal(F.unstarted, SIGTERM, 0)) \
  X(E, signal_group_without_group, MP_ESTATE,                                \
    mp_process_signal(F.done, SIGTERM, MP_SIGNAL_GROUP))                      \
  X(E, terminate_null, MP_EINVAL, mp_process_terminate(NULL))                 \
  X(E, terminate_unstarted, MP_ESTATE, mp_process_terminate(F.unstarted))     \
  X(E, kill_null, MP_EINVAL, mp_process_kill(NULL))                           \
  X(E, kill_garbage, MP_EINVAL, mp_process_kill(GARBAGE(mp_process_t)))       \
  X(E, stop_new_null, MP_EINVAL, mp_stop_new(NULL))                           \
  X(E, stop_add_null, MP_EINVAL, mp_stop_add(NULL, MP_STOP_KILL, 0))          \
  X(E, stop_add_action, MP_EINVAL, mp_stop_add(F.stop, (mp_stop_action_t)9, 0)) \
  X(E, stop_add_timeout, MP_EINVAL, mp_stop_add(F.stop, MP_STOP_WAIT, -5))    \
  X(E, stop_add_full, MP_ENOSPC, mp_stop_add(F.stop_full, MP_STOP_WAIT, 0))   \
  X(V, stop_free_null, 0, NO_CRASH(mp_stop_free(NULL)))                       \
  X(E, process_stop_null, MP_EINVAL, mp_process_stop(NULL, NULL, 0))          \
  X(E, process_stop_unstarted, MP_ESTATE, mp_process_stop(F.unstarted, NULL, 0)) \
  X(E, process_stop_flags, MP_EINVAL, mp_process_stop(F.done, NULL, 8))       \
  X(E, process_stop_group, MP_ESTATE, mp_process_stop(F.done, NULL, MP_SIGNAL_GROUP)) \
  X(E, write_null, MP_EINVAL, mp_process_write(NULL, "x", 1, 0))              \
  X(E, write_null_buf, MP_EINVAL, mp_process_write(F.done, NULL, 5, 0))       \
  X(E, write_timeout, MP_EINVAL, mp_process_write(F.done, "x", 1, -2))        \
  X(E, write_no_pipe, MP_ESTATE, mp_process_write(F.done, "x", 1, 0))         \
  X(E, close_stdin_null, MP_EINVAL, mp_process_close_stdin(NULL))             \
  X(E, close_stdin_no_pipe, MP_ESTATE, mp_process_close_stdin(F.done))        \
  X(E, close_stream_null, MP_EINVAL, mp_process_close_stream(NULL, MP_STDOUT)) \
  X(E, close_stream_bad_stream, MP_EINVAL,                                   \
    mp_process_close_stream(F.done, (mp_stream_t)3))                          \
  X(E, close_stream_garbage, MP_EINVAL,                                      \
    mp_process_close_stream(GARBAGE(mp_process_t), MP_STDERR))               \
  X(E, close_stream_no_pipe, MP_ESTATE, mp_process_close_stream(F.done, MP_STDOUT)) \
  X(E, read_null_len, MP_EINVAL,                                             \
    mp_process_read(NULL, F.done, MP_STDOUT, g_buf, sizeof g_buf, 0))         \
  X(E, read_null, MP_EINVAL, mp_process_read(&o_len, NULL, MP_STDOUT, g_buf, 1, 0)) \
  X(E, read_stream, MP_EINVAL, mp_process_read(&o_len, F.done, MP_STDIN, g_buf, 1, 0)) \
  X(E, read_bad_stream, MP_EINVAL,                                           \
    mp_process_read(&o_len, F.done, (mp_stream_t)9, g_buf, 1, 0))             \
  X(E, read_null_buf, MP_EINVAL, mp_process_read(&o_len, F.done, MP_STDOUT, NULL, 8, 0)) \
  X(E, read_zero_cap, MP_EINVAL, mp_process_read(&o_len, F.done, MP_STDOUT, g_buf, 0, 0)) \
  X(E, read_timeout, MP_EINVAL, mp_process_read(&o_len, F.done, MP_STDOUT, g_buf, 1, -2)) \
  X(E, read_no_pipe, MP_ESTATE, mp_process_read(&o_len, F.done, MP_STDOUT, g_buf, 1, 0)) \
  X(E, communicate_null, MP_EINVAL,                                          \
    mp_process_communicate(&o_buf, &o_len, NULL, NULL, NULL, NULL, 0, 0))     \
  X(E, communicate_unstarted, MP_ESTATE,                                     \
    mp_process_communicate(&o_buf, &o_len, NULL, NULL, F.unstarted, NULL, 0, 0)) \
  X(E, communicate_timeout, MP_EINVAL,                                       \
    mp_process_communicate(&o_buf, &o_len, NULL, NULL, F.done, NULL, 0, -2))  \
  X(E, communicate_null_input, MP_EINVAL,                                    \
    mp_process_communicate(&o_buf, &o_len, NULL, NULL, F.done, NULL, 4, 0))   \
  X(E, communicate_input_no_pipe, MP_ESTATE,                                 \
    mp_process_communicate(&o_buf, &o_len, NULL, NULL, F.done, "x", 1, 0))    \
  X(V, process_free_null, 0, NO_CRASH(mp_process_free(NULL)))                 \
  X(V, process_free_garbage, 0, NO_CRASH(mp_process_free(GARBAGE(mp_process_t)))) \
  X(E, run_null_cmd, MP_EINVAL, mp_run(NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0)) \
  X(E, run_missing, MP_ENOENT,                                               \
    mp_run(&o_int, NULL, NULL, NULL, NULL, F.cmd_missing, NULL, 0, 1000))     \
  X(E, run_timeout, MP_EINVAL, mp_run(&o_int, NULL, NULL, NULL, NULL, F.cmd, NULL, 0, -2)) \
  X(E, run_null_input, MP_EINVAL, mp_run(&o_int, NULL, NULL, NULL, NULL, F.cmd, NULL, 3, 0))

#define CONN_ROWS(X)                                                          \
  X(E, pipe_null_a, MP_EINVAL, mp_pipe(NULL, &o_conn2, 1))                    \
  X(E, pipe_null_b, MP_EINVAL, mp_pipe(&o_conn, NULL, 1))                     \
  X(E, pipe_duplex_2, MP_EINVAL, mp_pipe(&o_conn, &o_conn2, 2))               \
  X(E, conn_from_fd_null, MP_EINVAL, mp_conn_from_fd(NULL, fd_of_null(), 3))  \
  X(E, conn_from_fd_negative, MP_EINVAL, mp_conn_from_fd(&o_conn, -1, 3))     \
  X(E, conn_from_fd_closed, MP_EINVAL, mp_conn_from_fd(&o_conn, 100000, 3))   \
  X(E, conn_from_fd_no_flags, MP_EINVAL, mp_conn_from_fd(&o_conn, fd_of_null(), 0)) \
  X(E, conn_from_fd_bad_flags, MP_EINVAL, mp_conn_from_fd(&o_conn, fd_of_null(), 8)) \
  X(E, conn_send_null, MP_EINVAL, mp_conn_send(NULL, "x", 1, 0))              \
  X(E, conn_send_garbage, MP_EINVAL, mp_conn_send(GARBAGE(mp_conn_t), "x", 1, 0)) \
  X(E, conn_send_null_buf, MP_EINVAL, mp_conn_send(F.a, NULL, 4, 0))          \
  X(E, conn_send_timeout, MP_EINVAL, mp_conn_send(F.a, "x", 1, -2))           \
  X(E, conn_send_recv_only, MP_EINVAL, mp_conn_send(F.r, "x", 1, 0))          \
  X(E, conn_send_closed, MP_ECLOSED, mp_conn_send(F.closed_conn, "x", 1, 0))  \
  X(E, conn_recv_null_out, MP_EINVAL, mp_conn_recv(NULL, &o_len, F.a, 0))     \
  X(E, conn_recv_null_len, MP_EINVAL, mp_conn_recv(&o_buf, NULL, F.a, 0))     \
  X(E, conn_recv_null, MP_EINVAL, mp_conn_recv(&o_buf, &o_len, NULL, 0))      \
  X(E, conn_recv_timeout, MP_EINVAL, mp_conn_recv(&o_buf, &o_len, F.a, -2))   \
  X(E, conn_recv_send_only, MP_EINVAL, mp_conn_recv(&o_buf, &o_len, F.w, 0))  \
  X(E, conn_recv_closed, MP_ECLOSED, mp_conn_recv(&o_buf, &o_len, F.closed_conn, 0)) \
  X(E, conn_recv_into_null_len, MP_EINVAL, mp_conn_recv_into(NULL, F.a, g_buf, 8, 0)) \
  X(E, conn_recv_into_null, MP_EINVAL, mp_conn_recv_into(&o_len, NULL, g_buf, 8, 0)) \
  X(E, conn_recv_into_null_buf, MP_EINVAL, mp_conn_recv_into(&o_len, F.a, NULL, 8, 0)) \
  X(E, conn_recv_into_timeout, MP_EINVAL, mp_conn_recv_into(&o_len, F.a, g_buf, 8, -2)) \
  X(E, conn_recv_into_closed, MP_ECLOSED,                                    \
    mp_conn_recv_into(&o_len, F.closed_conn, g_buf, 8, 0))                    \
  X(E, conn_poll_null, MP_EINVAL, mp_conn_poll(NULL, 0))                      \
  X(E, conn_poll_timeout, MP_EINVAL, mp_conn_poll(F.a, INT64_MIN))            \
  X(E, conn_poll_closed, MP_ECLOSED, mp_conn_poll(F.closed_conn, 0))          \
  X(E, wait_null, MP_EINVAL, mp_wait(NULL, 1, 0))                             \
  X(E, wait_zero_n, MP_EINVAL, wait_one(MP_WAIT_EVENT, F.event, 0, 0))        \
  X(E, wait_huge_n, MP_ENOSPC, wait_one(MP_WAIT_EVENT, F.event, SIZE_MAX, 0)) \
  X(E, wait_timeout, MP_EINVAL, wait_one(MP_WAIT_EVENT, F.event, 1, -2))      \
  X(E, wait_bad_kind, MP_EINVAL, wait_one(-1, F.event, 1, 0))                 \
  X(E, wait_null_handle, MP_EINVAL, wait_one(MP_WAIT_QUEUE, NULL, 1, 0))      \
  X(E, wait_wrong_kind, MP_EINVAL, wait_one(MP_WAIT_CONN, F.queue, 1, 0))     \
  X(E, wait_garbage, MP_EINVAL, wait_one(MP_WAIT_EVENT, GARBAGE(mp_event_t), 1, 0)) \
  X(E, wait_send_only, MP_EINVAL, wait_one(MP_WAIT_CONN, F.w, 1, 0))          \
  X(E, wait_closed_conn, MP_ECLOSED, wait_one(MP_WAIT_CONN, F.closed_conn, 1, 0)) \
  X(E, wait_unstarted, MP_ESTATE, wait_one(MP_WAIT_PROCESS, F.unstarted, 1, 0)) \
  X(E, wait_bad_fd, MP_EINVAL, wait_one(MP_WAIT_FD, (void *)(intptr_t)-1, 1, 0)) \
  X(E, conn_set_max_null, MP_EINVAL, mp_conn_set_max_message(NULL, 10))       \
  X(E, conn_set_max_zero, MP_EINVAL, mp_conn_set_max_message(F.a, 0))         \
  X(E, conn_fileno_null, MP_EINVAL, mp_conn_fileno(NULL))                     \
  X(E, conn_fileno_garbage, MP_EINVAL, mp_conn_fileno(GARBAGE(mp_conn_t)))    \
  X(E, conn_fileno_closed, MP_ECLOSED, mp_conn_fileno(F.closed_conn))         \
  X(E, conn_close_null, MP_EINVAL, mp_conn_close(NULL))                       \
  X(V, conn_close_twice, MP_OK, free_twice_conn_close())                      \
  X(V, conn_free_null, 0, NO_CRASH(mp_conn_free(NULL)))                       \
  X(V, conn_free_garbage, 0, NO_CRASH(mp_conn_free(GARBAGE(mp_conn_t))))

#define QUEUE_ROWS(X)                                                         \
  X(E, queue_new_null, MP_EINVAL, mp_queue_new(NULL, 0, 0, 0))                \
  X(E, queue_new_flags, MP_EINVAL, mp_queue_new(&o_queue, 0, 0, 2))           \
  X(E, queue_new_tiny, MP_EINVAL, mp_queue_new(&o_queue, 0, 100, 0))          \
  X(E, queue_new_huge, MP_EINVAL, mp_queue_new(&o_queue, 0, SIZE_MAX, 0))     \
  X(E, queue_from_fd_null, MP_EINVAL, mp_queue_from_fd(NULL, fd_of_queue()))  \
  X(E, queue_from_fd_negative, MP_EINVAL, mp_queue_from_fd(&o_queue, -1))     \
  X(E, queue_from_fd_closed, MP_EINVAL, mp_queue_from_fd(&o_queue, 100000))   \
  X(E, queue_from_fd_lock, MP_EINVAL, mp_queue_from_fd(&o_queue, fd_of_lock())) \
  X(E, queue_from_fd_dict, MP_EINVAL, mp_queue_from_fd(&o_queue, fd_of_dict())) \
  X(E, queue_from_fd_devnull, MP_EINVAL, mp_queue_from_fd(&o_queue, fd_of_null())) \
  X(E, queue_from_fd_empty, MP_EINVAL, mp_queue_from_fd(&o_queue, fd_of_empty_memfd())) \
  X(E, queue_fileno_null, MP_EINVAL, mp_queue_fileno(NULL))                   \
  X(E, queue_fileno_garbage, MP_EINVAL, mp_queue_fileno(GARBAGE(mp_queue_t))) \
  X(E, queue_put_null, MP_EINVAL, mp_queue_put(NULL, "x", 1, 0))              \
  X(E, queue_put_null_buf, MP_EINVAL, mp_queue_put(F.queue, NULL, 4, 0))      \
  X(E, queue_put_huge, MP_EINVAL, mp_queue_put(F.queue, g_buf, SIZE_MAX, 0))  \
  X(E, queue_put_timeout, MP_EINVAL, mp_queue_put(F.queue, "x", 1, -2))       \
  X(E, queue_put_min_timeout, MP_EINVAL, mp_queue_put(F.queue, "x", 1, INT64_MIN)) \
  X(E, queue_put_closed, MP_ECLOSED, mp_queue_put(F.closed_queue, "x", 1, 0)) \
  X(E, queue_get_null_out, MP_EINVAL, mp_queue_get(NULL, &o_len, F.queue, 0)) \
  X(E, queue_get_null_len, MP_EINVAL, mp_queue_get(&o_buf, NULL, F.queue, 0)) \
  X(E, queue_get_null, MP_EINVAL, mp_queue_get(&o_buf, &o_len, NULL, 0))      \
  X(E, queue_get_garbage, MP_EINVAL, mp_queue_get(&o_buf, &o_len, GARBAGE(mp_queue_t), 0)) \
  X(E, queue_get_timeout, MP_EINVAL, mp_queue_get(&o_buf, &o_len, F.queue, -7)) \
  X(E, queue_get_empty, MP_EEMPTY, mp_queue_get(&o_buf, &o_len, F.queue, 0))  \
  X(E, queue_get_closed, MP_ECLOSED, mp_queue_get(&o_buf, &o_len, F.closed_queue, 0)) \
  X(E, queue_get_into_null_len, MP_EINVAL, mp_queue_get_into(NULL, F.queue, g_buf, 8, 0)) \
  X(E, queue_get_into_null, MP_EINVAL, mp_queue_get_into(&o_len, NULL, g_buf, 8, 0)) \
  X(E, queue_get_into_null_buf, MP_EINVAL, mp_queue_get_into(&o_len, F.queue, NULL, 8, 0)) \
  X(E, queue_get_into_timeout, MP_EINVAL, mp_queue_get_into(&o_len, F.queue, g_buf, 8, -2)) \
  X(E, queue_put_many_null_out, MP_EINVAL, mp_queue_put_many(NULL, F.queue, k_msgs, k_lens, 2, 0)) \
  X(E, queue_put_many_null, MP_EINVAL, mp_queue_put_many(&o_len, NULL, k_msgs, k_lens, 2, 0)) \
  X(E, queue_put_many_garbage, MP_EINVAL,                                       \
    mp_queue_put_many(&o_len, GARBAGE(mp_queue_t), k_msgs, k_lens, 2, 0))      \
  X(E, queue_put_many_null_bufs, MP_EINVAL, mp_queue_put_many(&o_len, F.queue, NULL, k_lens, 2, 0)) \
  X(E, queue_put_many_null_lens, MP_EINVAL, mp_queue_put_many(&o_len, F.queue, k_msgs, NULL, 2, 0)) \
  X(E, queue_put_many_null_msg, MP_EINVAL,                                      \
    mp_queue_put_many(&o_len, F.queue, k_msgs_null, k_lens_null, 2, 0))        \
  X(E, queue_put_many_huge, MP_EINVAL, mp_queue_put_many(&o_len, F.queue, k_msgs, k_lens_huge, 2, 0)) \
  X(E, queue_put_many_timeout, MP_EINVAL, mp_queue_put_many(&o_len, F.queue, k_msgs, k_lens, 2, -2)) \
  X(E, queue_put_many_closed, MP_ECLOSED,                                       \
    mp_queue_put_many(&o_len, F.closed_queue, k_msgs, k_lens, 2, 0))           \
  X(V, queue_put_many_none, MP_OK, mp_queue_put_many(&o_len, F.queue, NULL, NULL, 0, 0)) \
  X(E, queue_get_many_null_out, MP_EINVAL, mp_queue_get_many(NULL, F.queue, g_buf, 8, g_lens, 4, 0)) \
  X(E, queue_get_many_null, MP_EINVAL, mp_queue_get_many(&o_len, NULL, g_buf, 8, g_lens, 4, 0)) \
  X(E, queue_get_many_garbage, MP_EINVAL,                                       \
    mp_queue_get_many(&o_len, GARBAGE(mp_queue_t), g_buf, 8, g_lens, 4, 0))    \
  X(E, queue_get_many_null_lens, MP_EINVAL, mp_queue_get_many(&o_len, F.queue, g_buf, 8, NULL, 4, 0)) \
  X(E, queue_get_many_zero_max, MP_EINVAL, mp_queue_get_many(&o_len, F.queue, g_buf, 8, g_lens, 0, 0)) \
  X(E, queue_get_many_null_buf, MP_EINVAL, mp_queue_get_many(&o_len, F.queue, NULL, 8, g_lens, 4, 0)) \
  X(E, queue_get_many_timeout, MP_EINVAL, mp_queue_get_many(&o_len, F.queue, g_buf, 8, g_lens, 4, -2)) \
  X(E, queue_get_many_empty, MP_EEMPTY, mp_queue_get_many(&o_len, F.queue, g_buf, 8, g_lens, 4, 0)) \
  X(E, queue_get_many_closed, MP_ECLOSED,                                       \
    mp_queue_get_many(&o_len, F.closed_queue, g_buf, 8, g_lens, 4, 0))         \
  X(E, queue_qsize_null, MP_EINVAL, mp_queue_qsize(NULL))                     \
  X(E, queue_qsize_garbage, MP_EINVAL, mp_queue_qsize(GARBAGE(mp_queue_t)))   \
  X(E, queue_empty_null, MP_EINVAL, mp_queue_empty(NULL))                     \
  X(E, queue_full_null, MP_EINVAL, mp_queue_full(NULL))                       \
  X(E, queue_close_null, MP_EINVAL, mp_queue_close(NULL))                     \
  X(V, queue_close_twice, MP_OK, mp_queue_close(F.closed_queue))              \
  X(E, queue_closed_null, MP_EINVAL, mp_queue_closed(NULL))                   \
  X(E, queue_closed_garbage, MP_EINVAL, mp_queue_closed(GARBAGE(mp_queue_t))) \
  X(E, queue_ring_word_null_out, MP_EINVAL, mp_queue_ring_word(NULL, F.queue, MP_RING_TAIL)) \
  X(E, queue_ring_word_null, MP_EINVAL, mp_queue_ring_word(&g_ring_word, NULL, MP_RING_TAIL)) \
  X(E, queue_ring_word_garbage, MP_EINVAL,                                      \
    mp_queue_ring_word(&g_ring_word, GARBAGE(mp_queue_t), MP_RING_TAIL))       \
  X(E, queue_ring_word_which, MP_EINVAL, mp_queue_ring_word(&g_ring_word, F.queue, 999)) \
  X(E, queue_ring_value_null_out, MP_EINVAL, mp_queue_ring_value(NULL, F.queue, MP_RING_TOKEN)) \
  X(E, queue_ring_value_null, MP_EINVAL, mp_queue_ring_value(&g_ring_value, NULL, MP_RING_TOKEN)) \
  X(E, queue_ring_value_garbage, MP_EINVAL,                                     \
    mp_queue_ring_value(&g_ring_value, GARBAGE(mp_queue_t), MP_RING_TOKEN))    \
  X(E, queue_ring_value_which, MP_EINVAL, mp_queue_ring_value(&g_ring_value, F.queue, -3)) \
  X(E, queue_ring_wake_null, MP_EINVAL, mp_queue_ring_wake(NULL, MP_QUEUE_RING_PUT)) \
  X(E, queue_ring_wake_garbage, MP_EINVAL,                                      \
    mp_queue_ring_wake(GARBAGE(mp_queue_t), MP_QUEUE_RING_GET))                \
  X(E, queue_ring_wake_side, MP_EINVAL, mp_queue_ring_wake(F.queue, 3))          \
  X(V, queue_closed_closed, 1, mp_queue_closed(F.closed_queue))               \
  X(V, queue_closed_open, 0, mp_queue_closed(F.queue))                        \
  X(E, queue_maxsize_null, MP_EINVAL, mp_queue_maxsize(NULL))                 \
  X(E, queue_maxsize_garbage, MP_EINVAL, mp_queue_maxsize(GARBAGE(mp_queue_t))) \
  X(E, queue_task_done_null, MP_EINVAL, mp_queue_task_done(NULL))             \
  X(E, queue_task_done_plain, MP_ESTATE, mp_queue_task_done(F.queue))         \
  X(E, queue_task_done_too_many, MP_ESTATE, mp_queue_task_done(F.jqueue))     \
  X(E, queue_join_null, MP_EINVAL, mp_queue_join(NULL, 0))                    \
  X(E, queue_join_plain, MP_ESTATE, mp_queue_join(F.queue, 0))                \
  X(E, queue_join_timeout, MP_EINVAL, mp_queue_join(F.jqueue, -2))            \
  X(V, queue_free_null, 0, NO_CRASH(mp_queue_free(NULL)))                     \
  X(V, queue_free_garbage, 0, NO_CRASH(mp_queue_free(GARBAGE(mp_queue_t))))

#define SYNC_ROWS(X)                                                          \
  X(E, lock_new_null, MP_EINVAL, mp_lock_new(NULL, 0))                        \
  X(E, lock_new_flags, MP_EINVAL, mp_lock_new(&o_lock, 4))                    \
  OBJECT_ROWS(X, lock, fd_of_queue)                                           \
  X(E, lock_acquire_null, MP_EINVAL, mp_lock_acquire(NULL, 0))                \
  X(E, lock_acquire_garbage, MP_EINVAL, mp_lock_acquire(GARBAGE(mp_lock_t), 0)) \
  X(E, lock_acquire_timeout, MP_EINVAL, mp_lock_acquire(F.lock, -2))          \
  X(E, lock_acquire_twice, MP_ESTATE, lock_twice())                           \
  X(E, lock_release_null, MP_EINVAL, mp_lock_release(NULL))                   \
  X(E, lock_release_not_held, MP_ESTATE, mp_lock_release(F.lock))             \
  X(E, rlock_release_not_held, MP_ESTATE, mp_lock_release(F.rlock))           \
  X(E, lock_locked_null, MP_EINVAL, mp_lock_locked(NULL))                     \
  X(E, lock_fence_null, MP_EINVAL, mp_lock_fence(NULL, F.lock))               \
  X(E, lock_fence_garbage, MP_EINVAL, mp_lock_fence(&o_u64, GARBAGE(mp_lock_t))) \
  X(E, lock_fence_local, MP_ENOTSUP, mp_lock_fence(&o_u64, F.lock))           \
  X(E, sem_new_null, MP_EINVAL, mp_sem_new(NULL, 0, 0))                       \
  X(E, sem_new_above_max, MP_EINVAL, mp_sem_new(&o_sem, 5, 2))                \
  X(E, sem_new_huge, MP_EINVAL, mp_sem_new(&o_sem, UINT32_MAX, 0))            \
  X(E, sem_new_huge_max, MP_EINVAL, mp_sem_new(&o_sem, 0, UINT32_MAX))        \
  OBJECT_ROWS(X, sem, fd_of_lock)                                             \
  X(E, sem_acquire_null, MP_EINVAL, mp_sem_acquire(NULL, 0))                  \
  X(E, sem_acquire_timeout, MP_EINVAL, mp_sem_acquire(F.bsem, -2))            \
  X(E, sem_release_null, MP_EINVAL, mp_sem_release(NULL))                     \
  X(E, sem_release_bound, MP_ESTATE, mp_sem_release(F.bsem))                  \
  X(E, sem_value_null, MP_EINVAL, mp_sem_value(NULL))                         \
  X(E, event_new_null, MP_EINVAL, mp_event_new(NULL))                         \
  OBJECT_ROWS(X, event, fd_of_lock)                                           \
  X(E, event_set_null, MP_EINVAL, mp_event_set(NULL))                         \
  X(E, event_clear_null, MP_EINVAL, mp_event_clear(NULL))                     \
  X(E, event_is_set_null, MP_EINVAL, mp_event_is_set(NULL))                   \
  X(E, event_wait_null, MP_EINVAL, mp_event_wait(NULL, 0))                    \
  X(E, event_wait_garbage, MP_EINVAL, mp_event_wait(GARBAGE(mp_event_t), 0))  \
  X(E, event_wait_timeout, MP_EINVAL, mp_event_wait(F.event, -2))             \
  X(E, cond_new_null, MP_EINVAL, mp_cond_new(NULL, F.lock))                   \
  X(E, cond_new_null_lock, MP_EINVAL, mp_cond_new(&o_cond, NULL))             \
  X(E, cond_new_garbage_lock, MP_EINVAL, mp_cond_new(&o_cond, GARBAGE(mp_lock_t))) \
  X(E, cond_from_fd_null, MP_EINVAL, mp_cond_from_fd(NULL, fd_of_lock(), F.lock)) \
  X(E, cond_from_fd_negative, MP_EINVAL, mp_cond_from_fd(&o_cond, -1, F.lock)) \
  X(E, cond_from_fd_foreign, MP_EINVAL, mp_cond_from_fd(&o_cond, fd_of_lock(), F.lock)) \
  X(E, cond_from_fd_devnull, MP_EINVAL, mp_cond_from_fd(&o_cond, fd_of_null(), F.lock)) \
  X(E, cond_from_fd_null_lock, MP_EINVAL,                                    \
    mp_cond_from_fd(&o_cond, dup_fd(mp_cond_fileno(F.cond)), NULL))           \
  X(E, cond_fileno_null, MP_EINVAL, mp_cond_fileno(NULL))                     \
  X(E, cond_wait_null, MP_EINVAL, mp_cond_wait(NULL, 0))                      \
  X(E, cond_wait_unlocked, MP_ESTATE, cond_wait_unlocked())                   \
  X(E, cond_wait_timeout, MP_EINVAL, mp_cond_wait(F.cond, -2))                \
  X(E, cond_wait_for_null, MP_EINVAL, mp_cond_wait_for(NULL, pred_true, NULL, 0)) \
  X(E, cond_wait_for_null_pred, MP_EINVAL, mp_cond_wait_for(F.cond, NULL, NULL, 0)) \
  X(E, cond_wait_for_timeout, MP_EINVAL, mp_cond_wait_for(F.cond, pred_true, NULL, -2)) \
  X(E, cond_wait_for_unlocked, MP_ESTATE, mp_cond_wait_for(F.cond, pred_true, NULL, 0)) \
  X(E, cond_notify_null, MP_EINVAL, mp_cond_notify(NULL, 1))                  \
  X(E, cond_notify_unlocked, MP_ESTATE, mp_cond_notify(F.cond, 1))            \
  X(E, cond_notify_all_null, MP_EINVAL, mp_cond_notify_all(NULL))             \
  X(E, cond_notify_all_unlocked, MP_ESTATE, mp_cond_notify_all(F.cond))       \
  X(V, cond_free_null, 0, NO_CRASH(mp_cond_free(NULL)))                       \
  X(E, barrier_new_null, MP_EINVAL, mp_barrier_new(NULL, 2))                  \
  X(E, barrier_new_zero, MP_EINVAL, mp_barrier_new(&o_barrier, 0))            \
  OBJECT_ROWS(X, barrier, fd_of_event)                                        \
  X(E, barrier_new2_null, MP_EINVAL, mp_barrier_new2(NULL, 2, NULL, NULL, 0))  \
  X(E, barrier_new2_zero, MP_EINVAL, mp_barrier_new2(&o_barrier, 0, NULL, NULL, 0)) \
  X(E, barrier_new2_timeout, MP_EINVAL, mp_barrier_new2(&o_barrier, 2, NULL, NULL, -2)) \
  X(E, barrier_set_action_null, MP_EINVAL, mp_barrier_set_action(NULL, pred_true, NULL)) \
  X(E, barrier_set_action_fn_null, MP_EINVAL, mp_barrier_set_action(F.barrier, NULL, NULL)) \
  X(E, barrier_wait_null, MP_EINVAL, mp_barrier_wait(NULL, 0))                \
  X(E, barrier_wait_timeout, MP_EINVAL, mp_barrier_wait(F.barrier, -2))       \
  X(E, barrier_abort_null, MP_EINVAL, mp_barrier_abort(NULL))                 \
  X(E, barrier_reset_null, MP_EINVAL, mp_barrier_reset(NULL))                 \
  X(E, barrier_parties_null, MP_EINVAL, mp_barrier_parties(NULL))             \
  X(E, barrier_n_waiting_null, MP_EINVAL, mp_barrier_n_waiting(NULL))         \
  X(E, barrier_broken_null, MP_EINVAL, mp_barrier_broken(NULL))               \
  X(E, shm_new_null, MP_EINVAL, mp_shm_new(NULL, 16))                         \
  X(E, shm_new_zero, MP_EINVAL, mp_shm_new(&o_shm, 0))                        \
  OBJECT_ROWS(X, shm, fd_of_lock)                                             \
  X(V, shm_data_null, 1, IS_NULL(mp_shm_data(NULL)))                          \
  X(V, shm_data_garbage, 1, IS_NULL(mp_shm_data(GARBAGE(mp_shm_t))))          \
  X(V, shm_size_null, 0, (int)mp_shm_size(NULL))                              \
  X(E, shm_size2_null_out, MP_EINVAL, mp_shm_size2(NULL, F.shm)) \
  X(E, shm_size2_null, MP_EINVAL, mp_shm_size2(&o_len, NULL)) \
  X(E, shm_size2_garbage, MP_EINVAL, mp_shm_size2(&o_len, GARBAGE(mp_shm_t))) \
  X(E, value_new_null, MP_EINVAL, mp_value_new(NULL, MP_TYPE_INT32, 1, 0))    \
  X(E, value_new_type, MP_EINVAL, mp_value_new(&o_value, (mp_type_t)14, 1, 0)) \
  X(E, value_new_zero, MP_EINVAL, mp_value_new(&o_value, MP_TYPE_INT32, 0, 0)) \
  X(E, value_new_huge, MP_EINVAL, mp_value_new(&o_value, MP_TYPE_INT64, SIZE_MAX, 0)) \
  X(E, value_new_flags, MP_EINVAL, mp_value_new(&o_value, MP_TYPE_INT32, 1, 4)) \
  OBJECT_ROWS(X, value, fd_of_shm)                                            \
  X(E, value_type_null, MP_EINVAL, mp_value_type(NULL))                       \
  X(V, value_count_null, 0, (int)mp_value_count(NULL))                        \
  X(E, value_count2_null_out, MP_EINVAL, mp_value_count2(NULL, F.v_i32)) \
  X(E, value_count2_null, MP_EINVAL, mp_value_count2(&o_len, NULL)) \
  X(E, value_count2_garbage, MP_EINVAL, mp_value_count2(&o_len, GARBAGE(mp_value_t))) \
  X(E, value_get_i64_null_out, MP_EINVAL, mp_value_get_i64(NULL, F.v_i32, 0)) \
  X(E, value_get_i64_null, MP_EINVAL, mp_value_get_i64(&o_i64, NULL, 0))      \
  X(E, value_get_i64_index, MP_EINVAL, mp_value_get_i64(&o_i64, F.v_i32, 99)) \
  X(E, value_get_i64_huge_index, MP_EINVAL, mp_value_get_i64(&o_i64, F.v_i32, SIZE_MAX)) \
  X(E, value_get_i64_double, MP_EINVAL, mp_value_get_i64(&o_i64, F.v_f64, 0)) \
  X(E, value_set_i64_null, MP_EINVAL, mp_value_set_i64(NULL, 0, 1))           \
  X(E, value_set_i64_index, MP_EINVAL, mp_value_set_i64(F.v_i32, 4, 1))       \
  X(E, value_set_i64_overflow, MP_EINVAL, mp_value_set_i64(F.v_i32, 0, INT64_MAX)) \
  X(E, value_set_i64_bytes, MP_EINVAL, mp_value_set_i64(F.v_bytes, 0, 1))     \
  X(E, value_get_u64_null, MP_EINVAL, mp_value_get_u64(&o_u64, NULL, 0))      \
  X(E, value_get_u64_int32, MP_EINVAL, mp_value_get_u64(&o_u64, F.v_i32, 0))  \
  X(E, value_set_u64_null, MP_EINVAL, mp_value_set_u64(NULL, 0, 1))           \
  X(E, value_set_u64_int32, MP_EINVAL, mp_value_set_u64(F.v_i32, 0, 1))       \
  X(E, value_get_f64_null, MP_EINVAL, mp_value_get_f64(&o_f64, NULL, 0))      \
  X(E, value_get_f64_int32, MP_EINVAL, mp_value_get_f64(&o_f64, F.v_i32, 0))  \
  X(E, value_get_f64_null_out, MP_EINVAL, mp_value_get_f64(NULL, F.v_f64, 0)) \
  X(E, value_set_f64_null, MP_EINVAL, mp_value_set_f64(NULL, 0, 1.0))         \
  X(E, value_set_f64_int32, MP_EINVAL, mp_value_set_f64(F.v_i32, 0, 1.0))     \
  X(E, value_set_f64_index, MP_EINVAL, mp_value_set_f64(F.v_f64, 1, 1.0))     \
  X(E, value_add_i64_null, MP_EINVAL, mp_value_add_i64(&o_i64, NULL, 0, 1))   \
  X(E, value_add_i64_double, MP_EINVAL, mp_value_add_i64(&o_i64, F.v_f64, 0, 1)) \
  X(E, value_add_i64_index, MP_EINVAL, mp_value_add_i64(&o_i64, F.v_i32, 9, 1)) \
  X(E, value_cas_i64_null, MP_EINVAL, mp_value_cas_i64(NULL, 0, 0, 1, NULL))  \
  X(E, value_cas_i64_double, MP_EINVAL, mp_value_cas_i64(F.v_f64, 0, 0, 1, NULL)) \
  X(E, value_cas_i64_index, MP_EINVAL, mp_value_cas_i64(F.v_i32, 7, 0, 1, NULL)) \
  X(E, value_compare_exchange_i64_null, MP_EINVAL, mp_value_compare_exchange_i64(&o_i64, NULL, 0, 0, 1)) \
  X(E, value_compare_exchange_i64_double, MP_EINVAL, mp_value_compare_exchange_i64(NULL, F.v_f64, 0, 0, 1)) \
  X(E, value_compare_exchange_i64_index, MP_EINVAL, mp_value_compare_exchange_i64(&o_i64, F.v_i32, 7, 0, 1)) \
  X(E, value_compare_exchange_i64_fit, MP_EINVAL, mp_value_compare_exchange_i64(&o_i64, F.v_i32, 0, 0, INT64_MAX)) \
  X(E, value_get_bytes_null_len, MP_EINVAL, mp_value_get_bytes(NULL, F.v_bytes, g_buf, 8)) \
  X(E, value_get_bytes_null, MP_EINVAL, mp_value_get_bytes(&o_len, NULL, g_buf, 8)) \
  X(E, value_get_bytes_int32, MP_EINVAL, mp_value_get_bytes(&o_len, F.v_i32, g_buf, 8)) \
  X(E, value_get_bytes_null_buf, MP_EINVAL, mp_value_get_bytes(&o_len, F.v_bytes, NULL, 8)) \
  X(E, value_set_bytes_null, MP_EINVAL, mp_value_set_bytes(NULL, "x", 1))     \
  X(E, value_set_bytes_int32, MP_EINVAL, mp_value_set_bytes(F.v_i32, "x", 1)) \
  X(E, value_set_bytes_null_buf, MP_EINVAL, mp_value_set_bytes(F.v_bytes, NULL, 3)) \
  X(E, value_set_bytes_too_long, MP_ENOSPC, mp_value_set_bytes(F.v_bytes, g_buf, 64)) \
  X(E, value_set_bytes_huge, MP_ENOSPC, mp_value_set_bytes(F.v_bytes, g_buf, SIZE_MAX)) \
  X(E, value_acquire_null, MP_EINVAL, mp_value_acquire(NULL, 0))              \
  X(E, value_acquire_no_lock, MP_ESTATE, mp_value_acquire(F.v_i32, 0))        \
  X(E, value_acquire_timeout, MP_EINVAL, value_acquire_bad_timeout())         \
  X(E, value_release_null, MP_EINVAL, mp_value_release(NULL))                 \
  X(E, value_release_no_lock, MP_ESTATE, mp_value_release(F.v_i32))           \
  X(E, value_release_not_held, MP_ESTATE, mp_value_release(F.v_locked))      \
  X(E, value_new_record_type, MP_EINVAL, mp_value_new(&o_value, MP_TYPE_RECORD, 1, 0)) \
  X(E, value_new_record_null, MP_EINVAL, mp_value_new_record(NULL, "dd", 1, 0)) \
  X(E, value_new_record_null_fields, MP_EINVAL, mp_value_new_record(&o_value, NULL, 1, 0)) \
  X(E, value_new_record_empty, MP_EINVAL, mp_value_new_record(&o_value, "", 1, 0)) \
  X(E, value_new_record_bad_code, MP_EINVAL, mp_value_new_record(&o_value, "dx", 1, 0)) \
  X(E, value_new_record_bytes_code, MP_EINVAL, mp_value_new_record(&o_value, "s", 1, 0)) \
  X(E, value_new_record_33_fields, MP_EINVAL, mp_value_new_record(&o_value, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 1, 0)) \
  X(E, value_new_record_zero, MP_EINVAL, mp_value_new_record(&o_value, "dd", 0, 0)) \
  X(E, value_new_record_huge, MP_EINVAL, mp_value_new_record(&o_value, "dd", SIZE_MAX / 8, 0)) \
  X(E, value_new_record_flags, MP_EINVAL, mp_value_new_record(&o_value, "dd", 1, 2)) \
  X(E, value_new_with_lock_null, MP_EINVAL, mp_value_new_with_lock(NULL, MP_TYPE_INT32, 1, F.lock)) \
  X(E, value_new_with_lock_null_lock, MP_EINVAL, mp_value_new_with_lock(&o_value, MP_TYPE_INT32, 1, NULL)) \
  X(E, value_new_with_lock_garbage_lock, MP_EINVAL, mp_value_new_with_lock(&o_value, MP_TYPE_INT32, 1, GARBAGE(mp_lock_t))) \
  X(E, value_new_with_lock_type, MP_EINVAL, mp_value_new_with_lock(&o_value, MP_TYPE_RECORD, 1, F.lock)) \
  X(E, value_new_with_lock_zero, MP_EINVAL, mp_value_new_with_lock(&o_value, MP_TYPE_INT32, 0, F.lock)) \
  X(E, value_new_record_with_lock_null, MP_EINVAL, mp_value_new_record_with_lock(NULL, "dd", 1, F.lock)) \
  X(E, value_new_record_with_lock_null_lock, MP_EINVAL, mp_value_new_record_with_lock(&o_value, "dd", 1, NULL)) \
  X(E, value_new_record_with_lock_bad_code, MP_EINVAL, mp_value_new_record_with_lock(&o_value, "d!", 1, F.lock)) \
  X(E, value_new_record_with_lock_zero, MP_EINVAL, mp_value_new_record_with_lock(&o_value, "dd", 0, F.lock)) \
  X(E, value_bind_lock_null, MP_EINVAL, mp_value_bind_lock(NULL, F.lock))     \
  X(E, value_bind_lock_null_lock, MP_EINVAL, mp_value_bind_lock(F.v_shared, NULL)) \
  X(E, value_bind_lock_other_lock, MP_EINVAL, mp_value_bind_lock(F.v_shared, F.rlock)) \
  X(E, value_bind_lock_no_shared_lock, MP_ESTATE, mp_value_bind_lock(F.v_locked, F.lock)) \
  X(E, value_get_bool_null_out, MP_EINVAL, mp_value_get_bool(NULL, F.v_bool, 0)) \
  X(E, value_get_bool_null, MP_EINVAL, mp_value_get_bool(&o_int, NULL, 0))    \
  X(E, value_get_bool_int32, MP_EINVAL, mp_value_get_bool(&o_int, F.v_i32, 0)) \
  X(E, value_get_bool_index, MP_EINVAL, mp_value_get_bool(&o_int, F.v_bool, 1)) \
  X(E, value_set_bool_null, MP_EINVAL, mp_value_set_bool(NULL, 0, 1))         \
  X(E, value_set_bool_two, MP_EINVAL, mp_value_set_bool(F.v_bool, 0, 2))      \
  X(E, value_set_bool_int32, MP_EINVAL, mp_value_set_bool(F.v_i32, 0, 1))     \
  X(E, value_set_bool_index, MP_EINVAL, mp_value_set_bool(F.v_bool, 1, 1))    \
  X(E, value_get_i64_bool, MP_EINVAL, mp_value_get_i64(&o_i64, F.v_bool, 0))  \
  X(E, value_get_i64_record, MP_EINVAL, mp_value_get_i64(&o_i64, F.v_rec, 0)) \
  X(E, value_get_f64_record, MP_EINVAL, mp_value_get_f64(&o_f64, F.v_rec, 0)) \
  X(E, value_add_i64_bool, MP_EINVAL, mp_value_add_i64(&o_i64, F.v_bool, 0, 1)) \
  X(E, value_field_count_null, MP_EINVAL, mp_value_field_count(NULL))         \
  X(V, value_field_count_not_record, 0, mp_value_field_count(F.v_i32))        \
  X(E, value_field_type_null, MP_EINVAL, mp_value_field_type(NULL, 0))        \
  X(E, value_field_type_not_record, MP_EINVAL, mp_value_field_type(F.v_i32, 0)) \
  X(E, value_field_type_range, MP_EINVAL, mp_value_field_type(F.v_rec, 2))    \
  X(E, value_get_field_i64_null_out, MP_EINVAL, mp_value_get_field_i64(NULL, F.v_rec, 0, 0)) \
  X(E, value_get_field_i64_null, MP_EINVAL, mp_value_get_field_i64(&o_i64, NULL, 0, 0)) \
  X(E, value_get_field_i64_not_record, MP_EINVAL, mp_value_get_field_i64(&o_i64, F.v_i32, 0, 0)) \
  X(E, value_get_field_i64_index, MP_EINVAL, mp_value_get_field_i64(&o_i64, F.v_rec, 2, 0)) \
  X(E, value_get_field_i64_field, MP_EINVAL, mp_value_get_field_i64(&o_i64, F.v_rec, 0, 2)) \
  X(E, value_get_field_i64_float, MP_EINVAL, mp_value_get_field_i64(&o_i64, F.v_rec, 0, 1)) \
  X(E, value_set_field_i64_null, MP_EINVAL, mp_value_set_field_i64(NULL, 0, 0, 1)) \
  X(E, value_set_field_i64_overflow, MP_EINVAL, mp_value_set_field_i64(F.v_rec, 0, 0, INT64_MAX)) \
  X(E, value_set_field_i64_float, MP_EINVAL, mp_value_set_field_i64(F.v_rec, 0, 1, 1)) \
  X(E, value_set_field_i64_index, MP_EINVAL, mp_value_set_field_i64(F.v_rec, SIZE_MAX, 0, 1)) \
  X(E, value_get_field_f64_null_out, MP_EINVAL, mp_value_get_field_f64(NULL, F.v_rec, 0, 1)) \
  X(E, value_get_field_f64_null, MP_EINVAL, mp_value_get_field_f64(&o_f64, NULL, 0, 1)) \
  X(E, value_get_field_f64_int, MP_EINVAL, mp_value_get_field_f64(&o_f64, F.v_rec, 0, 0)) \
  X(E, value_get_field_f64_field, MP_EINVAL, mp_value_get_field_f64(&o_f64, F.v_rec, 0, SIZE_MAX)) \
  X(E, value_set_field_f64_null, MP_EINVAL, mp_value_set_field_f64(NULL, 0, 1, 1.0)) \
  X(E, value_set_field_f64_int, MP_EINVAL, mp_value_set_field_f64(F.v_rec, 0, 0, 1.0)) \
  X(E, value_set_field_f64_not_record, MP_EINVAL, mp_value_set_field_f64(F.v_f64, 0, 0, 1.0)) \
  X(E, value_get_record_null_buf, MP_EINVAL, mp_value_get_record(NULL, 16, F.v_rec, 0)) \
  X(E, value_get_record_null, MP_EINVAL, mp_value_get_record(g_buf, 16, NULL, 0)) \
  X(E, value_get_record_size, MP_EINVAL, mp_value_get_record(g_buf, 12, F.v_rec, 0)) \
  X(E, value_get_record_index, MP_EINVAL, mp_value_get_record(g_buf, 16, F.v_rec, 2)) \
  X(E, value_get_record_not_record, MP_EINVAL, mp_value_get_record(g_buf, 8, F.v_f64, 0)) \
  X(E, value_set_record_null, MP_EINVAL, mp_value_set_record(NULL, 0, g_buf, 16)) \
  X(E, value_set_record_null_buf, MP_EINVAL, mp_value_set_record(F.v_rec, 0, NULL, 16)) \
  X(E, value_set_record_size, MP_EINVAL, mp_value_set_record(F.v_rec, 0, g_buf, 17)) \
  X(E, value_set_record_index, MP_EINVAL, mp_value_set_record(F.v_rec, 9, g_buf, 16))

#define DICT_ROWS(X)                                                          \
  X(E, dict_new_null, MP_EINVAL, mp_dict_new(NULL, 8, 1024))                  \
  X(E, dict_new_zero_entries, MP_EINVAL, mp_dict_new(&o_dict, 0, 1024))       \
  X(E, dict_new_zero_bytes, MP_EINVAL, mp_dict_new(&o_dict, 8, 0))            \
  X(E, dict_new_huge, MP_EINVAL, mp_dict_new(&o_dict, SIZE_MAX, SIZE_MAX))    \
  OBJECT_ROWS(X, dict, fd_of_queue)                                           \
  X(E, dict_set_null, MP_EINVAL, mp_dict_set(NULL, "k", 1, "v", 1))           \
  X(E, dict_set_garbage, MP_EINVAL, mp_dict_set(GARBAGE(mp_dict_t), "k", 1, "v", 1)) \
  X(E, dict_set_null_key, MP_EINVAL, mp_dict_set(F.dict, NULL, 3, "v", 1))    \
  X(E, dict_set_null_value, MP_EINVAL, mp_dict_set(F.dict, "k", 1, NULL, 3))  \
  X(E, dict_set_huge_value, MP_EINVAL, mp_dict_set(F.dict, "k", 1, g_buf, SIZE_MAX)) \
  X(E, dict_get_null_out, MP_EINVAL, mp_dict_get(NULL, &o_len, F.dict, "k", 1)) \
  X(E, dict_get_null_len, MP_EINVAL, mp_dict_get(&o_buf, NULL, F.dict, "k", 1)) \
  X(E, dict_get_null, MP_EINVAL, mp_dict_get(&o_buf, &o_len, NULL, "k", 1))   \
  X(E, dict_get_null_key, MP_EINVAL, mp_dict_get(&o_buf, &o_len, F.dict, NULL, 1)) \
  X(E, dict_get_missing, MP_ENOENT, mp_dict_get(&o_buf, &o_len, F.dict, "nope", 4)) \
  X(E, dict_get_into_null_len, MP_EINVAL, mp_dict_get_into(NULL, F.dict, "k", 1, g_buf, 8)) \
  X(E, dict_get_into_null, MP_EINVAL, mp_dict_get_into(&o_len, NULL, "k", 1, g_buf, 8)) \
  X(E, dict_get_into_null_buf, MP_EINVAL,                                    \
    mp_dict_get_into(&o_len, F.dict, "eight", 5, NULL, 8))                    \
  X(E, dict_get_into_small, MP_ENOSPC, mp_dict_get_into(&o_len, F.dict, "eight", 5, g_buf, 2)) \
  X(E, dict_delete_null, MP_EINVAL, mp_dict_delete(NULL, "k", 1))             \
  X(E, dict_delete_null_key, MP_EINVAL, mp_dict_delete(F.dict, NULL, 1))      \
  X(E, dict_delete_missing, MP_ENOENT, mp_dict_delete(F.dict, "nope", 4))     \
  X(E, dict_contains_null, MP_EINVAL, mp_dict_contains(NULL, "k", 1))         \
  X(E, dict_contains_null_key, MP_EINVAL, mp_dict_contains(F.dict, NULL, 1))  \
  X(E, dict_len_null, MP_EINVAL, mp_dict_len(NULL))                           \
  X(E, dict_clear_null, MP_EINVAL, mp_dict_clear(NULL))                       \
  X(E, dict_incr_null, MP_EINVAL, mp_dict_incr(&o_i64, NULL, "n", 1, 1))      \
  X(E, dict_incr_null_key, MP_EINVAL, mp_dict_incr(&o_i64, F.dict, NULL, 1, 1)) \
  X(E, dict_incr_not_integer, MP_EINVAL, mp_dict_incr(&o_i64, F.dict, "text", 4, 1)) \
  X(E, dict_cas_null, MP_EINVAL, mp_dict_cas(NULL, "k", 1, NULL, 0, "v", 1))  \
  X(E, dict_cas_null_key, MP_EINVAL, mp_dict_cas(F.dict, NULL, 1, NULL, 0, "v", 1)) \
  X(E, dict_cas_null_desired, MP_EINVAL, mp_dict_cas(F.dict, "k", 1, NULL, 0, NULL, 4)) \
  X(E, dict_iter_new_null, MP_EINVAL, mp_dict_iter_new(NULL, F.dict))         \
  X(E, dict_iter_new_null_dict, MP_EINVAL, mp_dict_iter_new(&o_iter, NULL))   \
  X(E, dict_iter_next_null, MP_EINVAL, mp_dict_iter_next(NULL, &o_cptr, &o_len, &o_cptr2, &o_len)) \
  X(E, dict_iter_next_garbage, MP_EINVAL,                                    \
    mp_dict_iter_next(GARBAGE(mp_dict_iter_t), &o_cptr, &o_len, &o_cptr2, &o_len)) \
  X(E, dict_iter_next_null_key, MP_EINVAL, mp_dict_iter_next(F.iter, NULL, &o_len, &o_cptr2, &o_len)) \
  X(E, dict_iter_next2_null, MP_EINVAL, mp_dict_iter_next2(&o_cptr, &o_len, &o_cptr2, &o_len, NULL)) \
  X(E, dict_iter_next2_garbage, MP_EINVAL, mp_dict_iter_next2(&o_cptr, &o_len, &o_cptr2, &o_len, GARBAGE(mp_dict_iter_t))) \
  X(E, dict_iter_next2_null_key, MP_EINVAL, mp_dict_iter_next2(NULL, &o_len, &o_cptr2, &o_len, F.iter)) \
  X(E, dict_iter_next2_null_value_len, MP_EINVAL, mp_dict_iter_next2(&o_cptr, &o_len, &o_cptr2, NULL, F.iter)) \
  X(V, dict_iter_free_null, 0, NO_CRASH(mp_dict_iter_free(NULL)))

#define POOL_ROWS(X)                                                          \
  X(E, register_task_null, MP_EINVAL, mp_register_task(NULL, echo_task, NULL)) \
  X(E, register_task_long, MP_EINVAL, mp_register_task(k_long_name, echo_task, NULL)) \
  X(E, register_task_null_fn, MP_EINVAL, mp_register_task("bad_fn", NULL, NULL)) \
  X(E, register_task_twice, MP_EEXIST, mp_register_task("bad_echo", echo_task, NULL)) \
  X(E, pool_opts_new_null, MP_EINVAL, mp_pool_opts_new(NULL))                 \
  X(V, pool_opts_free_null, 0, NO_CRASH(mp_pool_opts_free(NULL)))             \
  X(E, opts_workers_null, MP_EINVAL, mp_pool_opts_set_workers(NULL, 1))       \
  X(E, opts_workers_zero, MP_EINVAL, mp_pool_opts_set_workers(F.opts, 0))     \
  X(E, opts_workers_huge, MP_EINVAL, mp_pool_opts_set_workers(F.opts, 5000))  \
  X(E, opts_method_null, MP_EINVAL, mp_pool_opts_set_start_method(NULL, MP_START_FORK)) \
  X(E, opts_method_bad, MP_EINVAL, mp_pool_opts_set_start_method(F.opts, (mp_start_method_t)3)) \
  X(E, opts_max_tasks_null, MP_EINVAL, mp_pool_opts_set_max_tasks_per_worker(NULL, 1)) \
  X(E, opts_initializer_null, MP_EINVAL, mp_pool_opts_set_initializer(NULL, "bad_echo", NULL, 0)) \
  X(E, opts_initializer_null_task, MP_EINVAL, mp_pool_opts_set_initializer(F.opts, NULL, NULL, 0)) \
  X(E, opts_initializer_null_arg, MP_EINVAL,                                 \
    mp_pool_opts_set_initializer(F.opts, "bad_echo", NULL, 3))                \
  X(E, opts_threads_null, MP_EINVAL, mp_pool_opts_set_threads(NULL, 1))       \
  X(E, opts_threads_2, MP_EINVAL, mp_pool_opts_set_threads(F.opts, 2))        \
  X(E, opts_pass_queue_null, MP_EINVAL, mp_pool_opts_pass_queue(NULL, "q", F.queue)) \
  X(E, opts_pass_queue_bad_name, MP_EINVAL, mp_pool_opts_pass_queue(F.opts, "a b", F.queue)) \
  X(E, opts_pass_queue_null_name, MP_EINVAL, mp_pool_opts_pass_queue(F.opts, NULL, F.queue)) \
  X(E, opts_pass_queue_null_queue, MP_EINVAL, mp_pool_opts_pass_queue(F.opts, "q", NULL)) \
  X(E, opts_pass_queue_garbage, MP_EINVAL,                                   \
    mp_pool_opts_pass_queue(F.opts, "q", GARBAGE(mp_queue_t)))                \
  X(E, opts_pass_queue_twice, MP_EEXIST, mp_pool_opts_pass_queue(F.opts_passed, "q1", F.queue)) \
  X(E, opts_pass_conn_null, MP_EINVAL, mp_pool_opts_pass_conn(NULL, "c", F.a)) \
  X(E, opts_pass_conn_closed, MP_EINVAL, mp_pool_opts_pass_conn(F.opts, "c", F.closed_conn)) \
  X(E, opts_pass_conn_twice, MP_EEXIST, mp_pool_opts_pass_conn(F.opts_passed, "q1", F.a)) \
  X(E, opts_pass_fd_null, MP_EINVAL, mp_pool_opts_pass_fd(NULL, "f", F.devnull)) \
  X(E, opts_pass_fd_negative, MP_EINVAL, mp_pool_opts_pass_fd(F.opts, "f", -1)) \
  X(E, opts_pass_fd_closed, MP_EINVAL, mp_pool_opts_pass_fd(F.opts, "f", 100000)) \
  X(E, opts_pass_fd_long_name, MP_EINVAL, mp_pool_opts_pass_fd(F.opts, k_long_name, F.devnull)) \
  X(E, pool_new_thread_with_names, MP_EINVAL, mp_pool_new(&o_pool, F.opts_passed)) \
  X(E, pool_new_null, MP_EINVAL, mp_pool_new(NULL, NULL))                     \
  X(E, apply_null_out, MP_EINVAL, mp_pool_apply(NULL, &o_len, F.pool, "bad_echo", "x", 1)) \
  X(E, apply_null_pool, MP_EINVAL, mp_pool_apply(&o_buf, &o_len, NULL, "bad_echo", "x", 1)) \
  X(E, apply_garbage_pool, MP_EINVAL,                                        \
    mp_pool_apply(&o_buf, &o_len, GARBAGE(mp_pool_t), "bad_echo", "x", 1))    \
  X(E, apply_null_task, MP_EINVAL, mp_pool_apply(&o_buf, &o_len, F.pool, NULL, "x", 1)) \
  X(E, apply_unknown_task, MP_ENOENT, mp_pool_apply(&o_buf, &o_len, F.pool, "nope", "x", 1)) \
  X(E, apply_null_arg, MP_EINVAL, mp_pool_apply(&o_buf, &o_len, F.pool, "bad_echo", NULL, 3)) \
  X(E, apply_closed, MP_ESTATE, mp_pool_apply(&o_buf, &o_len, F.closed_pool, "bad_echo", "x", 1)) \
  X(E, apply_async_null_out, MP_EINVAL,                                      \
    mp_pool_apply_async(NULL, F.pool, "bad_echo", "x", 1, NULL, NULL, NULL))  \
  X(E, apply_async_null_pool, MP_EINVAL,                                     \
    mp_pool_apply_async(&o_result, NULL, "bad_echo", "x", 1, noop_cb, NULL, NULL)) \
  X(E, apply_async_unknown, MP_ENOENT,                                       \
    mp_pool_apply_async(&o_result, F.pool, "nope", "x", 1, NULL, NULL, NULL)) \
  X(E, apply_async_closed, MP_ESTATE,                                        \
    mp_pool_apply_async(&o_result, F.closed_pool, "bad_echo", "x", 1, NULL, NULL, NULL)) \
  X(E, map_async_null_out, MP_EINVAL,                                        \
    mp_pool_map_async(NULL, F.pool, "bad_echo", k_args, k_arg_lens, 2, 0, NULL, NULL, NULL)) \
  X(E, map_async_null_args, MP_EINVAL,                                       \
    mp_pool_map_async(&o_result, F.pool, "bad_echo", NULL, k_arg_lens, 2, 0, NULL, NULL, NULL)) \
  X(E, map_async_null_lens, MP_EINVAL,                                       \
    mp_pool_map_async(&o_result, F.pool, "bad_echo", k_args, NULL, 2, 0, NULL, NULL, NULL)) \
  X(E, map_async_null_task, MP_EINVAL,                                       \
    mp_pool_map_async(&o_result, F.pool, NULL, k_args, k_arg_lens, 2, 0, NULL, NULL, NULL)) \
  X(E, map_null_pool, MP_EINVAL, mp_pool_map(&o_result, NULL, "bad_echo", k_args, k_arg_lens, 2, 0)) \
  X(E, map_null_args, MP_EINVAL, mp_pool_map(&o_result, F.pool, "bad_echo", NULL, k_arg_lens, 2, 0)) \
  X(E, map_closed, MP_ESTATE, mp_pool_map(&o_result, F.closed_pool, "bad_echo", k_args, k_arg_lens, 2, 0)) \
  X(E, imap_null_out, MP_EINVAL, mp_pool_imap(NULL, F.pool, "bad_echo", k_args, k_arg_lens, 2, 0, 0)) \
  X(E, imap_null_args, MP_EINVAL, mp_pool_imap(&o_imap, F.pool, "bad_echo", NULL, k_arg_lens, 2, 0, 0)) \
  X(E, imap_flags, MP_EINVAL, mp_pool_imap(&o_imap, F.pool, "bad_echo", k_args, k_arg_lens, 2, 0, 4)) \
  X(E, imap_unknown, MP_ENOENT, mp_pool_imap(&o_imap, F.pool, "nope", k_args, k_arg_lens, 2, 0, 0)) \
  X(E, iter_next_null, MP_EINVAL, mp_iter_next(&o_len, &o_cptr, &o_len, NULL, 0)) \
  X(E, iter_next_garbage, MP_EINVAL, mp_iter_next(&o_len, &o_cptr, &o_len, GARBAGE(mp_iter_t), 0)) \
  X(E, iter_next_timeout, MP_EINVAL, mp_iter_next(&o_len, &o_cptr, &o_len, F.imap, -2)) \
  X(E, pool_iter_next_null, MP_EINVAL, mp_pool_iter_next(&o_len, &o_cptr, &o_len, NULL, 0)) \
  X(E, pool_iter_next_garbage, MP_EINVAL, mp_pool_iter_next(&o_len, &o_cptr, &o_len, GARBAGE(mp_pool_iter_t), 0)) \
  X(E, pool_iter_next_timeout, MP_EINVAL, mp_pool_iter_next(&o_len, &o_cptr, &o_len, F.imap, -2)) \
  X(E, pool_iter_next_null_out, MP_EINVAL, mp_pool_iter_next(NULL, &o_cptr, &o_len, F.imap, 0)) \
  X(V, pool_iter_free_null, 0, NO_CRASH(mp_pool_iter_free(NULL))) \
  X(V, pool_iter_free_garbage, 0, NO_CRASH(mp_pool_iter_free(GARBAGE(mp_pool_iter_t)))) \
  X(V, iter_free_null, 0, NO_CRASH(mp_iter_free(NULL)))                       \
  X(V, iter_free_garbage, 0, NO_CRASH(mp_iter_free(GARBAGE(mp_iter_t))))      \
  X(E, result_get_null, MP_EINVAL, mp_result_get(&o_cptr, &o_len, NULL, 0))   \
  X(E, result_get_garbage, MP_EINVAL, mp_result_get(&o_cptr, &o_len, GARBAGE(mp_result_t), 0)) \
  X(E, result_get_timeout, MP_EINVAL, mp_result_get(&o_cptr, &o_len, F.result, -2)) \
  X(E, result_wait_null, MP_EINVAL, mp_result_wait(NULL, 0))                  \
  X(E, result_wait_timeout, MP_EINVAL, mp_result_wait(F.result, -2))          \
  X(E, result_ready_null, MP_EINVAL, mp_result_ready(NULL))                   \
  X(E, result_successful_null, MP_EINVAL, mp_result_successful(NULL))         \
  X(E, result_count_null, MP_EINVAL, mp_result_count(NULL))                   \
  X(E, result_item_null, MP_EINVAL, mp_result_item(&o_cptr, &o_len, NULL, 0)) \
  X(E, result_item_index, MP_EINVAL, mp_result_item(&o_cptr, &o_len, F.result, 1)) \
  X(E, result_item_huge_index, MP_EINVAL, mp_result_item(&o_cptr, &o_len, F.result, SIZE_MAX)) \
  X(V, result_free_null, 0, NO_CRASH(mp_result_free(NULL)))                   \
  X(V, result_free_garbage, 0, NO_CRASH(mp_result_free(GARBAGE(mp_result_t)))) \
  X(E, pool_close_null, MP_EINVAL, mp_pool_close(NULL))                       \
  X(E, pool_join_null, MP_EINVAL, mp_pool_join(NULL, 0))                      \
  X(E, pool_join_open, MP_ESTATE, mp_pool_join(F.pool, 0))                    \
  X(E, pool_join_timeout, MP_EINVAL, mp_pool_join(F.closed_pool, -2))         \
  X(E, pool_terminate_null, MP_EINVAL, mp_pool_terminate(NULL))               \
  X(E, pool_terminate_garbage, MP_EINVAL, mp_pool_terminate(GARBAGE(mp_pool_t))) \
  X(E, pool_serve_null, MP_EINVAL, mp_pool_serve(NULL, "redis://127.0.0.1:1#p", 0)) \
  X(E, pool_serve_addr, MP_EINVAL, mp_pool_serve(F.pool, "unix:@b#p", 0))     \
  X(E, pool_serve_no_name, MP_EINVAL, mp_pool_serve(F.pool, "redis://127.0.0.1:1", 0)) \
  X(E, pool_serve_timeout, MP_EINVAL, mp_pool_serve(F.pool, "redis://127.0.0.1:1#p", -3)) \
  X(E, pool_set_retries_null, MP_EINVAL, mp_pool_set_retries(NULL, 1))        \
  X(E, pool_set_retries_many, MP_EINVAL, mp_pool_set_retries(F.pool, 1001))   \
  X(V, pool_stat_null, MP_EINVAL, (int)mp_pool_stat(NULL, MP_POOL_DONE))      \
  X(V, pool_stat_what, MP_EINVAL, (int)mp_pool_stat(F.pool, (mp_pool_stat_t)99)) \
  X(V, pool_free_null, 0, NO_CRASH(mp_pool_free(NULL)))                       \
  X(V, pool_free_garbage, 0, NO_CRASH(mp_pool_free(GARBAGE(mp_pool_t))))


/* Rows of the broker and of the opens by address (no broker needed: every
 * row fails on its arguments or its address before connecting). */
static mp_broker_t *o_broker;
static mp_pool_t *o_pool;
#define K_NOSOCK "unix:/nonexistent-multiproc-dir/b.sock"
#define BROKER_ROWS(X)                                                        \
  X(E, broker_opts_new_null, MP_EINVAL, mp_broker_opts_new(NULL))             \
  X(V, broker_opts_free_null, 0, NO_CRASH(mp_broker_opts_free(NULL)))         \
  X(V, broker_opts_free_garbage, 0,                                           \
    NO_CRASH(mp_broker_opts_free(GARBAGE(mp_broker_opts_t))))                 \
  X(E, broker_opts_add_uid_null, MP_EINVAL, mp_broker_opts_add_uid(NULL, 0))  \
  X(E, broker_opts_add_gid_null, MP_EINVAL, mp_broker_opts_add_gid(NULL, 0))  \
  X(E, broker_opts_max_clients_null, MP_EINVAL,                               \
    mp_broker_opts_set_max_clients(NULL, 4))                                  \
  X(E, broker_opts_max_clients_0, MP_EINVAL,                                  \
    mp_broker_opts_set_max_clients(F.bopts, 0))                               \
  X(E, broker_opts_max_clients_huge, MP_EINVAL,                               \
    mp_broker_opts_set_max_clients(F.bopts, 65537))                           \
  X(E, broker_opts_handshake_null, MP_EINVAL,                                 \
    mp_broker_opts_set_handshake_timeout(NULL, 10))                           \
  X(E, broker_opts_handshake_0, MP_EINVAL,                                    \
    mp_broker_opts_set_handshake_timeout(F.bopts, 0))                         \
  X(E, broker_opts_handshake_forever, MP_EINVAL,                              \
    mp_broker_opts_set_handshake_timeout(F.bopts, MP_FOREVER))                \
  X(E, broker_new_null_out, MP_EINVAL, mp_broker_new(NULL, "unix:@x", NULL))  \
  X(E, broker_new_null_addr, MP_EINVAL, mp_broker_new(&o_broker, NULL, NULL)) \
  X(E, broker_new_relative, MP_EINVAL, mp_broker_new(&o_broker, "unix:b.sock", NULL)) \
  X(E, broker_new_name, MP_EINVAL, mp_broker_new(&o_broker, "unix:@b#x", NULL)) \
  X(E, broker_new_tcp, MP_EINVAL, mp_broker_new(&o_broker, "tcp://h:1", NULL)) \
  X(E, broker_new_garbage_opts, MP_EINVAL,                                    \
    mp_broker_new(&o_broker, "unix:@b", GARBAGE(mp_broker_opts_t)))           \
  X(E, broker_publish_null, MP_EINVAL, mp_broker_publish(NULL, "q", 0))       \
  X(E, broker_publish_garbage, MP_EINVAL,                                     \
    mp_broker_publish(GARBAGE(mp_broker_t), "q", 0))                          \
  X(E, broker_publish_pool_null, MP_EINVAL,                                   \
    mp_broker_publish_pool(NULL, "p", F.pool))                                \
  X(E, broker_unpublish_null, MP_EINVAL, mp_broker_unpublish(NULL, "q"))      \
  X(V, broker_free_null, 0, NO_CRASH(mp_broker_free(NULL)))                   \
  X(V, broker_free_garbage, 0, NO_CRASH(mp_broker_free(GARBAGE(mp_broker_t)))) \
  X(E, fd_open_null, MP_EINVAL, mp_fd_open(NULL, "unix:@b#q", 0))             \
  X(E, fd_open_null_addr, MP_EINVAL, mp_fd_open(&o_int, NULL, 0))             \
  X(E, fd_open_timeout, MP_EINVAL, mp_fd_open(&o_int, "unix:@b#q", -2))       \
  X(E, fd_open_no_name, MP_EINVAL, mp_fd_open(&o_int, "unix:@b", 0))          \
  X(E, fd_open_relative, MP_EINVAL, mp_fd_open(&o_int, "unix:b.sock#q", 0))   \
  X(E, fd_open_scheme, MP_EINVAL, mp_fd_open(&o_int, "ftp://h#q", 0))         \
  X(E, fd_open_redis, REDIS_REFUSED, mp_fd_open(&o_int, "redis://h#q", 0))    \
  X(E, fd_open_control, MP_EINVAL, mp_fd_open(&o_int, "unix:/t\tmp/b#q", 0))  \
  X(E, queue_open_null, MP_EINVAL, mp_queue_open(NULL, "unix:@b#q", 0))       \
  X(E, queue_open_no_name, MP_EINVAL, mp_queue_open(&o_queue, "unix:@b", 0))  \
  X(E, queue_open_redis_no_name, MP_EINVAL, mp_queue_open(&o_queue, "redis://h", 0)) \
  X(E, queue_open_redis_password, MP_EINVAL,                                   \
    mp_queue_open(&o_queue, "redis://u:pw@h#q", 0))                            \
  X(E, queue_new_at_null, MP_EINVAL, mp_queue_new_at(NULL, "redis://h#q", 0, 0, 0)) \
  X(E, queue_new_at_addr, MP_EINVAL, mp_queue_new_at(&o_queue, NULL, 0, 0, 0)) \
  X(E, queue_new_at_flags, MP_EINVAL, mp_queue_new_at(&o_queue, "redis://h#q", 0, 6, 0)) \
  X(E, queue_new_at_timeout, MP_EINVAL,                                        \
    mp_queue_new_at(&o_queue, "redis://h#q", 0, 0, -2))                        \
  X(E, queue_new_at_unix, MP_EINVAL, mp_queue_new_at(&o_queue, "unix:@b#q", 0, 0, 0)) \
  X(E, queue_last_delivery_null, MP_EINVAL,                                    \
    mp_queue_last_delivery(NULL, g_buf, sizeof g_buf, F.queue))                \
  X(E, queue_last_delivery_null_id, MP_EINVAL,                                 \
    mp_queue_last_delivery(&o_i64, NULL, 8, F.queue))                          \
  X(E, queue_last_delivery_garbage, MP_EINVAL,                                 \
    mp_queue_last_delivery(&o_i64, g_buf, sizeof g_buf, GARBAGE(mp_queue_t)))  \
  X(E, queue_last_delivery_local, MP_ENOTSUP,                                  \
    mp_queue_last_delivery(&o_i64, g_buf, sizeof g_buf, F.queue))              \
  X(E, lock_open_null, MP_EINVAL, mp_lock_open(NULL, "unix:@b#q", 0))         \
  X(E, lock_open_addr, MP_EINVAL, mp_lock_open(&o_lock, NULL, 0))             \
  X(E, lock_open_redis_password, MP_EINVAL,                                    \
    mp_lock_open(&o_lock, "redis://u:pw@h#q", 0))                              \
  X(E, lock_open_redis_timeout, MP_EINVAL, mp_lock_open(&o_lock, "redis://h#q", -2)) \
  X(E, lock_open_redis_no_name, MP_EINVAL, mp_lock_open(&o_lock, "redis://h", 0)) \
  X(E, dict_open_redis_password, MP_EINVAL,                                    \
    mp_dict_open(&o_dict, "redis://u:pw@h#q", 0))                              \
  X(E, dict_open_redis_timeout, MP_EINVAL, mp_dict_open(&o_dict, "redis://h#q", -2)) \
  X(E, sem_open_null, MP_EINVAL, mp_sem_open(NULL, "unix:@b#q", 0))           \
  X(E, sem_open_timeout, MP_EINVAL, mp_sem_open(&o_sem, "unix:@b#q", -5))     \
  X(E, event_open_null, MP_EINVAL, mp_event_open(NULL, "unix:@b#q", 0))       \
  X(E, event_open_tcp, MP_EINVAL, mp_event_open(&o_event, "tcp://h:1#q", 0))  \
  X(E, cond_open_null, MP_EINVAL, mp_cond_open(NULL, "unix:@b#q", F.lock, 0)) \
  X(E, cond_open_null_lock, MP_EINVAL, mp_cond_open(&o_cond, "unix:@b#q", NULL, 0)) \
  X(E, barrier_open_null, MP_EINVAL, mp_barrier_open(NULL, "unix:@b#q", 0))   \
  X(E, barrier_open_addr, MP_EINVAL, mp_barrier_open(&o_barrier, "", 0))      \
  X(E, value_open_null, MP_EINVAL, mp_value_open(NULL, "unix:@b#q", 0))       \
  X(E, value_open_addr, MP_EINVAL, mp_value_open(&o_value, "unix:@b#a-b", 0)) \
  X(E, shm_open_null, MP_EINVAL, mp_shm_open(NULL, "unix:@b#q", 0))           \
  X(E, shm_open_addr, MP_EINVAL, mp_shm_open(&o_shm, "unix:/b#", 0))          \
  X(E, dict_open_null, MP_EINVAL, mp_dict_open(NULL, "unix:@b#q", 0))         \
  X(E, dict_open_addr, MP_EINVAL, mp_dict_open(&o_dict, "unix:@#q", 0))       \
  X(E, pool_open_null, MP_EINVAL, mp_pool_open(NULL, "unix:@b#q", 0))         \
  X(E, pool_open_no_name, MP_EINVAL, mp_pool_open(&o_pool, "unix:@b", 0))     \
  X(E, pool_open_timeout, MP_EINVAL, mp_pool_open(&o_pool, "unix:@b#p", -3))

#define LISTENER_ROWS(X)                                                      \
  X(E, listener_opts_new_null, MP_EINVAL, mp_listener_opts_new(NULL))         \
  X(V, listener_opts_free_null, 0, NO_CRASH(mp_listener_opts_free(NULL)))     \
  X(V, listener_opts_free_garbage, 0,                                         \
    NO_CRASH(mp_listener_opts_free(GARBAGE(mp_listener_opts_t))))             \
  X(E, listener_key_null_opts, MP_EINVAL, mp_listener_opts_set_authkey(NULL, "k", 1)) \
  X(E, listener_key_garbage, MP_EINVAL,                                       \
    mp_listener_opts_set_authkey(GARBAGE(mp_listener_opts_t), "k", 1))        \
  X(E, listener_key_null, MP_EINVAL, mp_listener_opts_set_authkey(F.lopts, NULL, 3)) \
  X(E, listener_key_huge, MP_EINVAL, mp_listener_opts_set_authkey(F.lopts, g_garbage, 4097)) \
  X(E, listener_no_auth_null, MP_EINVAL, mp_listener_opts_set_allow_no_auth(NULL, 1)) \
  X(E, listener_no_auth_two, MP_EINVAL, mp_listener_opts_set_allow_no_auth(F.lopts, 2)) \
  X(E, listener_backlog_null, MP_EINVAL, mp_listener_opts_set_backlog(NULL, 5)) \
  X(E, listener_backlog_zero, MP_EINVAL, mp_listener_opts_set_backlog(F.lopts, 0)) \
  X(E, listener_backlog_huge, MP_EINVAL, mp_listener_opts_set_backlog(F.lopts, 65536)) \
  X(E, listener_handshake_null, MP_EINVAL,                                    \
    mp_listener_opts_set_handshake_timeout(NULL, 10))                         \
  X(E, listener_handshake_zero, MP_EINVAL,                                    \
    mp_listener_opts_set_handshake_timeout(F.lopts, 0))                       \
  X(E, listener_handshake_forever, MP_EINVAL,                                 \
    mp_listener_opts_set_handshake_timeout(F.lopts, MP_FOREVER))              \
  X(E, listener_handshake_huge, MP_EINVAL,                                    \
    mp_listener_opts_set_handshake_timeout(F.lopts, 3600001))                 \
  X(E, listener_new_null_out, MP_EINVAL, mp_listener_new(NULL, "unix:@x", NULL)) \
  X(E, listener_new_null_address, MP_EINVAL, mp_listener_new(&o_listener, NULL, NULL)) \
  X(E, listener_new_empty, MP_EINVAL, mp_listener_new(&o_listener, "", NULL)) \
  X(E, listener_new_long, MP_EINVAL, mp_listener_new(&o_listener, k_long_name, NULL)) \
  X(E, listener_new_garbage_opts, MP_EINVAL,                                  \
    mp_listener_new(&o_listener, "unix:@x", GARBAGE(mp_listener_opts_t)))     \
  X(E, listener_new_name, MP_EINVAL, mp_listener_new(&o_listener, "unix:@x#n", NULL)) \
  X(E, listener_new_relative, MP_EINVAL, mp_listener_new(&o_listener, "unix:x", NULL)) \
  X(E, listener_new_tcp_no_key, MP_EINVAL,                                    \
    mp_listener_new(&o_listener, "tcp://127.0.0.1:0", NULL))                  \
  X(E, listener_new_redis, REDIS_REFUSED, mp_listener_new(&o_listener, "redis://h", NULL)) \
  X(E, listener_new_scheme, MP_EINVAL, mp_listener_new(&o_listener, "http://h:1", NULL)) \
  X(V, listener_address_null, 1, IS_NULL(mp_listener_address(NULL)))         \
  X(V, listener_address_garbage, 1,                                           \
    IS_NULL(mp_listener_address(GARBAGE(mp_listener_t))))                     \
  X(E, listener_accept_null_out, MP_EINVAL, mp_listener_accept(NULL, F.listener, 0)) \
  X(E, listener_accept_null, MP_EINVAL, mp_listener_accept(&o_conn, NULL, 0)) \
  X(E, listener_accept_garbage, MP_EINVAL,                                    \
    mp_listener_accept(&o_conn, GARBAGE(mp_listener_t), 0))                   \
  X(E, listener_accept_timeout, MP_EINVAL, mp_listener_accept(&o_conn, F.listener, -2)) \
  X(E, listener_accept_none, MP_ETIMEDOUT, mp_listener_accept(&o_conn, F.listener, 0)) \
  X(E, listener_accept_closed, MP_ECLOSED,                                    \
    mp_listener_accept(&o_conn, F.closed_listener, 0))                        \
  X(E, listener_close_null, MP_EINVAL, mp_listener_close(NULL))               \
  X(E, listener_close_garbage, MP_EINVAL, mp_listener_close(GARBAGE(mp_listener_t))) \
  X(V, listener_close_twice, MP_OK, mp_listener_close(F.closed_listener))     \
  X(V, listener_free_null, 0, NO_CRASH(mp_listener_free(NULL)))               \
  X(V, listener_free_garbage, 0, NO_CRASH(mp_listener_free(GARBAGE(mp_listener_t)))) \
  X(E, conn_connect_null_out, MP_EINVAL, mp_conn_connect(NULL, "unix:@x", NULL, 0, 0)) \
  X(E, conn_connect_null_address, MP_EINVAL, mp_conn_connect(&o_conn, NULL, NULL, 0, 0)) \
  X(E, conn_connect_null_key, MP_EINVAL, mp_conn_connect(&o_conn, "unix:@x", NULL, 3, 0)) \
  X(E, conn_connect_huge_key, MP_EINVAL,                                      \
    mp_conn_connect(&o_conn, "unix:@x", g_garbage, 4097, 0))                  \
  X(E, conn_connect_timeout, MP_EINVAL, mp_conn_connect(&o_conn, "unix:@x", NULL, 0, -2)) \
  X(E, conn_connect_name, MP_EINVAL, mp_conn_connect(&o_conn, "tcp://h:1#n", NULL, 0, 0)) \
  X(E, conn_connect_no_port, MP_EINVAL, mp_conn_connect(&o_conn, "tcp://h", NULL, 0, 0)) \
  X(E, conn_connect_redis, REDIS_REFUSED, mp_conn_connect(&o_conn, "redis://h", NULL, 0, 0)) \
  X(E, conn_connect_nobody, MP_ECONNREFUSED,                                  \
    mp_conn_connect(&o_conn, "unix:@mp-badinput-nobody-listens", NULL, 0, 1000))

#define ALL_ROWS(X) \
  CORE_ROWS(X) CMD_ROWS(X) PROCESS_ROWS(X) CONN_ROWS(X) QUEUE_ROWS(X) \
  SYNC_ROWS(X) DICT_ROWS(X) POOL_ROWS(X) BROKER_ROWS(X) LISTENER_ROWS(X)

/* One function per row, then the table. */
#define DEFINE_ROW(kind, id, want, expr) \
  static int row_##id(void) { return (int)(expr); }
ALL_ROWS(DEFINE_ROW)

struct row {
  const char *id;
  const char *expr;
  int want;
  int need_message; /* E rows: the call must leave a message */
  int (*fn)(void);
};

#define KIND_E 1
#define KIND_V 0
#define TABLE_ROW(kind, id, want, expr) {#id, #expr, want, KIND_##kind, row_##id},
#define TABLE(name, rows) \
  static const struct row name[] = {rows(TABLE_ROW)};
TABLE(k_core, CORE_ROWS)
TABLE(k_cmd, CMD_ROWS)
TABLE(k_process, PROCESS_ROWS)
TABLE(k_conn, CONN_ROWS)
TABLE(k_queue, QUEUE_ROWS)
TABLE(k_sync, SYNC_ROWS)
TABLE(k_dict, DICT_ROWS)
TABLE(k_pool, POOL_ROWS)
TABLE(k_broker, BROKER_ROWS)
TABLE(k_listener, LISTENER_ROWS)

struct table {
  const struct row *rows;
  size_t n;
};
#define TABLE_REF(name) {name, sizeof name / sizeof name[0]}
static const struct table k_tables[] = {
    TABLE_REF(k_core), TABLE_REF(k_cmd),  TABLE_REF(k_process), TABLE_REF(k_conn),
    TABLE_REF(k_queue), TABLE_REF(k_sync), TABLE_REF(k_dict),   TABLE_REF(k_pool),
    TABLE_REF(k_broker),
    TABLE_REF(k_listener),
};
#define N_TABLES (sizeof k_tables / sizeof k_tables[0])

/* ------------------------------------------------------------------------
 * Running the rows
 * ---------------------------------------------------------------------- */

struct outcome {
  const struct row *row;
  int got;
  char message[512];
};

static void *run_row_thread(void *p) {
  struct outcome *o = p;
  /* A new thread's mp_last_error() is "": any message is this call's. */
  o->got = o->row->fn();
  snprintf(o->message, sizeof o->message, "%s", mp_last_error());
  return NULL;
}

/* Close descriptors a failed from_fd left open (it owns them only on
 * success), and free anything a row created by mistake. */
static void after_row(void) {
  for (int i = 0; i < g_ndups; i++)
    if (fcntl(g_dups[i], F_GETFD) >= 0) close(g_dups[i]);
  g_ndups = 0;
  mp_free(o_buf);
  o_buf = NULL;
}

/* Run every row of a table; report every mismatch. */
static void run_rows(const struct row *rows, size_t n) {
  int failures = 0;
  for (size_t i = 0; i < n; i++) {
    struct outcome o = {.row = &rows[i]};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_row_thread, &o), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    after_row();
    int bad = o.got != rows[i].want || (rows[i].need_message && o.message[0] == '\0');
    if (bad) {
      failures++;
      print_error("row %s: %s returned %d (%s), expected %d (%s); message \"%s\"\n",
                  rows[i].id, rows[i].expr, o.got, mp_err_name(o.got), rows[i].want,
                  mp_err_name(rows[i].want), o.message);
    }
  }
  if (failures) fail_msg("%d of %zu calls mishandled bad input", failures, n);
}

/* ------------------------------------------------------------------------
 * Fixture set-up and tear-down
 * ---------------------------------------------------------------------- */

static int g_fds_before, g_threads_before;

static int setup(void **state) {
  (void)state;
  /* Handles named in the environment as another kind, or malformed. */
  setenv("MULTIPROC_HANDLE_bad_conn", "conn:0", 1);
  setenv("MULTIPROC_HANDLE_bad_queue", "queue:0", 1);
  setenv("MULTIPROC_HANDLE_bad_fd", "queue:zz", 1);

  MP_ASSERT_OK(mp_cmd_new(&F.cmd, "true"));
  MP_ASSERT_OK(mp_cmd_new(&F.cmd_missing, "/no/such/program/badinput"));
  MP_ASSERT_OK(mp_cmd_new(&F.cmd_passed, "true"));
  MP_ASSERT_OK(mp_process_new(&F.unstarted, "bad_noop", NULL, 0));
  MP_ASSERT_OK(mp_process_new(&F.done, "bad_noop", NULL, 0));
  MP_ASSERT_OK(mp_process_start(F.done));
  MP_ASSERT_OK(mp_process_join(F.done, 30000));
  MP_ASSERT_OK(mp_stop_new(&F.stop));
  MP_ASSERT_OK(mp_stop_new(&F.stop_full));
  for (int i = 0; i < 8; i++) MP_ASSERT_OK(mp_stop_add(F.stop_full, MP_STOP_WAIT, 0));
  MP_ASSERT_OK(mp_pipe(&F.a, &F.b, 1));
  MP_ASSERT_OK(mp_pipe(&F.r, &F.w, 0));
  MP_ASSERT_OK(mp_pipe(&F.closed_conn, &o_conn2, 1));
  mp_conn_free(o_conn2);
  o_conn2 = NULL;
  MP_ASSERT_OK(mp_conn_close(F.closed_conn));
  MP_ASSERT_OK(mp_queue_new(&F.queue, 0, 0, 0));
  MP_ASSERT_OK(mp_queue_new(&F.closed_queue, 0, 0, 0));
  MP_ASSERT_OK(mp_queue_close(F.closed_queue));
  MP_ASSERT_OK(mp_queue_new(&F.jqueue, 0, 0, MP_QUEUE_JOINABLE));
  MP_ASSERT_OK(mp_cmd_pass_queue(F.cmd_passed, "q1", F.queue));
  MP_ASSERT_OK(mp_cmd_pass_conn(F.cmd_passed, "c1", F.a));
  F.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  assert_true(F.devnull >= 0);
  MP_ASSERT_OK(mp_cmd_pass_fd(F.cmd_passed, "f1", F.devnull));
  MP_ASSERT_OK(mp_lock_new(&F.lock, 0));
  MP_ASSERT_OK(mp_lock_new(&F.rlock, MP_LOCK_RECURSIVE));
  MP_ASSERT_OK(mp_sem_new(&F.bsem, 1, 1));
  MP_ASSERT_OK(mp_event_new(&F.event));
  MP_ASSERT_OK(mp_cond_new(&F.cond, F.lock));
  MP_ASSERT_OK(mp_barrier_new(&F.barrier, 2));
  MP_ASSERT_OK(mp_shm_new(&F.shm, 64));
  MP_ASSERT_OK(mp_value_new(&F.v_i32, MP_TYPE_INT32, 4, 0));
  MP_ASSERT_OK(mp_value_new(&F.v_f64, MP_TYPE_DOUBLE, 1, 0));
  MP_ASSERT_OK(mp_value_new(&F.v_bytes, MP_TYPE_BYTES, 16, 0));
  MP_ASSERT_OK(mp_value_new(&F.v_locked, MP_TYPE_INT64, 1, MP_VALUE_LOCK));
  MP_ASSERT_OK(mp_value_new(&F.v_bool, MP_TYPE_BOOL, 1, 0));
  MP_ASSERT_OK(mp_value_new_record(&F.v_rec, "id", 2, 0));
  MP_ASSERT_OK(mp_value_new_with_lock(&F.v_shared, MP_TYPE_INT32, 1, F.lock));
  MP_ASSERT_OK(mp_dict_new(&F.dict, 64, 4096));
  MP_ASSERT_OK(mp_dict_set(F.dict, "eight", 5, &k_eight, 8));
  MP_ASSERT_OK(mp_dict_set(F.dict, "text", 4, "abc", 3));
  MP_ASSERT_OK(mp_dict_iter_new(&F.iter, F.dict));
  MP_ASSERT_OK(mp_pool_opts_new(&F.opts));
  MP_ASSERT_OK(mp_pool_opts_set_threads(F.opts, 1));
  MP_ASSERT_OK(mp_pool_opts_set_workers(F.opts, 1));
  MP_ASSERT_OK(mp_pool_new(&F.pool, F.opts));
  MP_ASSERT_OK(mp_pool_new(&F.closed_pool, F.opts));
  MP_ASSERT_OK(mp_pool_opts_new(&F.opts_passed));
  MP_ASSERT_OK(mp_pool_opts_set_threads(F.opts_passed, 1));
  MP_ASSERT_OK(mp_pool_opts_pass_queue(F.opts_passed, "q1", F.queue));
  MP_ASSERT_OK(mp_process_pass_queue(F.unstarted, "q1", F.queue));
  MP_ASSERT_OK(mp_pool_close(F.closed_pool));
  MP_ASSERT_OK(mp_pool_apply_async(&F.result, F.pool, "bad_echo", "r", 1, NULL, NULL, NULL));
  MP_ASSERT_OK(mp_result_wait(F.result, 30000));
  MP_ASSERT_OK(mp_pool_imap(&F.imap, F.pool, "bad_echo", k_args, k_arg_lens, 2, 0, 0));
  MP_ASSERT_OK(mp_cancel_new(&F.cancel));
  MP_ASSERT_OK(mp_broker_opts_new(&F.bopts));
  MP_ASSERT_OK(mp_listener_opts_new(&F.lopts));
  char addr[64];
  snprintf(addr, sizeof addr, "unix:@mp-badinput-%d", (int)getpid());
  MP_ASSERT_OK(mp_listener_new(&F.listener, addr, NULL));
  snprintf(addr, sizeof addr, "unix:@mp-badinput-closed-%d", (int)getpid());
  MP_ASSERT_OK(mp_listener_new(&F.closed_listener, addr, NULL));
  MP_ASSERT_OK(mp_listener_close(F.closed_listener));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  mp_broker_opts_free(F.bopts);
  mp_listener_free(F.closed_listener);
  mp_listener_free(F.listener);
  mp_listener_opts_free(F.lopts);
  mp_cancel_free(F.cancel);
  mp_iter_free(F.imap);
  mp_result_free(F.result);
  mp_pool_free(F.closed_pool);
  mp_pool_free(F.pool);
  mp_pool_opts_free(F.opts);
  mp_pool_opts_free(F.opts_passed);
  mp_dict_iter_free(F.iter);
  mp_dict_free(F.dict);
  mp_value_free(F.v_shared);
  mp_value_free(F.v_rec);
  mp_value_free(F.v_bool);
  mp_value_free(F.v_locked);
  mp_value_free(F.v_bytes);
  mp_value_free(F.v_f64);
  mp_value_free(F.v_i32);
  mp_shm_free(F.shm);
  mp_barrier_free(F.barrier);
  mp_cond_free(F.cond);
  mp_event_free(F.event);
  mp_sem_free(F.bsem);
  mp_lock_free(F.rlock);
  mp_lock_free(F.lock);
  mp_queue_free(F.jqueue);
  mp_queue_free(F.closed_queue);
  mp_queue_free(F.queue);
  mp_conn_free(F.closed_conn);
  mp_conn_free(F.w);
  mp_conn_free(F.r);
  mp_conn_free(F.b);
  mp_conn_free(F.a);
  mp_stop_free(F.stop_full);
  mp_stop_free(F.stop);
  mp_process_free(F.done);
  mp_process_free(F.unstarted);
  mp_cmd_free(F.cmd_passed);
  mp_cmd_free(F.cmd_missing);
  mp_cmd_free(F.cmd);
  close(F.devnull);
  memset(&F, 0, sizeof F);
  return 0;
}

/* ------------------------------------------------------------------------
 * Tests: one per header, then coverage and leaks
 * ---------------------------------------------------------------------- */

#define ROWS_TEST(group)                                   \
  static void test_badinput_##group(void **state) {        \
    (void)state;                                           \
    run_rows(k_##group, sizeof k_##group / sizeof k_##group[0]); \
  }
ROWS_TEST(core)
ROWS_TEST(cmd)
ROWS_TEST(process)
ROWS_TEST(conn)
ROWS_TEST(queue)
ROWS_TEST(sync)
ROWS_TEST(dict)
ROWS_TEST(pool)
ROWS_TEST(broker)
ROWS_TEST(listener)

/* The first mp_ name in a row's expression: the function it exercises. */
static int row_calls(const struct row *r, const char *fn) {
  const char *p = strstr(r->expr, "mp_");
  if (!p) return 0;
  size_t n = strlen(fn);
  return strncmp(p, fn, n) == 0 && p[n] == '(';
}

/* Every function declared in the public headers has at least one row. */
static void test_badinput_every_function_has_a_row(void **state) {
  (void)state;
  const char *dir = getenv("MP_INCLUDE_DIR");
  if (!dir) fail_msg("MP_INCLUDE_DIR is not set; run the tests with meson test");
  static const char *headers[] = {"core", "command", "process", "queue",  "ipc",     "sync",
                                  "shared", "dict", "pool",    "broker", "listener"};
  int declared = 0, missing = 0;
  for (size_t h = 0; h < sizeof headers / sizeof headers[0]; h++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/multiproc/%s.h", dir, headers[h]);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot open %s", path);
    char line[1024];
    while (fgets(line, sizeof line, f)) {
      if (strncmp(line, "MP_EXTERN ", 10) != 0) continue;
      /* The name is the identifier just before the first '('. */
      char *paren = strchr(line, '(');
      if (!paren) continue;
      *paren = '\0';
      char *name = paren;
      while (name > line && (isalnum((unsigned char)name[-1]) || name[-1] == '_')) name--;
      declared++;
      int found = 0;
      for (size_t t = 0; t < N_TABLES && !found; t++)
        for (size_t i = 0; i < k_tables[t].n && !found; i++)
          found = row_calls(&k_tables[t].rows[i], name);
      if (!found) {
        missing++;
        print_error("no bad-input row calls %s\n", name);
      }
    }
    fclose(f);
  }
  size_t rows = 0;
  for (size_t t = 0; t < N_TABLES; t++) rows += k_tables[t].n;
  print_message("# %d public functions, %zu bad-input rows\n", declared, rows);
  assert_true(declared >= 190);
  assert_int_equal(missing, 0);
}

/* Nothing the rows did left a descriptor or a thread behind (checked
 * after teardown; the warm-up child's exit watch is in both counts). */
static void test_badinput_no_descriptor_leaked(void **state) {
  (void)state;
  teardown(NULL);
  assert_int_equal(count_open_fds(), g_fds_before);
  assert_int_equal(count_threads(), g_threads_before);
  setup(NULL);
}

int main(int argc, char **argv) {
  mp_register("bad_noop", noop_target, NULL);
  mp_register_task("bad_echo", echo_task, NULL);
  mp_main(argc, argv);
  /* The library's runtime thread opens its descriptors once, lazily:
   * start it before taking the baseline. */
  mp_process_t *warm = NULL;
  if (mp_process_new(&warm, "bad_noop", NULL, 0) != MP_OK || mp_process_start(warm) != MP_OK ||
      mp_process_join(warm, 30000) != MP_OK)
    return 1;
  mp_process_free(warm);
  g_fds_before = count_open_fds();
  g_threads_before = count_threads();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_badinput_core),
      cmocka_unit_test(test_badinput_cmd),
      cmocka_unit_test(test_badinput_process),
      cmocka_unit_test(test_badinput_conn),
      cmocka_unit_test(test_badinput_queue),
      cmocka_unit_test(test_badinput_sync),
      cmocka_unit_test(test_badinput_dict),
      cmocka_unit_test(test_badinput_pool),
      cmocka_unit_test(test_badinput_broker),
      cmocka_unit_test(test_badinput_listener),
      cmocka_unit_test(test_badinput_every_function_has_a_row),
      cmocka_unit_test(test_badinput_no_descriptor_leaked),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
