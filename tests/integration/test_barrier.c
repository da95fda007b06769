/* Barriers shared between processes (mp_barrier_*): every function's
 * success and documented errors, the action, timeouts breaking the barrier
 * for everyone, abort and reset (ported from CPython's _TestBarrier), and
 * distinct indexes across processes.
 * Helpers: tests/common/synctest.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "synctest.h"

/* ------------------------------------------------------------------------
 * Targets
 * ---------------------------------------------------------------------- */

/* fds: barrier, value [slots]. a rounds; in round r slot r * parties +
 * index is incremented. Returns the first round's index (or 100 + -error). */
static int ts_barrier(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_barrier_t *b = child_barrier(0);
  mp_value_t *v = child_value(1);
  CK(b && v);
  int parties = mp_barrier_parties(b);
  CK(parties >= 1);
  int first = -1;
  for (int r = 0; r < t.a; ++r) {
    int idx = mp_barrier_wait(b, 20000);
    if (idx < 0) {
      fprintf(stderr, "[child] barrier wait: %s: %s\n", mp_err_name(idx), mp_last_error());
      return 100 - idx;
    }
    CK(idx < parties);
    int64_t n;
    CK(mp_value_add_i64(&n, v, (size_t)(r * parties + idx), 1) == MP_OK);
    if (r == 0) first = idx;
  }
  mp_value_free(v);
  mp_barrier_free(b);
  return first;
}

/* CPython _TestBarrier's AppendTrue: the action counts itself in value
 * element 0 (the payload is this process's handle on the value). */
static int append_true(void *payload) {
  int64_t n;
  return mp_value_add_i64(&n, payload, 0, 1) == MP_OK ? 0 : 1;
}

/* A "broken" answer of one party: Python raises BrokenBarrierError for a
 * timeout too; here the timed-out party gets MP_ETIMEDOUT, the others
 * MP_ESTATE. */
static int is_broken(int r) { return r == MP_ETIMEDOUT || r == MP_ESTATE; }

enum { kBarrierN = 5 }; /* CPython's _TestBarrier.N */

/* One party of the ported _TestBarrier tests; value element 1 counts the
 * parties that saw the barrier broken. a: 0 _test_action_f, 1
 * _test_timeout_f, 2 _test_default_timeout_f. Returns 0 if this party saw
 * what the test expects. */
static int barrier_party(mp_barrier_t *b, mp_value_t *v, int test) {
  int64_t n;
  if (test == 0) {
    if (mp_barrier_wait(b, 30000) < 0) return 2;
    CK(mp_value_get_i64(&n, v, 0) == MP_OK);
    return n == 1 ? 0 : 3; /* the action ran once, before anyone was released */
  }
  int i = mp_barrier_wait(b, 30000);
  if (i < 0) return 2;
  if (i == kBarrierN / 2) sleep_ms(1000); /* one party is late */
  int r = mp_barrier_wait(b, test == 1 ? 500 : MP_FOREVER); /* 2: the default, 500 ms */
  if (is_broken(r)) CK(mp_value_add_i64(&n, v, 1, 1) == MP_OK);
  return 0;
}

/* fds: barrier, value. barrier_party(a) with the action set on this
 * process's handle. */
static int ts_barrier_party(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_barrier_t *b = child_barrier(0);
  mp_value_t *v = child_value(1);
  CK(b && v);
  if (t.a == 0) CK(mp_barrier_set_action(b, append_true, v) == MP_OK);
  int r = barrier_party(b, v, t.a);
  mp_value_free(v);
  mp_barrier_free(b);
  return r;
}

/* fds: barrier. Wait; returns 0 if the wait failed with MP_ESTATE. */
static int ts_barrier_broken(const void *arg, size_t len, void *payload) {
  (void)payload;
  (void)arg;
  (void)len;
  mp_barrier_t *b = child_barrier(0);
  CK(b);
  int r = mp_barrier_wait(b, 20000);
  if (r != MP_ESTATE) {
    fprintf(stderr, "[child] barrier wait = %d (%s), expected ESTATE\n", r, mp_err_name(r));
    return r < 0 ? 100 - r : 50 + r;
  }
  mp_barrier_free(b);
  return 0;
}

static const sync_target_t k_targets[] = {
    {"ts_barrier", ts_barrier},
    {"ts_barrier_party", ts_barrier_party},
    {"ts_barrier_broken", ts_barrier_broken},
};

/* ------------------------------------------------------------------------
 * Barriers
 * ---------------------------------------------------------------------- */

static void test_sync_barrier_basics(void **state) {
  (void)state;
  mp_barrier_t *b = (mp_barrier_t *)&b;
  MP_ASSERT_ERR(mp_barrier_new(NULL, 2), MP_EINVAL);
  MP_ASSERT_ERR(mp_barrier_new(&b, 0), MP_EINVAL);
  assert_null(b);
  MP_ASSERT_OK(mp_barrier_new(&b, 4));
  assert_true(mp_barrier_fileno(b) >= 0);
  assert_int_equal(mp_barrier_parties(b), 4);
  assert_int_equal(mp_barrier_n_waiting(b), 0);
  assert_int_equal(mp_barrier_broken(b), 0);
  MP_ASSERT_ERR(mp_barrier_wait(b, -2), MP_EINVAL);
  MP_ASSERT_TIMES_OUT(mp_barrier_wait(b, 100), 50, 10000);
  assert_int_equal(mp_barrier_broken(b), 1);
  MP_ASSERT_OK(mp_barrier_reset(b));
  assert_int_equal(mp_barrier_broken(b), 0);
  assert_int_equal(mp_barrier_n_waiting(b), 0);
  assert_int_equal(mp_barrier_parties(b), 4);
  mp_barrier_free(b);
  /* One party: every wait passes at once with index 0. */
  MP_ASSERT_OK(mp_barrier_new(&b, 1));
  for (int i = 0; i < 3; ++i) assert_int_equal(mp_barrier_wait(b, 0), 0);
  assert_int_equal(mp_barrier_wait(b, MP_FOREVER), 0);
  assert_int_equal(mp_barrier_broken(b), 0);
  MP_ASSERT_OK(mp_barrier_abort(b));
  assert_int_equal(mp_barrier_broken(b), 1);
  MP_ASSERT_ERR(mp_barrier_wait(b, 0), MP_ESTATE);
  MP_ASSERT_OK(mp_barrier_reset(b));
  assert_int_equal(mp_barrier_wait(b, 0), 0);
  mp_barrier_free(b);
  mp_barrier_free(NULL);
}

/* N - 1 child processes and this one run barrier_party(test) on a barrier
 * made with mp_barrier_new2(action, timeout_ms); returns value element k. */
static int64_t run_barrier_parties(int test, int with_action, int64_t timeout_ms, size_t k) {
  mp_value_t *v = NULL;
  mp_barrier_t *b = NULL;
  MP_ASSERT_OK(mp_value_new(&v, MP_TYPE_INT64, 2, 0));
  MP_ASSERT_OK(mp_barrier_new2(&b, kBarrierN, with_action ? append_true : NULL, v, timeout_ms));
  int fds[] = {mp_barrier_fileno(b), mp_value_fileno(v)};
  targ_t a = {test, 0, 0, 0};
  mp_process_t *p[kBarrierN - 1];
  for (int i = 0; i < kBarrierN - 1; i++)
    p[i] = start_child("ts_barrier_party", a, MP_START_FORK, fds, 2);
  int mine = barrier_party(b, v, test);
  for (int i = 0; i < kBarrierN - 1; i++) assert_int_equal(finish_child(p[i], 30000), 0);
  assert_int_equal(mine, 0);
  int64_t n = -1;
  MP_ASSERT_OK(mp_value_get_i64(&n, v, k));
  mp_barrier_free(b);
  mp_value_free(v);
  return n;
}

/* Ported from CPython _TestBarrier.test_action: the action runs once per
 * round, before any party is released. */
static void test_sync_barrier_action(void **state) {
  (void)state;
  assert_int_equal(run_barrier_parties(0, 1, MP_FOREVER, 0), 1);
}

/* Ported from CPython _TestBarrier.test_timeout: one party is late; every
 * party sees the barrier broken. */
static void test_sync_barrier_timeout(void **state) {
  (void)state;
  assert_int_equal(run_barrier_parties(1, 0, MP_FOREVER, 1), kBarrierN);
}

/* Ported from CPython _TestBarrier.test_default_timeout: the same with
 * the barrier's default timeout (500 ms) instead of wait(0.5). */
static void test_sync_barrier_default_timeout(void **state) {
  (void)state;
  assert_int_equal(run_barrier_parties(2, 0, 500, 1), kBarrierN);
}

static int g_action_calls;
static int failing_action(void *payload) {
  (void)payload;
  return ++g_action_calls == 2 ? 7 : 0; /* the second round's action fails */
}

/* A failing action breaks the barrier (Python: the action's exception in
 * its thread, BrokenBarrierError in the others); a process that set no
 * action on a barrier that has one breaks it rather than skipping it. */
static void test_sync_barrier_action_fails_or_missing(void **state) {
  (void)state;
  mp_barrier_t *b = NULL, *other = NULL;
  g_action_calls = 0;
  MP_ASSERT_OK(mp_barrier_new2(&b, 1, failing_action, NULL, MP_FOREVER));
  assert_int_equal(mp_barrier_wait(b, 0), 0);
  MP_ASSERT_ERR(mp_barrier_wait(b, 0), MP_ETASKFAILED);
  assert_int_equal(mp_barrier_broken(b), 1);
  MP_ASSERT_ERR(mp_barrier_wait(b, 0), MP_ESTATE);
  MP_ASSERT_OK(mp_barrier_reset(b));
  assert_int_equal(mp_barrier_wait(b, 0), 0); /* third call succeeds */
  assert_int_equal(g_action_calls, 3);
  /* A second handle on it (as another process opens it) without the action. */
  MP_ASSERT_OK(mp_barrier_from_fd(&other, dup(mp_barrier_fileno(b))));
  MP_ASSERT_ERR(mp_barrier_wait(other, 0), MP_ESTATE);
  assert_int_equal(mp_barrier_broken(b), 1);
  MP_ASSERT_OK(mp_barrier_reset(other));
  MP_ASSERT_OK(mp_barrier_set_action(other, failing_action, NULL));
  assert_int_equal(mp_barrier_wait(other, 0), 0);
  assert_int_equal(g_action_calls, 4);
  MP_ASSERT_ERR(mp_barrier_set_action(other, NULL, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_barrier_set_action(NULL, failing_action, NULL), MP_EINVAL);
  mp_barrier_t *none = NULL;
  MP_ASSERT_ERR(mp_barrier_new2(&none, 2, NULL, NULL, -2), MP_EINVAL);
  assert_null(none);
  mp_barrier_free(other);
  mp_barrier_free(b);
}

/* 4 processes, parties 4: distinct indexes 0..3 (reported by exit code)
 * in each of 3 rounds. */
static void test_sync_barrier_indexes_four_processes(void **state) {
  (void)state;
  enum { kParties = 4, kRounds = 3 };
  mp_barrier_t *b = NULL;
  mp_value_t *slots = NULL;
  MP_ASSERT_OK(mp_barrier_new(&b, kParties));
  MP_ASSERT_OK(mp_value_new(&slots, MP_TYPE_INT64, kParties * kRounds, 0));
  int fds[] = {mp_barrier_fileno(b), mp_value_fileno(slots)};
  targ_t a = {kRounds, 0, 0, 0};
  mp_process_t *p[kParties];
  start_children(p, kParties, "ts_barrier", a, fds, 2);
  int seen[kParties] = {0};
  for (int i = 0; i < kParties; ++i) {
    int code = finish_child(p[i], 30000);
    if (code < 0 || code >= kParties) fail_msg("party %d: exit code %d", i, code);
    seen[code]++;
  }
  for (int i = 0; i < kParties; ++i) assert_int_equal(seen[i], 1);
  for (size_t i = 0; i < kParties * kRounds; ++i) {
    int64_t x = -1;
    MP_ASSERT_OK(mp_value_get_i64(&x, slots, i));
    if (x != 1) fail_msg("round %zu index %zu was given %" PRId64 " times", i / kParties,
                         i % kParties, x);
  }
  assert_int_equal(mp_barrier_n_waiting(b), 0);
  assert_int_equal(mp_barrier_broken(b), 0);
  mp_value_free(slots);
  mp_barrier_free(b);
}

/* A waiter that times out breaks the barrier for everyone; reset makes it
 * usable again. */
static void test_sync_barrier_timeout_breaks_for_everyone(void **state) {
  (void)state;
  mp_barrier_t *b = NULL;
  mp_value_t *slots = NULL;
  MP_ASSERT_OK(mp_barrier_new(&b, 3));
  MP_ASSERT_OK(mp_value_new(&slots, MP_TYPE_INT64, 3, 0));
  int fds[] = {mp_barrier_fileno(b), mp_value_fileno(slots)};
  targ_t none = {0, 0, 0, 0};
  mp_process_t *w = start_child("ts_barrier_broken", none, MP_START_FORK, fds, 1);
  assert_true(poll_barrier_waiting(b, 1, 30000));
  MP_ASSERT_TIMES_OUT(mp_barrier_wait(b, 200), 150, 10000);
  expect_child_ok(w, 20000, "the other waiter (expects ESTATE)");
  assert_int_equal(mp_barrier_broken(b), 1);
  int waiting_when_broken = mp_barrier_n_waiting(b); /* nobody waits now */
  MP_ASSERT_ERR(mp_barrier_wait(b, 0), MP_ESTATE);
  int64_t t0 = now_ms();
  MP_ASSERT_ERR(mp_barrier_wait(b, 5000), MP_ESTATE);
  assert_true(now_ms() - t0 < 2500); /* at once */
  MP_ASSERT_OK(mp_barrier_reset(b));
  assert_int_equal(mp_barrier_broken(b), 0);
  assert_int_equal(mp_barrier_n_waiting(b), 0);
  /* A full round after the reset: two children and this process. */
  targ_t one = {1, 0, 0, 0};
  mp_process_t *p[2];
  for (int i = 0; i < 2; ++i) p[i] = start_child("ts_barrier", one, MP_START_FORK, fds, 2);
  int mine = mp_barrier_wait(b, 20000);
  assert_true(mine >= 0 && mine < 3);
  int seen[3] = {0};
  seen[mine]++;
  for (int i = 0; i < 2; ++i) {
    int code = finish_child(p[i], 20000);
    if (code < 0 || code >= 3) fail_msg("party %d: exit code %d", i, code);
    seen[code]++;
  }
  for (int i = 0; i < 3; ++i) assert_int_equal(seen[i], 1);
  assert_int_equal(mp_barrier_broken(b), 0);
  mp_value_free(slots);
  mp_barrier_free(b);
  if (waiting_when_broken != 0)
    fail_msg("n_waiting() = %d on the broken barrier after every waiter left, "
             "expected 0", waiting_when_broken);
}

/* abort: current waiters get MP_ESTATE, so does everyone after. */
static void test_sync_barrier_abort_releases_waiters(void **state) {
  (void)state;
  mp_barrier_t *b = NULL;
  MP_ASSERT_OK(mp_barrier_new(&b, 3));
  int fds[] = {mp_barrier_fileno(b)};
  targ_t none = {0, 0, 0, 0};
  mp_process_t *p[2];
  start_children(p, 2, "ts_barrier_broken", none, fds, 1);
  assert_true(poll_barrier_waiting(b, 2, 30000));
  MP_ASSERT_OK(mp_barrier_abort(b));
  expect_children_ok(p, 2, 20000, "waiter (expects ESTATE)");
  assert_int_equal(mp_barrier_broken(b), 1);
  int waiting_when_broken = mp_barrier_n_waiting(b); /* nobody waits now */
  MP_ASSERT_ERR(mp_barrier_wait(b, 1000), MP_ESTATE);
  MP_ASSERT_OK(mp_barrier_abort(b)); /* again: no-op */
  assert_int_equal(mp_barrier_broken(b), 1);
  MP_ASSERT_OK(mp_barrier_reset(b));
  assert_int_equal(mp_barrier_broken(b), 0);
  assert_int_equal(mp_barrier_n_waiting(b), 0);
  mp_barrier_free(b);
  if (waiting_when_broken != 0)
    fail_msg("n_waiting() = %d on the aborted barrier after every waiter left, "
             "expected 0", waiting_when_broken);
}

/* reset while a process waits: it gets MP_ESTATE; the barrier is usable. */
static void test_sync_barrier_reset_releases_waiters(void **state) {
  (void)state;
  mp_barrier_t *b = NULL;
  mp_value_t *slots = NULL;
  MP_ASSERT_OK(mp_barrier_new(&b, 2));
  MP_ASSERT_OK(mp_value_new(&slots, MP_TYPE_INT64, 2, 0));
  int fds[] = {mp_barrier_fileno(b), mp_value_fileno(slots)};
  targ_t none = {0, 0, 0, 0};
  mp_process_t *w = start_child("ts_barrier_broken", none, MP_START_FORK, fds, 1);
  assert_true(poll_barrier_waiting(b, 1, 30000));
  MP_ASSERT_OK(mp_barrier_reset(b));
  expect_child_ok(w, 20000, "waiter during reset (expects ESTATE)");
  assert_int_equal(mp_barrier_broken(b), 0);
  targ_t one = {1, 0, 0, 0};
  mp_process_t *p = start_child("ts_barrier", one, MP_START_FORK, fds, 2);
  int mine = mp_barrier_wait(b, 20000);
  assert_true(mine == 0 || mine == 1);
  int code = finish_child(p, 20000);
  assert_int_equal(code, 1 - mine);
  mp_value_free(slots);
  mp_barrier_free(b);
}

int main(int argc, char **argv) {
  if (sync_test_start(argc, argv, k_targets, sizeof k_targets / sizeof k_targets[0]) != 0)
    return 99;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sync_barrier_basics),
      cmocka_unit_test(test_sync_barrier_action),
      cmocka_unit_test(test_sync_barrier_timeout),
      cmocka_unit_test(test_sync_barrier_default_timeout),
      cmocka_unit_test(test_sync_barrier_action_fails_or_missing),
      cmocka_unit_test(test_sync_barrier_indexes_four_processes),
      cmocka_unit_test(test_sync_barrier_timeout_breaks_for_everyone),
      cmocka_unit_test(test_sync_barrier_abort_releases_waiters),
      cmocka_unit_test(test_sync_barrier_reset_releases_waiters),
  };
  return MP_RUN_TESTS(tests);
}
