/*
 * Synchronisation benchmarks: multiproc locks and the shared dict against
 * the raw limit.
 *
 *   bench_sync [options] NAME...
 *     --time SEC     time budget per implementation and workload (default 1.5)
 *     --batches N    timed batches per implementation (default 5)
 *     --iters N      operations per batch (default: calibrated to --time)
 *     --impl WHICH   multiproc, raw or both (default both, batches alternate)
 *     --quick        smoke mode: --time 0.05 --batches 3
 *     --list         print the workload names and units, one a line
 *
 * For each NAME it prints `BENCH <name> multiproc <value> <unit>` and
 * `BENCH <name> raw <value> <unit>` (no raw line for dict_incr). The
 * method is bench_measure's (bench_common.c), with a batch function that
 * loops the operation (one call of a few nanoseconds would measure the
 * call): a
 * warm-up of about 10 % of --time with growing batches calibrates the
 * operations per batch so that --batches batches take --time in all; the
 * implementations' batches alternate, so drift of the machine hits both
 * alike; the value is the median of the batch means. Lines starting with
 * '#' are details.
 *
 * Workloads:
 *   lock_uncontended  ns per mp_lock_acquire(MP_FOREVER) + mp_lock_release
 *                     of a plain mp_lock_new(0) lock, one process
 *                     | raw: pthread_mutex_lock + unlock of a robust,
 *                     process-shared mutex (PTHREAD_MUTEX_ROBUST,
 *                     PTHREAD_PROCESS_SHARED, default type) in a
 *                     MAP_SHARED mapping
 *   lock_contended    the same pair, 2 processes hammering one lock with
 *                     an empty critical section; ns = (the end of the
 *                     last process's loop - the start of the first's) /
 *                     the operations of both. The children (MP_START_FORK
 *                     processes that open the lock with mp_lock_from_fd;
 *                     raw: fork()) are started outside the timed part and
 *                     begin together on a flag
 *   dict_incr         ops/s of mp_dict_incr(+1) on one key of an
 *                     mp_dict_new(64, 64 KiB) dict, one process | no raw
 *                     (the CPython peer is Manager().dict())
 *   idle_waiter_cpu   ms of CPU per second of a process blocked with
 *                     MP_FOREVER and nothing to wake it, in each of
 *                     mp_queue_get (empty queue), mp_lock_acquire (held by
 *                     this process), mp_event_wait, mp_cond_wait and
 *                     mp_sem_acquire: one fork() child per kind, blocked
 *                     together; the CPU time of each (the sum over its
 *                     threads of /proc/PID/task/TID/schedstat's first field,
 *                     in ns) is read after a 0.5 s settling time and again
 *                     5 s later (0.5 s with --quick), then the children are
 *                     woken for real and reaped. One '#' line per kind; the
 *                     BENCH value is the worst kind | no raw (the limit is
 *                     0: a blocked waiter that never wakes uses no CPU)
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_mp.h"

#define HAMMER_TARGET "bench_lock_hammer"
#define CONTENDERS 2

/* ------------------------------------------------------------------------
 * Helpers and measurement
 * ---------------------------------------------------------------------- */

static void check_pthread(int r, const char *what) {
  if (r != 0) die("%s failed: %s", what, strerror(r));
}

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, NULL);
}

/* A MAP_SHARED anonymous mapping: inherited by forked children. */
static void *shared_alloc(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap: %s", strerror(errno));
  return p;
}

/* ns per operation (first_n: operations of the first warm-up batch). */
static bench_metric_t ns_per_op(long first_n) {
  return (bench_metric_t){
      .unit = "ns", .first_n = first_n, .time_scale = 1e9, .per_batch = "operations"};
}

/* The implementations --impl asked for, from a multiproc one and a raw
 * one (raw may be absent: fn NULL). */
static void measure_pair(const char *name, const bench_metric_t *m, bench_impl_t lib,
                         bench_impl_t raw) {
  bench_impl_t impls[2];
  int k = 0;
  if (bench_want(0)) impls[k++] = lib;
  if (bench_want(1) && raw.fn) impls[k++] = raw;
  if (k > 0) bench_measure(name, m, impls, k);
}

/* ------------------------------------------------------------------------
 * lock_uncontended
 * ---------------------------------------------------------------------- */

static double mp_lock_batch(void *ctx, long n) {
  mp_lock_t *lock = ctx;
  int bad = 0;
  int64_t t0 = now_ns();
  for (long i = 0; i < n; ++i) {
    bad |= mp_lock_acquire(lock, MP_FOREVER);
    bad |= mp_lock_release(lock);
  }
  int64_t t1 = now_ns();
  if (bad) die("mp_lock_acquire/release failed: %s", mp_last_error());
  return (double)(t1 - t0) * 1e-9;
}

/* A robust, process-shared mutex of the default type in shared memory:
 * the raw limit of a lock whose holder's death is detectable. */
static pthread_mutex_t *raw_mutex_new(void) {
  pthread_mutex_t *mu = shared_alloc(sizeof *mu);
  pthread_mutexattr_t attr;
  check_pthread(pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
  check_pthread(pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED),
                "pthread_mutexattr_setpshared");
  check_pthread(pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST),
                "pthread_mutexattr_setrobust");
  check_pthread(pthread_mutex_init(mu, &attr), "pthread_mutex_init");
  pthread_mutexattr_destroy(&attr);
  return mu;
}

static double raw_mutex_batch(void *ctx, long n) {
  pthread_mutex_t *mu = ctx;
  int bad = 0;
  int64_t t0 = now_ns();
  for (long i = 0; i < n; ++i) {
    bad |= pthread_mutex_lock(mu);
    bad |= pthread_mutex_unlock(mu);
  }
  int64_t t1 = now_ns();
  if (bad) die("pthread_mutex_lock/unlock failed");
  return (double)(t1 - t0) * 1e-9;
}

/* ns per acquire + release: an mp_lock (plain, mp_lock_new(0)) against the
 * raw mutex; the batch functions get the lock or the mutex as ctx. */
static void measure_locks(const char *name, long first_n, bench_batch_fn mp_batch,
                          bench_batch_fn raw_batch) {
  mp_lock_t *lock = NULL;
  check_mp(mp_lock_new(&lock, 0), "mp_lock_new");
  pthread_mutex_t *mu = raw_mutex_new();
  bench_metric_t m = ns_per_op(first_n);
  measure_pair(name, &m, (bench_impl_t){"multiproc", mp_batch, lock},
               (bench_impl_t){"raw", raw_batch, mu});
  pthread_mutex_destroy(mu);
  munmap(mu, sizeof *mu);
  mp_lock_free(lock);
}

static void run_lock_uncontended(const char *name) {
  measure_locks(name, 1000, mp_lock_batch, raw_mutex_batch);
}

/* ------------------------------------------------------------------------
 * lock_contended
 * ---------------------------------------------------------------------- */

/* A contended batch runs on bench_common's control page: the children
 * get ready, start together on its go flag, and record the first start
 * (ctl_first_put) and the last end (ctl_last_get) of their loops; each
 * does its q_share of the batch's operations. */
typedef struct hammer_arg {
  qcfg_t cfg; /* producers: the contenders; n: the batch's operations */
  int idx;
} hammer_arg_t;

static hammer_arg_t hammer_arg(long n, int idx) {
  return (hammer_arg_t){{CONTENDERS, 0, 0, n}, idx};
}

/* Hammer on the lock: acquire + release, n times, timed on the page. */
static int hammer(const hammer_arg_t *a, int (*acquire)(void *), int (*release)(void *),
                  void *lock) {
  long n = q_share(&a->cfg, a->idx);
  int bad = 0;
  ctl_wait_go();
  ctl_first_put();
  for (long i = 0; i < n; ++i) {
    bad |= acquire(lock);
    bad |= release(lock);
  }
  ctl_last_get(n);
  return bad;
}

/* The multiproc child: argument = its index; descriptor 0 = the lock. */
static int mp_acquire(void *lock) { return mp_lock_acquire(lock, MP_FOREVER); }
static int mp_release(void *lock) { return mp_lock_release(lock); }

static int mp_hammer(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  hammer_arg_t a;
  if (arg_len != sizeof a) return ctl_fail("bad argument");
  memcpy(&a, arg, sizeof a);
  mp_lock_t *lock = NULL;
  int fd = mp_child_fd(0);
  int r = fd < 0 ? fd : mp_lock_from_fd(&lock, fd);
  if (r < 0) return child_mp_fail(r, "open the lock");
  int bad = hammer(&a, mp_acquire, mp_release, lock);
  if (bad) ctl_fail("mp_lock_acquire/release failed: %s", mp_last_error());
  mp_lock_free(lock);
  return bad ? 1 : 0;
}

static double mp_contended_batch(void *ctx, long n) {
  mp_lock_t *lock = ctx;
  mp_process_t *p[CONTENDERS] = {NULL};
  ctl_reset();
  for (int i = 0; i < CONTENDERS; ++i) {
    hammer_arg_t a = hammer_arg(n, i);
    check_mp(mp_process_new(&p[i], HAMMER_TARGET, &a, sizeof a), "mp_process_new");
    check_mp(mp_process_pass_fd(p[i], mp_lock_fileno(lock)), "mp_process_pass_fd");
    check_mp(mp_process_start(p[i]), "mp_process_start");
  }
  ctl_start(CONTENDERS, "lock_contended");
  join_all(p, CONTENDERS, NULL, "lock_contended");
  for (int i = 0; i < CONTENDERS; ++i) mp_process_free(p[i]);
  hammer_arg_t all = hammer_arg(n, 0);
  return ctl_elapsed(&all.cfg, "lock_contended");
}

static int raw_acquire(void *mu) { return pthread_mutex_lock(mu); }
static int raw_release(void *mu) { return pthread_mutex_unlock(mu); }

/* The raw child (forked: it shares the parent's mutex mapping). */
typedef struct raw_hammer_arg {
  hammer_arg_t a;
  pthread_mutex_t *mu;
} raw_hammer_arg_t;

static int raw_hammer(void *arg) {
  raw_hammer_arg_t *r = arg;
  if (hammer(&r->a, raw_acquire, raw_release, r->mu))
    return ctl_fail("pthread_mutex_lock/unlock failed");
  return 0;
}

static double raw_contended_batch(void *ctx, long n) {
  pid_t pid[CONTENDERS];
  raw_hammer_arg_t args[CONTENDERS];
  ctl_reset();
  for (int i = 0; i < CONTENDERS; ++i) {
    args[i] = (raw_hammer_arg_t){hammer_arg(n, i), ctx};
    pid[i] = fork_child(raw_hammer, &args[i]);
  }
  ctl_start(CONTENDERS, "lock_contended raw");
  wait_children(pid, CONTENDERS, BENCH_WATCHDOG_S, "lock_contended raw");
  return ctl_elapsed(&args[0].a.cfg, "lock_contended raw");
}

static void run_lock_contended(const char *name) {
  printf("# %s: %d processes on %d CPUs\n", name, CONTENDERS, mp_cpu_count());
  measure_locks(name, 20000, mp_contended_batch, raw_contended_batch);
}

/* ------------------------------------------------------------------------
 * dict_incr
 * ---------------------------------------------------------------------- */

static double mp_dict_incr_batch(void *ctx, long n) {
  mp_dict_t *d = ctx;
  int64_t v = 0, before = 0;
  check_mp(mp_dict_incr(&before, d, "count", 5, 0), "mp_dict_incr");
  int bad = 0;
  int64_t t0 = now_ns();
  for (long i = 0; i < n; ++i) bad |= mp_dict_incr(&v, d, "count", 5, 1);
  int64_t t1 = now_ns();
  if (bad) die("mp_dict_incr failed: %s", mp_last_error());
  if (v != before + n)
    die("mp_dict_incr: the count is %lld after %ld increments from %lld",
        (long long)v, n, (long long)before);
  return (double)(t1 - t0) * 1e-9;
}

static void run_dict_incr(const char *name) {
  mp_dict_t *d = NULL;
  check_mp(mp_dict_new(&d, 64, 64 * 1024), "mp_dict_new");
  bench_metric_t m = {.unit = "ops/s", .rate = 1, .scale = 1, .first_n = 1000,
                      .per_batch = "operations"};
  measure_pair(name, &m, (bench_impl_t){"multiproc", mp_dict_incr_batch, d},
               (bench_impl_t){"raw", NULL, NULL});
  mp_dict_free(d);
}

/* ------------------------------------------------------------------------
 * idle_waiter_cpu
 * ---------------------------------------------------------------------- */

/* IDLE_LOCK_TOKEN: a lock waiter with a cancel token bound, as the Go and
 * Ruby bindings bind one to every blocking call. */
enum { IDLE_QUEUE, IDLE_LOCK, IDLE_LOCK_TOKEN, IDLE_EVENT, IDLE_COND, IDLE_SEM, IDLE_KINDS };

static const char *const kIdleNames[IDLE_KINDS] = {
    "queue_get", "lock_acquire", "lock_acquire_token", "event_wait", "cond_wait", "sem_acquire"};

typedef struct idle_objects {
  mp_queue_t *queue;
  mp_lock_t *held; /* held by the parent while the lock waiter waits */
  mp_event_t *event;
  mp_lock_t *cond_lock;
  mp_cond_t *cond;
  mp_sem_t *sem;
} idle_objects_t;

/* The child's blocking call, MP_FOREVER; returns its result. */
static int idle_block(idle_objects_t *o, int kind) {
  void *msg = NULL;
  size_t len = 0;
  int r;
  switch (kind) {
    case IDLE_QUEUE:
      r = mp_queue_get(&msg, &len, o->queue, MP_FOREVER);
      mp_free(msg);
      return r;
    case IDLE_LOCK:
      r = mp_lock_acquire(o->held, MP_FOREVER);
      if (r == MP_OK) mp_lock_release(o->held);
      return r;
    case IDLE_LOCK_TOKEN: {
      mp_cancel_t *token = NULL;
      if (mp_cancel_new(&token) != MP_OK) return MP_ENOMEM;
      mp_cancel_bind(token);
      r = mp_lock_acquire(o->held, MP_FOREVER);
      if (r == MP_OK) mp_lock_release(o->held);
      mp_cancel_bind(NULL);
      mp_cancel_free(token);
      return r;
    }
    case IDLE_EVENT:
      return mp_event_wait(o->event, MP_FOREVER);
    case IDLE_COND:
      r = mp_lock_acquire(o->cond_lock, MP_FOREVER);
      if (r == MP_OK) r = mp_cond_wait(o->cond, MP_FOREVER);
      mp_lock_release(o->cond_lock);
      return r;
    default:
      return mp_sem_acquire(o->sem, MP_FOREVER);
  }
}

/* Wake the kind's waiter for real. */
static void idle_wake(idle_objects_t *o, int kind) {
  switch (kind) {
    case IDLE_QUEUE: check_mp(mp_queue_put(o->queue, "x", 1, MP_FOREVER), "mp_queue_put"); break;
    case IDLE_LOCK: check_mp(mp_lock_release(o->held), "mp_lock_release"); break;
    case IDLE_LOCK_TOKEN: break; /* the release above lets both lock waiters through */
    case IDLE_EVENT: check_mp(mp_event_set(o->event), "mp_event_set"); break;
    case IDLE_COND:
      check_mp(mp_lock_acquire(o->cond_lock, MP_FOREVER), "mp_lock_acquire");
      check_mp(mp_cond_notify(o->cond, 1), "mp_cond_notify");
      check_mp(mp_lock_release(o->cond_lock), "mp_lock_release");
      break;
    default: check_mp(mp_sem_release(o->sem), "mp_sem_release"); break;
  }
}

/* CPU time of every thread of pid so far, in ns (schedstat's first field). */
static double process_cpu_ns(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d) die("opendir %s: %s", path, strerror(errno));
  double total = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char file[sizeof path + 300];
    snprintf(file, sizeof file, "%s/%s/schedstat", path, e->d_name);
    FILE *f = fopen(file, "re");
    unsigned long long ns = 0;
    if (f && fscanf(f, "%llu", &ns) == 1) total += (double)ns;
    if (f) fclose(f);
  }
  closedir(d);
  return total;
}

static void run_idle_waiter_cpu(const char *name) {
  idle_objects_t o;
  check_mp(mp_queue_new(&o.queue, 0, 0, 0), "mp_queue_new");
  check_mp(mp_lock_new(&o.held, 0), "mp_lock_new");
  check_mp(mp_event_new(&o.event), "mp_event_new");
  check_mp(mp_lock_new(&o.cond_lock, 0), "mp_lock_new");
  check_mp(mp_cond_new(&o.cond, o.cond_lock), "mp_cond_new");
  check_mp(mp_sem_new(&o.sem, 0, 0), "mp_sem_new");
  check_mp(mp_lock_acquire(o.held, MP_FOREVER), "mp_lock_acquire");
  int ready[2];
  if (pipe(ready) != 0) die("pipe: %s", strerror(errno));
  pid_t pids[IDLE_KINDS];
  fflush(NULL);
  for (int k = 0; k < IDLE_KINDS; ++k) {
    pids[k] = fork();
    if (pids[k] < 0) die("fork: %s", strerror(errno));
    if (pids[k] == 0) {
      close(ready[0]);
      if (write(ready[1], "r", 1) != 1) _exit(3);
      _exit(idle_block(&o, k) == MP_OK ? 0 : 4);
    }
  }
  close(ready[1]);
  for (int k = 0; k < IDLE_KINDS; ++k) {
    char c;
    if (read(ready[0], &c, 1) != 1) die("a waiter died before it blocked");
  }
  close(ready[0]);
  double window = g_opts.quick ? 0.5 : 5.0;
  sleep_us(500000); /* past every spin phase: asleep in the kernel */
  double before[IDLE_KINDS], t0 = now_s();
  for (int k = 0; k < IDLE_KINDS; ++k) before[k] = process_cpu_ns(pids[k]);
  sleep_us((long)(window * 1e6));
  double secs = now_s() - t0, worst = 0;
  for (int k = 0; k < IDLE_KINDS; ++k) {
    double ms_per_s = (process_cpu_ns(pids[k]) - before[k]) * 1e-6 / secs;
    printf("# %s %s: %.4f ms of CPU per second blocked (%.1f s)\n", name, kIdleNames[k],
           ms_per_s, secs);
    if (ms_per_s > worst) worst = ms_per_s;
  }
  for (int k = 0; k < IDLE_KINDS; ++k) idle_wake(&o, k);
  for (int k = 0; k < IDLE_KINDS; ++k) {
    int status = 0;
    double deadline = now_s() + 10;
    pid_t r;
    while ((r = waitpid(pids[k], &status, WNOHANG)) == 0 && now_s() < deadline) sleep_us(1000);
    if (r == 0) {
      kill(pids[k], SIGKILL);
      waitpid(pids[k], &status, 0);
      die("the %s waiter was not woken", kIdleNames[k]);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      die("the %s waiter failed (status %d)", kIdleNames[k], status);
  }
  printf("BENCH %s multiproc %.4f ms/s\n", name, worst);
  fflush(stdout);
  mp_sem_free(o.sem);
  mp_cond_free(o.cond);
  mp_lock_free(o.cond_lock);
  mp_event_free(o.event);
  mp_lock_free(o.held);
  mp_queue_free(o.queue);
}

/* ------------------------------------------------------------------------
 * main()
 * ---------------------------------------------------------------------- */

static const bench_workload_t kWorkloads[] = {
    {"lock_uncontended", "ns", run_lock_uncontended},
    {"lock_contended", "ns", run_lock_contended},
    {"dict_incr", "ops/s", run_dict_incr},
    {"idle_waiter_cpu", "ms/s", run_idle_waiter_cpu},
};

static const char *const kImpls[] = {"multiproc", "raw"};

int main(int argc, char **argv) {
  check_mp(mp_register(HAMMER_TARGET, mp_hammer, NULL), "mp_register");
  check_mp(mp_main(argc, argv), "mp_main");

  return bench_mp_main("bench_sync", argc, argv, kWorkloads,
                       sizeof kWorkloads / sizeof kWorkloads[0], kImpls, 2);
}
