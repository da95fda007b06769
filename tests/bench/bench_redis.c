/*
 * Queues on a redis server (issue 16): mp_queue_open("redis://...#name")
 * against a raw hiredis program doing the same reliable commands. A
 * program of tests/bench/run like bench_ipc.c (same options, same method:
 * bench_measure of bench_common.c, implementations alternating batch by
 * batch).
 *
 *   bench_redis [options] NAME...
 *     --time SEC     time budget per implementation and workload (default 1.5)
 *     --batches N    timed batches per implementation (default 5)
 *     --iters N      messages (round trips) per batch (default: calibrated)
 *     --impl LIST    multiproc, raw or both (default both, batches alternate)
 *     --quick        smoke mode: --time 0.05 --batches 3
 *     --list         print the workload names and units, one a line
 *   MP_BENCH_REDIS   HOST:PORT of the redis-server to use (tests/bench/run
 *                    starts one on a free loopback port and sets it)
 *
 * Every batch uses keys of its own (a queue or stream named after the pid
 * and the batch), deleted after it (not timed).
 *
 * Queue workloads (msg/s of 64-byte messages, 1 producer and 1 consumer
 * process forked by the batch, not timed; timed from the first put to the
 * end of the last get, as bench_ipc.c's queue_64B_1to1, with the same
 * numbered messages, the pill and the consumer's checks):
 *   remote_queue_64B       one message per call: mp_queue_put /
 *                          mp_queue_get_into on mp_queue_open(
 *                          "redis://HOST:PORT#name")
 *                          | raw: hiredis, one round trip per call: the
 *                          producer XADD key * d <64 B>; the consumer
 *                          XACK + XDEL of the message it got before (with
 *                          the last one, after the pill) pipelined with
 *                          XREADGROUP GROUP g c COUNT 1 BLOCK 0 ... >
 *                          (the library also acknowledges a message at the
 *                          next get)
 *   remote_queue_64B_batch the same in batches of 100: mp_queue_put_many /
 *                          mp_queue_get_many (up to 100)
 *                          | raw: 100 XADDs pipelined (one write, then the
 *                          100 replies); XACK + XDEL of the previous batch's
 *                          ids (one command each) pipelined with
 *                          XREADGROUP COUNT 100 BLOCK 0
 * Round trip (us, lower is better; the echo child forked once, before the
 * batches):
 *   remote_pingpong_64B    the parent puts 64 bytes on queue "ping" and gets
 *                          the reply from queue "pong"; the echo child gets
 *                          from ping and puts on pong (mp_queue_put +
 *                          mp_queue_get_into)
 *                          | raw: the same on two streams with hiredis: a
 *                          put is XADD (one round trip), a get XACK + XDEL
 *                          of the previous message pipelined with
 *                          XREADGROUP COUNT 1 BLOCK 0 (one round trip)
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_mp.h"

#define MSG 64
#define MANY 100          /* messages per put_many / get_many / pipeline */
#define OPEN_MS 10000     /* mp_queue_open's budget */
#define GET_MS ((int64_t)(BENCH_WATCHDOG_S * 1000)) /* a longer get is a hang */

static const char *const kImpls[] = {"multiproc", "raw"};
enum { IMPL_MULTIPROC, IMPL_RAW };

static char g_host[64];
static int g_port;
static redisContext *g_admin; /* the parent's connection: cleanup between batches */
static int g_batch;           /* numbers the keys of each batch */

/* ------------------------------------------------------------------------
 * Server address, connections, names
 * ---------------------------------------------------------------------- */

static void parse_server(void) {
  const char *s = getenv("MP_BENCH_REDIS");
  const char *colon = s ? strrchr(s, ':') : NULL;
  if (!colon || colon == s || (size_t)(colon - s) >= sizeof g_host || atoi(colon + 1) <= 0)
    die("set MP_BENCH_REDIS to HOST:PORT of a redis-server (tests/bench/run starts one "
        "and sets it)");
  memcpy(g_host, s, (size_t)(colon - s));
  g_port = atoi(colon + 1);
}

/* A hiredis connection, or NULL (with a message in the control page for a
 * child; die in the parent). */
static redisContext *connect_raw(int child) {
  redisContext *c = redisConnect(g_host, g_port);
  if (c && !c->err) return c;
  const char *why = c ? c->errstr : "out of memory";
  if (!child) die("cannot connect to redis at %s:%d: %s", g_host, g_port, why);
  ctl_fail("cannot connect to redis at %s:%d: %s", g_host, g_port, why);
  if (c) redisFree(c);
  return NULL;
}

static void admin_command(const char *fmt, const char *arg) {
  redisReply *r = redisCommand(g_admin, fmt, arg);
  if (!r) die("redis: %s", g_admin->errstr);
  if (r->type == REDIS_REPLY_ERROR) die("redis: %s", r->str);
  freeReplyObject(r);
}

/* The keys of batch k: a queue name (multiproc) or a stream key (raw). */
static void batch_name(char *buf, size_t cap, const char *what) {
  snprintf(buf, cap, "bench_%s_%d_%d", what, (int)getpid(), ++g_batch);
}

static void queue_address(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "redis://%s:%d#%s", g_host, g_port, name);
}

/* After a batch (not timed): the queue's keys. The layout is the
 * library's (src/redis/scripts.hpp); a missed key only costs memory of
 * the runner's temporary server. */
static void drop_queue(const char *name) {
  char meta[200], stream[200];
  snprintf(meta, sizeof meta, "mp:queue:{%s}:meta", name);
  snprintf(stream, sizeof stream, "mp:queue:{%s}:stream", name);
  admin_command("DEL %s", meta);
  admin_command("DEL %s", stream);
}

/* ------------------------------------------------------------------------
 * multiproc: producer and consumer children
 * ---------------------------------------------------------------------- */

typedef struct qjob {
  char addr[160]; /* redis://HOST:PORT#name */
  long n;         /* data messages */
  int many;       /* put_many / get_many */
} qjob_t;

static int open_queue(mp_queue_t **q, const char *addr) {
  int r = mp_queue_open(q, addr, OPEN_MS);
  return r < 0 ? child_mp_fail(r, "mp_queue_open") : 0;
}

static int put_many_numbered(mp_queue_t *q, char *buf, long n) {
  const void *bufs[MANY];
  size_t lens[MANY], put;
  for (long i = 0; i < n;) {
    int m = n - i < MANY ? (int)(n - i) : MANY;
    for (int k = 0; k < m; ++k) {
      bufs[k] = buf + k * MSG;
      lens[k] = MSG;
      q_stamp(buf + k * MSG, MSG, (uint64_t)(i + k));
    }
    int r = mp_queue_put_many(&put, q, bufs, lens, (size_t)m, MP_FOREVER);
    if (r < 0) return child_mp_fail(r, "mp_queue_put_many");
    for (int k = 0; k < m; ++k) ctl_put_progress(i + k);
    i += m;
  }
  return 0;
}

static int mp_producer(void *arg) {
  const qjob_t *j = arg;
  mp_queue_t *q = NULL;
  char buf[MSG * MANY];
  int r;
  if (open_queue(&q, j->addr)) return 1;
  for (int k = 0; k < MANY; ++k) q_fill(buf + k * MSG, MSG, 0);
  ctl_wait_go();
  ctl_first_put();
  if (j->many) {
    if (put_many_numbered(q, buf, j->n)) return 1;
  } else {
    for (long i = 0; i < j->n; ++i) {
      q_stamp(buf, MSG, (uint64_t)i);
      if ((r = mp_queue_put(q, buf, MSG, MP_FOREVER)) < 0) return child_mp_fail(r, "mp_queue_put");
      ctl_put_progress(i);
    }
  }
  q_stamp(buf, MSG, Q_PILL);
  if ((r = mp_queue_put(q, buf, MSG, MP_FOREVER)) < 0)
    return child_mp_fail(r, "mp_queue_put (pill)");
  mp_queue_free(q);
  return 0;
}

static int mp_consumer(void *arg) {
  const qjob_t *j = arg;
  mp_queue_t *q = NULL;
  qcheck_t check;
  char buf[MSG * MANY];
  size_t lens[MANY], count = 1;
  int r, k = 1;
  if (open_queue(&q, j->addr)) return 1;
  memset(&check, 0, sizeof check);
  ctl_ready();
  while (k > 0) {
    if (j->many)
      r = mp_queue_get_many(&count, q, buf, sizeof buf, lens, MANY, GET_MS);
    else
      r = mp_queue_get_into(&lens[0], q, buf, MSG, GET_MS);
    if (r < 0) return child_mp_fail(r, j->many ? "mp_queue_get_many" : "mp_queue_get_into");
    const char *at = buf;
    for (size_t i = 0; i < count && k > 0; at += lens[i], ++i)
      if ((k = q_check(&check, at, lens[i], MSG)) < 0) return 1;
  }
  ctl_last_get(check.got);
  mp_queue_free(q); /* acknowledges the pill */
  return 0;
}

static double mp_queue_batch(void *ctx, long n) {
  qjob_t j = {.n = n, .many = *(int *)ctx};
  char name[64];
  qcfg_t cfg = {1, 1, MSG, n};
  pid_t pids[2];
  batch_name(name, sizeof name, "q");
  queue_address(j.addr, sizeof j.addr, name);
  ctl_reset();
  pids[0] = fork_child(mp_consumer, &j);
  pids[1] = fork_child(mp_producer, &j);
  ctl_start(2, "multiproc redis queue");
  wait_children(pids, 2, BENCH_WATCHDOG_S, "multiproc redis queue");
  drop_queue(name);
  return ctl_elapsed(&cfg, "multiproc redis queue");
}

/* ------------------------------------------------------------------------
 * raw: hiredis
 * ---------------------------------------------------------------------- */

typedef struct rjob {
  char key[64]; /* the stream */
  long n;
  int many;
} rjob_t;

/* 0, or 1 after ctl_fail for a failed or error reply. */
static int reply_ok(redisContext *c, redisReply *r, const char *what) {
  if (!r) return ctl_fail("%s: %s", what, c->errstr);
  if (r->type == REDIS_REPLY_ERROR) {
    ctl_fail("%s: %s", what, r->str);
    freeReplyObject(r);
    return 1;
  }
  return 0;
}

/* Read and check `n` pipelined replies, freeing them. */
static int drain_replies(redisContext *c, int n, const char *what) {
  for (int i = 0; i < n; ++i) {
    void *r = NULL;
    if (redisGetReply(c, &r) != REDIS_OK) return ctl_fail("%s: %s", what, c->errstr);
    if (reply_ok(c, r, what)) return 1;
    freeReplyObject(r);
  }
  return 0;
}

/* XADD key * d <buf> (appended, not sent). */
static void append_xadd(redisContext *c, const char *key, const char *buf, size_t len) {
  redisAppendCommand(c, "XADD %s * d %b", key, buf, len);
}

static int raw_producer(void *arg) {
  const rjob_t *j = arg;
  redisContext *c = connect_raw(1);
  char buf[MSG];
  if (!c) return 1;
  q_fill(buf, MSG, 0);
  ctl_wait_go();
  ctl_first_put();
  for (long i = 0; i <= j->n;) { /* n data messages, then the pill */
    int m = j->many ? MANY : 1;
    if (m > j->n + 1 - i) m = (int)(j->n + 1 - i);
    for (int k = 0; k < m; ++k) {
      q_stamp(buf, MSG, i + k < j->n ? (uint64_t)(i + k) : Q_PILL);
      append_xadd(c, j->key, buf, MSG);
    }
    if (drain_replies(c, m, "XADD")) return 1;
    for (int k = 0; k < m; ++k) ctl_put_progress(i + k);
    i += m;
  }
  redisFree(c);
  return 0;
}

/* The ids a consumer got and has not acknowledged yet. */
typedef struct held {
  char id[MANY][32];
  int n;
} held_t;

/* Append XACK key g id... and XDEL key id... of the held ids; returns
 * how many commands it appended (0 or 2). */
static int append_acks(redisContext *c, const char *key, const held_t *h) {
  const char *argv[3 + MANY];
  if (h->n == 0) return 0;
  argv[0] = "XACK", argv[1] = key, argv[2] = "g";
  for (int i = 0; i < h->n; ++i) argv[3 + i] = h->id[i];
  redisAppendCommandArgv(c, 3 + h->n, argv, NULL);
  argv[1] = "XDEL", argv[2] = key; /* XDEL key id...: the ids stay in place */
  redisAppendCommandArgv(c, 2 + h->n, argv + 1, NULL);
  return 2;
}

/* One round trip: acknowledge what h holds, read up to want new entries
 * (blocking). *entries: the XREADGROUP reply's entry array (owned by
 * *reply); h then holds their ids. */
static int raw_get(redisContext *c, const char *key, const char *me, int want, held_t *h,
                   redisReply **reply, redisReply **entries) {
  char count[16];
  snprintf(count, sizeof count, "%d", want);
  const char *argv[] = {"XREADGROUP", "GROUP", "g", me, "COUNT", count,
                        "BLOCK", "0", "STREAMS", key, ">"};
  int acks = append_acks(c, key, h);
  redisAppendCommandArgv(c, 11, argv, NULL);
  if (drain_replies(c, acks, "XACK/XDEL")) return 1;
  h->n = 0;
  void *r = NULL;
  if (redisGetReply(c, &r) != REDIS_OK) return ctl_fail("XREADGROUP: %s", c->errstr);
  if (reply_ok(c, r, "XREADGROUP")) return 1;
  redisReply *rr = r;
  if (rr->type != REDIS_REPLY_ARRAY || rr->elements != 1 ||
      rr->element[0]->elements != 2 || rr->element[0]->element[1]->type != REDIS_REPLY_ARRAY) {
    freeReplyObject(rr);
    return ctl_fail("XREADGROUP: unexpected reply");
  }
  *reply = rr;
  *entries = rr->element[0]->element[1];
  if ((*entries)->elements > MANY) return ctl_fail("XREADGROUP: more than asked");
  for (size_t i = 0; i < (*entries)->elements; ++i)
    snprintf(h->id[h->n++], sizeof h->id[0], "%s", (*entries)->element[i]->element[0]->str);
  return 0;
}

/* The body of an entry [id, [d, body]]; NULL when it has another shape. */
static const redisReply *entry_body(const redisReply *e) {
  if (e->elements != 2 || e->element[1]->type != REDIS_REPLY_ARRAY ||
      e->element[1]->elements != 2)
    return NULL;
  return e->element[1]->element[1];
}

static int raw_consumer(void *arg) {
  const rjob_t *j = arg;
  redisContext *c = connect_raw(1);
  held_t h = {.n = 0};
  qcheck_t check;
  int k = 1;
  if (!c) return 1;
  memset(&check, 0, sizeof check);
  ctl_ready();
  while (k > 0) {
    redisReply *reply = NULL, *entries = NULL;
    if (raw_get(c, j->key, "c", j->many ? MANY : 1, &h, &reply, &entries)) return 1;
    for (size_t i = 0; i < entries->elements && k > 0; ++i) {
      const redisReply *body = entry_body(entries->element[i]);
      if (!body) return ctl_fail("XREADGROUP: an entry of another shape");
      if ((k = q_check(&check, body->str, body->len, MSG)) < 0) return 1;
    }
    freeReplyObject(reply);
  }
  ctl_last_get(check.got);
  if (drain_replies(c, append_acks(c, j->key, &h), "XACK/XDEL")) return 1; /* the pill */
  redisFree(c);
  return 0;
}

/* A stream with the consumer group g (MKSTREAM). */
static void make_stream(const char *key) {
  redisReply *r = redisCommand(g_admin, "XGROUP CREATE %s g $ MKSTREAM", key);
  if (!r || r->type == REDIS_REPLY_ERROR)
    die("XGROUP CREATE %s: %s", key, r ? r->str : g_admin->errstr);
  freeReplyObject(r);
}

static double raw_queue_batch(void *ctx, long n) {
  rjob_t j = {.n = n, .many = *(int *)ctx};
  qcfg_t cfg = {1, 1, MSG, n};
  pid_t pids[2];
  batch_name(j.key, sizeof j.key, "raw");
  make_stream(j.key);
  ctl_reset();
  pids[0] = fork_child(raw_consumer, &j);
  pids[1] = fork_child(raw_producer, &j);
  ctl_start(2, "raw hiredis queue");
  wait_children(pids, 2, BENCH_WATCHDOG_S, "raw hiredis queue");
  admin_command("DEL %s", j.key);
  return ctl_elapsed(&cfg, "raw hiredis queue");
}

/* ------------------------------------------------------------------------
 * remote_queue_64B, remote_queue_64B_batch
 * ---------------------------------------------------------------------- */

static void run_queue(const char *name, int many) {
  bench_metric_t m = {.unit = "msg/s", .rate = 1, .scale = 1.0, .first_n = many ? 2000 : 200};
  bench_impl_t impls[2];
  int n = 0;
  printf("# %s: redis %s:%d, 64-byte messages, 1 producer -> 1 consumer process%s\n", name,
         g_host, g_port, many ? ", batches of 100" : ", one message per call");
  if (bench_want(IMPL_MULTIPROC)) impls[n++] = (bench_impl_t){"multiproc", mp_queue_batch, &many};
  if (bench_want(IMPL_RAW)) impls[n++] = (bench_impl_t){"raw", raw_queue_batch, &many};
  bench_measure(name, &m, impls, n);
}

static void run_queue_one(const char *name) { run_queue(name, 0); }
static void run_queue_batch(const char *name) { run_queue(name, 1); }

/* ------------------------------------------------------------------------
 * remote_pingpong_64B
 * ---------------------------------------------------------------------- */

/* An empty message ends an echo. */
typedef struct ping_names {
  char ping[160], pong[160]; /* multiproc: addresses; raw: stream keys */
} ping_names_t;

static int mp_echo(void *arg) {
  const ping_names_t *pn = arg;
  mp_queue_t *in = NULL, *out = NULL;
  char buf[MSG];
  size_t len = 0;
  int r;
  if (open_queue(&in, pn->ping) || open_queue(&out, pn->pong)) return 1;
  ctl_ready();
  while ((r = mp_queue_get_into(&len, in, buf, sizeof buf, MP_FOREVER)) == MP_OK && len > 0) {
    place_mark();
    if ((r = mp_queue_put(out, buf, len, MP_FOREVER)) < 0) return child_mp_fail(r, "mp_queue_put");
  }
  if (r < 0) return child_mp_fail(r, "mp_queue_get_into");
  mp_queue_free(in);
  mp_queue_free(out);
  return 0;
}

typedef struct mp_ping {
  mp_queue_t *ping, *pong;
} mp_ping_t;

static double mp_ping_batch(void *ctx, long n) {
  mp_ping_t *pp = ctx;
  char buf[MSG];
  size_t len = 0;
  memset(buf, 0x5a, sizeof buf);
  double t0 = now_s();
  for (long i = 0; i < n; ++i) {
    check_mp(mp_queue_put(pp->ping, buf, sizeof buf, MP_FOREVER), "mp_queue_put");
    check_mp(mp_queue_get_into(&len, pp->pong, buf, sizeof buf, GET_MS), "mp_queue_get_into");
    if (len != sizeof buf) die("remote_pingpong_64B: got %zu bytes back", len);
    place_check();
  }
  return now_s() - t0;
}

/* A raw put (XADD, one round trip). */
static int raw_put(redisContext *c, const char *key, const char *buf, size_t len) {
  append_xadd(c, key, buf, len);
  return drain_replies(c, 1, "XADD");
}

/* A raw get of one message into buf; *len its length. */
static int raw_get_one(redisContext *c, const char *key, held_t *h, char *buf, size_t *len) {
  redisReply *reply = NULL, *entries = NULL;
  if (raw_get(c, key, "c", 1, h, &reply, &entries)) return 1;
  const redisReply *body = entries->elements == 1 ? entry_body(entries->element[0]) : NULL;
  if (!body || body->len > MSG) return ctl_fail("XREADGROUP: not one message of <= 64 bytes");
  memcpy(buf, body->str, body->len);
  *len = body->len;
  freeReplyObject(reply);
  return 0;
}

static int raw_echo(void *arg) {
  const ping_names_t *pn = arg;
  redisContext *c = connect_raw(1);
  held_t h = {.n = 0};
  char buf[MSG];
  size_t len = 0;
  if (!c) return 1;
  ctl_ready();
  for (;;) {
    if (raw_get_one(c, pn->ping, &h, buf, &len)) return 1;
    if (len == 0) break;
    place_mark();
    if (raw_put(c, pn->pong, buf, len)) return 1;
  }
  redisFree(c);
  return 0;
}

typedef struct raw_ping {
  redisContext *c;
  ping_names_t names;
  held_t held;
} raw_ping_t;

static double raw_ping_batch(void *ctx, long n) {
  raw_ping_t *rp = ctx;
  char buf[MSG];
  size_t len = 0;
  memset(buf, 0x5a, sizeof buf);
  double t0 = now_s();
  for (long i = 0; i < n; ++i) {
    if (raw_put(rp->c, rp->names.ping, buf, sizeof buf) ||
        raw_get_one(rp->c, rp->names.pong, &rp->held, buf, &len))
      die("remote_pingpong_64B raw: %s", g_ctl->err);
    if (len != sizeof buf) die("remote_pingpong_64B raw: got %zu bytes back", len);
    place_check();
  }
  return now_s() - t0;
}

static void run_pingpong(const char *name) {
  bench_metric_t m = {.unit = "us", .scale = 1.0, .first_n = 50};
  bench_impl_t impls[2];
  ping_names_t mpn, rawn;
  char qping[64], qpong[64];
  mp_ping_t pp = {NULL, NULL};
  raw_ping_t rp;
  pid_t pids[2];
  int np = 0, n = 0;
  memset(&rp, 0, sizeof rp);
  printf("# %s: redis %s:%d, put 64 bytes on one queue, get the echo's reply from "
         "another; the echo a forked child\n", name, g_host, g_port);
  ctl_reset(); /* placement and the children's errors */
  batch_name(qping, sizeof qping, "ping");
  batch_name(qpong, sizeof qpong, "pong");
  queue_address(mpn.ping, sizeof mpn.ping, qping);
  queue_address(mpn.pong, sizeof mpn.pong, qpong);
  batch_name(rawn.ping, sizeof rawn.ping, "rawping");
  batch_name(rawn.pong, sizeof rawn.pong, "rawpong");
  /* The children first: this process opens its queues after the forks
   * (the library's threads do not cross a fork). */
  if (bench_want(IMPL_RAW)) {
    make_stream(rawn.ping);
    make_stream(rawn.pong);
    pids[np++] = fork_child(raw_echo, &rawn);
  }
  if (bench_want(IMPL_MULTIPROC)) pids[np++] = fork_child(mp_echo, &mpn);
  ctl_start(np, "remote_pingpong_64B echoes");
  if (bench_want(IMPL_RAW)) {
    rp.c = connect_raw(0);
    rp.names = rawn;
    impls[n++] = (bench_impl_t){"raw", raw_ping_batch, &rp};
  }
  if (bench_want(IMPL_MULTIPROC)) {
    check_mp(mp_queue_open(&pp.ping, mpn.ping, OPEN_MS), "mp_queue_open");
    check_mp(mp_queue_open(&pp.pong, mpn.pong, OPEN_MS), "mp_queue_open");
    impls[n++] = (bench_impl_t){"multiproc", mp_ping_batch, &pp};
  }
  bench_measure(name, &m, impls, n);
  if (rp.c) { /* an empty message stops the echo */
    if (raw_put(rp.c, rawn.ping, "", 0) ||
        drain_replies(rp.c, append_acks(rp.c, rawn.pong, &rp.held), "XACK/XDEL"))
      die("remote_pingpong_64B raw: %s", g_ctl->err);
    redisFree(rp.c);
  }
  if (pp.ping) {
    check_mp(mp_queue_put(pp.ping, "", 0, MP_FOREVER), "mp_queue_put (stop)");
    mp_queue_free(pp.ping);
    mp_queue_free(pp.pong);
  }
  wait_children(pids, np, BENCH_WATCHDOG_S, "remote_pingpong_64B echoes");
  admin_command("DEL %s", rawn.ping);
  admin_command("DEL %s", rawn.pong);
  drop_queue(qping);
  drop_queue(qpong);
}

/* ------------------------------------------------------------------------
 * main
 * ---------------------------------------------------------------------- */

static const bench_workload_t kWorkloads[] = {
    {"remote_queue_64B", "msg/s", run_queue_one},
    {"remote_queue_64B_batch", "msg/s", run_queue_batch},
    {"remote_pingpong_64B", "us", run_pingpong},
};

int main(int argc, char **argv) {
  check_mp(mp_main(argc, argv), "mp_main");
  for (int i = 1; i < argc; ++i)
    if (strcmp(argv[i], "--list") == 0 || strcmp(argv[i], "--help") == 0)
      return bench_mp_main("bench_redis", argc, argv, kWorkloads,
                           sizeof kWorkloads / sizeof kWorkloads[0], kImpls, 2);
  parse_server();
  g_admin = connect_raw(0);
  int rc = bench_mp_main("bench_redis", argc, argv, kWorkloads,
                         sizeof kWorkloads / sizeof kWorkloads[0], kImpls, 2);
  redisFree(g_admin);
  return rc;
}
