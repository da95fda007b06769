/* A program that never calls mp_main(): whatever would re-execute it
 * (a spawned target, a pool of spawned workers) is refused at once with
 * MP_ESTATE, never started (it would run this main() again) and never a
 * hang; forked ones work. */
#include <stdint.h>

#include "testutil.h"

static int noop_target(const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  return 0;
}

static int noop_task(void **out, size_t *out_len, const void *arg, size_t len, void *payload) {
  (void)arg, (void)len, (void)payload;
  *out = NULL;
  *out_len = 0;
  return 0;
}

static mp_pool_t *pool_with(mp_start_method_t method, int *rc) {
  mp_pool_opts_t *o = NULL;
  MP_ASSERT_OK(mp_pool_opts_new(&o));
  MP_ASSERT_OK(mp_pool_opts_set_workers(o, 2));
  MP_ASSERT_OK(mp_pool_opts_set_start_method(o, method));
  mp_pool_t *p = NULL;
  *rc = mp_pool_new(&p, o);
  mp_pool_opts_free(o);
  return p;
}

static void test_no_main_spawned_pool_is_estate(void **state) {
  (void)state;
  int rc;
  mp_pool_t *p = pool_with(MP_START_SPAWN, &rc);
  MP_ASSERT_ERR(rc, MP_ESTATE);
  assert_null(p);
  assert_non_null(strstr(mp_last_error(), "mp_main"));
  p = pool_with(MP_START_FORKSERVER, &rc);
  MP_ASSERT_ERR(rc, MP_ESTATE);
  assert_null(p);
  assert_non_null(strstr(mp_last_error(), "mp_main"));
  /* A forked pool needs no re-execution. */
  p = pool_with(MP_START_FORK, &rc);
  MP_ASSERT_OK(rc);
  void *out = NULL;
  size_t len = 1;
  MP_ASSERT_OK(mp_pool_apply(&out, &len, p, "noop", "x", 1));
  assert_int_equal(len, 0);
  mp_free(out);
  mp_pool_free(p);
}

static void test_no_main_spawned_target_is_estate(void **state) {
  (void)state;
  mp_process_t *proc = NULL;
  MP_ASSERT_OK(mp_process_new(&proc, "noop", NULL, 0));
  MP_ASSERT_OK(mp_process_set_start_method(proc, MP_START_SPAWN));
  MP_ASSERT_ERR(mp_process_start(proc), MP_ESTATE);
  mp_process_free(proc);
  MP_ASSERT_OK(mp_process_new(&proc, "noop", NULL, 0));
  MP_ASSERT_OK(mp_process_set_start_method(proc, MP_START_FORKSERVER));
  MP_ASSERT_ERR(mp_process_start(proc), MP_ESTATE);
  assert_non_null(strstr(mp_last_error(), "mp_main"));
  mp_process_free(proc);
}

int main(void) {
  MP_ASSERT_OK(mp_register("noop", noop_target, NULL));
  MP_ASSERT_OK(mp_register_task("noop", noop_task, NULL));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_main_spawned_pool_is_estate),
      cmocka_unit_test(test_no_main_spawned_target_is_estate),
  };
  return cmocka_run_group_tests_name("no_main", tests, NULL, NULL);
}
