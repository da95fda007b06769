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
 *   cancel token; see mp_rb_blocking in bindings/ruby/ext/multiproc/gvl.hpp.
 * - Callbacks of the library never call Ruby on a library thread: pool
 *   completions are written to a pipe that a Ruby thread reads.
 *
 * This file is the interface only: typemaps, the blocking calls, what is
 * ignored, and the declarations of the hand-written functions
 * (bindings/ruby/ext/multiproc/native_api.h), whose code is in the .cxx
 * files beside it, compiled with warnings on. The one function defined
 * here, mp_rb_swig_ptr, is the only code that needs SWIG's type table.
 *
 * Built as C++ (swig -c++) for the lambda in the blocking helper.
 */

%{
#include "ext.hpp"

void *mp_rb_swig_ptr(VALUE obj, mp_rb_kind kind) {
  swig_type_info *ty = NULL;
  switch (kind) {
  case MP_RB_KIND_QUEUE: ty = SWIGTYPE_p_mp_queue; break;
  case MP_RB_KIND_CONN: ty = SWIGTYPE_p_mp_conn; break;
  case MP_RB_KIND_PROCESS: ty = SWIGTYPE_p_mp_process; break;
  case MP_RB_KIND_EVENT: ty = SWIGTYPE_p_mp_event; break;
  }
  void *p = NULL;
  if (NIL_P(obj) || !SWIG_IsOK(SWIG_ConvertPtr(obj, &p, ty, 0)))
    rb_raise(rb_eTypeError, "multiproc: not a %s handle", ty->str);
  return p;
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
  (const void *key, size_t len),
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
  (const void *buf, size_t len), (const void *input, size_t input_len),
  (const void *authkey, size_t authkey_len)
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
%apply int64_t *OUT_I64 { int64_t *out, int64_t *actual, int64_t *out_count };
%typemap(in, numinputs=0) uint64_t *out (uint64_t v = 0) { $1 = &v; }
%typemap(argout) uint64_t *out { $result = SWIG_Ruby_AppendOutput($result, ULL2NUM(v$argnum)); }
%typemap(in, numinputs=0) double *out (double v = 0) { $1 = &v; }
%typemap(argout) double *out { $result = SWIG_Ruby_AppendOutput($result, rb_float_new(v$argnum)); }
%typemap(in, numinputs=0) int *OUT_INT (int v = 0) { $1 = &v; }
%typemap(argout) int *OUT_INT { $result = SWIG_Ruby_AppendOutput($result, INT2NUM(v$argnum)); }
%apply int *OUT_INT { int *out, int *exitcode };
%typemap(in, numinputs=0) size_t *OUT_SIZE (size_t v = 0) { $1 = &v; }
%typemap(argout) size_t *OUT_SIZE { $result = SWIG_Ruby_AppendOutput($result, SIZET2NUM(v$argnum)); }
/* size_t *out: the getters of C 0.3 (mp_value_count2, mp_shm_size2). */
%apply size_t *OUT_SIZE { size_t *index, size_t *out };

/* A NUL-terminated text into the caller's buffer (mp_queue_last_delivery's
 * message id): a String, appended to the outputs. */
%typemap(in, numinputs=0) (char *id, size_t id_cap) (char text[MP_QUEUE_ID_MAX]) {
  text[0] = '\0';
  $1 = text;
  $2 = sizeof text;
}
%typemap(argout) (char *id, size_t id_cap) {
  $result = SWIG_Ruby_AppendOutput($result, rb_str_new_cstr(text$argnum));
}

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
MP_RB_HANDLE_OUT(mp_broker_t)
MP_RB_HANDLE_OUT(mp_broker_opts_t)
MP_RB_HANDLE_OUT(mp_listener_opts_t)
MP_RB_HANDLE_OUT(mp_listener_t)
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
/* Opening by address: a wake-up with no interrupt pending (a trap, SIGCHLD)
 * opens again from the start with the time left (a new connection; the
 * canceled one took nothing). */
MP_RB_BLOCKING(mp_fd_open, &arg3, MP_RB_RETRY)
MP_RB_BLOCKING(mp_queue_open, &arg3, MP_RB_RETRY)
/* Creating or opening on a redis server: the same settings, so it may start again. */
MP_RB_BLOCKING(mp_queue_new_at, &arg5, MP_RB_RETRY)
MP_RB_BLOCKING(mp_lock_open, &arg3, MP_RB_RETRY)
MP_RB_BLOCKING(mp_sem_open, &arg3, MP_RB_RETRY)
MP_RB_BLOCKING(mp_event_open, &arg3, MP_RB_RETRY)
MP_RB_BLOCKING(mp_cond_open, &arg4, MP_RB_RETRY)
MP_RB_BLOCKING(mp_barrier_open, &arg3, MP_RB_RETRY)
MP_RB_BLOCKING(mp_shm_open, &arg3, MP_RB_RETRY)
MP_RB_BLOCKING(mp_value_open, &arg3, MP_RB_RETRY)
MP_RB_BLOCKING(mp_dict_open, &arg3, MP_RB_RETRY)
MP_RB_BLOCKING(mp_pool_open, &arg3, MP_RB_RETRY)
/* Registering a serving host: a few round trips to the redis server. */
MP_RB_BLOCKING(mp_pool_serve, &arg3, 0)
/* Unpublishing a pool waits for the requests in flight to it. */
MP_RB_BLOCKING(mp_broker_unpublish, (int64_t *)NULL, 0)
/* Nothing is taken before an accept returns; a canceled connect leaves
 * only an abandoned peer that the listener drops: both may start again. */
MP_RB_BLOCKING(mp_listener_accept, &arg3, MP_RB_RETRY | MP_RB_TRY_FIRST)
MP_RB_BLOCKING(mp_conn_connect, &arg5, MP_RB_RETRY)
/* Waits for the listener's own threads (they stop at once). */
MP_RB_BLOCKING(mp_listener_close, (int64_t *)NULL, 0)

/* Replaced by the hand-written functions of native_api.h (callbacks, argv,
 * caller buffers) or not useful from Ruby. */
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
/* The ring for a binding's own put and get: Go's, not Ruby's (a Ruby
 * call into C costs little beside the interpreter). */
%ignore mp_queue_ring_word;
%ignore mp_queue_ring_value;
%ignore mp_ring_word;
%ignore mp_ring_value;
%ignore mp_queue_ring_wake;
%rename("$ignore", regextarget=1) "^MP_RING_";
%rename("$ignore", regextarget=1) "^MP_QUEUE_RING_";
%ignore mp_wait;             /* Multiproc.wait: mp_rb_wait */
%ignore mp_waitable;
%ignore mp_waitable_t;
%ignore mp_process_sentinel; /* Process#sentinel: mp_rb_process_sentinel */
%ignore mp_active_children;  /* Ruby keeps its own list: forked children too */
%ignore mp_dict_get_into;
%ignore mp_value_get_bytes;
%ignore mp_value_get_record; /* records are read field by field (Value::Row) */
%ignore mp_value_set_record;
%ignore mp_shm_data;
%ignore mp_cancel_bind;
%ignore mp_target_fn;
%ignore mp_task_fn;
%ignore mp_result_cb;

/* The hand-written functions (bindings/ruby/ext/multiproc/*.cxx). */
%include "native_api.h"
