#include "testutil.h"

static void test_placeholder_version(void **state) {
  (void)state;
  assert_int_equal(mp_version_number(), MP_VERSION_NUMBER);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_placeholder_version)};
  return MP_RUN_TESTS(tests);
}
