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
 *
 * Any error: a message on stderr and exit status 1. */
#include <multiproc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int die(const char *what, int rc) {
  fprintf(stderr, "c peer: %s: %s (%s)\n", what, mp_strerror(rc), mp_last_error());
  return 1;
}

enum { MAX_BATCH = 64 };

static int produce(const char *id, long count, long batch) {
  mp_queue_t *q;
  int rc = mp_queue_inherit(&q, "q");
  if (rc != MP_OK) return die("inherit q", rc);
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

static int consume(void) {
  mp_queue_t *q;
  int rc = mp_queue_inherit(&q, "q");
  if (rc != MP_OK) return die("inherit q", rc);
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
  int rc = mp_queue_inherit(&tasks, "tasks");
  if (rc != MP_OK) return die("inherit tasks", rc);
  rc = mp_queue_inherit(&results, "results");
  if (rc != MP_OK) return die("inherit results", rc);
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
  fprintf(stderr, "usage: %s produce ID COUNT [BATCH] | consume | worker\n", argv[0]);
  return 2;
}
