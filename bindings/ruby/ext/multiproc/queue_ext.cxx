/* The Queue's hot paths, without SWIG's per-call costs: put, get and
 * their batch forms; a failure raises Multiproc.error_for. */
#include <string.h>

#include "ext.hpp"

/* The most messages one Queue#get_many / #get_many_into takes. */
static constexpr long MP_RB_MAX_COUNT = 1024;

/* Queue#put's hot path: no SWIG conversions, no code to check in Ruby
 * (a failure raises Multiproc.error_for). The try (timeout 0) keeps the
 * GVL; a put that must wait sends a frozen String sharing message's bytes,
 * which stay put while the GVL is released even if another thread changes
 * message. */
void mp_rb_queue_put(VALUE queue, VALUE message, VALUE timeout_ms) {
  static VALUE klass = Qnil;
  mp_queue_t *q = static_cast<mp_queue_t *>(mp_rb_unwrap(queue, MP_RB_KIND_QUEUE, &klass));
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
  mp_queue_t *q = static_cast<mp_queue_t *>(mp_rb_unwrap(queue, MP_RB_KIND_QUEUE, &klass));
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
  mp_queue_t *q = static_cast<mp_queue_t *>(mp_rb_unwrap(queue, MP_RB_KIND_QUEUE, &klass));
  Check_Type(messages, T_ARRAY);
  messages = rb_ary_dup(messages);
  long n = RARRAY_LEN(messages);
  for (long i = 0; i < n; ++i)
    if (!RB_TYPE_P(RARRAY_AREF(messages, i), T_STRING))
      rb_raise(rb_eTypeError, "message %ld is a %s, not a String", i,
               rb_obj_classname(RARRAY_AREF(messages, i)));
  int64_t timeout = mp_rb_timeout(timeout_ms);
  int64_t deadline = timeout > 0 ? mp_rb_now_ms() + timeout : -1;
  constexpr long kChunk = 256;
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

/* The max argument of get_many: at least 1 (ArgumentError), at most
 * MP_RB_MAX_COUNT. */
static size_t mp_rb_max_count(VALUE max_count) {
  long want = NUM2LONG(max_count);
  if (want < 1) rb_raise(rb_eArgError, "max must be at least 1, not %ld", want);
  return (size_t)(want < MP_RB_MAX_COUNT ? want : MP_RB_MAX_COUNT);
}

/* Queue#get_many's hot path: an Array of the oldest message and those
 * queued behind it (mp_queue_get_many into a buffer on the stack, at most
 * max_count and 16 KiB of them). Only the first is waited for. A first
 * message above 16 KiB comes alone, as Queue#get takes it. Failures as
 * mp_rb_queue_get. */
VALUE mp_rb_queue_get_many(VALUE queue, VALUE max_count, VALUE timeout_ms, VALUE closed_nil) {
  static VALUE klass = Qnil;
  mp_queue_t *q = static_cast<mp_queue_t *>(mp_rb_unwrap(queue, MP_RB_KIND_QUEUE, &klass));
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
  mp_queue_t *q = static_cast<mp_queue_t *>(mp_rb_unwrap(queue, MP_RB_KIND_QUEUE, &klass));
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
