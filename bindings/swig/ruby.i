/* Ruby part of the SWIG interface (included by multiproc.i under SWIGRUBY).
 *
 * The generated module, Multiproc::Native, is private: the hand-written
 * layer in bindings/ruby/lib turns it into idiomatic Ruby. Conventions of
 * this layer, which the Ruby code relies on:
 *
 * - A function keeps its C return value (0 or a negative MP_E* code, or a
 *   count); its out-parameters come after it, so a call with outputs
 *   returns [rc, out1, ...] (SWIG's usual multiple-output array).
 * - Byte buffers in: a Ruby String (or nil for NULL, length 0). Byte
 *   buffers out: a binary (ASCII-8BIT) String, or nil when the library
 *   gave NULL; library buffers are released with mp_free() here.
 * - Handles out (T **out): a SWIG pointer object, or nil.
 * - Blocking calls release the GVL and are woken by Ruby's unblock
 *   function (Thread#kill, Thread#raise, Timeout) through a per-thread
 *   cancel token; see mp_rb_blocking below.
 * - Callbacks of the library never call Ruby on a library thread: pool
 *   completions are written to a pipe that a Ruby thread reads.
 *
 * Built as C++ (swig -c++) for the lambda in the blocking helper.
 */

%{
#include <ruby.h>
#include <ruby/thread.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* ---------------------------------------------------------------------
 * Blocking calls without the GVL, woken by Ruby's interrupts
 * ------------------------------------------------------------------- */

/* One cancel token per Ruby thread (Ruby 3.1 threads are OS threads),
 * created on first use and freed when the thread ends. */
struct mp_rb_token {
  mp_cancel_t *tok = nullptr;
  ~mp_rb_token() { mp_cancel_free(tok); }
};
static thread_local mp_rb_token mp_rb_tls_token;

static mp_cancel_t *mp_rb_thread_token(void) {
  if (!mp_rb_tls_token.tok && mp_cancel_new(&mp_rb_tls_token.tok) < 0)
    rb_raise(rb_eNoMemError, "multiproc: no cancel token: %s", mp_last_error());
  return mp_rb_tls_token.tok;
}

static int64_t mp_rb_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Modes of mp_rb_blocking. */
enum {
  /* After a wake-up with no Ruby interrupt pending (e.g. a signal trap ran),
   * call again with the remaining time: only for calls where a canceled
   * call changed nothing (get, put, acquire, wait, join, ...). */
  MP_RB_RETRY = 1,
  /* First try with timeout 0 while holding the GVL (no thread switch when
   * the call would not block): only where timeout 0 is a harmless try. */
  MP_RB_TRY_FIRST = 2,
  /* The call waits on a pool result: its wait registers the token under
   * a mutex, so firing it from a signal handler on this very thread could
   * deadlock; Ruby then uses its own unblock thread for signals. */
  MP_RB_NOT_SIGNAL_SAFE = 4
};

struct mp_rb_call {
  void (*invoke)(void *);
  void *action;
  mp_cancel_t *token;
};

template <class F> static void mp_rb_invoke(void *action) { (*static_cast<F *>(action))(); }

static void *mp_rb_nogvl(void *p) {
  mp_rb_call *c = static_cast<mp_rb_call *>(p);
  mp_cancel_t *prev = mp_cancel_bind(c->token);
  c->invoke(c->action);
  mp_cancel_bind(prev);
  return nullptr;
}

/* Ruby's unblock function: runs on the interrupting thread. */
static void mp_rb_ubf(void *token) { mp_cancel_fire(static_cast<mp_cancel_t *>(token)); }

/* Run action (which stores the C call's code in result) without the GVL.
 * timeout points at the call's timeout argument (NULL: the call has none).
 * A wake-up by Ruby (the token fired) ends in rb_thread_check_ints(), which
 * raises (Thread#kill, Thread#raise, Timeout); if nothing was pending the
 * call is retried with the remaining time (MP_RB_RETRY) or reports
 * MP_ECANCELED. */
template <class F>
static void mp_rb_blocking(int &result, int64_t *timeout, int mode, F &&action) {
  if (timeout && *timeout == 0) { /* a try never blocks: keep the GVL */
    action();
    return;
  }
  if ((mode & MP_RB_TRY_FIRST) && timeout) {
    int64_t want = *timeout;
    *timeout = 0;
    action();
    *timeout = want;
    if (result != MP_EEMPTY && result != MP_EFULL && result != MP_ETIMEDOUT) return;
  }
  mp_cancel_t *token = mp_rb_thread_token();
  int64_t deadline = (timeout && *timeout > 0) ? mp_rb_now_ms() + *timeout : -1;
  for (;;) {
    mp_rb_call call = {mp_rb_invoke<F>, &action, token};
    result = MP_ECANCELED; /* if Ruby raises before the call runs */
    /* Firing a token is async-signal-safe (atomic store, futex wake,
     * eventfd write) except for pool-result waits: saying so spares the
     * main thread an unblock thread that Ruby would start per call. */
    int flags = (mode & MP_RB_NOT_SIGNAL_SAFE) ? 0 : RB_NOGVL_UBF_ASYNC_SAFE;
    rb_nogvl(mp_rb_nogvl, &call, mp_rb_ubf, token, flags);
    if (result != MP_ECANCELED || mp_cancel_fired(token) != 1) return;
    mp_cancel_reset(token);
    rb_thread_check_ints(); /* raises if an interrupt is pending */
    if (!(mode & MP_RB_RETRY)) return;
    if (deadline >= 0) {
      int64_t left = deadline - mp_rb_now_ms();
      *timeout = left > 0 ? left : 0;
    }
  }
}

/* ---------------------------------------------------------------------
 * Targets and tasks: the library calls them on the main thread inside
 * mp_main() (GVL held), so they may call Ruby; exceptions are contained.
 * ------------------------------------------------------------------- */

struct mp_rb_dispatch_args {
  ID method;
  VALUE name;
  VALUE arg;
};

static VALUE mp_rb_dispatch_body(VALUE p) {
  mp_rb_dispatch_args *a = reinterpret_cast<mp_rb_dispatch_args *>(p);
  VALUE mod = rb_const_get(rb_cObject, rb_intern("Multiproc"));
  return rb_funcall(mod, a->method, 2, a->name, a->arg);
}

/* Call Multiproc.<method>(name, arg) under rb_protect; *failed is set if
 * it raised (the exception is left in $! for the caller to report). */
static VALUE mp_rb_dispatch(const char *method, const char *name, const void *arg,
                            size_t arg_len, int *failed) {
  mp_rb_dispatch_args a = {rb_intern(method), rb_str_new_cstr(name),
                           rb_str_new(static_cast<const char *>(arg), (long)arg_len)};
  VALUE r = rb_protect(mp_rb_dispatch_body, reinterpret_cast<VALUE>(&a), failed);
  if (*failed) rb_set_errinfo(Qnil);
  return r;
}

static int mp_rb_target(const void *arg, size_t arg_len, void *payload) {
  int failed = 0;
  VALUE r = mp_rb_dispatch("__run_target", static_cast<const char *>(payload), arg,
                           arg_len, &failed);
  return failed || !FIXNUM_P(r) ? 1 : FIX2INT(r);
}

static int mp_rb_task(void **out, size_t *out_len, const void *arg, size_t arg_len,
                      void *payload) {
  int failed = 0;
  VALUE r = mp_rb_dispatch("__run_task", static_cast<const char *>(payload), arg,
                           arg_len, &failed);
  /* __run_task returns [ok, bytes]: the result, or the error message. */
  if (failed || !RB_TYPE_P(r, T_ARRAY) || RARRAY_LEN(r) != 2) return 1;
  VALUE bytes = rb_ary_entry(r, 1);
  if (RB_TYPE_P(bytes, T_STRING) && RSTRING_LEN(bytes) > 0) {
    *out_len = (size_t)RSTRING_LEN(bytes);
    *out = malloc(*out_len);
    if (!*out) return 1;
    memcpy(*out, RSTRING_PTR(bytes), *out_len);
  }
  return RTEST(rb_ary_entry(r, 0)) ? 0 : 1;
}

/* ---------------------------------------------------------------------
 * Pool completions: the callback thread writes the result's address to a
 * pipe; the Ruby layer's callback thread reads it and runs the blocks.
 * ------------------------------------------------------------------- */

static int mp_rb_notify_fd = -1;

static void mp_rb_notify(mp_result_t *result, void *payload) {
  (void)payload;
  uint64_t addr = (uint64_t)(uintptr_t)result;
  const char *p = reinterpret_cast<const char *>(&addr);
  size_t left = sizeof addr;
  while (left > 0) { /* 8 bytes < PIPE_BUF: one write is atomic */
    ssize_t w = write(mp_rb_notify_fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w, left -= (size_t)w;
  }
}
%}

/* ---------------------------------------------------------------------
 * Typemaps
 * ------------------------------------------------------------------- */

/* Bytes in: a String, or nil for (NULL, 0). */
%typemap(in) (const void *buf, size_t len) {
  if (NIL_P($input)) {
    $1 = NULL;
    $2 = 0;
  } else {
    Check_Type($input, T_STRING);
    $1 = (void *)RSTRING_PTR($input);
    $2 = (size_t)RSTRING_LEN($input);
  }
}
%typemap(typecheck) (const void *buf, size_t len) {
  $1 = NIL_P($input) || RB_TYPE_P($input, T_STRING);
}
%apply (const void *buf, size_t len) {
  (const void *arg, size_t arg_len), (const void *input, size_t input_len),
  (const void *key, size_t key_len), (const void *value, size_t value_len),
  (const void *expected, size_t expected_len), (const void *desired, size_t desired_len)
};

/* Bytes out, allocated by the library: a binary String (nil for NULL). */
%typemap(in, numinputs=0) (void **out, size_t *out_len) (void *buf = NULL, size_t len = 0) {
  $1 = &buf;
  $2 = &len;
}
%typemap(argout) (void **out, size_t *out_len) {
  $result = SWIG_Ruby_AppendOutput($result, buf$argnum ? rb_str_new((const char *)buf$argnum, (long)len$argnum) : Qnil);
  mp_free(buf$argnum);
}
%apply (void **out, size_t *out_len) { (void **err, size_t *err_len) };

/* Bytes out, owned by the library object: copied into a binary String. */
%typemap(in, numinputs=0) (const void **data, size_t *len) (const void *buf = NULL, size_t len = 0) {
  $1 = ($1_ltype)&buf;
  $2 = &len;
}
%typemap(argout) (const void **data, size_t *len) {
  $result = SWIG_Ruby_AppendOutput($result, buf$argnum ? rb_str_new((const char *)buf$argnum, (long)len$argnum) : Qnil);
}
%apply (const void **data, size_t *len) { (const void **key, size_t *key_len), (const void **value, size_t *value_len) };

/* Scalars out. */
%typemap(in, numinputs=0) int64_t *OUT_I64 (int64_t v = 0) { $1 = &v; }
%typemap(argout) int64_t *OUT_I64 { $result = SWIG_Ruby_AppendOutput($result, LL2NUM(v$argnum)); }
%apply int64_t *OUT_I64 { int64_t *out, int64_t *actual };
%typemap(in, numinputs=0) uint64_t *out (uint64_t v = 0) { $1 = &v; }
%typemap(argout) uint64_t *out { $result = SWIG_Ruby_AppendOutput($result, ULL2NUM(v$argnum)); }
%typemap(in, numinputs=0) double *out (double v = 0) { $1 = &v; }
%typemap(argout) double *out { $result = SWIG_Ruby_AppendOutput($result, rb_float_new(v$argnum)); }
%typemap(in, numinputs=0) int *OUT_INT (int v = 0) { $1 = &v; }
%typemap(argout) int *OUT_INT { $result = SWIG_Ruby_AppendOutput($result, INT2NUM(v$argnum)); }
%apply int *OUT_INT { int *out, int *exitcode };
%typemap(in, numinputs=0) size_t *index (size_t v = 0) { $1 = &v; }
%typemap(argout) size_t *index { $result = SWIG_Ruby_AppendOutput($result, SIZET2NUM(v$argnum)); }

/* Handles out: a SWIG pointer object, or nil. */
%define MP_RB_HANDLE_OUT(T)
%typemap(in, numinputs=0) T **out (T *h = NULL), T **a_out (T *h = NULL), T **b_out (T *h = NULL) { $1 = &h; }
%typemap(argout) T **out, T **a_out, T **b_out {
  $result = SWIG_Ruby_AppendOutput($result, h$argnum ? SWIG_NewPointerObj(h$argnum, $*1_descriptor, 0) : Qnil);
}
%enddef
MP_RB_HANDLE_OUT(mp_cmd_t)
MP_RB_HANDLE_OUT(mp_process_t)
MP_RB_HANDLE_OUT(mp_stop_t)
MP_RB_HANDLE_OUT(mp_conn_t)
MP_RB_HANDLE_OUT(mp_queue_t)
MP_RB_HANDLE_OUT(mp_lock_t)
MP_RB_HANDLE_OUT(mp_sem_t)
MP_RB_HANDLE_OUT(mp_event_t)
MP_RB_HANDLE_OUT(mp_cond_t)
MP_RB_HANDLE_OUT(mp_barrier_t)
MP_RB_HANDLE_OUT(mp_shm_t)
MP_RB_HANDLE_OUT(mp_value_t)
MP_RB_HANDLE_OUT(mp_dict_t)
MP_RB_HANDLE_OUT(mp_dict_iter_t)
MP_RB_HANDLE_OUT(mp_pool_opts_t)
MP_RB_HANDLE_OUT(mp_pool_t)
MP_RB_HANDLE_OUT(mp_result_t)
MP_RB_HANDLE_OUT(mp_iter_t)

/* A list of argument Strings for the pool's map/imap. The Ruby Array is
 * kept alive by the wrapper's argument for the whole call. */
%typemap(in) (const void *const *args, const size_t *arg_lens, size_t n) {
  Check_Type($input, T_ARRAY);
  size_t n = (size_t)RARRAY_LEN($input);
  void **ptrs = (void **)calloc(n ? n : 1, sizeof(void *));
  size_t *lens = (size_t *)calloc(n ? n : 1, sizeof(size_t));
  if (!ptrs || !lens) {
    free(ptrs);
    free(lens);
    rb_raise(rb_eNoMemError, "multiproc: argument list");
  }
  for (size_t i = 0; i < n; ++i) {
    VALUE s = rb_ary_entry($input, (long)i);
    if (!RB_TYPE_P(s, T_STRING)) {
      free(ptrs);
      free(lens);
      rb_raise(rb_eTypeError, "multiproc: every argument must be a String");
    }
    ptrs[i] = RSTRING_PTR(s);
    lens[i] = (size_t)RSTRING_LEN(s);
  }
  $1 = ($1_ltype)ptrs;
  $2 = ($2_ltype)lens;
  $3 = n;
}
%typemap(freearg) (const void *const *args, const size_t *arg_lens, size_t n) {
  free((void *)$1);
  free((void *)$2);
}

/* ---------------------------------------------------------------------
 * Blocking calls: released GVL, woken by Ruby interrupts
 * ------------------------------------------------------------------- */

%define MP_RB_BLOCKING(func, timeout_arg, mode)
%exception func {
  mp_rb_blocking(result, timeout_arg, mode, [&]() { $action });
}
%enddef

MP_RB_BLOCKING(mp_process_join, &arg2, MP_RB_RETRY)
MP_RB_BLOCKING(mp_process_stop, (int64_t *)NULL, 0)
MP_RB_BLOCKING(mp_process_write, &arg4, 0)
MP_RB_BLOCKING(mp_process_communicate, &arg8, 0)
MP_RB_BLOCKING(mp_run, &arg9, 0)
MP_RB_BLOCKING(mp_process_spawn, (int64_t *)NULL, 0)
MP_RB_BLOCKING(mp_process_start, (int64_t *)NULL, 0)
MP_RB_BLOCKING(mp_conn_send, &arg4, 0)
MP_RB_BLOCKING(mp_conn_recv, &arg4, MP_RB_RETRY)
MP_RB_BLOCKING(mp_conn_poll, &arg2, MP_RB_RETRY)
MP_RB_BLOCKING(mp_queue_put, &arg4, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_queue_get, &arg4, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_queue_join, &arg2, MP_RB_RETRY)
MP_RB_BLOCKING(mp_lock_acquire, &arg2, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_sem_acquire, &arg2, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_event_wait, &arg2, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_cond_wait, &arg2, MP_RB_RETRY)
MP_RB_BLOCKING(mp_barrier_wait, &arg2, 0)
MP_RB_BLOCKING(mp_value_acquire, &arg2, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_pool_new, (int64_t *)NULL, 0)
MP_RB_BLOCKING(mp_pool_join, &arg2, MP_RB_RETRY | MP_RB_NOT_SIGNAL_SAFE)
MP_RB_BLOCKING(mp_pool_terminate, (int64_t *)NULL, 0)
MP_RB_BLOCKING(mp_iter_next, &arg5, MP_RB_RETRY | MP_RB_TRY_FIRST | MP_RB_NOT_SIGNAL_SAFE)
MP_RB_BLOCKING(mp_result_get, &arg4, MP_RB_RETRY | MP_RB_TRY_FIRST | MP_RB_NOT_SIGNAL_SAFE)
MP_RB_BLOCKING(mp_result_wait, &arg2, MP_RB_RETRY | MP_RB_TRY_FIRST | MP_RB_NOT_SIGNAL_SAFE)
MP_RB_BLOCKING(mp_rb_process_read, &arg6, MP_RB_RETRY)

/* Replaced by the helpers below (callbacks, argv, caller buffers) or not
 * useful from Ruby. */
%ignore mp_register;
%ignore mp_register_task;
%ignore mp_main;
%ignore mp_pool_apply;
%ignore mp_pool_apply_async;
%ignore mp_pool_map_async;
%ignore mp_pool_map;
%ignore mp_process_read;
%ignore mp_conn_recv_into;
%ignore mp_queue_get_into;
%ignore mp_dict_get_into;
%ignore mp_value_get_bytes;
%ignore mp_shm_data;
%ignore mp_cancel_bind;
%ignore mp_target_fn;
%ignore mp_task_fn;
%ignore mp_result_cb;

%inline %{
/* Register a Ruby target / pool task by name; the Ruby layer keeps the
 * block and the library calls back Multiproc.__run_target/__run_task. */
int mp_rb_register(const char *name) {
  char *copy = name ? strdup(name) : NULL;
  int rc = copy ? mp_register(name, mp_rb_target, copy) : MP_EINVAL;
  if (rc < 0) free(copy);
  return rc;
}

int mp_rb_register_task(const char *name) {
  char *copy = name ? strdup(name) : NULL;
  int rc = copy ? mp_register_task(name, mp_rb_task, copy) : MP_EINVAL;
  if (rc < 0) free(copy);
  return rc;
}

/* mp_main() with an Array of Strings (the ruby command line to re-execute).
 * In a spawned child it runs the target and never returns. */
int mp_rb_main(VALUE argv) {
  Check_Type(argv, T_ARRAY);
  long n = RARRAY_LEN(argv);
  char **cargv = (char **)calloc((size_t)n + 1, sizeof(char *));
  if (!cargv) return MP_ENOMEM;
  for (long i = 0; i < n; ++i) cargv[i] = StringValueCStr(RARRAY_PTR(argv)[i]);
  int rc = mp_main((int)n, cargv); /* copies argv */
  free(cargv);
  return rc;
}

/* In a child forked by Ruby for a daemon Process: die (SIGKILL) when the
 * parent dies. Linux: PR_SET_PDEATHSIG, then a check that the parent did
 * not die before it was armed. Elsewhere MP_ENOTSUP. */
int mp_rb_die_with_parent(int parent_pid) {
#ifdef __linux__
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return MP_ESYS;
  if (getppid() != parent_pid) _exit(1);
  return MP_OK;
#else
  (void)parent_pid;
  return MP_ENOTSUP;
#endif
}

/* The descriptor pool completions are written to (see mp_rb_notify). */
void mp_rb_set_notify_fd(int fd) { mp_rb_notify_fd = fd; }

/* apply_async / map_async; with notify = 1 the result's address is written
 * to the notify descriptor when it finishes. */
int mp_rb_apply_async(mp_result_t **out, mp_pool_t *pool, const char *task,
                      const void *arg, size_t arg_len, int notify) {
  mp_result_cb cb = notify ? mp_rb_notify : NULL;
  return mp_pool_apply_async(out, pool, task, arg, arg_len, cb, cb, NULL);
}

int mp_rb_map_async(mp_result_t **out, mp_pool_t *pool, const char *task,
                    const void *const *args, const size_t *arg_lens, size_t n,
                    size_t chunksize, int notify) {
  mp_result_cb cb = notify ? mp_rb_notify : NULL;
  return mp_pool_map_async(out, pool, task, args, arg_lens, n, chunksize, cb, cb, NULL);
}

/* The address of a result, to match the notify pipe's records. */
uint64_t mp_rb_result_addr(mp_result_t *result) { return (uint64_t)(uintptr_t)result; }

/* Every item of a finished result as [status, bytes] pairs, in one call
 * (map results without a Ruby call per item into C). */
VALUE mp_rb_result_items(mp_result_t *result) {
  int n = mp_result_count(result);
  if (n < 0) return INT2NUM(n);
  VALUE list = rb_ary_new_capa(n);
  for (int i = 0; i < n; ++i) {
    const void *data = NULL;
    size_t len = 0;
    int rc = mp_result_item(&data, &len, result, (size_t)i);
    if (rc == MP_EINVAL || rc == MP_ESTATE) return INT2NUM(rc);
    VALUE s = data ? rb_str_new((const char *)data, (long)len) : Qnil;
    rb_ary_push(list, rb_assoc_new(INT2NUM(rc), s));
  }
  return list;
}

/* Read up to max bytes from a child's stdout or stderr pipe. */
int mp_rb_process_read(void **out, size_t *out_len, mp_process_t *proc, mp_stream_t stream,
                       size_t max, int64_t timeout_ms) {
  *out = max ? malloc(max) : NULL;
  if (!*out) return max ? MP_ENOMEM : MP_EINVAL;
  int rc = mp_process_read(out_len, proc, stream, *out, max, timeout_ms);
  if (rc < 0) {
    free(*out);
    *out = NULL;
    *out_len = 0;
  }
  return rc;
}

/* mp_process_communicate() as [rc, stdout, stderr], resumed after a
 * wake-up that raised nothing (a signal such as SIGCHLD makes Ruby call
 * the unblock function): the canceled call closed stdin and returned what
 * it had read, so the next round reads on with no input. */
VALUE mp_rb_communicate(mp_process_t *proc, VALUE input, int64_t timeout_ms) {
  if (!NIL_P(input)) Check_Type(input, T_STRING);
  VALUE out = Qnil, err = Qnil;
  mp_cancel_t *token = mp_rb_thread_token();
  int64_t deadline = timeout_ms > 0 ? mp_rb_now_ms() + timeout_ms : -1;
  int rc;
  for (;;) {
    void *o = NULL, *e = NULL;
    size_t olen = 0, elen = 0;
    const void *in = NIL_P(input) ? NULL : RSTRING_PTR(input);
    size_t in_len = NIL_P(input) ? 0 : (size_t)RSTRING_LEN(input);
    auto action = [&]() {
      rc = mp_process_communicate(&o, &olen, &e, &elen, proc, in, in_len, timeout_ms);
    };
    rc = MP_ECANCELED;
    mp_rb_call call = {mp_rb_invoke<decltype(action)>, &action, token};
    rb_nogvl(mp_rb_nogvl, &call, mp_rb_ubf, token, RB_NOGVL_UBF_ASYNC_SAFE);
    if (o) out = NIL_P(out) ? rb_str_new((const char *)o, (long)olen) : rb_str_cat(out, (const char *)o, (long)olen);
    if (e) err = NIL_P(err) ? rb_str_new((const char *)e, (long)elen) : rb_str_cat(err, (const char *)e, (long)elen);
    mp_free(o);
    mp_free(e);
    if (rc != MP_ECANCELED || mp_cancel_fired(token) != 1) break;
    mp_cancel_reset(token);
    rb_thread_check_ints(); /* raises if an interrupt is pending */
    input = Qnil;
    if (deadline >= 0) {
      int64_t left = deadline - mp_rb_now_ms();
      timeout_ms = left > 0 ? left : 0;
    }
  }
  return rb_ary_new_from_args(3, INT2NUM(rc), out, err);
}

/* The bytes of an MP_TYPE_BYTES value. */
int mp_rb_value_get_bytes(void **out, size_t *out_len, mp_value_t *value) {
  size_t cap = mp_value_count(value);
  *out = malloc(cap ? cap : 1);
  if (!*out) return MP_ENOMEM;
  int rc = mp_value_get_bytes(out_len, value, *out, cap);
  if (rc < 0) {
    free(*out);
    *out = NULL;
    *out_len = 0;
  }
  return rc;
}

/* Copy len bytes at offset out of a shared-memory block. */
int mp_rb_shm_read(void **out, size_t *out_len, mp_shm_t *shm, size_t offset, size_t len) {
  size_t size = mp_shm_size(shm);
  char *base = (char *)mp_shm_data(shm);
  if (!base || offset > size || len > size - offset) return MP_EINVAL;
  *out = malloc(len ? len : 1);
  if (!*out) return MP_ENOMEM;
  memcpy(*out, base + offset, len);
  *out_len = len;
  return MP_OK;
}

/* Copy the bytes of buf into a shared-memory block at offset. */
int mp_rb_shm_write(mp_shm_t *shm, size_t offset, const void *buf, size_t len) {
  size_t size = mp_shm_size(shm);
  char *base = (char *)mp_shm_data(shm);
  if (!base || offset > size || len > size - offset) return MP_EINVAL;
  if (len) memcpy(base + offset, buf, len);
  return MP_OK;
}
%}

%inline %{
/* mp_queue_get_into() into the String buf, whose bytesize is the room:
 * [rc, len]. On MP_OK the message is the first len bytes of buf; on
 * MP_ENOSPC len is the size needed and the message stays queued. The
 * library writes into a buffer of ours (freed by the GC, also when a
 * Ruby interrupt raises out of the wait), so the String is only touched
 * with the GVL held. */
VALUE mp_rb_queue_get_into(mp_queue_t *queue, VALUE buf, int64_t timeout_ms) {
  Check_Type(buf, T_STRING);
  rb_str_modify(buf); /* FrozenError before anything is taken */
  size_t cap = (size_t)RSTRING_LEN(buf), len = 0;
  VALUE tmp_v;
  char *tmp = ALLOCV_N(char, tmp_v, cap ? cap : 1);
  int rc;
  mp_rb_blocking(rc, &timeout_ms, MP_RB_RETRY | MP_RB_TRY_FIRST, [&]() {
    rc = mp_queue_get_into(&len, queue, tmp, cap, timeout_ms);
  });
  if (rc == MP_OK) {
    rb_str_modify(buf);
    if ((size_t)RSTRING_LEN(buf) < len) rb_str_resize(buf, (long)len); /* shrunk meanwhile */
    memcpy(RSTRING_PTR(buf), tmp, len);
  }
  ALLOCV_END(tmp_v);
  return rb_ary_new_from_args(2, INT2FIX(rc), SIZET2NUM(len));
}
%}
