/* Values of 0.4: MP_TYPE_BOOL, records of numbers (the tutorials'
 * Array(Point, ...)) laid out as the C struct of their fields, and values
 * that share one lock (Python's Value('i', 0, lock=lock)), each across
 * fork and spawn children; exact totals of unatomic updates made by
 * several processes under one shared lock.
 * Helpers: tests/common/synctest.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <stddef.h>

#include "synctest.h"

struct point {
  double x, y;
};

/* ------------------------------------------------------------------------
 * Targets
 * ---------------------------------------------------------------------- */

/* fds: bool value (2 elements). Sets element 0, clears element 1. */
static int ts_bool_flip(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  mp_value_t *b = child_value(0);
  CK(b);
  int was = -1;
  CK(mp_value_get_bool(&was, b, 1) == MP_OK && was == 1);
  CK(mp_value_set_bool(b, 0, 1) == MP_OK);
  CK(mp_value_set_bool(b, 1, 0) == MP_OK);
  mp_value_free(b);
  return 0;
}

/* fds: lock, points ("dd", made with that lock). The tutorial's modify():
 * a.x **= 2; a.y **= 2 for every point, under the shared lock; the first
 * point by fields, the others as whole structs. */
static int ts_points_square(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  mp_lock_t *lock = child_lock(0);
  mp_value_t *A = child_value(1);
  CK(lock && A);
  CK(mp_value_acquire(A, 0) == MP_ESTATE); /* not bound yet */
  CK(mp_value_bind_lock(A, lock) == MP_OK);
  CK(mp_value_acquire(A, 10000) == MP_OK);
  CK(mp_lock_locked(lock) == 1);
  size_t n = 0;
  CK(mp_value_count2(&n, A) == MP_OK);
  for (size_t i = 0; i < n; ++i) {
    if (i == 0) {
      for (size_t f = 0; f < 2; ++f) {
        double d;
        CK(mp_value_get_field_f64(&d, A, i, f) == MP_OK);
        CK(mp_value_set_field_f64(A, i, f, d * d) == MP_OK);
      }
      continue;
    }
    struct point p;
    CK(mp_value_get_record(&p, sizeof p, A, i) == MP_OK);
    p.x *= p.x;
    p.y *= p.y;
    CK(mp_value_set_record(A, i, &p, sizeof p) == MP_OK);
  }
  CK(mp_value_release(A) == MP_OK);
  mp_value_free(A);
  mp_lock_free(lock);
  return 0;
}

/* fds: lock, counter (INT64), sums (DOUBLE x 2), rec ("qd"), all made with
 * that lock. a times, under the lock taken through a changing one of the
 * three values (or the lock itself): read each, yield, write it + 1. Any
 * update lost to another process shows in the totals. */
static int ts_shared_incr(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_lock_t *lock = child_lock(0);
  mp_value_t *v[3] = {child_value(1), child_value(2), child_value(3)};
  CK(lock && v[0] && v[1] && v[2]);
  for (int k = 0; k < 3; ++k) CK(mp_value_bind_lock(v[k], lock) == MP_OK);
  for (int i = 0; i < t.a; ++i) {
    mp_value_t *via = i % 4 < 3 ? v[i % 4] : NULL;
    CK((via ? mp_value_acquire(via, 30000) : mp_lock_acquire(lock, 30000)) == MP_OK);
    int64_t c, q;
    double s, d;
    CK(mp_value_get_i64(&c, v[0], 0) == MP_OK);
    CK(mp_value_get_f64(&s, v[1], 1) == MP_OK);
    CK(mp_value_get_field_i64(&q, v[2], 0, 0) == MP_OK);
    CK(mp_value_get_field_f64(&d, v[2], 0, 1) == MP_OK);
    sched_yield();
    CK(mp_value_set_i64(v[0], 0, c + 1) == MP_OK);
    CK(mp_value_set_f64(v[1], 1, s + 1.0) == MP_OK);
    CK(mp_value_set_field_i64(v[2], 0, 0, q + 1) == MP_OK);
    CK(mp_value_set_field_f64(v[2], 0, 1, d + 0.5) == MP_OK);
    mp_value_t *rel = via ? v[(i + 1) % 3] : NULL; /* released through another */
    CK((rel ? mp_value_release(rel) : mp_lock_release(lock)) == MP_OK);
  }
  for (int k = 0; k < 3; ++k) mp_value_free(v[k]);
  mp_lock_free(lock);
  return 0;
}

static const sync_target_t k_targets[] = {
    {"ts_bool_flip", ts_bool_flip},
    {"ts_points_square", ts_points_square},
    {"ts_shared_incr", ts_shared_incr},
};

/* ------------------------------------------------------------------------
 * bool
 * ---------------------------------------------------------------------- */

static void test_value_bool(void **state) {
  (void)state;
  mp_value_t *b = NULL;
  MP_ASSERT_OK(mp_value_new(&b, MP_TYPE_BOOL, 2, 0)); /* Value(c_bool, False, lock=False) */
  assert_int_equal(mp_value_type(b), MP_TYPE_BOOL);
  assert_int_equal(mp_value_field_count(b), 0);
  int x = -1;
  MP_ASSERT_OK(mp_value_get_bool(&x, b, 0));
  assert_int_equal(x, 0);
  MP_ASSERT_ERR(mp_value_set_bool(b, 0, 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_bool(b, 0, -1), MP_EINVAL);
  int64_t i64;
  MP_ASSERT_ERR(mp_value_get_i64(&i64, b, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_i64(b, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_add_i64(&i64, b, 0, 1), MP_EINVAL);
  int fds[] = {mp_value_fileno(b)};
  targ_t none = {0, 0, 0, 0};
  FOR_EACH_METHOD(m) {
    MP_ASSERT_OK(mp_value_set_bool(b, 0, 0));
    MP_ASSERT_OK(mp_value_set_bool(b, 1, 1));
    expect_child_ok(start_child("ts_bool_flip", none, m, fds, 1), 30000, method_name(m));
    MP_ASSERT_OK(mp_value_get_bool(&x, b, 0));
    assert_int_equal(x, 1);
    MP_ASSERT_OK(mp_value_get_bool(&x, b, 1));
    assert_int_equal(x, 0);
  }
  mp_value_free(b);
}

/* ------------------------------------------------------------------------
 * Records
 * ---------------------------------------------------------------------- */

/* Every field type at the offset the C compiler gives it. */
struct mixed {
  int8_t b;
  double d;
  uint16_t H;
  int32_t i;
  char c;
  int64_t q;
  _Bool flag;
  float f;
  uint8_t B;
  uint64_t Q;
  int16_t h;
};
static const char k_mixed[] = "bdHicq?fBQh";

static void test_value_record_layout_is_the_c_struct(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  MP_ASSERT_OK(mp_value_new_record(&v, k_mixed, 3, MP_VALUE_LOCK));
  assert_int_equal(mp_value_type(v), MP_TYPE_RECORD);
  assert_int_equal(mp_value_field_count(v), 11);
  const mp_type_t types[] = {MP_TYPE_INT8,   MP_TYPE_DOUBLE, MP_TYPE_UINT16, MP_TYPE_INT32,
                             MP_TYPE_CHAR,   MP_TYPE_INT64,  MP_TYPE_BOOL,   MP_TYPE_FLOAT,
                             MP_TYPE_UINT8,  MP_TYPE_UINT64, MP_TYPE_INT16};
  for (size_t f = 0; f < 11; ++f) assert_int_equal(mp_value_field_type(v, f), types[f]);
  size_t n = 0;
  MP_ASSERT_OK(mp_value_count2(&n, v));
  assert_int_equal(n, 3);
  /* fields written one by one read back as the struct */
  MP_ASSERT_OK(mp_value_set_field_i64(v, 1, 0, -7));
  MP_ASSERT_OK(mp_value_set_field_f64(v, 1, 1, -6.25));
  MP_ASSERT_OK(mp_value_set_field_i64(v, 1, 2, 65535));
  MP_ASSERT_OK(mp_value_set_field_i64(v, 1, 3, INT32_MIN));
  MP_ASSERT_OK(mp_value_set_field_i64(v, 1, 4, 'z'));
  MP_ASSERT_OK(mp_value_set_field_i64(v, 1, 5, INT64_MIN));
  MP_ASSERT_OK(mp_value_set_field_i64(v, 1, 6, 1));
  MP_ASSERT_OK(mp_value_set_field_f64(v, 1, 7, 1.1)); /* rounded to float */
  MP_ASSERT_OK(mp_value_set_field_i64(v, 1, 8, 255));
  MP_ASSERT_OK(mp_value_set_field_i64(v, 1, 9, INT64_MAX));
  MP_ASSERT_OK(mp_value_set_field_i64(v, 1, 10, -2));
  struct mixed m;
  memset(&m, 0xee, sizeof m);
  MP_ASSERT_OK(mp_value_get_record(&m, sizeof m, v, 1));
  assert_int_equal(m.b, -7);
  assert_true(m.d == -6.25);
  assert_int_equal(m.H, 65535);
  assert_int_equal(m.i, INT32_MIN);
  assert_int_equal(m.c, 'z');
  assert_true(m.q == INT64_MIN);
  assert_true(m.flag);
  assert_true(m.f == 1.1f);
  assert_int_equal(m.B, 255);
  assert_true(m.Q == (uint64_t)INT64_MAX);
  assert_int_equal(m.h, -2);
  /* neighbours untouched */
  struct mixed zero, other;
  memset(&zero, 0, sizeof zero);
  MP_ASSERT_OK(mp_value_get_record(&other, sizeof other, v, 0));
  assert_memory_equal(&other, &zero, sizeof zero);
  MP_ASSERT_OK(mp_value_get_record(&other, sizeof other, v, 2));
  assert_memory_equal(&other, &zero, sizeof zero);
  /* a struct written whole reads back field by field */
  m.Q = UINT64_MAX;
  m.d = 3.5;
  m.flag = 0;
  MP_ASSERT_OK(mp_value_set_record(v, 2, &m, sizeof m));
  int64_t x;
  double d;
  MP_ASSERT_OK(mp_value_get_field_f64(&d, v, 2, 1));
  assert_true(d == 3.5);
  MP_ASSERT_OK(mp_value_get_field_i64(&x, v, 2, 6));
  assert_int_equal(x, 0);
  MP_ASSERT_OK(mp_value_get_field_i64(&x, v, 2, 3));
  assert_int_equal(x, INT32_MIN);
  MP_ASSERT_ERR(mp_value_get_field_i64(&x, v, 2, 9), MP_EINVAL); /* UINT64_MAX */
  /* ranges of the fields' own types */
  MP_ASSERT_ERR(mp_value_set_field_i64(v, 0, 0, 128), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_field_i64(v, 0, 6, 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_field_i64(v, 0, 9, -1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_field_f64(v, 0, 0, 1.0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_record(&m, sizeof m - 8, v, 0), MP_EINVAL);
  /* the value's own lock */
  MP_ASSERT_OK(mp_value_acquire(v, 0));
  MP_ASSERT_OK(mp_value_release(v));
  mp_value_free(v);
  /* sizes of a few records as the compiler has them */
  struct { char c; int16_t h; } ch;
  struct { float f; double d; float g; } fdf;
  struct { uint8_t a, b, c; } bbb;
  const struct { const char *codes; size_t size; } sizes[] = {
      {"ch", sizeof ch}, {"fdf", sizeof fdf}, {"BBB", sizeof bbb}, {"dd", sizeof(struct point)}};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; ++k) {
    MP_ASSERT_OK(mp_value_new_record(&v, sizes[k].codes, 1, 0));
    char buf[64];
    MP_ASSERT_OK(mp_value_get_record(buf, sizes[k].size, v, 0));
    MP_ASSERT_ERR(mp_value_get_record(buf, sizes[k].size + 1, v, 0), MP_EINVAL);
    mp_value_free(v);
  }
}

/* The tutorial: A = Array(Point, [(1.875, -6.25), (-5.75, 2.0)], lock=lock),
 * squared by a child; the parent prints [(3.515625, 39.0625), (33.0625, 4.0)]. */
static void test_value_points_squared_by_child(void **state) {
  (void)state;
  mp_lock_t *lock = NULL;
  mp_value_t *A = NULL;
  MP_ASSERT_OK(mp_lock_new(&lock, 0));
  MP_ASSERT_OK(mp_value_new_record_with_lock(&A, "dd", 3, lock));
  const struct point start[] = {{1.875, -6.25}, {-5.75, 2.0}, {3.0, -0.5}};
  const struct point want[] = {{3.515625, 39.0625}, {33.0625, 4.0}, {9.0, 0.25}};
  int fds[] = {mp_lock_fileno(lock), mp_value_fileno(A)};
  targ_t none = {0, 0, 0, 0};
  FOR_EACH_METHOD(m) {
    for (size_t i = 0; i < 3; ++i) MP_ASSERT_OK(mp_value_set_record(A, i, &start[i], sizeof start[i]));
    expect_child_ok(start_child("ts_points_square", none, m, fds, 2), 30000, method_name(m));
    for (size_t i = 0; i < 3; ++i) {
      struct point p;
      MP_ASSERT_OK(mp_value_get_record(&p, sizeof p, A, i));
      assert_true(p.x == want[i].x && p.y == want[i].y);
    }
    assert_int_equal(mp_lock_locked(lock), 0);
  }
  mp_value_free(A);
  mp_lock_free(lock);
}

/* ------------------------------------------------------------------------
 * A shared lock
 * ---------------------------------------------------------------------- */

/* 4 processes (spawn and fork) x 3000 unatomic read-yield-write updates of
 * three values that share one lock, taken through any of them or the lock
 * itself: every total exact. */
static void test_value_shared_lock_four_processes_exact(void **state) {
  (void)state;
  enum { kProcs = 4, kIters = 3000 };
  mp_lock_t *lock = NULL;
  mp_value_t *counter = NULL, *sums = NULL, *rec = NULL;
  MP_ASSERT_OK(mp_lock_new(&lock, 0));
  MP_ASSERT_OK(mp_value_new_with_lock(&counter, MP_TYPE_INT64, 1, lock));
  MP_ASSERT_OK(mp_value_new_with_lock(&sums, MP_TYPE_DOUBLE, 2, lock));
  MP_ASSERT_OK(mp_value_new_record_with_lock(&rec, "qd", 1, lock));
  int fds[] = {mp_lock_fileno(lock), mp_value_fileno(counter), mp_value_fileno(sums),
               mp_value_fileno(rec)};
  targ_t a = {kIters, 0, 0, 0};
  mp_process_t *p[kProcs];
  start_children(p, kProcs, "ts_shared_incr", a, fds, 4);
  expect_children_ok(p, kProcs, 120000, "incrementer");
  int64_t c = -1, q = -1;
  double s = -1, d = -1;
  MP_ASSERT_OK(mp_value_get_i64(&c, counter, 0));
  MP_ASSERT_OK(mp_value_get_f64(&s, sums, 1));
  MP_ASSERT_OK(mp_value_get_field_i64(&q, rec, 0, 0));
  MP_ASSERT_OK(mp_value_get_field_f64(&d, rec, 0, 1));
  printf("# totals: counter %" PRId64 ", sum %.1f, q %" PRId64 ", d %.1f (want %d)\n", c, s, q, d,
         kProcs * kIters);
  assert_int_equal(c, kProcs * kIters);
  assert_true(s == kProcs * kIters);
  assert_int_equal(q, kProcs * kIters);
  assert_true(d == kProcs * kIters * 0.5);
  assert_int_equal(mp_lock_locked(lock), 0);
  mp_value_free(rec);
  mp_value_free(sums);
  mp_value_free(counter);
  mp_lock_free(lock);
}

/* The value and the lock it names: the creator's handle is bound; one
 * opened from a descriptor is not until mp_value_bind_lock() with the same
 * lock (another one is refused); the value's acquire is the lock's; a
 * recursive lock held already is taken again. */
static void test_value_shared_lock_binding(void **state) {
  (void)state;
  mp_lock_t *lock = NULL, *other = NULL, *lock2 = NULL;
  mp_value_t *v = NULL, *opened = NULL;
  MP_ASSERT_OK(mp_lock_new(&lock, MP_LOCK_RECURSIVE));
  MP_ASSERT_OK(mp_lock_new(&other, MP_LOCK_RECURSIVE));
  MP_ASSERT_OK(mp_value_new_with_lock(&v, MP_TYPE_BOOL, 1, lock));
  MP_ASSERT_OK(mp_value_acquire(v, 0));
  assert_int_equal(mp_lock_locked(lock), 1);
  MP_ASSERT_OK(mp_lock_acquire(lock, 0)); /* recursive: the same lock */
  MP_ASSERT_OK(mp_value_acquire(v, 0));
  MP_ASSERT_OK(mp_lock_release(lock));
  MP_ASSERT_OK(mp_value_release(v));
  MP_ASSERT_OK(mp_value_release(v));
  assert_int_equal(mp_lock_locked(lock), 0);
  MP_ASSERT_ERR(mp_value_release(v), MP_ESTATE);

  MP_ASSERT_OK(mp_value_from_fd(&opened, dup(mp_value_fileno(v))));
  MP_ASSERT_ERR(mp_value_acquire(opened, 0), MP_ESTATE);
  assert_non_null(strstr(mp_last_error(), "mp_value_bind_lock"));
  MP_ASSERT_ERR(mp_value_bind_lock(opened, other), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_acquire(opened, 0), MP_ESTATE);
  MP_ASSERT_OK(mp_lock_from_fd(&lock2, dup(mp_lock_fileno(lock))));
  MP_ASSERT_OK(mp_value_bind_lock(opened, lock2));
  MP_ASSERT_OK(mp_value_acquire(opened, 0));
  assert_int_equal(mp_lock_locked(lock), 1);
  assert_int_equal(mp_lock_locked(other), 0);
  MP_ASSERT_OK(mp_value_release(opened));
  MP_ASSERT_OK(mp_value_set_bool(opened, 0, 1));
  int x = 0;
  MP_ASSERT_OK(mp_value_get_bool(&x, v, 0));
  assert_int_equal(x, 1);
  mp_value_free(opened);
  mp_lock_free(lock2);

  /* a value with its own lock, or none, takes no shared one */
  mp_value_t *own = NULL;
  MP_ASSERT_OK(mp_value_new_record(&own, "dd", 1, MP_VALUE_LOCK));
  MP_ASSERT_ERR(mp_value_bind_lock(own, lock), MP_ESTATE);
  mp_value_free(own);
  mp_value_free(v);
  mp_lock_free(other);
  mp_lock_free(lock);
}

/* A record or a bool of a future layout is refused whole (MP_ENOTSUP);
 * a record header that does not add up is MP_EINVAL. */
static void test_value_record_header_checked(void **state) {
  (void)state;
  mp_value_t *v = NULL, *h = NULL;
  MP_ASSERT_OK(mp_value_new_record(&v, "id", 2, 0));
  int fd = mp_value_fileno(v);
  /* ValueShared after its 24-byte header: type, flags, count,
   * bytes_len, lock word(s), then nfields and record_size. */
  MP_ASSERT_OK(mp_value_from_fd(&h, dup(fd)));
  mp_value_free(h);
  uint32_t nfields = 0;
  off_t at = -1;
  for (off_t off = 24; off < 256; off += 4) {
    uint32_t w[2];
    assert_int_equal(pread(fd, w, sizeof w, off), (ssize_t)sizeof w);
    if (w[0] == 2 && w[1] == 16) { /* nfields 2, record_size 16 */
      at = off;
      break;
    }
  }
  assert_true(at > 0);
  uint32_t bad = 17;
  assert_int_equal(pwrite(fd, &bad, 4, at + 4), 4); /* record_size */
  int dfd = dup(fd);
  MP_ASSERT_ERR(mp_value_from_fd(&h, dfd), MP_EINVAL);
  close_if_open(dfd);
  nfields = 33;
  bad = 16;
  assert_int_equal(pwrite(fd, &bad, 4, at + 4), 4);
  assert_int_equal(pwrite(fd, &nfields, 4, at), 4);
  dfd = dup(fd);
  MP_ASSERT_ERR(mp_value_from_fd(&h, dfd), MP_EINVAL);
  close_if_open(dfd);
  mp_value_free(v);
}

int main(int argc, char **argv) {
  if (sync_test_start(argc, argv, k_targets, sizeof k_targets / sizeof k_targets[0]) != 0)
    return 99;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_value_bool),
      cmocka_unit_test(test_value_record_layout_is_the_c_struct),
      cmocka_unit_test(test_value_points_squared_by_child),
      cmocka_unit_test(test_value_shared_lock_four_processes_exact),
      cmocka_unit_test(test_value_shared_lock_binding),
      cmocka_unit_test(test_value_record_header_checked),
  };
  return MP_RUN_TESTS(tests);
}
