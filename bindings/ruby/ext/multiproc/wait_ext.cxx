/* Multiproc.wait: mp_wait over Ruby's objects. */
#include "ext.hpp"

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
    case MP_WAIT_CONN: w[i].handle = mp_rb_unwrap(h, MP_RB_KIND_CONN, &klass[0]); break;
    case MP_WAIT_QUEUE: w[i].handle = mp_rb_unwrap(h, MP_RB_KIND_QUEUE, &klass[1]); break;
    case MP_WAIT_PROCESS: w[i].handle = mp_rb_unwrap(h, MP_RB_KIND_PROCESS, &klass[2]); break;
    case MP_WAIT_EVENT: w[i].handle = mp_rb_unwrap(h, MP_RB_KIND_EVENT, &klass[3]); break;
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
