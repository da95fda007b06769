/*
 * example_pool_apply — Pool.apply (synchronous, one task at a time) against
 * Pool.apply_async (asynchronous, every worker busy at once), then
 * close() and join(), then get() of each result.
 *
 * Ports the two "使用进程池" examples of "进程池和multiprocess.Pool" in
 * 001_*.txt (and the apply / apply_async pair of "进程池pool" in 000_*.txt):
 *
 *     def func(msg):
 *         print("msg:", msg)
 *         time.sleep(1)
 *         return msg
 *
 *     if __name__ == "__main__":
 *         pool = Pool(processes=3)
 *         res_l = []
 *         for i in range(10):
 *             msg = "hello %d" % (i)
 *             res = pool.apply_async(func, (msg, ))  # apply(func, (msg, ))
 *             res_l.append(res)       # a result object, not the result
 *         print("=====>")             # apply_async: printed at once
 *         pool.close()                # no more tasks; needed before join
 *         pool.join()                 # wait until every task is done
 *         for i in res_l:
 *             print(i.get())          # apply gives the result directly
 *
 * With apply the main program waits for each task before it submits the
 * next, so the tasks run one after the other however many workers the
 * pool has; with apply_async it submits them all at once and the workers
 * run them side by side. Here 4 tasks sleep SLEEP_MS each on a pool of 4
 * workers: apply takes at least 4 * SLEEP_MS, apply_async about SLEEP_MS.
 *
 * A task is a function registered with mp_register_task() before
 * mp_main(); its argument and result are bytes (the message here).
 * mp_pool_apply() returns the result bytes (free them with mp_free());
 * mp_pool_apply_async() returns an mp_result_t, whose mp_result_get()
 * gives the bytes (owned by the result) once the task is done. After
 * mp_pool_close() a submission fails with MP_ESTATE (Python: ValueError
 * "Pool not running"); mp_pool_join() before mp_pool_close() is
 * MP_ESTATE too (Python: the "error" the tutorial warns about).
 *
 * Times change from run to run, so the program prints only whether
 * apply_async took less than 3/4 of apply's time (the tasks sleep, they
 * do not need a CPU, so the answer holds on a loaded machine too); the
 * times themselves go to stderr. Each time runs from the first
 * submission until the last result is there (for apply_async, until
 * mp_result_wait() of every result, Python's res.wait()); shutting the
 * workers down in join is not counted. The workers print their "msg:"
 * lines as in Python: in order under apply (each task is done before the
 * next is submitted), in any order under apply_async.
 */
#include <multiproc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NWORKERS 4
#define NTASKS 4
#define SLEEP_MS 250
#define MSG_MAX 32

static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* def func(msg): runs in a worker process; the result is the message. */
static int func(void **out, size_t *out_len, const void *arg, size_t arg_len,
                void *payload) {
  (void)payload;
  printf("msg: %.*s\n", (int)arg_len, (const char *)arg);
  fflush(stdout); /* a worker is a process of its own: flush each line */
  sleep_ms(SLEEP_MS);
  char *copy = malloc(arg_len > 0 ? arg_len : 1); /* the library frees it */
  if (copy == NULL) {
    *out = NULL; /* fail: the caller gets MP_ETASKFAILED */
    *out_len = 0;
    return 1;
  }
  if (arg_len > 0) memcpy(copy, arg, arg_len);
  *out = copy;
  *out_len = arg_len;
  return 0;
}

static int make_msg(char *buf, size_t cap, int i) {
  return snprintf(buf, cap, "hello %d", i);
}

/* for i in range(NTASKS): res_l.append(pool.apply(func, (msg, ))) */
static int run_apply(mp_pool_t *pool, double *elapsed) {
  char results[NTASKS][MSG_MAX];
  printf("Pool(%d): apply, one task at a time\n", NWORKERS);
  fflush(stdout); /* before the workers print */
  double start = now_ms();
  for (int i = 0; i < NTASKS; i++) {
    char msg[MSG_MAX];
    int n = make_msg(msg, sizeof msg, i);
    void *res = NULL;
    size_t len = 0;
    int rc = mp_pool_apply(&res, &len, pool, "func", msg, (size_t)n);
    if (rc < 0) {
      mp_free(res); /* the task's error message, if any */
      return fail("mp_pool_apply", rc);
    }
    /* res is NUL-terminated; the task returned at most MSG_MAX-1 bytes */
    snprintf(results[i], sizeof results[i], "%s", (const char *)res);
    mp_free(res);
    printf("main: apply returned %s\n", results[i]);
    fflush(stdout); /* before the next worker prints */
  }
  *elapsed = now_ms() - start;
  printf("=====> (apply: every result is already here)\n");
  printf("main: results:");
  for (int i = 0; i < NTASKS; i++)
    printf(" %s%s", results[i], i + 1 < NTASKS ? "," : "\n");
  fflush(stdout);
  return EXIT_SUCCESS;
}

/* res_l = [pool.apply_async(func, (msg, )) ...]; close; join; get. */
static int run_apply_async(mp_pool_t *pool, double *elapsed) {
  mp_result_t *res_l[NTASKS] = {NULL};
  int status = EXIT_SUCCESS;
  printf("Pool(%d): apply_async, every task at once\n", NWORKERS);
  fflush(stdout);
  double start = now_ms();
  for (int i = 0; i < NTASKS; i++) {
    char msg[MSG_MAX];
    int n = make_msg(msg, sizeof msg, i);
    int rc = mp_pool_apply_async(&res_l[i], pool, "func", msg, (size_t)n,
                                 NULL, NULL, NULL);
    if (rc < 0) {
      status = fail("mp_pool_apply_async", rc);
      goto out;
    }
  }
  printf("=====> (apply_async: %d tasks submitted, none waited for)\n",
         NTASKS);
  fflush(stdout);

  /* The time the tasks took: until the last result is ready (res.wait()).
   * Shutting the workers down in join is not part of it. */
  int rc;
  for (int i = 0; i < NTASKS; i++) {
    rc = mp_result_wait(res_l[i], MP_FOREVER);
    if (rc < 0) {
      status = fail("mp_result_wait", rc);
      goto out;
    }
  }
  *elapsed = now_ms() - start;

  rc = mp_pool_close(pool); /* no more tasks ... */
  if (rc < 0) {
    status = fail("mp_pool_close", rc);
    goto out;
  }
  rc = mp_pool_join(pool, MP_FOREVER); /* ... and wait for the ones queued */
  if (rc < 0) {
    status = fail("mp_pool_join", rc);
    goto out;
  }
  printf("main: pool closed and joined\n");

  printf("main: results:");
  for (int i = 0; i < NTASKS; i++) {
    const void *data = NULL;
    size_t len = 0;
    rc = mp_result_get(&data, &len, res_l[i], 0); /* done: no wait */
    if (rc < 0) {
      printf("\n");
      status = fail("mp_result_get", rc);
      goto out;
    }
    printf(" %.*s%s", (int)len, (const char *)data,
           i + 1 < NTASKS ? "," : "\n");
  }

  /* After close, the pool refuses work (Python: "Pool not running"). */
  mp_result_t *late = NULL;
  rc = mp_pool_apply_async(&late, pool, "func", "late", 4, NULL, NULL, NULL);
  printf("main: apply_async after close -> %s\n", mp_err_name(rc));
  if (rc != MP_ESTATE) {
    fprintf(stderr, "apply_async after close: expected ESTATE\n");
    mp_result_free(late);
    status = EXIT_FAILURE;
  }

out:
  for (int i = 0; i < NTASKS; i++) mp_result_free(res_l[i]);
  return status;
}

int main(int argc, char **argv) {
  int rc = mp_register_task("func", func, NULL);
  if (rc < 0) return fail("mp_register_task", rc);
  rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);

  mp_pool_opts_t *opts = NULL;
  mp_pool_t *pool = NULL;
  int status = EXIT_SUCCESS;
  double t_apply = 0, t_async = 0;

  rc = mp_pool_opts_new(&opts);
  if (rc < 0) return fail("mp_pool_opts_new", rc);
  rc = mp_pool_opts_set_workers(opts, NWORKERS); /* Pool(processes=4) */
  if (rc < 0) {
    status = fail("mp_pool_opts_set_workers", rc);
    goto out;
  }
  rc = mp_pool_new(&pool, opts);
  if (rc < 0) {
    status = fail("mp_pool_new", rc);
    goto out;
  }

  /* join before close is refused (the tutorial's "先调用close"). */
  rc = mp_pool_join(pool, 0);
  printf("main: join before close -> %s\n", mp_err_name(rc));
  if (rc != MP_ESTATE) {
    fprintf(stderr, "join before close: expected ESTATE\n");
    status = EXIT_FAILURE;
    goto out;
  }

  status = run_apply(pool, &t_apply);
  if (status == EXIT_SUCCESS) status = run_apply_async(pool, &t_async);
  if (status != EXIT_SUCCESS) goto out;

  fprintf(stderr, "apply: %.0f ms, apply_async: %.0f ms\n", t_apply, t_async);
  int faster = t_async < 0.75 * t_apply;
  printf("apply_async took less than 3/4 of apply's time: %s\n",
         faster ? "yes" : "no");
  if (!faster) status = EXIT_FAILURE;

out:
  mp_pool_free(pool); /* already joined: frees only */
  mp_pool_opts_free(opts);
  return status;
}
