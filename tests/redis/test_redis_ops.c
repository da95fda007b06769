/* Operations and robustness of the queue on a redis server (issue 16),
 * each test against a real redis-server (redis_fixture.h): the scripts run
 * by EVALSHA and survive SCRIPT FLUSH; redis-server SIGKILLed under load
 * with AOF (appendfsync always) and restarted: no acknowledged put lost,
 * every call ends with a documented code in bounded time; a restart that
 * loads slowly (LOADING: waited out, or MP_ETIMEDOUT); a network
 * partition (redis_proxy.h stops forwarding) mid-call and at open: the
 * calls time out, never hang, and work again once it heals; a consumer
 * partitioned holding a message: redelivered to another after the lease,
 * delivery count 2; passwords: wrong (environment or file) is MP_EACCES
 * with the password in no message, right works, none in the URL.
 * Skipped (TAP) without redis-server. */
#include "testutil.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "redis_fixture.h"
#include "redis_proxy.h"

static redis_srv g_srv;
static redis_srv g_own; /* a test's own server, stopped by stop_own even when it fails */

static int stop_own(void **state) {
  (void)state;
  if (g_own.dir[0]) redis_stop(&g_own, 1);
  return 0;
}

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

static void expect_get(mp_queue_t *q, const char *want, int64_t want_count) {
  void *m;
  size_t n;
  MP_ASSERT_OK(mp_queue_get(&m, &n, q, 5000));
  assert_int_equal(n, strlen(want));
  assert_memory_equal(m, want, n);
  mp_free(m);
  char id[MP_QUEUE_ID_MAX];
  int64_t count = 0;
  MP_ASSERT_OK(mp_queue_last_delivery(&count, id, sizeof id, q));
  assert_int_equal(count, want_count);
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

/* ---- redis-server SIGKILLed under load, AOF on, restarted ---- */

#define MAX_IDS 100000

typedef struct {
  char addr[96];
  int tag;
  atomic_int *stop;
  atomic_int *phase;         /* 0 before the kill, 1 down, 2 restarted */
  unsigned char *acked;      /* [i]: put i returned MP_OK */
  int n_acked[3];            /* per phase */
  int errors, bad;           /* documented error codes; others */
  char bad_msg[256];
  int64_t max_ms;            /* the longest call */
} producer_t;

static int documented(int rc) {
  return rc == MP_EPIPE || rc == MP_ECONNREFUSED || rc == MP_ETIMEDOUT;
}

static void note_error(producer_t *p, int rc) {
  if (documented(rc)) {
    p->errors++;
  } else if (!p->bad++) {
    snprintf(p->bad_msg, sizeof p->bad_msg, "%s: %s", mp_err_name(rc), mp_last_error());
  }
  usleep(20 * 1000); /* a refused connect is instant: no busy loop */
}

static void *produce(void *arg) {
  producer_t *p = arg;
  mp_queue_t *q;
  if (mp_queue_open(&q, p->addr, 5000) != MP_OK) {
    p->bad++;
    snprintf(p->bad_msg, sizeof p->bad_msg, "open: %s", mp_last_error());
    return NULL;
  }
  for (int i = 0; i < MAX_IDS && !atomic_load(p->stop); i++) {
    char msg[32];
    int n = snprintf(msg, sizeof msg, "p%d-%d", p->tag, i);
    int phase = atomic_load(p->phase);
    int64_t t0 = now_ms();
    int rc = mp_queue_put(q, msg, (size_t)n, 2000);
    int64_t took = now_ms() - t0;
    if (took > p->max_ms) p->max_ms = took;
    if (rc == MP_OK) {
      p->acked[i] = 1;
      p->n_acked[atomic_load(p->phase) == phase ? phase : 1]++;
    } else {
      note_error(p, rc);
    }
  }
  mp_queue_free(q);
  return NULL;
}

typedef struct {
  producer_t *producers;
  int n;
  unsigned char **got; /* [tag][i] */
} received_t;

static void record(received_t *r, const char *m, size_t n) {
  int tag = -1, i = -1;
  char buf[32];
  snprintf(buf, sizeof buf, "%.*s", (int)(n < 31 ? n : 31), m);
  assert_int_equal(sscanf(buf, "p%d-%d", &tag, &i), 2);
  assert_true(tag >= 0 && tag < r->n && i >= 0 && i < MAX_IDS);
  r->got[tag][i] = 1;
}

typedef struct {
  producer_t stats; /* errors, bad, max_ms of the consumer */
  received_t *r;
} consumer_t;

static void *consume(void *arg) {
  consumer_t *c = arg;
  producer_t *p = &c->stats;
  mp_queue_t *q;
  if (mp_queue_open(&q, p->addr, 5000) != MP_OK) {
    p->bad++;
    return NULL;
  }
  while (!atomic_load(p->stop)) {
    void *m;
    size_t n;
    int64_t t0 = now_ms();
    int rc = mp_queue_get(&m, &n, q, 1000);
    int64_t took = now_ms() - t0;
    if (took > p->max_ms) p->max_ms = took;
    if (rc == MP_OK) {
      record(c->r, m, n);
      mp_free(m);
    } else if (rc != MP_ETIMEDOUT) {
      note_error(p, rc);
    }
  }
  mp_queue_free(q); /* what it still holds goes to the drain below */
  return NULL;
}

static void test_aof_sigkill_loses_no_acknowledged_put(void **state) {
  (void)state;
  redis_srv *srv = &g_own;
  assert_int_equal(redis_start_opts(srv, 1, NULL), 0);
  enum { N = 3 };
  atomic_int stop = 0, phase = 0;
  producer_t prod[N];
  unsigned char *got[N];
  received_t rec = {prod, N, got};
  pthread_t pt[N], ct;
  for (int k = 0; k < N; k++) {
    memset(&prod[k], 0, sizeof prod[k]);
    addr_at(prod[k].addr, sizeof prod[k].addr, srv->port, "aof");
    prod[k].tag = k;
    prod[k].stop = &stop;
    prod[k].phase = &phase;
    prod[k].acked = calloc(MAX_IDS, 1);
    got[k] = calloc(MAX_IDS, 1);
    assert_int_equal(pthread_create(&pt[k], NULL, produce, &prod[k]), 0);
  }
  consumer_t cons = {.r = &rec};
  addr_at(cons.stats.addr, sizeof cons.stats.addr, srv->port, "aof");
  cons.stats.stop = &stop;
  cons.stats.phase = &phase;
  assert_int_equal(pthread_create(&ct, NULL, consume, &cons), 0);
  usleep(800 * 1000);
  atomic_store(&phase, 1);
  redis_kill_keep(srv);
  usleep(500 * 1000);
  assert_int_equal(redis_restart(srv), 0);
  atomic_store(&phase, 2);
  usleep(1500 * 1000);
  atomic_store(&stop, 1);
  for (int k = 0; k < N; k++) pthread_join(pt[k], NULL);
  pthread_join(ct, NULL);
  /* A fresh consumer drains the rest, also what the first one held. */
  char a[96];
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_open(&q, addr_at(a, sizeof a, srv->port, "aof"), 5000));
  void *m;
  size_t n;
  int rc;
  while ((rc = mp_queue_get(&m, &n, q, 2000)) == MP_OK) {
    record(&rec, m, n);
    mp_free(m);
  }
  assert_int_equal(rc, MP_ETIMEDOUT);
  mp_queue_free(q);
  int lost = 0, acked = 0, errors = cons.stats.errors;
  for (int k = 0; k < N; k++) {
    if (prod[k].bad) fail_msg("producer %d: undocumented error %s", k, prod[k].bad_msg);
    assert_true(prod[k].max_ms < 6000); /* 2000 ms timeout, a round trip >= 2000 */
    assert_true(prod[k].n_acked[0] > 0); /* under load before the kill */
    assert_true(prod[k].n_acked[2] > 0); /* reconnected after the restart */
    errors += prod[k].errors;
    for (int i = 0; i < MAX_IDS; i++) {
      acked += prod[k].acked[i];
      if (prod[k].acked[i] && !got[k][i]) lost++;
    }
    free(prod[k].acked);
    free(got[k]);
  }
  if (cons.stats.bad) fail_msg("consumer: undocumented error %s", cons.stats.bad_msg);
  assert_true(cons.stats.max_ms < 6000);
  printf("# %d puts acknowledged, %d lost, %d documented errors while down\n", acked, lost,
         errors);
  assert_int_equal(lost, 0);
  assert_true(errors > 0); /* the kill hit calls in flight or between */
  }

/* ---- a restart that loads slowly (LOADING) ---- */

static int rewrite_running(int port) {
  redisReply *r = raw_at(port, NULL, "INFO persistence");
  int busy = !r || r->type != REDIS_REPLY_STRING || strstr(r->str, "aof_rewrite_in_progress:1") ||
             strstr(r->str, "aof_rewrite_scheduled:1");
  freeReplyObject(r);
  return busy;
}

/* While the restarted server loads its data it answers LOADING: a call
 * with time left waits it out, one without says so (MP_ETIMEDOUT, not
 * "garbage in our keys"). */
static void test_restart_while_loading(void **state) {
  (void)state;
  redis_srv *srv = &g_own;
  assert_int_equal(redis_start_opts(srv, 1, NULL), 0);
  char a[96];
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_open(&q, addr_at(a, sizeof a, srv->port, "load"), 5000));
  MP_ASSERT_OK(mp_queue_put(q, "kept", 4, 5000));
  /* 20000 keys in the AOF's RDB base, each loaded key-load-delay late. */
  freeReplyObject(raw_at(srv->port, NULL,
                         "EVAL %s 0", "for i=1,20000 do redis.call('SET','k'..i,i) end return 1"));
  freeReplyObject(raw_at(srv->port, NULL, "BGREWRITEAOF"));
  /* Generous: on a loaded machine the rewrite took over 10 s, and a
   * restart before it ends loads no base, so nothing to wait for. */
  for (int i = 0; i < 1200 && rewrite_running(srv->port); i++) usleep(50 * 1000);
  if (rewrite_running(srv->port)) fail_msg("BGREWRITEAOF still running after 60 s");
  redis_kill_keep(srv);
  srv->load_delay_us = 300;
  assert_int_equal(redis_restart(srv), 0);
  redisReply *r = raw_at(srv->port, NULL, "PING");
  if (r->type != REDIS_REPLY_ERROR || strncmp(r->str, "LOADING", 7) != 0)
    fail_msg("the restarted server is not loading: %s", r->str);
  freeReplyObject(r);
  int qs = mp_queue_qsize(q);
  if (qs != MP_ETIMEDOUT) fail_msg("qsize while loading: %d (%s)", qs, mp_last_error());
  assert_non_null(strstr(mp_last_error(), "loading"));
  int64_t t0 = now_ms();
  MP_ASSERT_OK(mp_queue_put(q, "after", 5, 60000));
  printf("# the put waited %lld ms for the load\n", (long long)(now_ms() - t0));
  expect_get(q, "kept", 1);
  expect_get(q, "after", 1);
  mp_queue_free(q);
}

/* ---- a network partition mid-call and at open ---- */

typedef struct {
  mp_queue_t *q;
  int rc;
  int64_t took;
} call_t;

static void *get_forever(void *arg) {
  call_t *c = arg;
  void *m;
  size_t n;
  int64_t t0 = now_ms();
  c->rc = mp_queue_get(&m, &n, c->q, MP_FOREVER);
  c->took = now_ms() - t0;
  if (c->rc == MP_OK) mp_free(m);
  return NULL;
}

static void *qsize_call(void *arg) {
  call_t *c = arg;
  int64_t t0 = now_ms();
  c->rc = mp_queue_qsize(c->q);
  c->took = now_ms() - t0;
  return NULL;
}

static void test_partition_mid_call(void **state) {
  (void)state;
  proxy_t px;
  assert_int_equal(proxy_start(&px, g_srv.port), 0);
  char a[96], a2[96];
  mp_queue_t *q, *other;
  MP_ASSERT_OK(mp_queue_open(&q, addr_at(a, sizeof a, px.port, "part"), 5000));
  MP_ASSERT_OK(mp_queue_put(q, "before", 6, 5000));
  void *m;
  size_t n;
  MP_ASSERT_OK(mp_queue_get(&m, &n, q, 5000));
  mp_free(m);
  proxy_freeze(&px, 1);
  /* A call that may wait: its timeout (a round trip that moves messages
   * waits at least 2 s), MP_ETIMEDOUT: the outcome is unknown. */
  MP_ASSERT_TIMES_OUT(mp_queue_put(q, "during", 6, 1000), 1000, 5000);
  MP_ASSERT_TIMES_OUT(mp_queue_get(&m, &n, q, 1000), 1000, 5000);
  /* Opening another queue on that server: its own timeout. */
  MP_ASSERT_TIMES_OUT(mp_queue_open(&other, addr_at(a2, sizeof a2, px.port, "part2"), 1500), 1500,
                      3500);
  /* A call without a timeout and a getter: the round trip's cap (30 s). */
  call_t forever = {.q = q}, size = {.q = q};
  pthread_t t1, t2;
  assert_int_equal(pthread_create(&t1, NULL, get_forever, &forever), 0);
  assert_int_equal(pthread_create(&t2, NULL, qsize_call, &size), 0);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  assert_int_equal(forever.rc, MP_ETIMEDOUT);
  assert_int_equal(size.rc, MP_ETIMEDOUT);
  assert_true(forever.took < 35000 && size.took < 35000);
  /* Healed: the same handle works again. What waited in the proxy ran
   * late: the put of "during" went in, the get that timed out took it
   * with no one to hand it to, the get without a timeout took it back for
   * the same end (count 2); this handle's next get takes it back again
   * (count 3) instead of holding it until the handle is freed. */
  proxy_freeze(&px, 0);
  MP_ASSERT_OK(mp_queue_put(q, "after", 5, 5000));
  expect_get(q, "during", 3);
  expect_get(q, "after", 1);
  MP_ASSERT_ERR(mp_queue_get(&m, &n, q, 0), MP_EEMPTY);
  mp_queue_free(q);
  proxy_stop(&px);
}

/* ---- a consumer partitioned holding a message ---- */

static void test_partitioned_consumer_redelivered(void **state) {
  (void)state;
  proxy_t px;
  assert_int_equal(proxy_start(&px, g_srv.port), 0);
  char a[96], b[96];
  mp_queue_t *cut, *live;
  MP_ASSERT_OK(mp_queue_open(&cut, addr_at(a, sizeof a, px.port, "held"), 5000));
  MP_ASSERT_OK(mp_queue_open(&live, addr_at(b, sizeof b, g_srv.port, "held"), 5000));
  MP_ASSERT_OK(mp_queue_put(live, "m1", 2, 5000));
  MP_ASSERT_OK(mp_queue_put(live, "m2", 2, 5000));
  void *m;
  size_t n;
  MP_ASSERT_OK(mp_queue_get(&m, &n, cut, 5000));
  assert_memory_equal(m, "m1", 2);
  mp_free(m);
  char held_id[MP_QUEUE_ID_MAX], id[MP_QUEUE_ID_MAX];
  int64_t count = 0;
  MP_ASSERT_OK(mp_queue_last_delivery(&count, held_id, sizeof held_id, cut));
  assert_int_equal(count, 1);
  proxy_freeze(&px, 1);
  MP_ASSERT_OK(mp_queue_get(&m, &n, live, 5000)); /* m1 is held: m2 */
  assert_memory_equal(m, "m2", 2);
  mp_free(m);
  int64_t t0 = now_ms();
  MP_ASSERT_OK(mp_queue_get(&m, &n, live, 10000)); /* after the lease (500 ms) */
  assert_true(now_ms() - t0 >= 250);
  assert_memory_equal(m, "m1", 2);
  mp_free(m);
  MP_ASSERT_OK(mp_queue_last_delivery(&count, id, sizeof id, live));
  assert_int_equal(count, 2);
  assert_string_equal(id, held_id);
  MP_ASSERT_ERR(mp_queue_get(&m, &n, live, 1000), MP_ETIMEDOUT);
  /* Healed: the cut consumer's late acknowledgement does no harm, and m1
   * is not delivered a third time. */
  proxy_freeze(&px, 0);
  MP_ASSERT_ERR(mp_queue_get(&m, &n, cut, 1500), MP_ETIMEDOUT);
  MP_ASSERT_ERR(mp_queue_get(&m, &n, live, 1000), MP_ETIMEDOUT);
  mp_queue_free(cut);
  mp_queue_free(live);
  proxy_stop(&px);
}

/* ---- passwords ---- */

/* Run mp-redis-peer put ADDR 1 x with only var=value of the password
 * variables (var NULL: none); its stderr into err. Returns its status. */
static int peer_with(const char *var, const char *value, const char *address, char *err,
                     size_t cap) {
  const char *path = getenv("MP_REDIS_PEER");
  if (!path) fail_msg("MP_REDIS_PEER is not set; run with meson test");
  char *envp[256], setting[512];
  int n = 0;
  for (char **e = environ; *e && n < 250; e++)
    if (strncmp(*e, "MULTIPROC_REDIS_PASSWORD", 24) != 0) envp[n++] = *e;
  if (var) {
    snprintf(setting, sizeof setting, "%s=%s", var, value);
    envp[n++] = setting;
  }
  envp[n] = NULL;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  char *argv[] = {(char *)path, "put", (char *)address, "1", "x", NULL};
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, path, &fa, NULL, argv, envp), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  size_t got = 0;
  ssize_t r;
  while (got + 1 < cap && (r = read(fds[0], err + got, cap - 1 - got)) > 0) got += (size_t)r;
  err[got] = '\0';
  close(fds[0]);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_passwords(void **state) {
  (void)state;
  const char *right = "right-Pw-4711", *wrong = "wrong-Pw-0815";
  redis_srv *srv = &g_own;
  assert_int_equal(redis_start_opts(srv, 0, right), 0);
  char a[96], err[4096], file[200];
  addr_at(a, sizeof a, srv->port, "auth");
  snprintf(file, sizeof file, "%s/pw", srv->dir);
  /* None, wrong in the environment, wrong in a file: refused. */
  assert_int_equal(peer_with(NULL, NULL, a, err, sizeof err), 1);
  assert_non_null(strstr(err, "EACCES"));
  assert_int_equal(peer_with("MULTIPROC_REDIS_PASSWORD", wrong, a, err, sizeof err), 1);
  assert_non_null(strstr(err, "EACCES"));
  assert_null(strstr(err, wrong));
  assert_null(strstr(err, right));
  write_file(file, "wrong-Pw-0815\n");
  assert_int_equal(peer_with("MULTIPROC_REDIS_PASSWORD_FILE", file, a, err, sizeof err), 1);
  assert_non_null(strstr(err, "EACCES"));
  assert_null(strstr(err, wrong));
  /* An unreadable file: MP_EACCES naming the file, not a password. */
  char missing[160];
  snprintf(missing, sizeof missing, "%s/none", srv->dir);
  assert_int_equal(peer_with("MULTIPROC_REDIS_PASSWORD_FILE", missing, a, err, sizeof err), 1);
  assert_non_null(strstr(err, "EACCES"));
  assert_non_null(strstr(err, "MULTIPROC_REDIS_PASSWORD_FILE"));
  /* Right, from the environment and from a file. */
  assert_int_equal(peer_with("MULTIPROC_REDIS_PASSWORD", right, a, err, sizeof err), 0);
  write_file(file, "right-Pw-4711\n");
  assert_int_equal(peer_with("MULTIPROC_REDIS_PASSWORD_FILE", file, a, err, sizeof err), 0);
  redisReply *r = raw_at(srv->port, right, "XLEN %s", "mp:queue:{auth}:stream");
  assert_int_equal(r->integer, 2);
  freeReplyObject(r);
  /* An ACL user: user@ in the address, its password from the environment. */
  freeReplyObject(raw_at(srv->port, right, "ACL SETUSER alice on >alice-Pw-1 ~mp:* &* +@all"));
  char ua[256];
  snprintf(ua, sizeof ua, "redis://alice@127.0.0.1:%d#auth", srv->port);
  assert_int_equal(peer_with("MULTIPROC_REDIS_PASSWORD", "alice-Pw-1", ua, err, sizeof err), 0);
  assert_int_equal(peer_with("MULTIPROC_REDIS_PASSWORD", wrong, ua, err, sizeof err), 1);
  assert_non_null(strstr(err, "EACCES"));
  assert_null(strstr(err, wrong));
  /* A password in the address is refused, and not repeated. */
  mp_queue_t *q = NULL;
  snprintf(ua, sizeof ua, "redis://alice:%s@127.0.0.1:%d#auth", right, srv->port);
  MP_ASSERT_ERR(mp_queue_open(&q, ua, 2000), MP_EINVAL);
  assert_null(strstr(mp_last_error(), right));
  assert_non_null(strstr(mp_last_error(), "password"));
  assert_null(q);
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
      cmocka_unit_test_teardown(test_aof_sigkill_loses_no_acknowledged_put, stop_own),
      cmocka_unit_test_teardown(test_restart_while_loading, stop_own),
      cmocka_unit_test(test_partition_mid_call),
      cmocka_unit_test(test_partitioned_consumer_redelivered),
      cmocka_unit_test_teardown(test_passwords, stop_own),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  redis_stop(&g_srv, 0);
  return failed;
}
