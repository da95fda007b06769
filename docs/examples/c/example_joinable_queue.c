/*
 * example_joinable_queue — JoinableQueue: task_done() and join().
 *
 * Ports the JoinableQueue example of "队列" in 001_*.txt (the same idea as
 * tasks.task_done() / tasks.join() in "利用Queue 多进程并发运行处理数据" of
 * 000_*.txt):
 *
 *     def consumer(q):
 *         while True:
 *             res = q.get()
 *             print('%s ate %s' % (os.getpid(), res))
 *             q.task_done()      # tell join(): one item fully processed
 *
 *     def producer(name, q):
 *         for i in range(3):
 *             res = '%s%s' % (name, i)
 *             q.put(res)
 *             print('%s produced %s' % (os.getpid(), res))
 *         print('%s done producing' % name)
 *         q.join()               # block until every item is processed
 *         print('%s: all eaten' % name)
 *
 *     if __name__ == '__main__':
 *         q = JoinableQueue()
 *         p1 = Process(target=producer, args=('baozi', q))
 *         p2 = Process(target=producer, args=('bone', q))
 *         p3 = Process(target=producer, args=('slop', q))
 *         c1 = Process(target=consumer, args=(q,))
 *         c2 = Process(target=consumer, args=(q,))
 *         c1.daemon = True       # they loop forever: the main process
 *         c2.daemon = True       # must not wait for them at exit
 *         for p in [p1, p2, p3, c1, c2]: p.start()
 *         p1.join(); p2.join(); p3.join()
 *         print('main')
 *
 * MP_QUEUE_JOINABLE makes the queue count unfinished items: each put adds
 * one, each mp_queue_task_done() removes one, and mp_queue_join() waits
 * for zero, in any process that holds the queue (here the producers and
 * the parent). A consumer calls task_done only after it has finished with
 * the item, so join() means "processed", not just "taken".
 *
 * The consumers never return, so they are daemons: at the parent's exit
 * the library terminates them (mp_set_exit_join's default) instead of
 * joining them forever. No poison pill and no close are needed.
 *
 * Which consumer eats which item changes from run to run, so consumers
 * print only the item and put it on a second (plain) queue, results,
 * before their task_done; after join() every result is there, and the
 * parent prints them sorted: every item processed exactly once.
 *
 * A producer's join() waits for the items of all producers that have put
 * something so far; while another producer is still putting, the count
 * can touch zero, so a producer's "all eaten" may come before the last
 * items of the others (as in Python). The parent joins the producers
 * first, so its join() covers everything.
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
  const char *name = arg;
  int len = (int)arg_len;
  mp_queue_t *q = NULL;
  int status = open_passed_queue(&q, 0);
  if (status != EXIT_SUCCESS) return status;
  for (int i = 0; i < NITEMS; i++) {
    char item[ITEM_MAX];
    int n = snprintf(item, sizeof item, "%.*s%d", len, name, i);
    int rc = mp_queue_put(q, item, (size_t)n, MP_FOREVER);
    if (rc < 0) {
      status = fail("mp_queue_put", rc);
      goto out;
    }
    printf("%.*s produced %s\n", len, name, item);
    fflush(stdout);
  }
  printf("%.*s done producing\n", len, name);
  fflush(stdout);
  int rc = mp_queue_join(q, MP_FOREVER); /* q.join() */
  if (rc < 0) {
    status = fail("mp_queue_join", rc);
    goto out;
  }
  printf("%.*s: all eaten\n", len, name);
  fflush(stdout);
out:
  mp_queue_free(q);
  return status;
}

/* def consumer(q): runs until the parent's exit terminates it. */
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
    if (rc < 0) {
      status = fail("mp_queue_get", rc);
      break;
    }
    printf("ate %s\n", (const char *)item); /* NUL-terminated by the library */
    fflush(stdout);
    rc = mp_queue_put(results, item, len, MP_FOREVER);
    mp_free(item);
    if (rc < 0) {
      status = fail("mp_queue_put results", rc);
      break;
    }
    rc = mp_queue_task_done(q); /* the item is fully processed */
    if (rc < 0) status = fail("mp_queue_task_done", rc);
  }
  mp_queue_free(results);
  mp_queue_free(q);
  return status;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

/* Create and start a child with the given queues as descriptors 0, 1, … */
static int start_child(mp_process_t **out, const char *target,
                       const char *arg, const char *name, int daemon,
                       mp_queue_t *const *queues, int nqueues) {
  int rc = mp_process_new(out, target, arg, arg ? strlen(arg) : 0);
  if (rc < 0) return fail("mp_process_new", rc);
  if (name != NULL) {
    rc = mp_process_set_name(*out, name);
    if (rc < 0) return fail("mp_process_set_name", rc);
  }
  rc = mp_process_set_daemon(*out, daemon);
  if (rc < 0) return fail("mp_process_set_daemon", rc);
  for (int i = 0; i < nqueues; i++) {
    rc = mp_process_pass_fd(*out, mp_queue_fileno(queues[i]));
    if (rc < 0) return fail("mp_process_pass_fd", rc);
  }
  rc = mp_process_start(*out);
  if (rc < 0) return fail("mp_process_start", rc);
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

  rc = mp_queue_new(&q, 0, 0, MP_QUEUE_JOINABLE); /* JoinableQueue() */
  if (rc < 0) return fail("mp_queue_new", rc);
  rc = mp_queue_new(&results, 0, 0, 0);
  if (rc < 0) {
    status = fail("mp_queue_new", rc);
    goto out;
  }

  fflush(stdout);
  mp_queue_t *const both[2] = {q, results};
  for (int i = 0; i < NPRODUCERS; i++) {
    status = start_child(&producers[i], "producer", names[i], NULL, 0, both, 1);
    if (status != EXIT_SUCCESS) goto out;
  }
  for (int i = 0; i < NCONSUMERS; i++) {
    char name[32];
    snprintf(name, sizeof name, "consumer-%d", i + 1);
    status = start_child(&consumers[i], "consumer", NULL, name, 1, both, 2);
    if (status != EXIT_SUCCESS) goto out;
  }

  /* p1.join(); p2.join(); p3.join() */
  for (int i = 0; i < NPRODUCERS; i++) {
    rc = mp_process_join(producers[i], MP_FOREVER);
    if (rc < 0) {
      status = fail("mp_process_join", rc);
      goto out;
    }
    int code;
    rc = mp_process_exitcode(&code, producers[i]);
    if (rc < 0) {
      status = fail("mp_process_exitcode", rc);
      goto out;
    }
    if (code != 0) {
      fprintf(stderr, "%s exited with %d\n", mp_process_name(producers[i]),
              code);
      status = EXIT_FAILURE;
      goto out;
    }
  }
  /* Every item is put; wait until each one is marked task_done. */
  rc = mp_queue_join(q, MP_FOREVER);
  if (rc < 0) {
    status = fail("mp_queue_join", rc);
    goto out;
  }
  printf("main: all tasks done\n");

  /* A task_done() for an item nobody got is an error (Python raises
   * ValueError). */
  rc = mp_queue_task_done(q);
  printf("main: one task_done too many -> %s\n", mp_err_name(rc));
  if (rc != MP_ESTATE) {
    fprintf(stderr, "extra task_done: expected ESTATE\n");
    status = EXIT_FAILURE;
    goto out;
  }

  /* Each result was put before its task_done: all are queued now. */
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
  printf("main: %d of %d items processed:", count, NTOTAL);
  for (int i = 0; i < count; i++) printf(" %s", eaten[i]);
  printf("\n");
  if (count != NTOTAL) status = EXIT_FAILURE;
  printf("main: exiting; the daemon consumers are terminated\n");

out:
  /* On a failure, a producer may wait in join() for ever: terminate the
   * producers (best effort; an ended or unstarted one just says so), so
   * that the exit-time join of these non-daemon children cannot hang. */
  if (status != EXIT_SUCCESS)
    for (int i = 0; i < NPRODUCERS; i++)
      if (producers[i] != NULL) (void)mp_process_terminate(producers[i]);
  for (int i = 0; i < NPRODUCERS; i++) mp_process_free(producers[i]);
  for (int i = 0; i < NCONSUMERS; i++) mp_process_free(consumers[i]);
  mp_queue_free(results);
  mp_queue_free(q);
  return status;
}
