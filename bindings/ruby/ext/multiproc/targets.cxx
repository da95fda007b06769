/* Targets and tasks: the library calls them on the main thread inside
 * mp_main() (GVL held), so they may call Ruby; exceptions are contained.
 * Their registration and mp_main() itself. */
#include <stdlib.h>
#include <string.h>

#include "ext.hpp"

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
 * Multiproc.__run_task(name, value, splat), encode the result. A raw task
 * (Multiproc.task(name, raw: true), for callers in other languages) gets
 * the argument's bytes as a binary String and returns a String sent as
 * its bytes, without the Codec. */
struct mp_rb_task_call {
  bool raw;
  const char *name;
  const char *arg;
  size_t arg_len;
  char tag;    /* the result's Codec tag, 0: bytes is its Marshal */
  VALUE bytes; /* the result String, or its Marshal */
};

static VALUE mp_rb_task_body(VALUE p) {
  static ID run_task = rb_intern("__run_task");
  mp_rb_task_call *c = reinterpret_cast<mp_rb_task_call *>(p);
  if (c->raw) {
    VALUE result = rb_funcall(mp_rb_module(), run_task, 3, rb_str_new_cstr(c->name),
                              rb_str_new(c->arg, (long)c->arg_len), Qfalse);
    c->bytes = StringValue(result);
    return Qnil;
  }
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
  const char *def = static_cast<const char *>(payload); /* see mp_rb_register_task */
  mp_rb_task_call c = {def[0] == 'r', def + 1, static_cast<const char *>(arg), arg_len, 0, Qnil};
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

/* Register a Ruby target / pool task by name; the Ruby layer keeps the
 * block and the library calls back Multiproc.__run_target/__run_task. */
int mp_rb_register(const char *name) {
  char *copy = name ? strdup(name) : NULL;
  int rc = copy ? mp_register(name, mp_rb_target, copy) : MP_EINVAL;
  if (rc < 0) free(copy);
  return rc;
}

/* The task's payload: its mode ('r': raw bytes, 'c': the Codec), then its
 * name. */
int mp_rb_register_task(const char *name, int raw) {
  if (!name) return MP_EINVAL;
  size_t len = strlen(name);
  char *def = static_cast<char *>(malloc(len + 2));
  if (!def) return MP_ENOMEM;
  def[0] = raw ? 'r' : 'c';
  memcpy(def + 1, name, len + 1);
  int rc = mp_register_task(name, mp_rb_task, def);
  if (rc < 0) free(def);
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
