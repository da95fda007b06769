#include "testutil.h"

static void test_version_is_set(void **state) {
  (void)state;
  assert_int_equal(mp_version_number(), MP_VERSION_NUMBER);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_version_is_set)};
  return MP_RUN_TESTS(tests);
}
