/* Errors, versions and information about this process. */
#include "testutil.h"

#include <pthread.h>

static int trivial_target(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  return 0;
}

/* ---- error table ---- */

struct code_entry {
  int value;
  const char *name;
  const char *msg;
};

static const struct code_entry k_codes[] = {
#define ENTRY(name, value, msg) {value, #name, msg},
    MP_ERRNO_MAP(ENTRY)
#undef ENTRY
};
#define N_CODES (sizeof k_codes / sizeof k_codes[0])

static void test_errors_strerror_matches_table(void **state) {
  (void)state;
  for (size_t i = 0; i < N_CODES; i++)
    assert_string_equal(mp_strerror(k_codes[i].value), k_codes[i].msg);
}

static void test_errors_err_name_matches_table(void **state) {
  (void)state;
  for (size_t i = 0; i < N_CODES; i++)
    assert_string_equal(mp_err_name(k_codes[i].value), k_codes[i].name);
}

static void test_errors_enum_values_match_table(void **state) {
  (void)state;
  /* The enum constants are generated from the same table; spot-check that
   * the MP_ prefix names map to the table values. */
#define CHECK(name, value, msg) assert_int_equal(MP_##name, value);
  MP_ERRNO_MAP(CHECK)
#undef CHECK
  assert_int_equal(MP_OK, 0);
}

static void test_errors_codes_are_negative_and_distinct(void **state) {
  (void)state;
  assert_true(N_CODES >= 20);
  for (size_t i = 0; i < N_CODES; i++) {
    assert_true(k_codes[i].value < 0);
    assert_true(k_codes[i].value > MP__ERRNO_LAST);
    for (size_t j = i + 1; j < N_CODES; j++) {
      assert_int_not_equal(k_codes[i].value, k_codes[j].value);
      assert_string_not_equal(k_codes[i].name, k_codes[j].name);
    }
  }
}

static void test_errors_ok_has_name_and_message(void **state) {
  (void)state;
  assert_non_null(mp_strerror(MP_OK));
  assert_non_null(mp_err_name(MP_OK));
  assert_string_not_equal(mp_strerror(MP_OK), "unknown error");
  assert_string_not_equal(mp_err_name(MP_OK), "UNKNOWN");
}

static void test_errors_unknown_codes_are_unknown(void **state) {
  (void)state;
  const int unknown[] = {1, 2, 42, MP__ERRNO_LAST, -22, -23, -1000, 1000,
                         INT32_MIN, INT32_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    assert_string_equal(mp_strerror(unknown[i]), "unknown error");
    assert_string_equal(mp_err_name(unknown[i]), "UNKNOWN");
  }
}

/* ---- versions ---- */

static void test_errors_version_number_matches_header(void **state) {
  (void)state;
  assert_int_equal(mp_version_number(), MP_VERSION_NUMBER);
  assert_int_equal(MP_VERSION_NUMBER,
                   MP_VERSION_MAJOR * 10000 + MP_VERSION_MINOR * 100 +
                       MP_VERSION_PATCH);
}

static void test_errors_version_string_matches_header(void **state) {
  (void)state;
  char expect[64];
  snprintf(expect, sizeof expect, "%d.%d.%d", MP_VERSION_MAJOR,
           MP_VERSION_MINOR, MP_VERSION_PATCH);
  assert_non_null(mp_version());
  assert_string_equal(mp_version(), expect);
  int maj = -1, min = -1, pat = -1;
  assert_int_equal(sscanf(mp_version(), "%d.%d.%d", &maj, &min, &pat), 3);
  assert_int_equal(maj * 10000 + min * 100 + pat, mp_version_number());
}

/* ---- mp_last_error ---- */

struct thread_result {
  char before[512];
  char after[512];
  int code;
};

static void *fail_in_thread(void *p) {
  struct thread_result *r = p;
  snprintf(r->before, sizeof r->before, "%s", mp_last_error());
  r->code = mp_stop_new(NULL);
  snprintf(r->after, sizeof r->after, "%s", mp_last_error());
  return NULL;
}

static void test_errors_last_error_is_thread_local(void **state) {
  (void)state;
  mp_cmd_t *cmd = (mp_cmd_t *)0x1;
  MP_ASSERT_ERR(mp_cmd_new(&cmd, NULL), MP_EINVAL);
  assert_null(cmd);
  char mine[512];
  snprintf(mine, sizeof mine, "%s", mp_last_error());
  assert_true(mine[0] != '\0');

  struct thread_result res;
  memset(&res, 0, sizeof res);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, fail_in_thread, &res), 0);
  assert_int_equal(pthread_join(t, NULL), 0);

  /* The new thread starts with no message and sets its own. */
  assert_string_equal(res.before, "");
  assert_int_equal(res.code, MP_EINVAL);
  assert_true(res.after[0] != '\0');
  assert_string_not_equal(res.after, mine);
  /* This thread's message is untouched. */
  assert_string_equal(mp_last_error(), mine);
}

static void test_errors_last_error_is_never_null(void **state) {
  (void)state;
  assert_non_null(mp_last_error());
}

static void test_errors_last_error_names_the_operation(void **state) {
  (void)state;
  MP_ASSERT_ERR(mp_cmd_arg(NULL, "x"), MP_EINVAL);
  assert_non_null(strstr(mp_last_error(), "mp_cmd_arg"));
}

/* ---- memory and this process ---- */

static void test_errors_free_null_is_noop(void **state) {
  (void)state;
  mp_free(NULL);
}

static void test_errors_cpu_count_is_positive(void **state) {
  (void)state;
  int n = mp_cpu_count();
  assert_true(n >= 1);
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  if (online >= 1) assert_int_equal(n, (int)online);
}

static void test_errors_main_process_is_not_child(void **state) {
  (void)state;
  assert_int_equal(mp_is_child(), 0);
}

static void test_errors_main_process_name_is_mainprocess(void **state) {
  (void)state;
  assert_non_null(mp_current_name());
  assert_string_equal(mp_current_name(), "MainProcess");
}

static void test_errors_parent_pid_is_getppid(void **state) {
  (void)state;
  assert_int_equal(mp_parent_pid(), (int)getppid());
}

static void test_errors_child_fd_outside_child_is_estate(void **state) {
  (void)state;
  MP_ASSERT_ERR(mp_child_fd(0), MP_ESTATE);
  MP_ASSERT_ERR(mp_child_fd(5), MP_ESTATE);
}

static void test_errors_set_exit_join_rejects_bad_value(void **state) {
  (void)state;
  MP_ASSERT_ERR(mp_set_exit_join(2), MP_EINVAL);
  MP_ASSERT_ERR(mp_set_exit_join(-1), MP_EINVAL);
  MP_ASSERT_OK(mp_set_exit_join(0));
  MP_ASSERT_OK(mp_set_exit_join(1));
}

/* ---- mp_register ---- */

static void test_errors_register_rejects_bad_input(void **state) {
  (void)state;
  MP_ASSERT_ERR(mp_register(NULL, trivial_target, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_register("", trivial_target, NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_register("errors-null-fn", NULL, NULL), MP_EINVAL);

  char name[257];
  memset(name, 'n', 256);
  name[256] = '\0';
  MP_ASSERT_ERR(mp_register(name, trivial_target, NULL), MP_EINVAL);
  /* 255 bytes is the longest valid name. */
  name[255] = '\0';
  MP_ASSERT_OK(mp_register(name, trivial_target, NULL));
  /* A rejected name was not registered by the failing call. */
  MP_ASSERT_OK(mp_register("errors-null-fn", trivial_target, NULL));
}

static void test_errors_register_duplicate_is_eexist(void **state) {
  (void)state;
  MP_ASSERT_OK(mp_register("errors-dup", trivial_target, NULL));
  MP_ASSERT_ERR(mp_register("errors-dup", trivial_target, NULL), MP_EEXIST);
  MP_ASSERT_ERR(mp_register("errors-dup", trivial_target, (void *)1),
                MP_EEXIST);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_errors_strerror_matches_table),
      cmocka_unit_test(test_errors_err_name_matches_table),
      cmocka_unit_test(test_errors_enum_values_match_table),
      cmocka_unit_test(test_errors_codes_are_negative_and_distinct),
      cmocka_unit_test(test_errors_ok_has_name_and_message),
      cmocka_unit_test(test_errors_unknown_codes_are_unknown),
      cmocka_unit_test(test_errors_version_number_matches_header),
      cmocka_unit_test(test_errors_version_string_matches_header),
      cmocka_unit_test(test_errors_last_error_is_thread_local),
      cmocka_unit_test(test_errors_last_error_is_never_null),
      cmocka_unit_test(test_errors_last_error_names_the_operation),
      cmocka_unit_test(test_errors_free_null_is_noop),
      cmocka_unit_test(test_errors_cpu_count_is_positive),
      cmocka_unit_test(test_errors_main_process_is_not_child),
      cmocka_unit_test(test_errors_main_process_name_is_mainprocess),
      cmocka_unit_test(test_errors_parent_pid_is_getppid),
      cmocka_unit_test(test_errors_child_fd_outside_child_is_estate),
      cmocka_unit_test(test_errors_set_exit_join_rejects_bad_value),
      cmocka_unit_test(test_errors_register_rejects_bad_input),
      cmocka_unit_test(test_errors_register_duplicate_is_eexist),
  };
  return MP_RUN_TESTS(tests);
}
