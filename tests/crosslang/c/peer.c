/* The C peer of the cross-language tests (tests/crosslang/README.md): the
 * same command line as the Go and Ruby peers.
 *
 *   peer produce ID COUNT [BATCH]
 *                           put "ID:0" … "ID:COUNT-1" on the queue "q"
 *                           (BATCH > 1: BATCH per mp_queue_put_many)
 *   peer consume            print every message of "q", one per line,
 *                           until the queue is closed and drained
 *   peer worker             for each message m of "tasks", put "done:" m
 *                           on "results"; end when "tasks" is closed
 *   peer produce-json ID COUNT
 *                           put {"id":ID,"seq":SEQ,"text":JSON_TEXT} (JSON,
 *                           as Go's TypedQueue and Ruby's codec: :json do)
 *   peer consume-json       print "ID:SEQ" of every JSON message of "q";
 *                           a message whose text is not JSON_TEXT fails
 *
 * The queues are passed by the parent (mp_queue_inherit), or, with
 * MP_CROSSLANG_QUEUE_AT set ("redis://host:port"), opened by address at
 * MP_CROSSLANG_QUEUE_AT#NAME. Any error: a message on stderr and exit
 * status 1. */
#include <multiproc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int die(const char *what, int rc) {
  fprintf(stderr, "c peer: %s: %s (%s)\n", what, mp_strerror(rc), mp_last_error());
  return 1;
}

/* The queue name: passed by the parent, or at MP_CROSSLANG_QUEUE_AT. */
static int open_queue(mp_queue_t **q, const char *name) {
  const char *at = getenv("MP_CROSSLANG_QUEUE_AT");
  if (!at || !*at) return mp_queue_inherit(q, name);
  char address[256];
  snprintf(address, sizeof address, "%s#%s", at, name);
  return mp_queue_open(q, address, 10000);
}

enum { MAX_BATCH = 64 };

static int produce(const char *id, long count, long batch) {
  mp_queue_t *q;
  int rc = open_queue(&q, "q");
  if (rc != MP_OK) return die("open q", rc);
  if (batch < 1 || batch > MAX_BATCH) return die("BATCH must be 1 to 64", MP_EINVAL);
  char msg[MAX_BATCH][128];
  const void *bufs[MAX_BATCH];
  size_t lens[MAX_BATCH], put;
  for (long i = 0; i < count; i += batch) {
    long m = count - i < batch ? count - i : batch;
    for (long k = 0; k < m; ++k) {
      lens[k] = (size_t)snprintf(msg[k], sizeof msg[k], "%s:%ld", id, i + k);
      bufs[k] = msg[k];
    }
    rc = batch == 1 ? mp_queue_put(q, bufs[0], lens[0], MP_FOREVER)
                    : mp_queue_put_many(&put, q, bufs, lens, (size_t)m, MP_FOREVER);
    if (rc != MP_OK) return die(batch == 1 ? "put" : "put_many", rc);
  }
  mp_queue_free(q);
  return 0;
}

/* The text field of every JSON message: non-ASCII, written as UTF-8 by
 * every producer (Go's and Ruby's encoders do not escape it). */
#define JSON_TEXT "h\xc3\xa9llo \xe2\x9c\x93"

static int produce_json(const char *id, long count) {
  mp_queue_t *q;
  int rc = open_queue(&q, "q");
  if (rc != MP_OK) return die("open q", rc);
  for (long i = 0; i < count; ++i) {
    char msg[256];
    int len = snprintf(msg, sizeof msg, "{\"id\":\"%s\",\"seq\":%ld,\"text\":\"%s\"}", id, i,
                       JSON_TEXT);
    rc = mp_queue_put(q, msg, (size_t)len, MP_FOREVER);
    if (rc != MP_OK) return die("put", rc);
  }
  mp_queue_free(q);
  return 0;
}

/* The string value of "key":"..." in msg (no escapes: the ids and the text
 * have none), or NULL; *len is its length. Keys are found by name, in any
 * order; Go and Ruby write no whitespace. */
static const char *json_str(const char *msg, const char *key, int *len) {
  char pat[32];
  snprintf(pat, sizeof pat, "\"%s\":\"", key);
  const char *v = strstr(msg, pat);
  if (!v) return NULL;
  v += strlen(pat);
  const char *end = strchr(v, '"');
  if (!end) return NULL;
  *len = (int)(end - v);
  return v;
}

static int consume_json(void) {
  mp_queue_t *q;
  int rc = open_queue(&q, "q");
  if (rc != MP_OK) return die("open q", rc);
  for (;;) {
    void *raw;
    size_t len;
    rc = mp_queue_get(&raw, &len, q, MP_FOREVER);
    if (rc == MP_ECLOSED) break;
    if (rc != MP_OK) return die("get", rc);
    char *msg = malloc(len + 1);
    if (!msg) return die("malloc", MP_ENOMEM);
    memcpy(msg, raw, len);
    msg[len] = '\0';
    mp_free(raw);
    int id_len = 0, text_len = 0;
    const char *id = json_str(msg, "id", &id_len), *text = json_str(msg, "text", &text_len);
    const char *seq = strstr(msg, "\"seq\":");
    if (!id || !seq || !text || text_len != (int)strlen(JSON_TEXT) ||
        memcmp(text, JSON_TEXT, (size_t)text_len) != 0) {
      fprintf(stderr, "c peer: not the JSON message expected: %s\n", msg);
      return 1;
    }
    printf("%.*s:%ld\n", id_len, id, strtol(seq + 6, NULL, 10));
    free(msg);
  }
  mp_queue_free(q);
  return fflush(stdout) == 0 ? 0 : 1;
}

static int consume(void) {
  mp_queue_t *q;
  int rc = open_queue(&q, "q");
  if (rc != MP_OK) return die("open q", rc);
  for (;;) {
    void *msg;
    size_t len;
    rc = mp_queue_get(&msg, &len, q, MP_FOREVER);
    if (rc == MP_ECLOSED) break;
    if (rc != MP_OK) return die("get", rc);
    printf("%.*s\n", (int)len, (const char *)msg);
    mp_free(msg);
  }
  mp_queue_free(q);
  return fflush(stdout) == 0 ? 0 : 1;
}

static int worker(void) {
  mp_queue_t *tasks, *results;
  int rc = open_queue(&tasks, "tasks");
  if (rc != MP_OK) return die("open tasks", rc);
  rc = open_queue(&results, "results");
  if (rc != MP_OK) return die("open results", rc);
  for (;;) {
    void *msg;
    size_t len;
    rc = mp_queue_get(&msg, &len, tasks, MP_FOREVER);
    if (rc == MP_ECLOSED) break;
    if (rc != MP_OK) return die("get", rc);
    char *done = malloc(len + 5);
    if (!done) return die("malloc", MP_ENOMEM);
    memcpy(done, "done:", 5);
    memcpy(done + 5, msg, len);
    mp_free(msg);
    rc = mp_queue_put(results, done, len + 5, MP_FOREVER);
    free(done);
    if (rc != MP_OK) return die("put", rc);
  }
  mp_queue_free(tasks);
  mp_queue_free(results);
  return 0;
}

int main(int argc, char **argv) {
  mp_main(argc, argv);
  if ((argc == 4 || argc == 5) && !strcmp(argv[1], "produce"))
    return produce(argv[2], atol(argv[3]), argc == 5 ? atol(argv[4]) : 1);
  if (argc == 2 && !strcmp(argv[1], "consume")) return consume();
  if (argc == 2 && !strcmp(argv[1], "worker")) return worker();
  if (argc == 4 && !strcmp(argv[1], "produce-json")) return produce_json(argv[2], atol(argv[3]));
  if (argc == 2 && !strcmp(argv[1], "consume-json")) return consume_json();
  fprintf(stderr, "usage: %s produce[-json] ID COUNT [BATCH] | consume[-json] | worker\n", argv[0]);
  return 2;
}
