#include "testutil.h"

static void test_conn_pipe_roundtrip(void **state) {
  (void)state;
  mp_conn_t *a, *b;
  MP_ASSERT_OK(mp_pipe(&a, &b, 1));
  MP_ASSERT_OK(mp_conn_send(b, "hi", 2, 1000));
  void *out;
  size_t n;
  MP_ASSERT_OK(mp_conn_recv(&out, &n, a, 1000));
  assert_int_equal(n, 2);
  assert_memory_equal(out, "hi", 2);
  mp_free(out);
  mp_conn_free(a);
  mp_conn_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_conn_pipe_roundtrip)};
  return MP_RUN_TESTS(tests);
}
