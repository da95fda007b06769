/* Shared values and arrays (mp_value_*): every type code, get/set of
 * elements and bytes, NULL out-parameters, the value's own lock (and its
 * owner's death), atomic and locked updates counted across processes, the
 * seeds' Value/Array `modify`.
 * Helpers: tests/common/synctest.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "synctest.h"

/* ------------------------------------------------------------------------
 * Targets
 * ---------------------------------------------------------------------- */

/* fds: value (with MP_VALUE_LOCK), event. Take the value's lock, set the
 * event, sleep a ms and SIGKILL itself. */
static int ts_value_lock_die(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_value_t *v = child_value(0);
  mp_event_t *e = child_event(1);
  CK(v && e);
  CK(mp_value_acquire(v, 10000) == MP_OK);
  CK(mp_value_set_f64(v, 0, 1.5) == MP_OK); /* a half-done update */
  CK(mp_event_set(e) == MP_OK);
  if (t.a > 0) sleep_ms(t.a);
  kill(getpid(), SIGKILL);
  for (;;) sleep_ms(1000);
}

/* fds: value (INT64), value (INT32, 2 elements). a atomic adds of 1 to
 * element 0 of the first and element 1 of the second. */
static int ts_value_add(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_value_t *v64 = child_value(0);
  mp_value_t *v32 = child_value(1);
  CK(v64 && v32);
  int64_t n;
  for (int i = 0; i < t.a; ++i) {
    CK(mp_value_add_i64(&n, v64, 0, 1) == MP_OK);
    CK(mp_value_add_i64(&n, v32, 1, 1) == MP_OK);
  }
  mp_value_free(v32);
  mp_value_free(v64);
  return 0;
}

/* fds: value (DOUBLE, MP_VALUE_LOCK). a times {acquire; get; set + 1.0;
 * release}. */
static int ts_value_locked_f64(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_value_t *v = child_value(0);
  CK(v);
  for (int i = 0; i < t.a; ++i) {
    double x = 0;
    CK(mp_value_acquire(v, 30000) == MP_OK);
    CK(mp_value_get_f64(&x, v, 0) == MP_OK);
    CK(mp_value_set_f64(v, 0, x + 1.0) == MP_OK);
    CK(mp_value_release(v) == MP_OK);
  }
  mp_value_free(v);
  return 0;
}

/* The seeds' `modify`: fds n (INT32), b (INT32, no lock), s (BYTES), arr
 * (INT32 x 5), A (DOUBLE x 4: two points). */
static int ts_modify(const void *arg, size_t len, void *payload) {
  (void)payload;
  (void)arg;
  (void)len;
  mp_value_t *n = child_value(0), *b = child_value(1), *s = child_value(2),
             *arr = child_value(3), *A = child_value(4);
  CK(n && b && s && arr && A);
  int64_t x;
  CK(mp_value_acquire(n, 10000) == MP_OK);
  CK(mp_value_get_i64(&x, n, 0) == MP_OK);
  CK(mp_value_set_i64(n, 0, x * x) == MP_OK); /* n.value **= 2 */
  CK(mp_value_release(n) == MP_OK);
  CK(mp_value_set_i64(b, 0, 1) == MP_OK); /* b.value = True */
  char buf[64];
  size_t got = 0;
  CK(mp_value_get_bytes(&got, s, buf, sizeof buf) == MP_OK);
  for (size_t i = 0; i < got; ++i)
    if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] = (char)(buf[i] - 'a' + 'A');
  CK(mp_value_set_bytes(s, buf, got) == MP_OK); /* s.value.upper() */
  CK(mp_value_set_i64(arr, 0, 10) == MP_OK);    /* arr[0] = 10 */
  for (size_t i = 0; i < mp_value_count(A); ++i) {
    double d;
    CK(mp_value_get_f64(&d, A, i) == MP_OK);
    CK(mp_value_set_f64(A, i, d * d) == MP_OK); /* a.x **= 2; a.y **= 2 */
  }
  mp_value_free(A);
  mp_value_free(arr);
  mp_value_free(s);
  mp_value_free(b);
  mp_value_free(n);
  return 0;
}

static const sync_target_t k_targets[] = {
    {"ts_value_lock_die", ts_value_lock_die},
    {"ts_value_add", ts_value_add},
    {"ts_value_locked_f64", ts_value_locked_f64},
    {"ts_modify", ts_modify},
};

/* The lock inside an MP_VALUE_LOCK value, after its holder died. */
static void test_sync_value_lock_owner_death(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  mp_event_t *held = NULL;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_DOUBLE, 1, MP_VALUE_LOCK));
  MP_ASSERT_OK(mp_event_new(&held));
  int fds[] = {mp_value_fileno(v), mp_event_fileno(held)};
  targ_t a = {100, 0, 0, 0};
  mp_process_t *p = start_child("ts_value_lock_die", a, MP_START_SPAWN, fds, 2);
  MP_ASSERT_OK(mp_event_wait(held, 20000));
  MP_ASSERT_ERR(mp_value_acquire(v, 20000), MP_EOWNERDEAD);
  assert_int_equal(finish_child(p, 20000), -SIGKILL);
  double d = 0;
  MP_ASSERT_OK(mp_value_get_f64(&d, v, 0));
  assert_true(d == 1.5);
  MP_ASSERT_OK(mp_value_set_f64(v, 0, 0.0)); /* repair */
  MP_ASSERT_OK(mp_value_release(v));
  MP_ASSERT_ERR(mp_value_release(v), MP_ESTATE);
  MP_ASSERT_OK(mp_value_acquire(v, 0));
  MP_ASSERT_ERR(mp_value_acquire(v, 0), MP_ETIMEDOUT);
  MP_ASSERT_OK(mp_value_release(v));
  mp_event_free(held);
  mp_value_free(v);
}

/* ------------------------------------------------------------------------
 * Values and arrays
 * ---------------------------------------------------------------------- */

static void test_sync_value_new_errors(void **state) {
  (void)state;
  mp_value_t *v = (mp_value_t *)&v;
  MP_ASSERT_ERR(mp_value_new(NULL, MP_TYPE_INT64, 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, (mp_type_t)0, 1, 0), MP_EINVAL);
  assert_null(v);
  MP_ASSERT_ERR(mp_value_new(&v, (mp_type_t)14, 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, MP_TYPE_RECORD, 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, (mp_type_t)-1, 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, MP_TYPE_INT64, 0, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, MP_TYPE_BYTES, 0, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, MP_TYPE_INT64, SIZE_MAX, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, MP_TYPE_DOUBLE, SIZE_MAX / 8 + 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, MP_TYPE_INT64, 1, 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_new(&v, MP_TYPE_INT64, 1, -1), MP_EINVAL);
  assert_null(v);
  const mp_type_t types[] = {MP_TYPE_INT32, MP_TYPE_INT64, MP_TYPE_UINT64, MP_TYPE_DOUBLE,
                             MP_TYPE_BYTES};
  for (size_t i = 0; i < 5; ++i)
    for (int flags = 0; flags <= MP_VALUE_LOCK; ++flags) {
      MP_ASSERT_OK(mp_value_new(&v, types[i], 7, flags));
      assert_int_equal(mp_value_type(v), types[i]);
      assert_int_equal(mp_value_count(v), 7);
      size_t count = 0;
      MP_ASSERT_OK(mp_value_count2(&count, v));
      assert_int_equal(count, 7);
      assert_true(mp_value_fileno(v) >= 0);
      mp_value_free(v);
    }
  mp_value_free(NULL);
}

static void test_sync_value_int32(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  int64_t x = 99, actual = 0;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT32, 3, 0));
  for (size_t i = 0; i < 3; ++i) {
    MP_ASSERT_OK(mp_value_get_i64(&x, v, i));
    assert_int_equal(x, 0);
  }
  const int64_t vals[] = {INT32_MIN, INT32_MAX, -1, 0, 12345};
  for (size_t i = 0; i < 5; ++i) {
    MP_ASSERT_OK(mp_value_set_i64(v, 2, vals[i]));
    MP_ASSERT_OK(mp_value_get_i64(&x, v, 2));
    assert_int_equal(x, vals[i]);
  }
  MP_ASSERT_OK(mp_value_set_i64(v, 0, 7));
  MP_ASSERT_ERR(mp_value_set_i64(v, 0, (int64_t)INT32_MAX + 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_i64(v, 0, (int64_t)INT32_MIN - 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_i64(v, 0, INT64_MAX), MP_EINVAL);
  MP_ASSERT_OK(mp_value_get_i64(&x, v, 0));
  assert_int_equal(x, 7);
  MP_ASSERT_OK(mp_value_add_i64(&x, v, 0, 5));
  assert_int_equal(x, 12);
  MP_ASSERT_OK(mp_value_add_i64(&x, v, 0, -20));
  assert_int_equal(x, -8);
  assert_int_equal(mp_value_cas_i64(v, 0, -8, 100, &actual), 1);
  assert_int_equal(actual, -8);
  actual = 0;
  assert_int_equal(mp_value_cas_i64(v, 0, -8, 5, &actual), 0);
  assert_int_equal(actual, 100);
  assert_int_equal(mp_value_cas_i64(v, 0, 100, 101, NULL), 1);
  assert_int_equal(mp_value_cas_i64(v, 0, 100, 102, NULL), 0);
  MP_ASSERT_OK(mp_value_get_i64(&x, v, 0));
  assert_int_equal(x, 101);
  MP_ASSERT_ERR(mp_value_cas_i64(v, 0, 101, (int64_t)INT32_MAX + 1, NULL), MP_EINVAL);
  /* The same through mp_value_compare_exchange_i64 (0.3: out-parameter first). */
  actual = 0;
  assert_int_equal(mp_value_compare_exchange_i64(&actual, v, 0, 101, 102), 1);
  assert_int_equal(actual, 101);
  assert_int_equal(mp_value_compare_exchange_i64(&actual, v, 0, 101, 103), 0);
  assert_int_equal(actual, 102);
  assert_int_equal(mp_value_compare_exchange_i64(NULL, v, 0, 102, 101), 1);
  MP_ASSERT_ERR(mp_value_compare_exchange_i64(NULL, v, 0, 101, (int64_t)INT32_MAX + 1),
                MP_EINVAL);
  MP_ASSERT_ERR(mp_value_compare_exchange_i64(&actual, v, 3, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_add_i64(&x, v, 0, (int64_t)INT32_MAX + 1), MP_EINVAL);
  /* out of range */
  MP_ASSERT_ERR(mp_value_get_i64(&x, v, 3), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_i64(v, 3, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_add_i64(&x, v, 3, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_cas_i64(v, 3, 0, 1, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_i64(&x, v, SIZE_MAX), MP_EINVAL);
  /* wrong type */
  uint64_t u;
  double d;
  char buf[8];
  size_t n;
  MP_ASSERT_ERR(mp_value_get_u64(&u, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_u64(v, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_f64(&d, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_f64(v, 0, 1.0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_bytes(&n, v, buf, sizeof buf), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_bytes(v, "x", 1), MP_EINVAL);
  MP_ASSERT_OK(mp_value_get_i64(&x, v, 0));
  assert_int_equal(x, 101);
  mp_value_free(v);
}

static void test_sync_value_int64(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  int64_t x = 99, actual = 0;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT64, 1, 0));
  MP_ASSERT_OK(mp_value_get_i64(&x, v, 0));
  assert_int_equal(x, 0);
  const int64_t vals[] = {INT64_MIN, INT64_MAX, -1, (int64_t)1 << 40};
  for (size_t i = 0; i < 4; ++i) {
    MP_ASSERT_OK(mp_value_set_i64(v, 0, vals[i]));
    MP_ASSERT_OK(mp_value_get_i64(&x, v, 0));
    assert_true(x == vals[i]);
  }
  MP_ASSERT_OK(mp_value_set_i64(v, 0, 10));
  MP_ASSERT_OK(mp_value_add_i64(&x, v, 0, (int64_t)1 << 33));
  assert_true(x == 10 + ((int64_t)1 << 33));
  MP_ASSERT_OK(mp_value_add_i64(&x, v, 0, -((int64_t)1 << 33)));
  assert_int_equal(x, 10);
  assert_int_equal(mp_value_cas_i64(v, 0, 10, INT64_MIN, &actual), 1);
  assert_int_equal(actual, 10);
  assert_int_equal(mp_value_cas_i64(v, 0, 10, 11, &actual), 0);
  assert_true(actual == INT64_MIN);
  MP_ASSERT_ERR(mp_value_get_i64(&x, v, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_i64(v, 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_add_i64(&x, v, 1, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_cas_i64(v, 1, 0, 1, &actual), MP_EINVAL);
  uint64_t u;
  double d;
  size_t n;
  char buf[4];
  MP_ASSERT_ERR(mp_value_get_u64(&u, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_u64(v, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_f64(&d, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_f64(v, 0, 1.0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_bytes(&n, v, buf, sizeof buf), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_bytes(v, "ab", 2), MP_EINVAL);
  mp_value_free(v);
}

static void test_sync_value_uint64(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  uint64_t u = 1;
  int64_t x = 0, actual = 0;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_UINT64, 2, MP_VALUE_LOCK));
  MP_ASSERT_OK(mp_value_get_u64(&u, v, 1));
  assert_true(u == 0);
  MP_ASSERT_OK(mp_value_set_u64(v, 1, UINT64_MAX));
  MP_ASSERT_OK(mp_value_get_u64(&u, v, 1));
  assert_true(u == UINT64_MAX);
  MP_ASSERT_ERR(mp_value_get_i64(&x, v, 1), MP_EINVAL); /* does not fit */
  MP_ASSERT_ERR(mp_value_set_i64(v, 0, -1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_i64(v, 0, INT64_MIN), MP_EINVAL);
  MP_ASSERT_OK(mp_value_get_u64(&u, v, 0));
  assert_true(u == 0);
  MP_ASSERT_OK(mp_value_set_i64(v, 0, INT64_MAX));
  MP_ASSERT_OK(mp_value_get_u64(&u, v, 0));
  assert_true(u == (uint64_t)INT64_MAX);
  MP_ASSERT_OK(mp_value_set_i64(v, 0, 5));
  MP_ASSERT_OK(mp_value_get_i64(&x, v, 0));
  assert_int_equal(x, 5);
  MP_ASSERT_OK(mp_value_add_i64(&x, v, 0, 3));
  assert_int_equal(x, 8);
  assert_int_equal(mp_value_cas_i64(v, 0, 8, 9, &actual), 1);
  assert_int_equal(mp_value_cas_i64(v, 0, 8, 10, &actual), 0);
  assert_int_equal(actual, 9);
  MP_ASSERT_ERR(mp_value_get_u64(&u, v, 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_u64(v, 2, 1), MP_EINVAL);
  double d;
  size_t n;
  char buf[4];
  MP_ASSERT_ERR(mp_value_get_f64(&d, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_f64(v, 0, 1.0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_bytes(v, "ab", 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_bytes(&n, v, buf, sizeof buf), MP_EINVAL);
  mp_value_free(v);
}

static void test_sync_value_double(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  double d = 1.0;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_DOUBLE, 4, 0));
  MP_ASSERT_OK(mp_value_get_f64(&d, v, 3));
  assert_true(d == 0.0);
  const double vals[] = {3.25, -0.5, 1e300, -1e-300, 3.1415927};
  for (size_t i = 0; i < 5; ++i) {
    MP_ASSERT_OK(mp_value_set_f64(v, i % 4, vals[i]));
    MP_ASSERT_OK(mp_value_get_f64(&d, v, i % 4));
    assert_true(d == vals[i]);
  }
  MP_ASSERT_ERR(mp_value_get_f64(&d, v, 4), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_f64(v, 4, 1.0), MP_EINVAL);
  int64_t x, actual;
  uint64_t u;
  size_t n;
  char buf[4];
  MP_ASSERT_ERR(mp_value_get_i64(&x, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_i64(v, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_add_i64(&x, v, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_cas_i64(v, 0, 0, 1, &actual), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_u64(&u, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_u64(v, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_bytes(&n, v, buf, sizeof buf), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_bytes(v, "ab", 2), MP_EINVAL);
  MP_ASSERT_OK(mp_value_get_f64(&d, v, 0));
  assert_true(d == 3.1415927);
  mp_value_free(v);
}

/* The small type codes of Python's Value/Array ('h', 'H', 'b', 'B', 'c',
 * 'f'): each range's ends, refusal beyond them, add wrapping as ctypes
 * does, cas, and a child process sees what the parent wrote. */
static void test_sync_value_small_integers(void **state) {
  (void)state;
  static const struct {
    mp_type_t type;
    int64_t lo, hi;
  } kinds[] = {{MP_TYPE_INT16, INT16_MIN, INT16_MAX}, {MP_TYPE_UINT16, 0, UINT16_MAX},
               {MP_TYPE_INT8, INT8_MIN, INT8_MAX},    {MP_TYPE_UINT8, 0, UINT8_MAX},
               {MP_TYPE_CHAR, 0, UINT8_MAX}};
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; ++k) {
    mp_value_t *v = NULL;
    int64_t x = 99, actual = 0;
    MP_ASSERT_OK(mp_value_new(&v, kinds[k].type, 3, MP_VALUE_LOCK));
    assert_int_equal(mp_value_type(v), kinds[k].type);
    assert_int_equal(mp_value_count(v), 3);
    MP_ASSERT_OK(mp_value_get_i64(&x, v, 2));
    assert_int_equal(x, 0);
    const int64_t ends[] = {kinds[k].lo, kinds[k].hi, 0, 1};
    for (size_t i = 0; i < 4; ++i) {
      MP_ASSERT_OK(mp_value_set_i64(v, i % 3, ends[i]));
      MP_ASSERT_OK(mp_value_get_i64(&x, v, i % 3));
      assert_int_equal(x, ends[i]);
    }
    MP_ASSERT_ERR(mp_value_set_i64(v, 0, kinds[k].hi + 1), MP_EINVAL);
    MP_ASSERT_ERR(mp_value_set_i64(v, 0, kinds[k].lo - 1), MP_EINVAL);
    MP_ASSERT_ERR(mp_value_set_i64(v, 3, 0), MP_EINVAL);
    MP_ASSERT_OK(mp_value_set_i64(v, 1, kinds[k].hi));
    MP_ASSERT_OK(mp_value_add_i64(&x, v, 1, 1)); /* wraps, as ctypes does */
    assert_int_equal(x, kinds[k].lo);
    MP_ASSERT_OK(mp_value_add_i64(&x, v, 1, -1));
    assert_int_equal(x, kinds[k].hi);
    MP_ASSERT_ERR(mp_value_add_i64(&x, v, 1, INT64_MAX), MP_EINVAL);
    assert_int_equal(mp_value_cas_i64(v, 1, kinds[k].hi, 7, &actual), 1);
    assert_int_equal(mp_value_cas_i64(v, 1, kinds[k].hi, 8, &actual), 0);
    assert_int_equal(actual, 7);
    MP_ASSERT_ERR(mp_value_cas_i64(v, 1, 7, kinds[k].hi + 1, NULL), MP_EINVAL);
    double d;
    MP_ASSERT_ERR(mp_value_get_f64(&d, v, 0), MP_EINVAL);
    MP_ASSERT_OK(mp_value_acquire(v, 0));
    MP_ASSERT_OK(mp_value_release(v));
    mp_value_t *w = NULL; /* a second handle, as a child opens it */
    MP_ASSERT_OK(mp_value_from_fd(&w, dup(mp_value_fileno(v))));
    MP_ASSERT_OK(mp_value_get_i64(&x, w, 1));
    assert_int_equal(x, 7);
    mp_value_free(w);
    mp_value_free(v);
  }
}

static void test_sync_value_float(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  double d = 1.0;
  int64_t x;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_FLOAT, 2, 0));
  MP_ASSERT_OK(mp_value_get_f64(&d, v, 1));
  assert_true(d == 0.0);
  MP_ASSERT_OK(mp_value_set_f64(v, 1, 3.25)); /* exact in a float */
  MP_ASSERT_OK(mp_value_get_f64(&d, v, 1));
  assert_true(d == 3.25);
  MP_ASSERT_OK(mp_value_set_f64(v, 0, 0.1)); /* rounded to float, as ctypes' c_float */
  MP_ASSERT_OK(mp_value_get_f64(&d, v, 0));
  assert_true(d == (double)0.1f);
  MP_ASSERT_ERR(mp_value_set_f64(v, 2, 1.0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_i64(&x, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_cas_i64(v, 0, 0, 1, NULL), MP_EINVAL);
  mp_value_free(v);
}

static void test_sync_value_bytes(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  char buf[32];
  size_t n = 99;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_BYTES, 16, 0));
  assert_int_equal(mp_value_type(v), MP_TYPE_BYTES);
  assert_int_equal(mp_value_count(v), 16);
  MP_ASSERT_OK(mp_value_get_bytes(&n, v, buf, sizeof buf));
  assert_int_equal(n, 0);
  MP_ASSERT_OK(mp_value_get_bytes(&n, v, NULL, 0));
  assert_int_equal(n, 0);
  MP_ASSERT_OK(mp_value_set_bytes(v, "hello", 5));
  MP_ASSERT_OK(mp_value_get_bytes(&n, v, buf, sizeof buf));
  assert_int_equal(n, 5);
  assert_memory_equal(buf, "hello", 5);
  MP_ASSERT_OK(mp_value_get_bytes(&n, v, buf, 5)); /* exactly enough */
  assert_int_equal(n, 5);
  n = 0;
  MP_ASSERT_ERR(mp_value_get_bytes(&n, v, buf, 4), MP_ENOSPC);
  assert_int_equal(n, 5);
  n = 0;
  MP_ASSERT_ERR(mp_value_get_bytes(&n, v, NULL, 0), MP_ENOSPC);
  assert_int_equal(n, 5);
  const char full[] = "0123456789abcdef";
  MP_ASSERT_OK(mp_value_set_bytes(v, full, 16)); /* the whole capacity */
  MP_ASSERT_OK(mp_value_get_bytes(&n, v, buf, sizeof buf));
  assert_int_equal(n, 16);
  assert_memory_equal(buf, full, 16);
  MP_ASSERT_ERR(mp_value_set_bytes(v, "0123456789abcdefg", 17), MP_ENOSPC);
  MP_ASSERT_OK(mp_value_get_bytes(&n, v, buf, sizeof buf)); /* unchanged */
  assert_int_equal(n, 16);
  assert_memory_equal(buf, full, 16);
  n = 0;
  MP_ASSERT_ERR(mp_value_get_bytes(&n, v, buf, 15), MP_ENOSPC);
  assert_int_equal(n, 16);
  MP_ASSERT_OK(mp_value_set_bytes(v, "\0a\0", 3)); /* binary, shorter */
  MP_ASSERT_OK(mp_value_get_bytes(&n, v, buf, sizeof buf));
  assert_int_equal(n, 3);
  assert_memory_equal(buf, "\0a\0", 3);
  MP_ASSERT_OK(mp_value_set_bytes(v, NULL, 0)); /* empty */
  MP_ASSERT_OK(mp_value_get_bytes(&n, v, buf, sizeof buf));
  assert_int_equal(n, 0);
  MP_ASSERT_ERR(mp_value_set_bytes(v, NULL, 3), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_bytes(NULL, v, buf, sizeof buf), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_bytes(&n, v, NULL, 8), MP_EINVAL);
  int64_t x;
  uint64_t u;
  double d;
  MP_ASSERT_ERR(mp_value_get_i64(&x, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_set_i64(v, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_add_i64(&x, v, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_cas_i64(v, 0, 0, 1, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_u64(&u, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_f64(&d, v, 0), MP_EINVAL);
  mp_value_free(v);
}

static void test_sync_value_null_out_params(void **state) {
  (void)state;
  mp_value_t *v = NULL, *vu = NULL, *vd = NULL;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT64, 1, 0));
  MP_ASSERT_OK(mp_value_new(&vu, MP_TYPE_UINT64, 1, 0));
  MP_ASSERT_OK(mp_value_new(&vd, MP_TYPE_DOUBLE, 1, 0));
  MP_ASSERT_ERR(mp_value_get_i64(NULL, v, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_add_i64(NULL, v, 0, 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_u64(NULL, vu, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_get_f64(NULL, vd, 0), MP_EINVAL);
  int64_t x = -1;
  MP_ASSERT_OK(mp_value_get_i64(&x, v, 0));
  assert_int_equal(x, 0); /* the failed add added nothing */
  mp_value_free(vd);
  mp_value_free(vu);
  mp_value_free(v);
}

static void test_sync_value_acquire_without_lock_estate(void **state) {
  (void)state;
  mp_value_t *v = NULL;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT64, 1, 0));
  MP_ASSERT_ERR(mp_value_acquire(v, 0), MP_ESTATE);
  MP_ASSERT_ERR(mp_value_acquire(v, MP_FOREVER), MP_ESTATE);
  MP_ASSERT_ERR(mp_value_release(v), MP_ESTATE);
  mp_value_free(v);
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT64, 1, MP_VALUE_LOCK));
  MP_ASSERT_ERR(mp_value_acquire(v, -2), MP_EINVAL);
  MP_ASSERT_ERR(mp_value_release(v), MP_ESTATE); /* not held */
  MP_ASSERT_OK(mp_value_acquire(v, 0));
  MP_ASSERT_ERR(mp_value_acquire(v, 0), MP_ETIMEDOUT); /* a plain lock */
  MP_ASSERT_OK(mp_value_set_i64(v, 0, 3));
  MP_ASSERT_OK(mp_value_release(v));
  MP_ASSERT_OK(mp_value_acquire(v, MP_FOREVER));
  MP_ASSERT_OK(mp_value_release(v));
  MP_ASSERT_ERR(mp_value_release(v), MP_ESTATE);
  mp_value_free(v);
}

/* 4 processes x 10000 atomic adds (no lock) on an INT64 value and an
 * INT32 array element: exact. */
static void test_sync_value_atomic_add_four_processes(void **state) {
  (void)state;
  enum { kProcs = 4, kAdds = 10000 };
  mp_value_t *v64 = NULL, *v32 = NULL;
  MP_ASSERT_OK(mp_value_new(&v64, MP_TYPE_INT64, 1, 0));
  MP_ASSERT_OK(mp_value_new(&v32, MP_TYPE_INT32, 2, 0));
  int fds[] = {mp_value_fileno(v64), mp_value_fileno(v32)};
  targ_t a = {kAdds, 0, 0, 0};
  mp_process_t *p[kProcs];
  start_children(p, kProcs, "ts_value_add", a, fds, 2);
  expect_children_ok(p, kProcs, 60000, "adder");
  int64_t x = -1;
  MP_ASSERT_OK(mp_value_get_i64(&x, v64, 0));
  assert_int_equal(x, (int64_t)kProcs * kAdds);
  MP_ASSERT_OK(mp_value_get_i64(&x, v32, 1));
  assert_int_equal(x, (int64_t)kProcs * kAdds);
  MP_ASSERT_OK(mp_value_get_i64(&x, v32, 0));
  assert_int_equal(x, 0);
  mp_value_free(v32);
  mp_value_free(v64);
}

/* 4 processes x 5000 {acquire; get_f64; set_f64 + 1.0; release}: exact. */
static void test_sync_value_locked_double_four_processes(void **state) {
  (void)state;
  enum { kProcs = 4, kIters = 5000 };
  mp_value_t *v = NULL;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_DOUBLE, 1, MP_VALUE_LOCK));
  int fds[] = {mp_value_fileno(v)};
  targ_t a = {kIters, 0, 0, 0};
  mp_process_t *p[kProcs];
  for (int i = 0; i < kProcs; ++i)
    p[i] = start_child("ts_value_locked_f64", a, k_methods[i % 2], fds, 1);
  for (int i = 0; i < kProcs; ++i) expect_child_ok(p[i], 60000, "locked adder");
  double d = -1;
  MP_ASSERT_OK(mp_value_get_f64(&d, v, 0));
  if (d != (double)(kProcs * kIters)) fail_msg("value %.1f, expected %d", d, kProcs * kIters);
  MP_ASSERT_OK(mp_value_acquire(v, 0)); /* nobody holds it */
  MP_ASSERT_OK(mp_value_release(v));
  mp_value_free(v);
}

/* A double as Python prints it for these values (shortest form, ".0"). */
static void fmt_double(char *out, size_t cap, double d) {
  snprintf(out, cap, "%.6f", d);
  char *e = out + strlen(out) - 1;
  while (e > out && *e == '0' && e[-1] != '.') *e-- = '\0';
}

/* The seeds' Value/Array `modify`: a child modifies values and arrays, the
 * parent prints them. */
static void test_sync_value_modify_example(void **state) {
  (void)state;
  mp_value_t *n = NULL, *b = NULL, *s = NULL, *arr = NULL, *A = NULL;
  MP_ASSERT_OK(mp_value_new(&n, MP_TYPE_INT32, 1, MP_VALUE_LOCK)); /* Value('i', 7) */
  MP_ASSERT_OK(mp_value_set_i64(n, 0, 7));
  MP_ASSERT_OK(mp_value_new(&b, MP_TYPE_INT32, 1, 0)); /* Value(c_bool, False, lock=False) */
  MP_ASSERT_OK(mp_value_new(&s, MP_TYPE_BYTES, 11, MP_VALUE_LOCK));
  MP_ASSERT_OK(mp_value_set_bytes(s, "hello world", 11));
  MP_ASSERT_OK(mp_value_new(&arr, MP_TYPE_INT32, 5, MP_VALUE_LOCK)); /* range(5) */
  for (int i = 0; i < 5; ++i) MP_ASSERT_OK(mp_value_set_i64(arr, (size_t)i, i));
  MP_ASSERT_OK(mp_value_new(&A, MP_TYPE_DOUBLE, 4, MP_VALUE_LOCK)); /* two Points */
  const double pts[] = {1.875, -6.25, -5.75, 2.0};
  for (int i = 0; i < 4; ++i) MP_ASSERT_OK(mp_value_set_f64(A, (size_t)i, pts[i]));
  int fds[] = {mp_value_fileno(n), mp_value_fileno(b), mp_value_fileno(s), mp_value_fileno(arr),
               mp_value_fileno(A)};
  targ_t none = {0, 0, 0, 0};
  FOR_EACH_METHOD(m) {
    if (m != k_methods[0]) { /* again from the start, with the other start method */
      MP_ASSERT_OK(mp_value_set_i64(n, 0, 7));
      MP_ASSERT_OK(mp_value_set_i64(b, 0, 0));
      MP_ASSERT_OK(mp_value_set_bytes(s, "hello world", 11));
      MP_ASSERT_OK(mp_value_set_i64(arr, 0, 0));
      for (int i = 0; i < 4; ++i) MP_ASSERT_OK(mp_value_set_f64(A, (size_t)i, pts[i]));
    }
    mp_process_t *p = start_child("ts_modify", none, m, fds, 5);
    expect_child_ok(p, 30000, "modify");
    char out[512], num[4][32], bytes[32];
    int64_t nv, bv, av[5];
    double ad[4];
    size_t blen = 0;
    MP_ASSERT_OK(mp_value_get_i64(&nv, n, 0));
    MP_ASSERT_OK(mp_value_get_i64(&bv, b, 0));
    MP_ASSERT_OK(mp_value_get_bytes(&blen, s, bytes, sizeof bytes - 1));
    bytes[blen] = '\0';
    for (int i = 0; i < 5; ++i) MP_ASSERT_OK(mp_value_get_i64(&av[i], arr, (size_t)i));
    for (int i = 0; i < 4; ++i) {
      MP_ASSERT_OK(mp_value_get_f64(&ad[i], A, (size_t)i));
      fmt_double(num[i], sizeof num[i], ad[i]);
    }
    snprintf(out, sizeof out,
             "%" PRId64 "\n%s\nb'%s'\n[%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
             ", %" PRId64 "]\n[(%s, %s), (%s, %s)]\n",
             nv, bv ? "True" : "False", bytes, av[0], av[1], av[2], av[3], av[4], num[0],
             num[1], num[2], num[3]);
    printf("# modify (%s):\n", method_name(m));
    for (char *line = out, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1)
      printf("#   %.*s\n", (int)(nl - line), line);
    fflush(stdout);
    assert_string_equal(out,
                        "49\nTrue\nb'HELLO WORLD'\n[10, 1, 2, 3, 4]\n"
                        "[(3.515625, 39.0625), (33.0625, 4.0)]\n");
  }
  mp_value_free(A);
  mp_value_free(arr);
  mp_value_free(s);
  mp_value_free(b);
  mp_value_free(n);
}

int main(int argc, char **argv) {
  if (sync_test_start(argc, argv, k_targets, sizeof k_targets / sizeof k_targets[0]) != 0)
    return 99;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sync_value_lock_owner_death),
      cmocka_unit_test(test_sync_value_new_errors),
      cmocka_unit_test(test_sync_value_int32),
      cmocka_unit_test(test_sync_value_int64),
      cmocka_unit_test(test_sync_value_uint64),
      cmocka_unit_test(test_sync_value_double),
      cmocka_unit_test(test_sync_value_small_integers),
      cmocka_unit_test(test_sync_value_float),
      cmocka_unit_test(test_sync_value_bytes),
      cmocka_unit_test(test_sync_value_null_out_params),
      cmocka_unit_test(test_sync_value_acquire_without_lock_estate),
      cmocka_unit_test(test_sync_value_atomic_add_four_processes),
      cmocka_unit_test(test_sync_value_locked_double_four_processes),
      cmocka_unit_test(test_sync_value_modify_example),
  };
  return MP_RUN_TESTS(tests);
}
