/* The dict on a redis server (issue 16): every mp_dict_* call on a handle
 * from mp_dict_open("redis://...#name") against a real redis-server
 * (redis_fixture.h): success and each documented failure; the counter
 * bytes the same as a local dict's (8 bytes little-endian, wrapping);
 * incr and cas atomic under 4 forked processes; garbage written into the
 * dict's key by another client reported, never a crash; the eviction
 * warning at the open of a dict and of a lock; the server
 * unreachable at open and gone mid-use. Skipped (TAP) without
 * redis-server. */
#include "testutil.h"

#include <stdarg.h>
#include <sys/wait.h>

#include "redis_fixture.h"
#include "redis_raw.h"

static redis_srv g_srv;
static char g_addr[128];

static const char *addr(const char *name) {
  snprintf(g_addr, sizeof g_addr, "redis://127.0.0.1:%d#%s", g_srv.port, name);
  return g_addr;
}

static mp_dict_t *open_dict(const char *name) {
  mp_dict_t *d = NULL;
  MP_ASSERT_OK(mp_dict_open(&d, addr(name), 5000));
  return d;
}

static void check_value(mp_dict_t *d, const char *key, const void *want, size_t want_len) {
  void *v = NULL;
  size_t n = 0;
  MP_ASSERT_OK(mp_dict_get(&v, &n, d, key, strlen(key)));
  assert_int_equal(n, want_len);
  assert_memory_equal(v, want, n);
  assert_int_equal(((char *)v)[n], '\0');
  mp_free(v);
}

static void test_set_get_delete(void **state) {
  (void)state;
  mp_dict_t *d = open_dict("basic"), *other = open_dict("basic");
  assert_int_equal(mp_dict_len(d), 0);
  MP_ASSERT_OK(mp_dict_set(d, "a", 1, "alpha", 5));
  MP_ASSERT_OK(mp_dict_set(d, "b\0x", 3, "", 0)); /* binary key, empty value */
  check_value(other, "a", "alpha", 5);
  assert_int_equal(mp_dict_len(other), 2);
  assert_int_equal(mp_dict_contains(other, "b\0x", 3), 1);
  assert_int_equal(mp_dict_contains(other, "b", 1), 0);
  char buf[8];
  size_t n = 0;
  MP_ASSERT_OK(mp_dict_get_into(&n, other, "a", 1, buf, sizeof buf));
  assert_int_equal(n, 5);
  assert_memory_equal(buf, "alpha", 5);
  MP_ASSERT_ERR(mp_dict_get_into(&n, other, "a", 1, buf, 2), MP_ENOSPC);
  assert_int_equal(n, 5);
  MP_ASSERT_ERR(mp_dict_get_into(&n, other, "zz", 2, buf, sizeof buf), MP_ENOENT);
  void *v;
  MP_ASSERT_ERR(mp_dict_get(&v, &n, d, "zz", 2), MP_ENOENT);
  MP_ASSERT_OK(mp_dict_set(other, "a", 1, "again", 5));
  check_value(d, "a", "again", 5);
  MP_ASSERT_OK(mp_dict_delete(d, "a", 1));
  MP_ASSERT_ERR(mp_dict_delete(d, "a", 1), MP_ENOENT);
  assert_int_equal(mp_dict_len(d), 1);
  MP_ASSERT_ERR(mp_dict_fileno(d), MP_ENOTSUP);
  MP_ASSERT_OK(mp_dict_clear(other));
  assert_int_equal(mp_dict_len(d), 0);
  MP_ASSERT_OK(mp_dict_clear(other)); /* clearing an empty dict */
  /* The keys: one hash under the dict's prefix. */
  MP_ASSERT_OK(mp_dict_set(d, "k", 1, "v", 1));
  redisReply *r = raw_cmd(g_srv.port, "HGET %s %s", "mp:dict:{basic}:items", "k");
  assert_non_null(r);
  assert_int_equal(r->type, REDIS_REPLY_STRING);
  assert_string_equal(r->str, "v");
  freeReplyObject(r);
  mp_dict_free(other);
  mp_dict_free(d);
}

static void test_sizes(void **state) {
  (void)state;
  mp_dict_t *d = open_dict("sizes");
  size_t big = ((size_t)256 << 20) + 1;
  char *huge = malloc(big);
  assert_non_null(huge);
  memset(huge, 'x', 16);
  MP_ASSERT_ERR(mp_dict_set(d, "k", 1, huge, big), MP_EMSGSIZE);
  MP_ASSERT_ERR(mp_dict_set(d, huge, big, "v", 1), MP_EMSGSIZE);
  MP_ASSERT_ERR(mp_dict_cas(d, "k", 1, NULL, 0, huge, big), MP_EMSGSIZE);
  int64_t out;
  MP_ASSERT_ERR(mp_dict_incr(&out, d, huge, big, 1), MP_EMSGSIZE);
  assert_int_equal(mp_dict_len(d), 0);
  size_t len = 3 << 20; /* a large value below the maximum */
  for (size_t i = 0; i < len; i++) huge[i] = (char)(i * 131 + 7);
  MP_ASSERT_OK(mp_dict_set(d, "k", 1, huge, len));
  check_value(d, "k", huge, len);
  free(huge);
  mp_dict_free(d);
}

static void le64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void test_incr_bytes(void **state) {
  (void)state;
  mp_dict_t *d = open_dict("incr");
  int64_t out = 0;
  MP_ASSERT_OK(mp_dict_incr(&out, d, "n", 1, 5));
  assert_int_equal(out, 5);
  MP_ASSERT_OK(mp_dict_incr(&out, d, "n", 1, -7));
  assert_int_equal(out, -2);
  unsigned char want[8];
  le64(want, (uint64_t)-2);
  check_value(d, "n", want, 8); /* the local dict's bytes */
  redisReply *r = raw_cmd(g_srv.port, "HGET %s %s", "mp:dict:{incr}:items", "n");
  assert_int_equal(r->len, 8);
  assert_memory_equal(r->str, want, 8);
  freeReplyObject(r);
  /* A counter written as bytes (by another language) and wrapping. */
  le64(want, (uint64_t)INT64_MAX);
  MP_ASSERT_OK(mp_dict_set(d, "m", 1, want, 8));
  MP_ASSERT_OK(mp_dict_incr(&out, d, "m", 1, 1));
  assert_true(out == INT64_MIN);
  MP_ASSERT_OK(mp_dict_incr(&out, d, "m", 1, -1));
  assert_true(out == INT64_MAX);
  le64(want, 0x0123456789abcdefULL);
  MP_ASSERT_OK(mp_dict_set(d, "c", 1, want, 8));
  MP_ASSERT_OK(mp_dict_incr(&out, d, "c", 1, 0x1111111111111111LL));
  assert_true((uint64_t)out == 0x123456789abcdf00ULL);
  MP_ASSERT_OK(mp_dict_set(d, "s", 1, "seven", 5));
  MP_ASSERT_ERR(mp_dict_incr(&out, d, "s", 1, 1), MP_EINVAL);
  assert_non_null(strstr(mp_last_error(), "not an 8-byte integer"));
  check_value(d, "s", "seven", 5);
  mp_dict_free(d);
}

static void test_cas(void **state) {
  (void)state;
  mp_dict_t *d = open_dict("cas");
  assert_int_equal(mp_dict_cas(d, "k", 1, NULL, 0, "one", 3), 1);
  assert_int_equal(mp_dict_cas(d, "k", 1, NULL, 0, "two", 3), 0); /* present */
  assert_int_equal(mp_dict_cas(d, "k", 1, "xxx", 3, "two", 3), 0);
  check_value(d, "k", "one", 3);
  assert_int_equal(mp_dict_cas(d, "k", 1, "one", 3, "two", 3), 1);
  check_value(d, "k", "two", 3);
  /* expected "" (not NULL): only an empty value matches, not absence. */
  assert_int_equal(mp_dict_cas(d, "e", 1, "", 0, "x", 1), 0);
  assert_int_equal(mp_dict_contains(d, "e", 1), 0);
  MP_ASSERT_OK(mp_dict_set(d, "e", 1, "", 0));
  assert_int_equal(mp_dict_cas(d, "e", 1, "", 0, "x", 1), 1);
  check_value(d, "e", "x", 1);
  mp_dict_free(d);
}

static void test_iter_snapshot(void **state) {
  (void)state;
  mp_dict_t *d = open_dict("iter");
  mp_dict_iter_t *it;
  const void *k, *v;
  size_t kl, vl;
  MP_ASSERT_OK(mp_dict_iter_new(&it, d)); /* an empty dict */
  assert_int_equal(mp_dict_iter_next2(&k, &kl, &v, &vl, it), 0);
  mp_dict_iter_free(it);
  for (int i = 0; i < 50; i++) {
    char key[16], val[16];
    int kn = snprintf(key, sizeof key, "k%d", i), vn = snprintf(val, sizeof val, "v%d", i * i);
    MP_ASSERT_OK(mp_dict_set(d, key, (size_t)kn, val, (size_t)vn));
  }
  MP_ASSERT_OK(mp_dict_iter_new(&it, d));
  MP_ASSERT_OK(mp_dict_set(d, "late", 4, "x", 1)); /* not in the snapshot */
  int seen[50] = {0}, count = 0;
  while (mp_dict_iter_next2(&k, &kl, &v, &vl, it) == 1) {
    int i = -1;
    assert_int_equal(sscanf(k, "k%d", &i), 1);
    assert_true(i >= 0 && i < 50);
    char want[16];
    snprintf(want, sizeof want, "v%d", i * i);
    assert_int_equal(vl, strlen(want));
    assert_string_equal(v, want); /* NUL-terminated */
    seen[i]++;
    count++;
  }
  assert_int_equal(count, 50);
  for (int i = 0; i < 50; i++) assert_int_equal(seen[i], 1);
  assert_int_equal(mp_dict_iter_next(it, &k, &kl, &v, &vl), 0);
  mp_dict_iter_free(it);
  mp_dict_free(d);
}

/* Each of 4 forked processes adds 1 to "n" 150 times with incr, and 1 to
 * "c" 60 times by get + cas (retried when another won). */
static void hammer(const char *address) {
  mp_dict_t *d;
  if (mp_dict_open(&d, address, 5000)) _exit(10);
  int64_t out;
  for (int i = 0; i < 150; i++)
    if (mp_dict_incr(&out, d, "n", 1, 1)) _exit(11);
  for (int i = 0; i < 60; i++) {
    for (;;) {
      uint64_t have = 0;
      size_t n = 0;
      int r = mp_dict_get_into(&n, d, "c", 1, &have, sizeof have);
      if (r != MP_OK && r != MP_ENOENT) _exit(12);
      uint64_t next = have + 1;
      int ok = mp_dict_cas(d, "c", 1, r == MP_OK ? (void *)&have : NULL, r == MP_OK ? 8 : 0,
                           &next, 8);
      if (ok < 0) _exit(13);
      if (ok == 1) break;
    }
  }
  mp_dict_free(d);
  _exit(0);
}

static void test_atomic_across_processes(void **state) {
  (void)state;
  mp_dict_t *d = open_dict("atomic");
  pid_t kids[4];
  for (int k = 0; k < 4; k++) {
    kids[k] = fork();
    assert_true(kids[k] >= 0);
    if (kids[k] == 0) hammer(addr("atomic"));
  }
  for (int k = 0; k < 4; k++) {
    int st = 0;
    assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
  }
  int64_t out;
  MP_ASSERT_OK(mp_dict_incr(&out, d, "n", 1, 0));
  assert_int_equal(out, 4 * 150);
  uint64_t c = 0;
  size_t n = 0;
  MP_ASSERT_OK(mp_dict_get_into(&n, d, "c", 1, &c, sizeof c));
  assert_int_equal(c, 4 * 60);
  mp_dict_free(d);
}

static void test_garbage(void **state) {
  (void)state;
  mp_dict_t *d = open_dict("garb");
  MP_ASSERT_OK(mp_dict_set(d, "k", 1, "v", 1));
  raw_do(g_srv.port, "DEL %s", "mp:dict:{garb}:items", NULL);
  raw_do(g_srv.port, "SET %s %s", "mp:dict:{garb}:items", "junk");
  void *v;
  size_t n;
  int64_t out;
  mp_dict_iter_t *it = NULL;
  MP_ASSERT_ERR(mp_dict_get(&v, &n, d, "k", 1), MP_EINVAL);
  assert_non_null(strstr(mp_last_error(), "damaged"));
  MP_ASSERT_ERR(mp_dict_set(d, "k", 1, "v", 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_delete(d, "k", 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_contains(d, "k", 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_len(d), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_incr(&out, d, "k", 1, 1), MP_EINVAL);
  assert_non_null(strstr(mp_last_error(), "damaged"));
  MP_ASSERT_ERR(mp_dict_cas(d, "k", 1, NULL, 0, "x", 1), MP_EINVAL);
  MP_ASSERT_ERR(mp_dict_iter_new(&it, d), MP_EINVAL);
  assert_null(it);
  MP_ASSERT_ERR(mp_dict_clear(d), MP_EINVAL);
  assert_non_null(strstr(mp_last_error(), "not a hash"));
  redisReply *r = raw_cmd(g_srv.port, "GET %s", "mp:dict:{garb}:items");
  assert_string_equal(r->str, "junk"); /* left alone */
  freeReplyObject(r);
  mp_dict_t *d2 = NULL;
  MP_ASSERT_ERR(mp_dict_open(&d2, addr("garb"), 2000), MP_EINVAL);
  assert_non_null(strstr(mp_last_error(), "not a hash"));
  assert_null(d2);
  mp_dict_free(d);
}

static void test_eviction_warning(void **state) {
  (void)state;
  raw_do(g_srv.port, "CONFIG SET maxmemory-policy %s", "allkeys-lru", NULL);
  mp_dict_t *d = open_dict("evict");
  assert_non_null(strstr(mp_last_error(), "maxmemory-policy allkeys-lru"));
  mp_dict_free(d);
  mp_lock_t *l;
  MP_ASSERT_OK(mp_lock_open(&l, addr("evict"), 5000));
  assert_non_null(strstr(mp_last_error(), "maxmemory-policy allkeys-lru"));
  mp_lock_free(l);
  raw_do(g_srv.port, "CONFIG SET maxmemory-policy %s", "noeviction", NULL);
  d = open_dict("evict");
  assert_string_equal(mp_last_error(), "");
  mp_dict_free(d);
}

static void test_unreachable(void **state) {
  (void)state;
  char a[96];
  snprintf(a, sizeof a, "redis://127.0.0.1:%d#d", redis_free_port());
  mp_dict_t *d = NULL;
  MP_ASSERT_ERR(mp_dict_open(&d, a, 2000), MP_ECONNREFUSED);
  assert_null(d);
  redis_srv other;
  assert_int_equal(redis_start(&other), 0);
  snprintf(a, sizeof a, "redis://127.0.0.1:%d#d", other.port);
  MP_ASSERT_OK(mp_dict_open(&d, a, 5000));
  MP_ASSERT_OK(mp_dict_set(d, "k", 1, "v", 1));
  redis_stop(&other, 1);
  int64_t t0 = now_ms();
  int r = mp_dict_set(d, "k", 1, "w", 1);
  assert_true(r == MP_EPIPE || r == MP_ECONNREFUSED);
  r = mp_dict_len(d);
  assert_true(r == MP_EPIPE || r == MP_ECONNREFUSED);
  assert_true(now_ms() - t0 < 5000);
  mp_dict_free(d);
}

int main(void) {
  if (!redis_server_path()) {
    printf("1..0 # SKIP redis-server is not installed (apt-get install redis-server)\n");
    return 0;
  }
  if (redis_start(&g_srv) != 0) fail_msg("redis-server did not start");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_set_get_delete),   cmocka_unit_test(test_sizes),
      cmocka_unit_test(test_incr_bytes),       cmocka_unit_test(test_cas),
      cmocka_unit_test(test_iter_snapshot),    cmocka_unit_test(test_atomic_across_processes),
      cmocka_unit_test(test_garbage),          cmocka_unit_test(test_eviction_warning),
      cmocka_unit_test(test_unreachable),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  redis_stop(&g_srv, 0);
  return failed;
}
