/* Operations and robustness of the queue on a redis server (issue 16),
 * each test against a real redis-server (redis_fixture.h): the scripts run
 * by EVALSHA and survive SCRIPT FLUSH. Skipped (TAP) without
 * redis-server. */
#include "testutil.h"

#include <hiredis/hiredis.h>

#include "redis_fixture.h"

static redis_srv g_srv;

static const char *addr_at(char *buf, size_t cap, int port, const char *name) {
  snprintf(buf, cap, "redis://127.0.0.1:%d#%s", port, name);
  return buf;
}

/* A command on a raw connection to port (password: AUTH first), as
 * another program on the same server would send it. */
static redisReply *raw_at(int port, const char *password, const char *fmt, ...) {
  redisContext *c = redisConnect("127.0.0.1", port);
  assert_non_null(c);
  assert_int_equal(c->err, 0);
  if (password) freeReplyObject(redisCommand(c, "AUTH %s", password));
  va_list ap;
  va_start(ap, fmt);
  redisReply *r = redisvCommand(c, fmt, ap);
  va_end(ap);
  redisFree(c);
  return r;
}

/* field (e.g. "calls") of command's line in INFO commandstats, 0 if none. */
static long long cmdstat(const char *command, const char *field) {
  redisReply *r = raw_at(g_srv.port, NULL, "INFO commandstats");
  assert_non_null(r);
  assert_int_equal(r->type, REDIS_REPLY_STRING);
  char key[64];
  snprintf(key, sizeof key, "cmdstat_%s:", command);
  long long v = 0;
  const char *line = strstr(r->str, key);
  if (line) {
    char f[32];
    snprintf(f, sizeof f, "%s=", field);
    const char *at = strstr(line, f);
    const char *end = strchr(line, '\n');
    if (at && (!end || at < end)) v = atoll(at + strlen(f));
  }
  freeReplyObject(r);
  return v;
}

static void put_get(mp_queue_t *q, const char *body) {
  MP_ASSERT_OK(mp_queue_put(q, body, strlen(body), 5000));
  void *m;
  size_t n;
  MP_ASSERT_OK(mp_queue_get(&m, &n, q, 5000));
  assert_int_equal(n, strlen(body));
  assert_memory_equal(m, body, n);
  mp_free(m);
}

/* Steady calls are EVALSHA (the text is not sent again); after SCRIPT
 * FLUSH (as after a restart) the next calls fall back to EVAL once and
 * work. */
static void test_evalsha_and_script_flush(void **state) {
  (void)state;
  char a[96];
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_open(&q, addr_at(a, sizeof a, g_srv.port, "sha"), 5000));
  put_get(q, "warm");
  long long eval0 = cmdstat("eval", "calls"), sha0 = cmdstat("evalsha", "calls");
  for (int i = 0; i < 20; i++) put_get(q, "steady");
  assert_int_equal(cmdstat("eval", "calls"), eval0);
  assert_true(cmdstat("evalsha", "calls") >= sha0 + 40);
  freeReplyObject(raw_at(g_srv.port, NULL, "SCRIPT FLUSH"));
  put_get(q, "after flush");
  long long eval1 = cmdstat("eval", "calls");
  assert_true(eval1 > eval0);
  assert_true(eval1 <= eval0 + 2); /* put and get, once each */
  for (int i = 0; i < 5; i++) put_get(q, "steady again");
  assert_int_equal(cmdstat("eval", "calls"), eval1);
  mp_queue_free(q);
}

int main(void) {
  if (!redis_server_path()) {
    printf("1..0 # SKIP redis-server is not installed (apt-get install redis-server)\n");
    return 0;
  }
  setenv("MULTIPROC_REDIS_LEASE_MS", "500", 1);
  if (redis_start(&g_srv) != 0) fail_msg("redis-server did not start");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_evalsha_and_script_flush),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  redis_stop(&g_srv, 0);
  return failed;
}
