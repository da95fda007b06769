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
#include <ruby/encoding.h>
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

/* This thread's token, unfired. A fire can outlive the call it was meant
 * for (Ruby may call the unblock function just as the call returns), and
 * the token with it: Ruby 3.1 runs new Ruby threads on the cached OS
 * threads of ended ones, and a forked child keeps its parent's thread
 * state, so a stale fire would cancel the next wait at once. Clearing it
 * before each wait is safe: a real interrupt that comes before the unblock
 * function is set is seen by rb_nogvl's own check. */
static mp_cancel_t *mp_rb_thread_token(void) {
  if (!mp_rb_tls_token.tok && mp_cancel_new(&mp_rb_tls_token.tok) < 0)
    rb_raise(rb_eNoMemError, "multiproc: no cancel token: %s", mp_last_error());
  if (mp_cancel_fired(mp_rb_tls_token.tok) == 1) mp_cancel_reset(mp_rb_tls_token.tok);
  return mp_rb_tls_token.tok;
}

static int64_t mp_rb_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* For a call that makes several C calls under one timeout: the timeout
 * left of deadline (an mp_rb_now_ms() time; -1: none, *timeout is kept). */
static void mp_rb_time_left(int64_t deadline, int64_t *timeout) {
  if (deadline < 0) return;
  int64_t left = deadline - mp_rb_now_ms();
  *timeout = left > 0 ? left : 0;
}

/* Modes of mp_rb_blocking. */
enum {
  /* After a wake-up with no Ruby interrupt pending (e.g. a signal trap ran),
   * call again with the remaining time: only for calls where a canceled
   * call changed nothing (get, put, acquire, wait, join, ...). */
  MP_RB_RETRY = 1,
  /* First try with timeout 0 while holding the GVL (no thread switch when
   * the call would not block): only where timeout 0 is a harmless try. */
  MP_RB_TRY_FIRST = 2
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

/* Ruby's unblock function: runs on the interrupting thread, or, when the
 * main thread is Ruby's only thread, inside Ruby's signal handler on
 * whatever thread the signal landed (a pool's dispatcher, the library's
 * loop thread, a worker thread), which may hold a library lock at that
 * moment. mp_cancel_fire is async-signal-safe for that reason (an atomic
 * store, a futex wake, an eventfd write; no lock). */
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
    /* Firing a token is async-signal-safe, for every call: saying so
     * spares the main thread an unblock thread that Ruby would start per
     * call. (Ruby 3.1 may call the unblock function from a signal handler
     * even when a call did not say so: the handler reads the VM's "async
     * safe" flag, set by an earlier call, and the unblock function of the
     * current call separately.) */
    rb_nogvl(mp_rb_nogvl, &call, mp_rb_ubf, token, RB_NOGVL_UBF_ASYNC_SAFE);
    if (result != MP_ECANCELED || mp_cancel_fired(token) != 1) return;
    mp_cancel_reset(token);
    rb_thread_check_ints(); /* raises if an interrupt is pending */
    if (!(mode & MP_RB_RETRY)) return;
    if (deadline >= 0) {
      int64_t left = deadline - mp_rb_now_ms();
      if (left <= 0) { /* a retry now would be a try: EEMPTY/EFULL, not the truth */
        result = MP_ETIMEDOUT;
        return;
      }
      *timeout = left;
    }
  }
}

/* ---------------------------------------------------------------------
 * Fast paths: handles and the pool codec without SWIG's per-call costs
 * ------------------------------------------------------------------- */

/* The C pointer inside a SWIG handle object of type ty. SWIG's own check
 * looks up an instance variable by name and compares type names on every
 * call; every object of one SWIG pointer class was made by
 * SWIG_NewPointerObj with one type, so once SWIG accepted an object its
 * class is remembered in *klass (pinned: a registered address) and the
 * next objects of that class need only a compare. */
static void *mp_rb_unwrap(VALUE obj, swig_type_info *ty, VALUE *klass) {
  if (!SPECIAL_CONST_P(obj) && RBASIC_CLASS(obj) == *klass) return DATA_PTR(obj);
  void *p = NULL;
  if (NIL_P(obj) || !SWIG_IsOK(SWIG_ConvertPtr(obj, &p, ty, 0)))
    rb_raise(rb_eTypeError, "multiproc: not a %s handle", ty->str);
  if (*klass == Qnil) rb_gc_register_address(klass);
  *klass = RBASIC_CLASS(obj);
  return p;
}

/* A timeout argument of the fast paths: Integer milliseconds, nil = forever. */
static int64_t mp_rb_timeout(VALUE ms) { return NIL_P(ms) ? MP_FOREVER : NUM2LL(ms); }

/* The module Multiproc (pinned once found) and the methods the library's
 * callbacks call on it. */
static VALUE mp_rb_module(void) {
  static VALUE mod = Qnil;
  if (NIL_P(mod)) {
    rb_gc_register_address(&mod);
    mod = rb_const_get(rb_cObject, rb_intern("Multiproc"));
  }
  return mod;
}

/* Raise Multiproc.error_for(code, op): the error class of the code, with
 * this thread's detailed message (mp_last_error). */
static void mp_rb_raise_code(int code, const char *op) {
  static ID error_for = rb_intern("error_for");
  rb_exc_raise(rb_funcall(mp_rb_module(), error_for, 2, INT2FIX(code), rb_str_new_cstr(op)));
}

/* Pool arguments and results (Multiproc::Codec): a String (not a
 * subclass) in UTF-8, ASCII-8BIT or US-ASCII travels as a tag byte and its
 * bytes; anything else as Marshal, whose output starts with "\x04", never
 * a tag. The tag of obj, or 0 when it goes through Marshal. */
static char mp_rb_codec_tag(VALUE obj) {
  if (!RB_TYPE_P(obj, T_STRING) || rb_obj_class(obj) != rb_cString) return 0;
  int enc = ENCODING_GET(obj);
  if (enc == rb_utf8_encindex()) return 'u';
  if (enc == rb_ascii8bit_encindex()) return 'b';
  if (enc == rb_usascii_encindex()) return 'a';
  return 0;
}

/* Append obj's encoding to the String buf (may raise: Marshal). */
static void mp_rb_codec_append(VALUE buf, VALUE obj) {
  char tag = mp_rb_codec_tag(obj);
  VALUE bytes = tag ? obj : rb_marshal_dump(obj, Qnil);
  if (tag) rb_str_buf_cat(buf, &tag, 1);
  rb_str_buf_cat(buf, RSTRING_PTR(bytes), RSTRING_LEN(bytes));
  RB_GC_GUARD(bytes);
}

/* The object encoded in bytes (may raise: Marshal). */
static VALUE mp_rb_codec_load_bytes(const char *p, size_t len) {
  if (len > 0) {
    switch (p[0]) {
    case 'u': return rb_utf8_str_new(p + 1, (long)len - 1);
    case 'b': return rb_str_new(p + 1, (long)len - 1);
    case 'a': return rb_usascii_str_new(p + 1, (long)len - 1);
    }
  }
  /* Marshal reads the String as it goes and allocates: keep it alive. */
  VALUE src = rb_str_new(p, (long)len);
  VALUE value = rb_marshal_load(src);
  RB_GC_GUARD(src);
  return value;
}

/* The arguments of a map or imap encoded in one String (Ruby memory only,
 * so a raise, e.g. Marshal of a Proc, leaks nothing); submit(ptrs, lens, n)
 * runs once they stop moving and returns the library's code. With splat,
 * each item is an Array of arguments: "*" and its Marshal (see __run_task). */
template <class F>
static int mp_rb_with_args(VALUE items, int splat, F &&submit) {
  Check_Type(items, T_ARRAY);
  long n = RARRAY_LEN(items);
  VALUE arena = rb_str_buf_new(n * 24), ends_v, ptrs_v, lens_v;
  size_t *ends = ALLOCV_N(size_t, ends_v, n + 1);
  long count = 0;
  /* Marshal may run Ruby code that shortens items: read it as it is. */
  for (; count < n && count < RARRAY_LEN(items); ++count) {
    VALUE item = RARRAY_AREF(items, count);
    if (splat) {
      VALUE bytes = rb_marshal_dump(rb_Array(item), Qnil);
      rb_str_buf_cat(arena, "*", 1);
      rb_str_buf_cat(arena, RSTRING_PTR(bytes), RSTRING_LEN(bytes));
      RB_GC_GUARD(bytes);
    } else {
      mp_rb_codec_append(arena, item);
    }
    ends[count] = (size_t)RSTRING_LEN(arena);
  }
  const void **ptrs = ALLOCV_N(const void *, ptrs_v, count + 1);
  size_t *lens = ALLOCV_N(size_t, lens_v, count + 1);
  const char *base = RSTRING_PTR(arena);
  for (long i = 0; i < count; ++i) {
    size_t start = i ? ends[i - 1] : 0;
    ptrs[i] = base + start;
    lens[i] = ends[i] - start;
  }
  int rc = submit(ptrs, lens, (size_t)count); /* the library copies them */
  RB_GC_GUARD(arena);
  ALLOCV_END(ends_v);
  ALLOCV_END(ptrs_v);
  ALLOCV_END(lens_v);
  return rc;
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
  return rb_funcall(mp_rb_module(), a->method, 2, a->name, a->arg);
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

/* One pool task in a worker: decode the argument, call
 * Multiproc.__run_task(name, value, splat), encode the result. */
struct mp_rb_task_call {
  const char *name;
  const char *arg;
  size_t arg_len;
  char tag;    /* the result's Codec tag, 0: bytes is its Marshal */
  VALUE bytes; /* the result String, or its Marshal */
};

static VALUE mp_rb_task_body(VALUE p) {
  static ID run_task = rb_intern("__run_task");
  mp_rb_task_call *c = reinterpret_cast<mp_rb_task_call *>(p);
  bool splat = c->arg_len > 0 && c->arg[0] == '*'; /* an Array of arguments */
  VALUE value = splat ? mp_rb_codec_load_bytes(c->arg + 1, c->arg_len - 1)
                      : mp_rb_codec_load_bytes(c->arg, c->arg_len);
  VALUE result = rb_funcall(mp_rb_module(), run_task, 3, rb_str_new_cstr(c->name), value,
                            splat ? Qtrue : Qfalse);
  c->tag = mp_rb_codec_tag(result);
  c->bytes = c->tag ? result : rb_marshal_dump(result, Qnil);
  return Qnil;
}

/* The failed task's message: Multiproc.__task_failure(name, exception). */
static VALUE mp_rb_task_failure_body(VALUE p) {
  static ID task_failure = rb_intern("__task_failure");
  mp_rb_task_call *c = reinterpret_cast<mp_rb_task_call *>(p);
  VALUE msg = rb_funcall(mp_rb_module(), task_failure, 2, rb_str_new_cstr(c->name), rb_errinfo());
  return StringValue(msg);
}

/* A malloc'd copy of tag (if not 0) and the String's bytes. */
static int mp_rb_copy_out(void **out, size_t *out_len, char tag, VALUE s) {
  size_t head = tag ? 1 : 0, len = (size_t)RSTRING_LEN(s);
  char *buf = static_cast<char *>(malloc(head + len + 1));
  if (!buf) return 1;
  if (tag) buf[0] = tag;
  memcpy(buf + head, RSTRING_PTR(s), len);
  buf[head + len] = '\0';
  *out = buf;
  *out_len = head + len;
  return 0;
}

static int mp_rb_task(void **out, size_t *out_len, const void *arg, size_t arg_len,
                      void *payload) {
  mp_rb_task_call c = {static_cast<const char *>(payload), static_cast<const char *>(arg),
                       arg_len, 0, Qnil};
  int failed = 0;
  rb_protect(mp_rb_task_body, reinterpret_cast<VALUE>(&c), &failed);
  if (!failed) return mp_rb_copy_out(out, out_len, c.tag, c.bytes);
  /* The exception's message is the task's error (TaskFailedError). */
  int failed_again = 0;
  VALUE msg = rb_protect(mp_rb_task_failure_body, reinterpret_cast<VALUE>(&c), &failed_again);
  rb_set_errinfo(Qnil);
  if (!failed_again) mp_rb_copy_out(out, out_len, 0, msg);
  return 1;
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
  (const void *arg, size_t arg_len),
  (const void *key, size_t key_len), (const void *value, size_t value_len),
  (const void *expected, size_t expected_len), (const void *desired, size_t desired_len)
};

/* Bytes in for the calls that may wait without the GVL (mp_conn_send,
 * mp_process_write: buf/len, also used by the short mp_value_set_bytes;
 * mp_run: input/input_len): a frozen String sharing the bytes is sent, so
 * another thread changing the caller's String during the wait cannot free
 * them under the library. */
%typemap(in) (const void *WAITED, size_t WAITED_LEN) (VALUE pinned = Qnil) {
  if (NIL_P($input)) {
    $1 = NULL;
    $2 = 0;
  } else {
    Check_Type($input, T_STRING);
    pinned = rb_str_new_frozen($input);
    $1 = (void *)RSTRING_PTR(pinned);
    $2 = (size_t)RSTRING_LEN(pinned);
  }
}
%typemap(freearg) (const void *WAITED, size_t WAITED_LEN) { RB_GC_GUARD(pinned$argnum); }
%typemap(typecheck) (const void *WAITED, size_t WAITED_LEN) {
  $1 = NIL_P($input) || RB_TYPE_P($input, T_STRING);
}
%apply (const void *WAITED, size_t WAITED_LEN) {
  (const void *buf, size_t len), (const void *input, size_t input_len)
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
%apply mp_iter_t ** { mp_pool_iter_t ** }; /* C 0.3: the same struct */

/* ---------------------------------------------------------------------
 * Blocking calls: released GVL, woken by Ruby interrupts
 * ------------------------------------------------------------------- */

%define MP_RB_BLOCKING(func, timeout_arg, mode)
%exception func {
  mp_rb_blocking(result, timeout_arg, mode, [&]() { $action });
}
%enddef

MP_RB_BLOCKING(mp_process_join, &arg2, MP_RB_RETRY)
/* Ruby traps SIGCHLD: a child's exit calls the unblock function with no
 * interrupt for us. Where a canceled call is safe to repeat (stop: the
 * steps start again; terminate: done once, the wait repeats), that
 * wake-up retries instead of raising CanceledError. */
MP_RB_BLOCKING(mp_process_stop, (int64_t *)NULL, MP_RB_RETRY)
MP_RB_BLOCKING(mp_process_write, &arg4, 0)
MP_RB_BLOCKING(mp_process_communicate, &arg8, 0)
MP_RB_BLOCKING(mp_run, &arg9, 0)
MP_RB_BLOCKING(mp_process_spawn, (int64_t *)NULL, 0)
MP_RB_BLOCKING(mp_process_start, (int64_t *)NULL, 0)
/* A send canceled half-way keeps its place: the retry (same buffer)
 * finishes the message, as IO#write goes on after a trap handler. */
MP_RB_BLOCKING(mp_conn_send, &arg4, MP_RB_RETRY)
MP_RB_BLOCKING(mp_conn_recv, &arg4, MP_RB_RETRY)
MP_RB_BLOCKING(mp_conn_poll, &arg2, MP_RB_RETRY)
MP_RB_BLOCKING(mp_queue_put, &arg4, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_queue_get, &arg4, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_queue_join, &arg2, MP_RB_RETRY)
MP_RB_BLOCKING(mp_lock_acquire, &arg2, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_sem_acquire, &arg2, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_event_wait, &arg2, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_cond_wait, &arg2, MP_RB_RETRY)
/* A canceled barrier wait keeps its arrival for the thread's next wait:
 * a trap handler or SIGCHLD waking it retries into the same round. */
MP_RB_BLOCKING(mp_barrier_wait, &arg2, MP_RB_RETRY)
MP_RB_BLOCKING(mp_value_acquire, &arg2, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_pool_new, (int64_t *)NULL, 0)
MP_RB_BLOCKING(mp_pool_join, &arg2, MP_RB_RETRY)
MP_RB_BLOCKING(mp_pool_terminate, (int64_t *)NULL, MP_RB_RETRY)
MP_RB_BLOCKING(mp_iter_next, &arg5, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_pool_iter_next, &arg5, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_result_get, &arg4, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_result_wait, &arg2, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_rb_process_read, &arg6, MP_RB_RETRY)

/* Replaced by the helpers below (callbacks, argv, caller buffers) or not
 * useful from Ruby. */
/* mp_barrier_new2: the binding passes no action (only the default timeout). */
%typemap(in, numinputs=0) mp_barrier_action_fn "$1 = NULL;"
%typemap(in, numinputs=0) void *payload "$1 = NULL;"
%ignore mp_register;
%ignore mp_register_task;
%ignore mp_main;
/* The predicate is Go or Ruby code: Condition.WaitFor / #wait_for loop
 * over mp_cond_wait in the binding's own language, the same steps. */
%ignore mp_cond_wait_for;
/* A barrier's action is code of this process: not reachable from the
 * binding yet (the default timeout is, through mp_barrier_new2). */
%ignore mp_barrier_set_action;
%ignore mp_pool_apply;
%ignore mp_pool_apply_async;
%ignore mp_pool_map_async;
%ignore mp_pool_map;
%ignore mp_pool_imap;
%ignore mp_process_read;
%ignore mp_conn_recv_into;
%ignore mp_queue_get_into;
%ignore mp_queue_put_many; /* Queue#put_many: mp_rb_queue_put_many */
%ignore mp_queue_get_many; /* Queue#get_many: mp_rb_queue_get_many */
%ignore mp_wait;             /* Multiproc.wait: mp_rb_wait */
%ignore mp_waitable;
%ignore mp_waitable_t;
%ignore mp_process_sentinel; /* Process#sentinel: mp_rb_process_sentinel */
%ignore mp_active_children;  /* Ruby keeps its own list: forked children too */
/* Helpers of the fast paths below, not methods of Native. */
%ignore mp_rb_queue_take;
%ignore mp_rb_max_count;
%ignore MP_RB_MAX_COUNT;
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

/* map_async of the Array items, each encoded by the Codec (with splat: an
 * Array of arguments, for starmap). */
int mp_rb_map_async(mp_result_t **out, mp_pool_t *pool, const char *task, VALUE items,
                    int splat, size_t chunksize, int notify) {
  mp_result_cb cb = notify ? mp_rb_notify : NULL;
  return mp_rb_with_args(items, splat, [&](const void *const *args, const size_t *lens, size_t n) {
    return mp_pool_map_async(out, pool, task, args, lens, n, chunksize, cb, cb, NULL);
  });
}

/* imap of the Array items, each encoded by the Codec. */
int mp_rb_imap(mp_iter_t **out, mp_pool_t *pool, const char *task, VALUE items,
               size_t chunksize, int flags) {
  return mp_rb_with_args(items, 0, [&](const void *const *args, const size_t *lens, size_t n) {
    return mp_pool_imap(out, pool, task, args, lens, n, chunksize, flags);
  });
}

/* The address of a result, to match the notify pipe's records. */
uint64_t mp_rb_result_addr(mp_result_t *result) { return (uint64_t)(uintptr_t)result; }

/* Every item of a finished map, decoded (Codec), in one call: the Array of
 * values; nil when an item failed (failure, an Array, then holds the first
 * failed item's code and message); or an Integer, the library's code. */
VALUE mp_rb_result_values(mp_result_t *result, VALUE failure) {
  Check_Type(failure, T_ARRAY);
  int n = mp_result_count(result);
  if (n < 0) return INT2NUM(n);
  VALUE values = rb_ary_new_capa(n);
  for (int i = 0; i < n; ++i) {
    const void *data = NULL;
    size_t len = 0;
    int rc = mp_result_item(&data, &len, result, (size_t)i);
    if (rc == MP_EINVAL || rc == MP_ESTATE) return INT2NUM(rc);
    if (rc < 0) {
      rb_ary_push(failure, INT2NUM(rc));
      rb_ary_push(failure, data ? rb_str_new((const char *)data, (long)len) : Qnil);
      return Qnil;
    }
    rb_ary_push(values, data ? mp_rb_codec_load_bytes((const char *)data, len) : Qnil);
  }
  return values;
}

/* Multiproc::Codec.dump / .load (see mp_rb_codec_tag). */
VALUE mp_rb_codec_dump(VALUE obj) {
  if (!mp_rb_codec_tag(obj)) return rb_marshal_dump(obj, Qnil);
  VALUE buf = rb_str_buf_new(RSTRING_LEN(obj) + 1);
  mp_rb_codec_append(buf, obj);
  return buf;
}

VALUE mp_rb_codec_load(VALUE bytes) {
  StringValue(bytes);
  VALUE v = mp_rb_codec_load_bytes(RSTRING_PTR(bytes), (size_t)RSTRING_LEN(bytes));
  RB_GC_GUARD(bytes);
  return v;
}

/* Queue#put's hot path: no SWIG conversions, no code to check in Ruby
 * (a failure raises Multiproc.error_for). The try (timeout 0) keeps the
 * GVL; a put that must wait sends a frozen String sharing message's bytes,
 * which stay put while the GVL is released even if another thread changes
 * message. */
void mp_rb_queue_put(VALUE queue, VALUE message, VALUE timeout_ms) {
  static VALUE klass = Qnil;
  mp_queue_t *q = static_cast<mp_queue_t *>(mp_rb_unwrap(queue, SWIGTYPE_p_mp_queue, &klass));
  if (!RB_TYPE_P(message, T_STRING))
    rb_raise(rb_eTypeError, "a message is a String, not %s (use put_object)", rb_obj_classname(message));
  int64_t timeout = mp_rb_timeout(timeout_ms);
  int rc = mp_queue_put(q, RSTRING_PTR(message), (size_t)RSTRING_LEN(message), 0);
  if ((rc == MP_EFULL || rc == MP_ETIMEDOUT) && timeout != 0) {
    VALUE bytes = rb_str_new_frozen(message);
    mp_rb_blocking(rc, &timeout, MP_RB_RETRY, [&]() {
      rc = mp_queue_put(q, RSTRING_PTR(bytes), (size_t)RSTRING_LEN(bytes), timeout);
    });
    RB_GC_GUARD(bytes);
  }
  if (rc < 0) mp_rb_raise_code(rc, "Queue#put");
}

/* The oldest message of q (a binary String) or a negative code. A message
 * up to 4 KiB is read into a buffer on the stack (no library allocation);
 * a larger one, whose size the first read reports, is got again with the
 * library's buffer in the time left. */
static VALUE mp_rb_queue_take(mp_queue_t *q, int64_t timeout) {
  int64_t deadline = timeout > 0 ? mp_rb_now_ms() + timeout : -1;
  char small[4096];
  size_t len = 0;
  int rc;
  mp_rb_blocking(rc, &timeout, MP_RB_RETRY | MP_RB_TRY_FIRST, [&]() {
    rc = mp_queue_get_into(&len, q, small, sizeof small, timeout);
  });
  if (rc == MP_OK) return rb_str_new(small, (long)len);
  if (rc != MP_ENOSPC) return INT2FIX(rc);
  mp_rb_time_left(deadline, &timeout);
  void *big = NULL;
  mp_rb_blocking(rc, &timeout, MP_RB_RETRY | MP_RB_TRY_FIRST, [&]() {
    rc = mp_queue_get(&big, &len, q, timeout);
  });
  if (rc == MP_EEMPTY && deadline >= 0) rc = MP_ETIMEDOUT; /* the time ran out in between */
  if (rc != MP_OK) return INT2FIX(rc);
  VALUE s = rb_str_new(static_cast<const char *>(big), (long)len);
  mp_free(big);
  return s;
}

/* Queue#get's hot path: the message; a failure raises
 * Multiproc.error_for, except that with closed_nil a closed and drained
 * queue gives nil (the end of Queue#each). */
VALUE mp_rb_queue_get(VALUE queue, VALUE timeout_ms, VALUE closed_nil) {
  static VALUE klass = Qnil;
  mp_queue_t *q = static_cast<mp_queue_t *>(mp_rb_unwrap(queue, SWIGTYPE_p_mp_queue, &klass));
  VALUE message = mp_rb_queue_take(q, mp_rb_timeout(timeout_ms));
  if (!FIXNUM_P(message)) return message;
  int rc = FIX2INT(message);
  if (rc == MP_ECLOSED && RTEST(closed_nil)) return Qnil;
  mp_rb_raise_code(rc, "Queue#get");
  return Qnil;
}

/* Before put_many first releases the GVL: the messages from index from
 * on, replaced in put_many's own copy of the Array by frozen Strings
 * sharing their bytes (as Queue#put does for its one message), so another
 * thread changing a String while put_many waits changes nothing it puts.
 * Paid once per call that waits, never on the fast path. */
static void mp_rb_freeze_rest(VALUE messages, long from) {
  for (long i = from; i < RARRAY_LEN(messages); ++i)
    RARRAY_ASET(messages, i, rb_str_new_frozen(RARRAY_AREF(messages, i)));
}

/* Multiproc.wait: kinds (Array of MP_WAIT_* Integers) and handles (the
 * SWIG handles, an Integer descriptor for MP_WAIT_FD), waited for with
 * the GVL released as every blocking call. Returns an Array of 0/1 ready
 * flags (all 0: nothing by the timeout), or raises the library's error. */
VALUE mp_rb_wait(VALUE kinds, VALUE handles, VALUE timeout_ms) {
  static VALUE klass[4] = {Qnil, Qnil, Qnil, Qnil};
  Check_Type(kinds, T_ARRAY);
  Check_Type(handles, T_ARRAY);
  long n = RARRAY_LEN(kinds);
  if (n != RARRAY_LEN(handles)) rb_raise(rb_eArgError, "kinds and handles differ in length");
  mp_waitable_t w[MP_WAIT_MAX];
  if (n > MP_WAIT_MAX || n == 0) mp_rb_raise_code(mp_wait(w, (size_t)n, 0), "Multiproc.wait");
  for (long i = 0; i < n; ++i) {
    int kind = NUM2INT(RARRAY_AREF(kinds, i));
    VALUE h = RARRAY_AREF(handles, i);
    w[i].kind = kind;
    w[i].ready = 0;
    switch (kind) {
    case MP_WAIT_CONN: w[i].handle = mp_rb_unwrap(h, SWIGTYPE_p_mp_conn, &klass[0]); break;
    case MP_WAIT_QUEUE: w[i].handle = mp_rb_unwrap(h, SWIGTYPE_p_mp_queue, &klass[1]); break;
    case MP_WAIT_PROCESS: w[i].handle = mp_rb_unwrap(h, SWIGTYPE_p_mp_process, &klass[2]); break;
    case MP_WAIT_EVENT: w[i].handle = mp_rb_unwrap(h, SWIGTYPE_p_mp_event, &klass[3]); break;
    default: w[i].handle = (void *)(intptr_t)NUM2INT(h); break; /* MP_WAIT_FD, or refused */
    }
  }
  int64_t timeout = mp_rb_timeout(timeout_ms);
  int rc = 0;
  mp_rb_blocking(rc, &timeout, MP_RB_RETRY, [&]() { rc = mp_wait(w, (size_t)n, timeout); });
  if (rc == MP_ETIMEDOUT) rc = 0; /* a retry found the time gone */
  if (rc < 0) mp_rb_raise_code(rc, "Multiproc.wait");
  VALUE out = rb_ary_new_capa(n);
  for (long i = 0; i < n; ++i) rb_ary_push(out, INT2FIX(rc > 0 ? w[i].ready : 0));
  RB_GC_GUARD(handles);
  return out;
}

/* Process#sentinel of a C-backed child: the descriptor, or raises. */
int mp_rb_process_sentinel(mp_process_t *proc) {
  int fd = -1;
  int rc = mp_process_sentinel(&fd, proc);
  return rc < 0 ? rc : fd;
}

/* Queue#put_many's hot path: put the Strings of messages (an Array) in
 * order. What fits goes in 256 at a time with the GVL held
 * (mp_queue_put_many with timeout 0, the bytes read in place); a message
 * that must wait is put alone as Queue#put does, the GVL released, with
 * the time left of one deadline; then the rest goes on. The Array and
 * the Strings not yet put are copied first (the Strings only when a wait
 * comes), so another thread changing them meanwhile changes nothing.
 * Returns the number put (all of them), or [code, count put] on failure. */
VALUE mp_rb_queue_put_many(VALUE queue, VALUE messages, VALUE timeout_ms) {
  static VALUE klass = Qnil;
  mp_queue_t *q = static_cast<mp_queue_t *>(mp_rb_unwrap(queue, SWIGTYPE_p_mp_queue, &klass));
  Check_Type(messages, T_ARRAY);
  messages = rb_ary_dup(messages);
  long n = RARRAY_LEN(messages);
  for (long i = 0; i < n; ++i)
    if (!RB_TYPE_P(RARRAY_AREF(messages, i), T_STRING))
      rb_raise(rb_eTypeError, "message %ld is a %s, not a String", i,
               rb_obj_classname(RARRAY_AREF(messages, i)));
  int64_t timeout = mp_rb_timeout(timeout_ms);
  int64_t deadline = timeout > 0 ? mp_rb_now_ms() + timeout : -1;
  enum { kChunk = 256 };
  const void *bufs[kChunk];
  size_t lens[kChunk];
  long done = 0;
  bool frozen = false;
  int rc = MP_OK;
  while (done < n && rc == MP_OK) {
    long m = n - done < kChunk ? n - done : kChunk;
    for (long k = 0; k < m; ++k) {
      VALUE msg = RARRAY_AREF(messages, done + k);
      bufs[k] = RSTRING_PTR(msg);
      lens[k] = (size_t)RSTRING_LEN(msg);
    }
    size_t put = 0;
    rc = mp_queue_put_many(&put, q, bufs, lens, (size_t)m, 0);
    done += (long)put;
    if ((rc != MP_EFULL && rc != MP_ETIMEDOUT) || timeout == 0) continue;
    mp_rb_time_left(deadline, &timeout);
    if (!frozen) {
      mp_rb_freeze_rest(messages, done);
      frozen = true;
    }
    VALUE bytes = RARRAY_AREF(messages, done);
    mp_rb_blocking(rc, &timeout, MP_RB_RETRY, [&]() {
      rc = mp_queue_put(q, RSTRING_PTR(bytes), (size_t)RSTRING_LEN(bytes), timeout);
    });
    RB_GC_GUARD(bytes);
    if (rc == MP_OK) ++done;
  }
  RB_GC_GUARD(messages);
  /* The deadline passed between two waits: the last try had timeout 0. */
  if (rc == MP_EFULL && deadline >= 0) rc = MP_ETIMEDOUT;
  if (rc < 0) return rb_ary_new_from_args(2, INT2FIX(rc), LONG2NUM(done));
  return LONG2NUM(done);
}

/* The most messages one Queue#get_many / #get_many_into takes. */
enum { MP_RB_MAX_COUNT = 1024 };

/* The max argument of get_many: at least 1 (ArgumentError), at most
 * MP_RB_MAX_COUNT. */
static size_t mp_rb_max_count(VALUE max_count) {
  long want = NUM2LONG(max_count);
  if (want < 1) rb_raise(rb_eArgError, "max must be at least 1, not %ld", want);
  return want < MP_RB_MAX_COUNT ? (size_t)want : MP_RB_MAX_COUNT;
}

/* Queue#get_many's hot path: an Array of the oldest message and those
 * queued behind it (mp_queue_get_many into a buffer on the stack, at most
 * max_count and 16 KiB of them). Only the first is waited for. A first
 * message above 16 KiB comes alone, as Queue#get takes it. Failures as
 * mp_rb_queue_get. */
VALUE mp_rb_queue_get_many(VALUE queue, VALUE max_count, VALUE timeout_ms, VALUE closed_nil) {
  static VALUE klass = Qnil;
  mp_queue_t *q = static_cast<mp_queue_t *>(mp_rb_unwrap(queue, SWIGTYPE_p_mp_queue, &klass));
  enum { kBytes = 16384 };
  size_t max = mp_rb_max_count(max_count);
  int64_t timeout = mp_rb_timeout(timeout_ms);
  int64_t deadline = timeout > 0 ? mp_rb_now_ms() + timeout : -1;
  char buf[kBytes];
  size_t lens[MP_RB_MAX_COUNT];
  size_t count = 0;
  int rc;
  mp_rb_blocking(rc, &timeout, MP_RB_RETRY | MP_RB_TRY_FIRST, [&]() {
    rc = mp_queue_get_many(&count, q, buf, sizeof buf, lens, max, timeout);
  });
  if (rc == MP_ENOSPC) {
    mp_rb_time_left(deadline, &timeout);
    VALUE big = mp_rb_queue_take(q, timeout);
    if (!FIXNUM_P(big)) return rb_ary_new_from_args(1, big);
    rc = FIX2INT(big);
  }
  /* The deadline passed before the take above, whose try found nothing. */
  if (rc == MP_EEMPTY && deadline >= 0) rc = MP_ETIMEDOUT;
  if (rc < 0) {
    if (rc == MP_ECLOSED && RTEST(closed_nil)) return Qnil;
    mp_rb_raise_code(rc, "Queue#get_many");
  }
  VALUE out = rb_ary_new_capa((long)count);
  const char *at = buf;
  for (size_t i = 0; i < count; at += lens[i], ++i) rb_ary_push(out, rb_str_new(at, (long)lens[i]));
  return out;
}

/* Queue#get_many_into's hot path: mp_queue_get_many into the String
 * buf, whose bytesize is the room (messages back to back from offset 0):
 * the Array of their lengths. The library writes into a buffer of ours
 * (the stack, or ALLOCV above 16 KiB), copied into buf with the GVL held,
 * as mp_rb_queue_get_into does. A first message larger than buf is not
 * taken: [MP_ENOSPC, size needed]. Other failures as mp_rb_queue_get. */
VALUE mp_rb_queue_get_many_into(VALUE queue, VALUE buf, VALUE max_count, VALUE timeout_ms,
                                VALUE closed_nil) {
  static VALUE klass = Qnil;
  mp_queue_t *q = static_cast<mp_queue_t *>(mp_rb_unwrap(queue, SWIGTYPE_p_mp_queue, &klass));
  enum { kStackBytes = 16384 };
  Check_Type(buf, T_STRING);
  rb_str_modify(buf); /* FrozenError before anything is taken */
  size_t max = mp_rb_max_count(max_count);
  int64_t timeout = mp_rb_timeout(timeout_ms);
  size_t cap = (size_t)RSTRING_LEN(buf);
  char stack[kStackBytes];
  VALUE tmp_v = 0;
  char *tmp = cap <= sizeof stack ? stack : ALLOCV_N(char, tmp_v, cap);
  size_t lens[MP_RB_MAX_COUNT];
  size_t count = 0;
  int rc;
  mp_rb_blocking(rc, &timeout, MP_RB_RETRY | MP_RB_TRY_FIRST, [&]() {
    rc = mp_queue_get_many(&count, q, tmp, cap, lens, max, timeout);
  });
  VALUE out = Qnil;
  if (rc == MP_OK) {
    size_t total = 0;
    VALUE nums[MP_RB_MAX_COUNT];
    for (size_t i = 0; i < count; ++i) {
      total += lens[i];
      nums[i] = SIZET2NUM(lens[i]);
    }
    out = rb_ary_new_from_values((long)count, nums);
    rb_str_modify(buf);
    if ((size_t)RSTRING_LEN(buf) < total) rb_str_resize(buf, (long)total); /* shrunk meanwhile */
    memcpy(RSTRING_PTR(buf), tmp, total);
  }
  if (tmp_v) ALLOCV_END(tmp_v);
  if (rc == MP_ENOSPC) return rb_ary_new_from_args(2, INT2FIX(rc), SIZET2NUM(lens[0]));
  if (rc == MP_ECLOSED && RTEST(closed_nil)) return Qnil;
  if (rc < 0) mp_rb_raise_code(rc, "Queue#get_many_into");
  return out;
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
  if (!NIL_P(input)) {
    Check_Type(input, T_STRING);
    input = rb_str_new_frozen(input); /* its bytes stay while the GVL is released */
  }
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
    RB_GC_GUARD(input);
    if (o) out = NIL_P(out) ? rb_str_new((const char *)o, (long)olen) : rb_str_cat(out, (const char *)o, (long)olen);
    if (e) err = NIL_P(err) ? rb_str_new((const char *)e, (long)elen) : rb_str_cat(err, (const char *)e, (long)elen);
    mp_free(o);
    mp_free(e);
    if (rc != MP_ECANCELED || mp_cancel_fired(token) != 1) break;
    mp_cancel_reset(token);
    rb_thread_check_ints(); /* raises if an interrupt is pending */
    input = Qnil;
    mp_rb_time_left(deadline, &timeout_ms);
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
