/* An independently started program for the suite `redis` (never a child
 * started through multiproc: it opens the queue by its address, as a
 * program on another host would).
 *   redis_peer put ADDR N PREFIX   put PREFIX-0 .. PREFIX-(N-1), exit 0
 *   redis_peer get ADDR N          get N messages, print each on a line
 *   redis_peer hold ADDR           get one message, print
 *                                  "got BODY ID COUNT", then sleep until killed */
#include <multiproc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int die(const char *what, int rc) {
  fprintf(stderr, "redis_peer: %s: %s (%s)\n", what, mp_err_name(rc), mp_last_error());
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  mp_queue_t *q;
  int rc = mp_queue_open(&q, argv[2], 5000);
  if (rc) return die("open", rc);
  if (strcmp(argv[1], "put") == 0 && argc == 5) {
    for (int i = 0; i < atoi(argv[3]); i++) {
      char msg[64];
      int n = snprintf(msg, sizeof msg, "%s-%d", argv[4], i);
      if ((rc = mp_queue_put(q, msg, (size_t)n, 5000))) return die("put", rc);
    }
  } else if (strcmp(argv[1], "get") == 0 && argc == 4) {
    for (int i = 0; i < atoi(argv[3]); i++) {
      void *m;
      size_t n;
      if ((rc = mp_queue_get(&m, &n, q, 10000))) return die("get", rc);
      printf("%.*s\n", (int)n, (char *)m);
      mp_free(m);
    }
  } else if (strcmp(argv[1], "hold") == 0) {
    void *m;
    size_t n;
    char id[MP_QUEUE_ID_MAX];
    int64_t count;
    if ((rc = mp_queue_get(&m, &n, q, 10000))) return die("get", rc);
    if ((rc = mp_queue_last_delivery(&count, id, sizeof id, q))) return die("last", rc);
    printf("got %.*s %s %lld\n", (int)n, (char *)m, id, (long long)count);
    fflush(stdout);
    for (;;) pause();
  } else {
    return 2;
  }
  fflush(stdout);
  mp_queue_free(q);
  return 0;
}
