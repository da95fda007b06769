/* Helpers of every fast path: handles out of SWIG objects, timeouts, the
 * module Multiproc and its errors. */
#include "ext.hpp"

/* The C pointer inside a SWIG handle object of kind. SWIG's own check
 * looks up an instance variable by name and compares type names on every
 * call; every object of one SWIG pointer class was made by
 * SWIG_NewPointerObj with one type, so once SWIG accepted an object its
 * class is remembered in *klass (pinned: a registered address) and the
 * next objects of that class need only a compare. */
void *mp_rb_unwrap(VALUE obj, mp_rb_kind kind, VALUE *klass) {
  if (!SPECIAL_CONST_P(obj) && RBASIC_CLASS(obj) == *klass) return DATA_PTR(obj);
  void *p = mp_rb_swig_ptr(obj, kind);
  if (*klass == Qnil) rb_gc_register_address(klass);
  *klass = RBASIC_CLASS(obj);
  return p;
}

/* A timeout argument of the fast paths: Integer milliseconds, nil = forever. */
int64_t mp_rb_timeout(VALUE ms) { return NIL_P(ms) ? MP_FOREVER : NUM2LL(ms); }

/* The module Multiproc (pinned once found) and the methods the library's
 * callbacks call on it. */
VALUE mp_rb_module(void) {
  static VALUE mod = Qnil;
  if (NIL_P(mod)) {
    rb_gc_register_address(&mod);
    mod = rb_const_get(rb_cObject, rb_intern("Multiproc"));
  }
  return mod;
}

/* Raise Multiproc.error_for(code, op): the error class of the code, with
 * this thread's detailed message (mp_last_error). */
void mp_rb_raise_code(int code, const char *op) {
  static ID error_for = rb_intern("error_for");
  rb_exc_raise(rb_funcall(mp_rb_module(), error_for, 2, INT2FIX(code), rb_str_new_cstr(op)));
}
