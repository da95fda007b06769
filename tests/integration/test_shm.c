/* Shared blocks (mp_shm_*): creation, size and errors, and a child (both
 * start methods) writing into the block that the parent then reads.
 * Helpers: tests/common/synctest.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "synctest.h"

/* ------------------------------------------------------------------------
 * Targets
 * ---------------------------------------------------------------------- */

/* fds: shm. Write the pattern (i * 7 + a) & 0xff over the whole block. */
static int ts_shm_write(const void *arg, size_t len, void *payload) {
  (void)payload;
  targ_t t = targ_of(arg, len);
  mp_shm_t *s = child_shm(0);
  CK(s);
  size_t n = mp_shm_size(s);
  CK(n == (size_t)t.b);
  unsigned char *p = mp_shm_data(s);
  CK(p != NULL);
  for (size_t i = 0; i < n; ++i) CK(p[i] == 0); /* zero-filled */
  for (size_t i = 0; i < n; ++i) p[i] = (unsigned char)((i * 7 + (size_t)t.a) & 0xff);
  mp_shm_free(s);
  return 0;
}

static const sync_target_t k_targets[] = {
    {"ts_shm_write", ts_shm_write},
};

/* ------------------------------------------------------------------------
 * Shared blocks
 * ---------------------------------------------------------------------- */

static void test_sync_shm_basics(void **state) {
  (void)state;
  mp_shm_t *s = (mp_shm_t *)&s;
  MP_ASSERT_ERR(mp_shm_new(NULL, 16), MP_EINVAL);
  MP_ASSERT_ERR(mp_shm_new(&s, 0), MP_EINVAL);
  assert_null(s);
  MP_ASSERT_OK(mp_shm_new(&s, 10000));
  assert_true(mp_shm_fileno(s) >= 0);
  assert_int_equal(mp_shm_size(s), 10000);
  size_t size = 0;
  MP_ASSERT_OK(mp_shm_size2(&size, s));
  assert_int_equal(size, 10000);
  unsigned char *p = mp_shm_data(s);
  assert_non_null(p);
  for (size_t i = 0; i < 10000; ++i)
    if (p[i] != 0) fail_msg("byte %zu is %d, not zero", i, p[i]);
  memset(p, 0xab, 10000);
  /* A second handle on the same block (as a child would open it). */
  mp_shm_t *s2 = NULL;
  int fd = dup(mp_shm_fileno(s));
  assert_true(fd >= 0);
  MP_ASSERT_OK(mp_shm_from_fd(&s2, fd));
  assert_int_equal(mp_shm_size(s2), 10000);
  unsigned char *p2 = mp_shm_data(s2);
  assert_true(p2[0] == 0xab && p2[9999] == 0xab);
  p2[5000] = 1;
  assert_int_equal(p[5000], 1);
  mp_shm_free(s2);
  assert_int_equal(p[5000], 1); /* the first handle still maps it */
  mp_shm_free(s);
  assert_int_equal(mp_shm_size(NULL), 0);
  MP_ASSERT_ERR(mp_shm_size2(&size, NULL), MP_EINVAL); /* 0.3: an error, not a size */
  assert_int_equal(size, 0);
  assert_null(mp_shm_data(NULL));
  MP_ASSERT_ERR(mp_shm_fileno(NULL), MP_EINVAL);
  mp_shm_free(NULL);
  /* One byte. */
  MP_ASSERT_OK(mp_shm_new(&s, 1));
  assert_int_equal(mp_shm_size(s), 1);
  assert_int_equal(((unsigned char *)mp_shm_data(s))[0], 0);
  mp_shm_free(s);
}

/* A child (fork and spawn) writes into the block, the parent sees it. */
static void test_sync_shm_child_writes_parent_sees(void **state) {
  (void)state;
  enum { kSize = 65536 + 3 };
  FOR_EACH_METHOD(m) {
    mp_shm_t *s = NULL;
    MP_ASSERT_OK(mp_shm_new(&s, kSize));
    int fds[] = {mp_shm_fileno(s)};
    targ_t a = {11 + m, kSize, 0, 0};
    mp_process_t *p = start_child("ts_shm_write", a, m, fds, 1);
    int code = finish_child(p, 30000);
    if (code != 0) fail_msg("%s: child exit code %d", method_name(m), code);
    unsigned char *d = mp_shm_data(s);
    for (size_t i = 0; i < kSize; ++i)
      if (d[i] != (unsigned char)((i * 7 + (size_t)a.a) & 0xff))
        fail_msg("%s: byte %zu is %d", method_name(m), i, d[i]);
    mp_shm_free(s);
  }
}

int main(int argc, char **argv) {
  if (sync_test_start(argc, argv, k_targets, sizeof k_targets / sizeof k_targets[0]) != 0)
    return 99;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sync_shm_basics),
      cmocka_unit_test(test_sync_shm_child_writes_parent_sees),
  };
  return MP_RUN_TESTS(tests);
}
