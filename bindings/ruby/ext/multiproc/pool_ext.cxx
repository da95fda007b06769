/* Pools: submitting Ruby items (encoded by the Codec) and reading the
 * results. Completions: the callback thread writes the result's address to
 * a pipe; the Ruby layer's callback thread reads it and runs the blocks
 * (the library's callbacks never call Ruby on a library thread). */
#include <errno.h>
#include <unistd.h>

#include "ext.hpp"

/* The write end of the Ruby layer's completion pipe (mp_rb_set_notify_fd). */
static int mp_rb_notify_fd = -1;

/* A result's completion callback, on a library thread: its address to
 * the pipe, nothing of Ruby. */
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
