/* One cell of the cross-language matrix: producers written in one language
 * and a consumer written in another share one queue.
 *
 *   crosslang-matrix PRODUCER_LANG CONSUMER_LANG [json] [redis]
 *
 * The peers' command lines come from MP_PEER_C, MP_PEER_GO and MP_PEER_RUBY
 * (an argv prefix, words separated by spaces). Two producers put COUNT
 * messages each ("<lang>-<n>:<seq>"), the second in batches of BATCH
 * (put_many); the consumer prints what it gets, one message at a time. The
 * check: every message delivered exactly once and, per producer, in order.
 * With "json", the messages are JSON objects {"id","seq","text"} put and
 * got through each language's typed API (produce-json / consume-json: Go's
 * TypedQueue with JSONCodec, Ruby's codec: :json, C's own text), one at a
 * time, and the consumer checks their non-ASCII text. With "redis", the
 * queue lives on a redis-server this program starts on a free loopback port
 * (tests/redis/redis_fixture.h; skipped when none is installed) and every
 * peer opens it by address (MP_CROSSLANG_QUEUE_AT, see peer.c) instead of
 * inheriting it. Output is TAP (one test). */
#include <multiproc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../redis/redis_fixture.h"

#define PRODUCERS 2
#define COUNT 2000
#define BATCH "37" /* messages per put_many of the second producer */
#define TIMEOUT_MS 120000

static int json_mode;   /* "json" among the arguments */
static char queue_at[64]; /* "redis" among them: "redis://127.0.0.1:PORT" */
static redis_srv g_redis;

static void stop_redis(void) {
  if (g_redis.pid > 0) redis_stop(&g_redis, 0);
}

/* Start redis-server and make the queue there (*q: this program's handle,
 * for closing it); exits with a TAP SKIP when there is no redis-server or
 * no redis backend. */
static int redis_queue(mp_queue_t **q) {
  if (!redis_server_path()) {
    printf("1..0 # SKIP redis-server is not installed (apt-get install redis-server)\n");
    exit(0);
  }
  if (redis_start(&g_redis) != 0) return MP_ESYS;
  atexit(stop_redis);
  snprintf(queue_at, sizeof queue_at, "redis://127.0.0.1:%d", g_redis.port);
  char address[96];
  snprintf(address, sizeof address, "%s#q", queue_at);
  int rc = mp_queue_open(q, address, 10000);
  if (rc == MP_ENOTSUP) {
    printf("1..0 # SKIP no redis backend in this build (%s)\n", mp_last_error());
    exit(0);
  }
  return rc;
}

/* The peer reaches the queue: passed by name, or by its redis address. */
static int give_queue(mp_cmd_t *cmd, mp_queue_t *q) {
  if (queue_at[0]) return mp_cmd_env_set(cmd, "MP_CROSSLANG_QUEUE_AT", queue_at);
  return mp_cmd_pass_queue(cmd, "q", q);
}

static int bail(const char *what, int rc) {
  printf("not ok 1 - %s: %s (%s)\n", what, mp_err_name(rc), mp_last_error());
  return 1;
}

/* The exit code of an ended child (-1000 if it has none). */
static int exit_status(mp_process_t *p) {
  int code = -1000;
  mp_process_exitcode(&code, p);
  return code;
}

/* A command from the peer's argv prefix (env MP_PEER_<LANG>). */
static int peer_cmd(mp_cmd_t **out, const char *lang) {
  char var[32];
  snprintf(var, sizeof var, "MP_PEER_%s", lang);
  for (char *p = var; *p; ++p) *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
  const char *spec = getenv(var);
  if (!spec || !*spec) {
    printf("1..0 # SKIP %s is not set (binding not built)\n", var);
    exit(0);
  }
  char *copy = strdup(spec);
  char *save = NULL;
  int rc = MP_EINVAL;
  *out = NULL;
  for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
    rc = *out ? mp_cmd_arg(*out, w) : mp_cmd_new(out, w);
    if (rc != MP_OK) break;
  }
  free(copy);
  return rc;
}

static int start_producer(mp_process_t **out, const char *lang, int n, mp_queue_t *q) {
  mp_cmd_t *cmd;
  int rc = peer_cmd(&cmd, lang);
  char id[32], count[32];
  snprintf(id, sizeof id, "%s-%d", lang, n);
  snprintf(count, sizeof count, "%d", COUNT);
  if (rc == MP_OK) rc = mp_cmd_arg(cmd, json_mode ? "produce-json" : "produce");
  if (rc == MP_OK) rc = mp_cmd_arg(cmd, id);
  if (rc == MP_OK) rc = mp_cmd_arg(cmd, count);
  /* the second producer puts in batches: what put_many writes in one
   * language, a consumer in any language reads one message at a time */
  if (rc == MP_OK && n == 1 && !json_mode) rc = mp_cmd_arg(cmd, BATCH);
  if (rc == MP_OK) rc = give_queue(cmd, q);
  if (rc == MP_OK) rc = mp_process_spawn(out, cmd);
  mp_cmd_free(cmd);
  return rc;
}

/* The consumer writes to a file: its output (tens of KiB) could fill a
 * pipe while this process waits for the producers. */
static int start_consumer(mp_process_t **out, const char *lang, mp_queue_t *q,
                          const char *out_path) {
  mp_cmd_t *cmd;
  int rc = peer_cmd(&cmd, lang);
  if (rc == MP_OK) rc = mp_cmd_arg(cmd, json_mode ? "consume-json" : "consume");
  if (rc == MP_OK) rc = mp_cmd_stdio_file(cmd, MP_STDOUT, out_path, MP_FILE_TRUNCATE);
  if (rc == MP_OK) rc = give_queue(cmd, q);
  if (rc == MP_OK) rc = mp_process_spawn(out, cmd);
  mp_cmd_free(cmd);
  return rc;
}

/* Join a producer. A consumer that failed leaves the producers blocked on
 * a full queue: once it has ended, close the queue, so that they end too and
 * the failure is reported now rather than at the suite's timeout. */
static int join_producer(mp_process_t *producer, mp_process_t *consumer, mp_queue_t *q) {
  for (int64_t waited = 0; waited < TIMEOUT_MS; waited += 1000) {
    int rc = mp_process_join(producer, 1000);
    if (rc != MP_ETIMEDOUT) return rc;
    if (mp_process_is_alive(consumer) == 0) mp_queue_close(q);
  }
  return MP_ETIMEDOUT;
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap + 1);
  size_t n;
  while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) buf = realloc(buf, (cap *= 2) + 1);
  }
  fclose(f);
  if (buf) buf[len] = '\0';
  return buf;
}

/* Check the consumer's lines: per producer, 0..COUNT-1 in order, once. */
static int check_output(char *out, const char *lang) {
  long next[PRODUCERS] = {0};
  int lines = 0;
  char *save = NULL;
  for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char id[32];
    long seq;
    int n = -1;
    if (sscanf(line, "%31[^:]:%ld", id, &seq) != 2) {
      printf("not ok 1 - unreadable line %d: '%s'\n", lines + 1, line);
      return 1;
    }
    for (int i = 0; i < PRODUCERS; ++i) {
      char want[32];
      snprintf(want, sizeof want, "%s-%d", lang, i);
      if (!strcmp(id, want)) n = i;
    }
    if (n < 0 || seq != next[n]) {
      printf("not ok 1 - line %d '%s': expected %s-%d:%ld\n", lines + 1, line, lang,
             n < 0 ? 0 : n, n < 0 ? 0 : next[n]);
      return 1;
    }
    next[n]++;
    lines++;
  }
  for (int i = 0; i < PRODUCERS; ++i)
    if (next[i] != COUNT) {
      printf("not ok 1 - producer %d: %ld of %d messages arrived\n", i, next[i], COUNT);
      return 1;
    }
  return 0;
}

int main(int argc, char **argv) {
  mp_main(argc, argv);
  int redis_mode = 0, bad_args = argc < 3;
  for (int i = 3; i < argc; ++i) {
    if (!strcmp(argv[i], "json")) json_mode = 1;
    else if (!strcmp(argv[i], "redis")) redis_mode = 1;
    else bad_args = 1;
  }
  if (bad_args) {
    fprintf(stderr, "usage: %s PRODUCER_LANG CONSUMER_LANG [json] [redis]\n", argv[0]);
    return 2;
  }
  const char *plang = argv[1], *clang = argv[2];
  /* Both peers must exist before anything starts: a skip after the
   * consumer was spawned would leave it waiting on the queue forever. */
  mp_cmd_t *probe;
  if (peer_cmd(&probe, plang) != MP_OK) return bail("producer command", MP_EINVAL);
  mp_cmd_free(probe);
  if (peer_cmd(&probe, clang) != MP_OK) return bail("consumer command", MP_EINVAL);
  mp_cmd_free(probe);
  mp_queue_t *q;
  int rc = redis_mode ? redis_queue(&q)
                      : mp_queue_new(&q, 0, 64 * 1024, 0); /* small ring: producers block */
  if (rc != MP_OK) return bail(redis_mode ? "redis queue" : "queue_new", rc);
  char out_path[] = "/tmp/mp-crosslang-XXXXXX";
  int fd = mkstemp(out_path);
  if (fd < 0) return bail("mkstemp", MP_ESYS);
  close(fd);
  mp_process_t *consumer, *producers[PRODUCERS];
  rc = start_consumer(&consumer, clang, q, out_path);
  if (rc != MP_OK) return bail("spawn consumer", rc);
  for (int i = 0; i < PRODUCERS; ++i) {
    rc = start_producer(&producers[i], plang, i, q);
    if (rc != MP_OK) return bail("spawn producer", rc);
  }
  for (int i = 0; i < PRODUCERS; ++i) {
    rc = join_producer(producers[i], consumer, q);
    if (rc != MP_OK) return bail("join producer", rc);
    if (!mp_process_is_alive(consumer) && exit_status(consumer) != 0) {
      printf("not ok 1 - %s consumer exited with %d before the end\n", clang, exit_status(consumer));
      return 1;
    }
    if (exit_status(producers[i]) != 0) {
      printf("not ok 1 - %s producer %d exited with %d\n", plang, i, exit_status(producers[i]));
      return 1;
    }
    mp_process_free(producers[i]);
  }
  rc = mp_queue_close(q);  /* the consumer ends once it has drained the queue */
  if (rc != MP_OK) return bail("close", rc);
  rc = mp_process_join(consumer, TIMEOUT_MS);
  if (rc != MP_OK) return bail("join the consumer", rc);
  if (exit_status(consumer) != 0) {
    printf("not ok 1 - %s consumer exited with %d\n", clang, exit_status(consumer));
    return 1;
  }
  char *out = read_file(out_path);
  unlink(out_path);
  if (!out) return bail("read the consumer's output", MP_ESYS);
  int bad = check_output(out, plang);
  if (!bad)
    printf("ok 1 - %d %smessages from 2 %s producers reached a %s consumer once, in order%s\n",
           PRODUCERS * COUNT, json_mode ? "JSON " : "", plang, clang,
           redis_mode ? ", over redis" : "");
  free(out);
  mp_process_free(consumer);
  mp_queue_free(q);
  printf("1..1\n");
  return bad;
}
