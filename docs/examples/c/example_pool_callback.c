/*
 * example_pool_callback — apply_async(..., callback=...): the task runs in
 * a worker process, its callback runs in the main process.
 *
 * Ports the callback example of "进程池和multiprocess.Pool" in 001_*.txt
 * (with the loop over range(10, 20) that its comment suggests):
 *
 *     def func1(n):
 *         print('func1>>', os.getpid())      # a worker's pid
 *         return n*n
 *
 *     def func2(nn):                         # the callback
 *         print('func2>>', os.getpid())      # the main process's pid
 *         print(nn)
 *
 *     if __name__ == '__main__':
 *         print('主进程: ', os.getpid())
 *         p = Pool(5)
 *         for i in range(10, 20):
 *             p.apply_async(func1, args=(i,), callback=func2)
 *         p.close()
 *         p.join()
 *
 * "The callback is executed in the main process": a worker hands its
 * result back and the main process deals with it, which is where the
 * result is needed anyway (the tutorial's crawler uses this; see
 * example_pool_crawler.c).
 *
 * In C the callback is an mp_result_cb, given to mp_pool_apply_async()
 * with a payload; it receives the mp_result_t and reads the task's bytes
 * with mp_result_get() (the result is done: no wait). It runs on the
 * pool's callback thread, in the parent process: one callback at a time,
 * in the order the tasks finish, but on a thread other than main(). So
 * whatever the callbacks share with main() needs a lock: here they append
 * to a list under a pthread mutex. mp_pool_join() returns once every
 * callback has run, so after it main() reads the list without waiting.
 *
 * Pids change from run to run, so instead of printing them the task
 * returns its pid with n*n, and the callback checks that the task ran in
 * another process while the callback itself runs in the parent (getpid()
 * equal to the pid main() saw) on a thread that is not main()'s. Tasks
 * and callbacks finish in any order; their lines are checked as a set,
 * and the list is printed sorted. A task that fails (here: n < 0, the
 * equivalent of an exception in the worker) calls on_error instead of
 * on_success (Python's error_callback), with the task's message as the
 * result's bytes.
 */
#include <multiproc.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NWORKERS 2
#define FIRST 10
#define LAST 19                      /* range(10, 20) */
#define NGOOD (LAST - FIRST + 1)
#define NTASKS (NGOOD + 1)           /* and one that fails */
#define BAD_INPUT (-1)

static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

/* What func1 returns: the square and the pid of the worker. */
typedef struct answer {
  int64_t square;
  int64_t pid;
} answer_t;

/* What the callbacks share with main(): guarded by mu. */
typedef struct collected {
  pthread_mutex_t mu;
  pid_t main_pid;
  pthread_t main_thread;
  int64_t squares[NTASKS];
  int count;            /* on_success calls */
  int errors;           /* on_error calls */
  int in_parent;        /* callbacks with getpid() == main_pid */
  int off_main_thread;  /* callbacks not on main()'s thread */
  int task_elsewhere;   /* results computed in another process */
  int bad_results;      /* results that could not be read */
} collected_t;

/* def func1(n): in a worker process. */
static int func1(void **out, size_t *out_len, const void *arg,
                 size_t arg_len, void *payload) {
  (void)payload;
  int64_t n;
  if (arg_len != sizeof n) return 1;
  memcpy(&n, arg, sizeof n);
  if (n < 0) { /* raise ValueError('...'): the message is the result */
    char *msg = malloc(64);
    if (msg == NULL) return 1;
    int len = snprintf(msg, 64, "func1: negative input %lld",
                       (long long)n);
    *out = msg;
    *out_len = (size_t)len;
    return 1;
  }
  printf("func1: n=%lld\n", (long long)n);
  fflush(stdout); /* a worker is a process of its own */
  answer_t *a = malloc(sizeof *a); /* freed by the library */
  if (a == NULL) return 1;
  a->square = n * n;
  a->pid = (int64_t)getpid();
  *out = a;
  *out_len = sizeof *a;
  return 0;
}

/* Bookkeeping common to both callbacks (c->mu held). */
static void note_where(collected_t *c) {
  if (getpid() == c->main_pid) c->in_parent++;
  if (!pthread_equal(pthread_self(), c->main_thread)) c->off_main_thread++;
}

/* def func2(nn): the callback, in the main process. */
static void func2(mp_result_t *result, void *payload) {
  collected_t *c = payload;
  const void *data = NULL;
  size_t len = 0;
  int rc = mp_result_get(&data, &len, result, 0); /* done: never waits */
  pthread_mutex_lock(&c->mu);
  note_where(c);
  if (rc < 0 || len != sizeof(answer_t)) {
    fprintf(stderr, "func2: mp_result_get: %s (%s)\n", mp_strerror(rc),
            mp_last_error());
    c->bad_results++;
  } else {
    answer_t a;
    memcpy(&a, data, sizeof a); /* the bytes need not be aligned */
    if ((pid_t)a.pid != c->main_pid) c->task_elsewhere++;
    if (c->count < NTASKS) c->squares[c->count] = a.square;
    c->count++;
    printf("func2: %lld\n", (long long)a.square);
    fflush(stdout);
  }
  pthread_mutex_unlock(&c->mu);
}

/* error_callback: the task failed; its message is the result's bytes. */
static void on_error(mp_result_t *result, void *payload) {
  collected_t *c = payload;
  const void *data = NULL;
  size_t len = 0;
  int rc = mp_result_get(&data, &len, result, 0);
  pthread_mutex_lock(&c->mu);
  note_where(c);
  c->errors++;
  printf("error_callback: %s: %.*s\n", mp_err_name(rc), (int)len,
         data != NULL ? (const char *)data : "");
  fflush(stdout);
  pthread_mutex_unlock(&c->mu);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static const char *yes_no(int ok) { return ok ? "yes" : "no"; }

int main(int argc, char **argv) {
  int rc = mp_register_task("func1", func1, NULL);
  if (rc < 0) return fail("mp_register_task", rc);
  rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);

  collected_t c;
  memset(&c, 0, sizeof c);
  if (pthread_mutex_init(&c.mu, NULL) != 0) {
    fprintf(stderr, "pthread_mutex_init failed\n");
    return EXIT_FAILURE;
  }
  c.main_pid = getpid(); /* print('主进程: ', os.getpid()) */
  c.main_thread = pthread_self();

  mp_pool_opts_t *opts = NULL;
  mp_pool_t *pool = NULL;
  mp_result_t *res[NTASKS] = {NULL};
  int status = EXIT_SUCCESS;

  rc = mp_pool_opts_new(&opts);
  if (rc < 0) {
    status = fail("mp_pool_opts_new", rc);
    goto out;
  }
  rc = mp_pool_opts_set_workers(opts, NWORKERS);
  if (rc < 0) {
    status = fail("mp_pool_opts_set_workers", rc);
    goto out;
  }
  rc = mp_pool_new(&pool, opts);
  if (rc < 0) {
    status = fail("mp_pool_new", rc);
    goto out;
  }

  printf("main: Pool(%d), %d tasks with a callback\n", NWORKERS, NTASKS);
  fflush(stdout); /* before the workers print */
  for (int i = 0; i < NTASKS; i++) {
    int64_t n = i < NGOOD ? FIRST + i : BAD_INPUT;
    rc = mp_pool_apply_async(&res[i], pool, "func1", &n, sizeof n, func2,
                             on_error, &c);
    if (rc < 0) {
      status = fail("mp_pool_apply_async", rc);
      goto out;
    }
  }
  rc = mp_pool_close(pool);
  if (rc < 0) {
    status = fail("mp_pool_close", rc);
    goto out;
  }
  rc = mp_pool_join(pool, MP_FOREVER); /* every callback has run now */
  if (rc < 0) {
    status = fail("mp_pool_join", rc);
    goto out;
  }
  printf("main: pool closed and joined\n");

  /* No callback runs any more, but take the lock all the same. */
  pthread_mutex_lock(&c.mu);
  int calls = c.count + c.errors;
  printf("main: %d callbacks and %d error callback\n", c.count, c.errors);
  printf("main: every callback ran in the main process: %s\n",
         yes_no(c.in_parent == calls));
  printf("main: every callback ran on a thread other than main(): %s\n",
         yes_no(c.off_main_thread == calls));
  printf("main: every task ran in a worker process: %s\n",
         yes_no(c.task_elsewhere == c.count));
  int n = c.count < NTASKS ? c.count : NTASKS;
  qsort(c.squares, (size_t)n, sizeof c.squares[0], cmp_i64);
  printf("main: the callbacks collected:");
  for (int i = 0; i < n; i++) printf(" %lld", (long long)c.squares[i]);
  printf("\n");
  if (c.count != NGOOD || c.errors != 1 || c.bad_results != 0 ||
      c.in_parent != calls || c.off_main_thread != calls ||
      c.task_elsewhere != c.count)
    status = EXIT_FAILURE;
  pthread_mutex_unlock(&c.mu);

out:
  for (int i = 0; i < NTASKS; i++) mp_result_free(res[i]);
  mp_pool_free(pool); /* after join: no callback can run any more */
  mp_pool_opts_free(opts);
  pthread_mutex_destroy(&c.mu);
  return status;
}
