/*
 * example_queue_producer_consumer — producers and consumers on one queue,
 * ended by closing the queue instead of by poison pills.
 *
 * Ports the producer/consumer examples of "队列" in 001_*.txt (the last
 * one, with several producers and consumers), which end the consumers
 * with one None per consumer:
 *
 *     def consumer(q):
 *         while True:
 *             res = q.get()
 *             if res is None: break       # the end signal
 *             print('%s ate %s' % (os.getpid(), res))
 *
 *     def producer(name, q):
 *         for i in range(3):
 *             res = '%s%s' % (name, i)
 *             q.put(res)
 *             print('%s produced %s' % (os.getpid(), res))
 *
 *     if __name__ == '__main__':
 *         q = Queue()
 *         p1 = Process(target=producer, args=('baozi', q))
 *         p2 = Process(target=producer, args=('bone', q))
 *         p3 = Process(target=producer, args=('slop', q))
 *         c1 = Process(target=consumer, args=(q,))
 *         c2 = Process(target=consumer, args=(q,))
 *         p1.start(); p2.start(); p3.start(); c1.start(); c2.start()
 *         p1.join(); p2.join(); p3.join()  # all produced before the end
 *         q.put(None)    # "one end signal per consumer": a consumer that
 *         q.put(None)    # takes a None stops taking, so the other one
 *         print('main')  # needs its own None
 *
 * The None is an ordinary item: whoever gets it removes it for everyone
 * else, so the parent must know how many consumers there are and put that
 * many, and a consumer added later, or one that swallows two Nones, breaks
 * the count. mp_queue_close() replaces all of them with one state shared
 * by every process that holds the queue: once the parent has joined the
 * producers (everything is queued) it closes the queue; consumers drain
 * what is left, and then every get, blocked or future, in every consumer,
 * returns MP_ECLOSED. The number of consumers does not matter. As with
 * the Nones, close only after the producers are done: a put on a closed
 * queue fails with MP_ECLOSED.
 *
 * The queue reaches each child as a descriptor (mp_process_pass_fd +
 * mp_queue_from_fd in the child), which works with either start method.
 * Which consumer eats which item changes from run to run, so the
 * consumers print only the item, and also put it on a second queue,
 * results; after joining everybody the parent reads results and prints
 * the totals in sorted order: every item eaten exactly once.
 */
#include <multiproc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPRODUCERS 3
#define NCONSUMERS 2
#define NITEMS 3 /* per producer */
#define NTOTAL (NPRODUCERS * NITEMS)
#define ITEM_MAX 32

static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

/* In a child: open the queue passed as descriptor index. */
static int open_passed_queue(mp_queue_t **q, size_t index) {
  int fd = mp_child_fd(index);
  if (fd < 0) return fail("mp_child_fd", fd);
  int rc = mp_queue_from_fd(q, fd);
  if (rc < 0) return fail("mp_queue_from_fd", rc);
  return EXIT_SUCCESS;
}

/* def producer(name, q): the argument bytes are the name. */
static int producer(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  mp_queue_t *q = NULL;
  int status = open_passed_queue(&q, 0);
  if (status != EXIT_SUCCESS) return status;
  for (int i = 0; i < NITEMS; i++) {
    char item[ITEM_MAX];
    int n = snprintf(item, sizeof item, "%.*s%d", (int)arg_len,
                     (const char *)arg, i);
    int rc = mp_queue_put(q, item, (size_t)n, MP_FOREVER);
    if (rc < 0) {
      status = fail("mp_queue_put", rc);
      break;
    }
    printf("%.*s produced %s\n", (int)arg_len, (const char *)arg, item);
    fflush(stdout);
  }
  mp_queue_free(q);
  return status;
}

/* def consumer(q): loop until the queue is closed and drained. */
static int consumer(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  mp_queue_t *q = NULL, *results = NULL;
  int status = open_passed_queue(&q, 0);
  if (status == EXIT_SUCCESS) status = open_passed_queue(&results, 1);
  while (status == EXIT_SUCCESS) {
    void *item = NULL;
    size_t len = 0;
    int rc = mp_queue_get(&item, &len, q, MP_FOREVER);
    if (rc == MP_ECLOSED) { /* closed and empty: Python's `res is None` */
      printf("%s: queue closed and empty, stopping\n", mp_current_name());
      fflush(stdout);
      break;
    }
    if (rc < 0) {
      status = fail("mp_queue_get", rc);
      break;
    }
    printf("ate %s\n", (const char *)item); /* NUL-terminated by the library */
    fflush(stdout);
    rc = mp_queue_put(results, item, len, MP_FOREVER);
    mp_free(item);
    if (rc < 0) status = fail("mp_queue_put results", rc);
  }
  mp_queue_free(results);
  mp_queue_free(q);
  return status;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

/* Join a child and require exit code 0. */
static int join_ok(mp_process_t *p) {
  int rc = mp_process_join(p, MP_FOREVER);
  if (rc < 0) return fail("mp_process_join", rc);
  int code;
  rc = mp_process_exitcode(&code, p);
  if (rc < 0) return fail("mp_process_exitcode", rc);
  if (code != 0) {
    fprintf(stderr, "%s exited with %d\n", mp_process_name(p), code);
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}

int main(int argc, char **argv) {
  int rc = mp_register("producer", producer, NULL);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_register("consumer", consumer, NULL);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);

  static const char *const names[NPRODUCERS] = {"baozi", "bone", "slop"};
  mp_queue_t *q = NULL, *results = NULL;
  mp_process_t *producers[NPRODUCERS] = {NULL};
  mp_process_t *consumers[NCONSUMERS] = {NULL};
  int status = EXIT_SUCCESS;

  /* Queue(3): at most 3 items waiting; producers block while it is full. */
  rc = mp_queue_new(&q, 3, 0, 0);
  if (rc < 0) return fail("mp_queue_new", rc);
  rc = mp_queue_new(&results, 0, 0, 0);
  if (rc < 0) {
    status = fail("mp_queue_new", rc);
    goto out;
  }

  fflush(stdout);
  for (int i = 0; i < NPRODUCERS; i++) {
    rc = mp_process_new(&producers[i], "producer", names[i], strlen(names[i]));
    if (rc < 0) {
      status = fail("mp_process_new", rc);
      goto out;
    }
    rc = mp_process_pass_fd(producers[i], mp_queue_fileno(q));
    if (rc < 0) {
      status = fail("mp_process_pass_fd", rc);
      goto out;
    }
    rc = mp_process_start(producers[i]);
    if (rc < 0) {
      status = fail("mp_process_start", rc);
      goto out;
    }
  }
  for (int i = 0; i < NCONSUMERS; i++) {
    char name[32];
    snprintf(name, sizeof name, "consumer-%d", i + 1);
    rc = mp_process_new(&consumers[i], "consumer", NULL, 0);
    if (rc < 0) {
      status = fail("mp_process_new", rc);
      goto out;
    }
    rc = mp_process_set_name(consumers[i], name);
    if (rc < 0) {
      status = fail("mp_process_set_name", rc);
      goto out;
    }
    rc = mp_process_pass_fd(consumers[i], mp_queue_fileno(q)); /* index 0 */
    if (rc < 0) {
      status = fail("mp_process_pass_fd", rc);
      goto out;
    }
    rc = mp_process_pass_fd(consumers[i], mp_queue_fileno(results)); /* 1 */
    if (rc < 0) {
      status = fail("mp_process_pass_fd", rc);
      goto out;
    }
    rc = mp_process_start(consumers[i]);
    if (rc < 0) {
      status = fail("mp_process_start", rc);
      goto out;
    }
  }

  /* p1.join(); p2.join(); p3.join(): everything is queued now ... */
  for (int i = 0; i < NPRODUCERS; i++) {
    status = join_ok(producers[i]);
    if (status != EXIT_SUCCESS) goto out;
  }
  /* ... so instead of q.put(None) once per consumer: */
  rc = mp_queue_close(q);
  if (rc < 0) {
    status = fail("mp_queue_close", rc);
    goto out;
  }
  printf("main: producers joined, queue closed\n");
  fflush(stdout);

  for (int i = 0; i < NCONSUMERS; i++) {
    status = join_ok(consumers[i]);
    if (status != EXIT_SUCCESS) goto out;
  }
  printf("main: consumers joined\n");

  /* A put on the closed queue fails for everyone, the parent included. */
  rc = mp_queue_put(q, "late", 4, 0);
  printf("main: put after close -> %s\n", mp_err_name(rc));
  if (rc != MP_ECLOSED) {
    fprintf(stderr, "put after close: expected ECLOSED\n");
    status = EXIT_FAILURE;
    goto out;
  }

  /* Every consumer has ended, so every result is queued: read without
   * waiting until MP_EEMPTY. */
  char eaten[NTOTAL][ITEM_MAX];
  int count = 0;
  for (;;) {
    size_t len = 0;
    char buf[ITEM_MAX];
    rc = mp_queue_get_into(&len, results, buf, sizeof buf - 1, 0);
    if (rc == MP_EEMPTY) break;
    if (rc < 0) {
      status = fail("mp_queue_get_into", rc);
      goto out;
    }
    if (count == NTOTAL) {
      fprintf(stderr, "more than %d items eaten\n", NTOTAL);
      status = EXIT_FAILURE;
      goto out;
    }
    buf[len] = '\0';
    memcpy(eaten[count++], buf, len + 1);
  }
  qsort(eaten, (size_t)count, sizeof eaten[0], cmp_str);
  printf("main: %d of %d items eaten:", count, NTOTAL);
  for (int i = 0; i < count; i++) printf(" %s", eaten[i]);
  printf("\n");
  if (count != NTOTAL) status = EXIT_FAILURE;

out:
  /* On a failure, closing releases children blocked in put or get, so
   * that the exit-time join of the non-daemon children cannot hang. */
  if (status != EXIT_SUCCESS && q != NULL) mp_queue_close(q);
  for (int i = 0; i < NPRODUCERS; i++) mp_process_free(producers[i]);
  for (int i = 0; i < NCONSUMERS; i++) mp_process_free(consumers[i]);
  mp_queue_free(results);
  mp_queue_free(q);
  return status;
}
