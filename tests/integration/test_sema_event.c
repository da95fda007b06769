/* Semaphores and events shared between processes (mp_sem_*, mp_event_*):
 * every function's success and documented errors, a bounded semaphore's
 * over-release, a semaphore never exceeding its count (the seeds' KTV
 * rooms), an event waking every process, the seeds' traffic light.
 * Helpers: tests/common/synctest.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "synctest.h"

/* ------------------------------------------------------------------------
 * Targets
 * ---------------------------------------------------------------------- */

/* fds: sem, value [inside, max inside], event (start). a rounds of
 * {acquire; inside += 1; record the max; sleep b ms; inside -= 1;
 * release}. */
static int ts_ktv(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_sem_t *s = child_sem(0);
  mp_value_t *v = child_value(1);
  mp_event_t *go = child_event(2);
  CK(s && v && go);
  CK(mp_event_wait(go, 30000) == MP_OK);
  for (int r = 0; r < t.a; ++r) {
    CK(mp_sem_acquire(s, 30000) == MP_OK);
    int64_t n = 0, seen = 0;
    CK(mp_value_add_i64(&n, v, 0, 1) == MP_OK);
    CK(mp_value_get_i64(&seen, v, 1) == MP_OK);
    while (n > seen) {
      int c = mp_value_cas_i64(v, 1, seen, n, &seen);
      CK(c == 0 || c == 1);
      if (c == 1) break;
    }
    sleep_ms(t.b);
    CK(mp_value_add_i64(&n, v, 0, -1) == MP_OK);
    CK(n >= 0);
    CK(mp_sem_release(s) == MP_OK);
  }
  mp_event_free(go);
  mp_value_free(v);
  mp_sem_free(s);
  return 0;
}

/* fds: sem. Acquire with a generous timeout. */
static int ts_sem_acquire(const void *arg, size_t len, void *payload) {
  (void)payload;
  (void)arg;
  (void)len;
  mp_sem_t *s = child_sem(0);
  CK(s);
  CK(mp_sem_acquire(s, 20000) == MP_OK);
  mp_sem_free(s);
  return 0;
}

/* fds: event, value [ready]. Count itself ready, then wait forever. */
static int ts_event_wait(const void *arg, size_t len, void *payload) {
  (void)payload;
  (void)arg;
  (void)len;
  mp_event_t *e = child_event(0);
  mp_value_t *v = child_value(1);
  CK(e && v);
  int64_t n;
  CK(mp_value_add_i64(&n, v, 0, 1) == MP_OK);
  CK(mp_event_wait(e, MP_FOREVER) == MP_OK);
  CK(mp_event_is_set(e) == 1);
  mp_value_free(v);
  mp_event_free(e);
  return 0;
}

/* The seeds' traffic light. fds: event. a toggles, b ms apart; green at
 * the end so that every car gets through. */
static int ts_light(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_event_t *e = child_event(0);
  CK(e);
  for (int i = 0; i < t.a; ++i) {
    sleep_ms(t.b);
    if (mp_event_is_set(e) == 1)
      CK(mp_event_clear(e) == MP_OK);
    else
      CK(mp_event_set(e) == MP_OK);
  }
  CK(mp_event_set(e) == MP_OK);
  mp_event_free(e);
  return 0;
}

/* A car: fds: event, value [cars through, red lights waited at]. */
static int ts_car(const void *arg, size_t len, void *payload) {
  (void)payload;
  (void)arg;
  (void)len;
  mp_event_t *e = child_event(0);
  mp_value_t *v = child_value(1);
  CK(e && v);
  int64_t n;
  for (int guard = 0;; ++guard) {
    CK(guard < 1000);
    if (mp_event_is_set(e) == 0) { /* red: wait for green */
      CK(mp_value_add_i64(&n, v, 1, 1) == MP_OK);
      CK(mp_event_wait(e, 20000) == MP_OK);
      sleep_ms(10);
    }
    if (mp_event_is_set(e) == 0) continue; /* red again: back to waiting */
    CK(mp_value_add_i64(&n, v, 0, 1) == MP_OK);
    break;
  }
  mp_value_free(v);
  mp_event_free(e);
  return 0;
}

static const sync_target_t k_targets[] = {
    {"ts_ktv", ts_ktv},
    {"ts_sem_acquire", ts_sem_acquire},
    {"ts_event_wait", ts_event_wait},
    {"ts_light", ts_light},
    {"ts_car", ts_car},
};

/* ------------------------------------------------------------------------
 * Semaphores
 * ---------------------------------------------------------------------- */

static void test_sync_sem_new_errors(void **state) {
  (void)state;
  mp_sem_t *s = (mp_sem_t *)&s;
  MP_ASSERT_ERR(mp_sem_new(NULL, 1, 0), MP_EINVAL);
  MP_ASSERT_ERR(mp_sem_new(&s, 5, 3), MP_EINVAL);
  assert_null(s);
  s = (mp_sem_t *)&s;
  MP_ASSERT_ERR(mp_sem_new(&s, 0x80000000u, 0), MP_EINVAL);
  assert_null(s);
  MP_ASSERT_ERR(mp_sem_new(&s, 1, 0x80000000u), MP_EINVAL);
  MP_ASSERT_ERR(mp_sem_new(&s, 0xffffffffu, 0xffffffffu), MP_EINVAL);
  MP_ASSERT_OK(mp_sem_new(&s, 0, 0));
  assert_int_equal(mp_sem_value(s), 0);
  assert_true(mp_sem_fileno(s) >= 0);
  mp_sem_free(s);
  MP_ASSERT_OK(mp_sem_new(&s, 3, 3));
  assert_int_equal(mp_sem_value(s), 3);
  mp_sem_free(s);
  MP_ASSERT_OK(mp_sem_new(&s, 0x7fffffffu, 0));
  assert_int_equal(mp_sem_value(s), INT32_MAX);
  mp_sem_free(s);
  mp_sem_free(NULL);
}

static void test_sync_sem_bounded_over_release_estate(void **state) {
  (void)state;
  mp_sem_t *s = NULL;
  MP_ASSERT_OK(mp_sem_new(&s, 2, 2));
  MP_ASSERT_ERR(mp_sem_release(s), MP_ESTATE);
  assert_int_equal(mp_sem_value(s), 2);
  MP_ASSERT_OK(mp_sem_acquire(s, 0));
  assert_int_equal(mp_sem_value(s), 1);
  MP_ASSERT_OK(mp_sem_acquire(s, MP_FOREVER));
  assert_int_equal(mp_sem_value(s), 0);
  MP_ASSERT_ERR(mp_sem_acquire(s, 0), MP_ETIMEDOUT);
  MP_ASSERT_OK(mp_sem_release(s));
  MP_ASSERT_OK(mp_sem_release(s));
  assert_int_equal(mp_sem_value(s), 2);
  MP_ASSERT_ERR(mp_sem_release(s), MP_ESTATE);
  assert_int_equal(mp_sem_value(s), 2);
  mp_sem_free(s);
  /* A bound above the initial value. */
  MP_ASSERT_OK(mp_sem_new(&s, 0, 2));
  MP_ASSERT_OK(mp_sem_release(s));
  MP_ASSERT_OK(mp_sem_release(s));
  MP_ASSERT_ERR(mp_sem_release(s), MP_ESTATE);
  assert_int_equal(mp_sem_value(s), 2);
  mp_sem_free(s);
}

static void test_sync_sem_unbounded_release_above_initial(void **state) {
  (void)state;
  mp_sem_t *s = NULL;
  MP_ASSERT_OK(mp_sem_new(&s, 1, 0));
  for (int i = 0; i < 3; ++i) MP_ASSERT_OK(mp_sem_release(s));
  assert_int_equal(mp_sem_value(s), 4);
  for (int i = 3; i >= 0; --i) {
    MP_ASSERT_OK(mp_sem_acquire(s, 0));
    assert_int_equal(mp_sem_value(s), i);
  }
  MP_ASSERT_ERR(mp_sem_acquire(s, 0), MP_ETIMEDOUT);
  MP_ASSERT_TIMES_OUT(mp_sem_acquire(s, 150), 100, 10000);
  MP_ASSERT_ERR(mp_sem_acquire(s, -2), MP_EINVAL);
  assert_int_equal(mp_sem_value(s), 0);
  mp_sem_free(s);
}

static void test_sync_sem_release_wakes_other_process(void **state) {
  (void)state;
  mp_sem_t *s = NULL;
  MP_ASSERT_OK(mp_sem_new(&s, 0, 0));
  int fds[] = {mp_sem_fileno(s)};
  targ_t a = {0, 0, 0, 0};
  mp_process_t *p = start_child("ts_sem_acquire", a, MP_START_FORK, fds, 1);
  sleep_ms(100);
  MP_ASSERT_OK(mp_sem_release(s));
  expect_child_ok(p, 20000, "sem waiter");
  assert_int_equal(mp_sem_value(s), 0);
  mp_sem_free(s);
}

/* The seeds' KTV rooms: Semaphore(3), 10 processes; never more than 3
 * inside, and 3 at some point. */
static void test_sync_sem_ktv_never_exceeds_count(void **state) {
  (void)state;
  enum { kRooms = 3, kPeople = 10 };
  mp_sem_t *s = NULL;
  mp_value_t *v = NULL;
  mp_event_t *go = NULL;
  MP_ASSERT_OK(mp_sem_new(&s, kRooms, kRooms));
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT64, 2, 0));
  MP_ASSERT_OK(mp_event_new(&go));
  int fds[] = {mp_sem_fileno(s), mp_value_fileno(v), mp_event_fileno(go)};
  mp_process_t *p[kPeople];
  targ_t a = {2, 40, 0, 0}; /* two visits of 40 ms each */
  start_children(p, kPeople, "ts_ktv", a, fds, 3);
  MP_ASSERT_OK(mp_event_set(go));
  expect_children_ok(p, kPeople, 60000, "person");
  int64_t inside = -1, max = -1;
  MP_ASSERT_OK(mp_value_get_i64(&inside, v, 0));
  MP_ASSERT_OK(mp_value_get_i64(&max, v, 1));
  assert_int_equal(inside, 0);
  assert_int_equal(max, kRooms);
  assert_int_equal(mp_sem_value(s), kRooms);
  mp_event_free(go);
  mp_value_free(v);
  mp_sem_free(s);
}

/* ------------------------------------------------------------------------
 * Events
 * ---------------------------------------------------------------------- */

static void test_sync_event_basics(void **state) {
  (void)state;
  mp_event_t *e = NULL;
  MP_ASSERT_ERR(mp_event_new(NULL), MP_EINVAL);
  MP_ASSERT_OK(mp_event_new(&e));
  assert_true(mp_event_fileno(e) >= 0);
  assert_int_equal(mp_event_is_set(e), 0);
  MP_ASSERT_ERR(mp_event_wait(e, 0), MP_ETIMEDOUT);
  MP_ASSERT_TIMES_OUT(mp_event_wait(e, 150), 100, 10000);
  MP_ASSERT_ERR(mp_event_wait(e, -2), MP_EINVAL);
  MP_ASSERT_OK(mp_event_set(e));
  assert_int_equal(mp_event_is_set(e), 1);
  MP_ASSERT_OK(mp_event_set(e)); /* again: still set */
  assert_int_equal(mp_event_is_set(e), 1);
  int64_t t0 = now_ms();
  MP_ASSERT_OK(mp_event_wait(e, 0));
  MP_ASSERT_OK(mp_event_wait(e, 10000));
  MP_ASSERT_OK(mp_event_wait(e, MP_FOREVER));
  assert_true(now_ms() - t0 < 2000); /* at once */
  MP_ASSERT_OK(mp_event_clear(e));
  assert_int_equal(mp_event_is_set(e), 0);
  MP_ASSERT_OK(mp_event_clear(e));
  assert_int_equal(mp_event_is_set(e), 0);
  MP_ASSERT_ERR(mp_event_wait(e, 20), MP_ETIMEDOUT);
  mp_event_free(e);
  mp_event_free(NULL);
}

/* 5 processes waiting forever are all released by one set. */
static void test_sync_event_set_wakes_all_processes(void **state) {
  (void)state;
  enum { kWaiters = 5 };
  mp_event_t *e = NULL;
  mp_value_t *ready = NULL;
  MP_ASSERT_OK(mp_event_new(&e));
  MP_ASSERT_OK(mp_value_new(&ready, MP_TYPE_INT64, 1, 0));
  int fds[] = {mp_event_fileno(e), mp_value_fileno(ready)};
  mp_process_t *p[kWaiters];
  targ_t a = {0, 0, 0, 0};
  start_children(p, kWaiters, "ts_event_wait", a, fds, 2);
  if (!poll_value(ready, 0, kWaiters, 30000)) {
    for (int i = 0; i < kWaiters; ++i) mp_process_kill(p[i]);
    for (int i = 0; i < kWaiters; ++i) finish_child(p[i], 10000);
    fail_msg("the waiters did not get ready");
  }
  sleep_ms(100); /* let them reach the futex */
  for (int i = 0; i < kWaiters; ++i) assert_int_equal(mp_process_is_alive(p[i]), 1);
  MP_ASSERT_OK(mp_event_set(e));
  expect_children_ok(p, kWaiters, 20000, "waiter");
  assert_int_equal(mp_event_is_set(e), 1);
  mp_value_free(ready);
  mp_event_free(e);
}

/* The seeds' traffic light: a light process toggles the event, car
 * processes wait for green and drive through. */
static void test_sync_event_traffic_light(void **state) {
  (void)state;
  enum { kCars = 3 };
  mp_event_t *e = NULL;
  mp_value_t *v = NULL;
  MP_ASSERT_OK(mp_event_new(&e)); /* red */
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT64, 2, 0));
  int car_fds[] = {mp_event_fileno(e), mp_value_fileno(v)};
  mp_process_t *cars[kCars];
  targ_t none = {0, 0, 0, 0};
  start_children(cars, kCars, "ts_car", none, car_fds, 2);
  targ_t la = {6, 40, 0, 0};
  mp_process_t *light = start_child("ts_light", la, MP_START_FORK, car_fds, 1);
  expect_child_ok(light, 20000, "traffic light");
  expect_children_ok(cars, kCars, 30000, "car");
  int64_t through = -1, waited = -1;
  MP_ASSERT_OK(mp_value_get_i64(&through, v, 0));
  MP_ASSERT_OK(mp_value_get_i64(&waited, v, 1));
  assert_int_equal(through, kCars);
  assert_true(waited >= 1); /* somebody met a red light */
  assert_int_equal(mp_event_is_set(e), 1);
  mp_value_free(v);
  mp_event_free(e);
}

int main(int argc, char **argv) {
  if (sync_test_start(argc, argv, k_targets, sizeof k_targets / sizeof k_targets[0]) != 0)
    return 99;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sync_sem_new_errors),
      cmocka_unit_test(test_sync_sem_bounded_over_release_estate),
      cmocka_unit_test(test_sync_sem_unbounded_release_above_initial),
      cmocka_unit_test(test_sync_sem_release_wakes_other_process),
      cmocka_unit_test(test_sync_sem_ktv_never_exceeds_count),
      cmocka_unit_test(test_sync_event_basics),
      cmocka_unit_test(test_sync_event_set_wakes_all_processes),
      cmocka_unit_test(test_sync_event_traffic_light),
  };
  return MP_RUN_TESTS(tests);
}
