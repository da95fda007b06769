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
 * method is bench_process.c's, with a batch function instead of one call
 * per iteration (one call of a few nanoseconds would measure the call): a
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
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "multiproc.h"

#define HAMMER_TARGET "bench_lock_hammer"
#define CONTENDERS 2
#define WATCHDOG_S 60.0 /* a contended batch longer than this is a hang */

/* ------------------------------------------------------------------------
 * Options and helpers
 * ---------------------------------------------------------------------- */

static double g_time_budget = 1.5; /* seconds per implementation */
static int g_batches = 5;
static long g_fixed_iters = 0; /* 0: calibrate */
static int g_impls = 3;        /* bit 0: multiproc, bit 1: raw */
static int g_quick = 0;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("bench_sync: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(2);
}

/* Abort the benchmark on a library error, with the library's message. */
static void check_mp(int r, const char *what) {
  if (r < 0)
    die("%s failed: %s (%s): %s", what, mp_err_name(r), mp_strerror(r),
        mp_last_error());
}

static void check_pthread(int r, const char *what) {
  if (r != 0) die("%s failed: %s", what, strerror(r));
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double now_s(void) { return (double)now_ns() * 1e-9; }

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

/* ------------------------------------------------------------------------
 * Measurement
 * ---------------------------------------------------------------------- */

/* Do n operations; return the seconds they took. */
typedef double (*batch_fn)(void *ctx, long n);

typedef struct impl {
  const char *name; /* multiproc, raw */
  batch_fn fn;
  void *ctx;
} impl_t;

typedef struct metric {
  const char *unit; /* ns, ops/s */
  int rate;         /* 0: ns per operation; 1: operations per second */
  long first_n;     /* operations of the first warm-up batch */
} metric_t;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double batch_value(const metric_t *m, long n, double secs) {
  if (secs <= 0) secs = 1e-9;
  return m->rate ? (double)n / secs : secs / (double)n * 1e9;
}

/* Warm up for about budget seconds with growing batches; return the
 * seconds per operation of the last (largest) batch. */
static double warm_up(const impl_t *im, const metric_t *m, double budget) {
  long n = m->first_n > 0 ? m->first_n : 1;
  double spent = 0, per;
  for (;;) {
    double s = im->fn(im->ctx, n);
    spent += s;
    per = (s > 0 ? s : 1e-9) / (double)n;
    if (spent >= budget) return per;
    double want = (budget - spent) / per; /* operations that fill the rest */
    long next = n * 2;
    if (want > (double)next) next = want < (double)n * 16 ? (long)want : n * 16;
    n = next;
  }
}

/* Measure impls[0..k) with alternating batches; print a '#' detail line
 * and a BENCH line per implementation. */
static void measure(const char *name, const metric_t *m, const impl_t *impls, int k) {
  long n[4];
  double *vals[4];
  if (k > 4) die("too many implementations");
  for (int i = 0; i < k; ++i) {
    double per = warm_up(&impls[i], m, g_time_budget * 0.1);
    double want = g_time_budget / ((double)g_batches * per);
    n[i] = g_fixed_iters > 0 ? g_fixed_iters
           : want < 1        ? 1
           : want > 2e9      ? 2000000000L
                             : (long)want;
    vals[i] = calloc((size_t)g_batches, sizeof(double));
    if (!vals[i]) die("out of memory");
  }
  for (int b = 0; b < g_batches; ++b)
    for (int i = 0; i < k; ++i)
      vals[i][b] = batch_value(m, n[i], impls[i].fn(impls[i].ctx, n[i]));
  for (int i = 0; i < k; ++i) {
    double *v = vals[i];
    int nb = g_batches;
    qsort(v, (size_t)nb, sizeof *v, cmp_double);
    double med = nb % 2 ? v[nb / 2] : (v[nb / 2 - 1] + v[nb / 2]) / 2;
    printf("# %s %s: median of %d batch means, %ld operations/batch, batch "
           "means %.2f..%.2f %s\n",
           name, impls[i].name, nb, n[i], v[0], v[nb - 1], m->unit);
    printf("BENCH %s %s %.2f %s\n", name, impls[i].name, med, m->unit);
    fflush(stdout);
    free(v);
  }
}

/* The implementations --impl asked for, from a multiproc one and a raw
 * one (raw may be absent: fn NULL). */
static void measure_pair(const char *name, const metric_t *m, impl_t lib, impl_t raw) {
  impl_t impls[2];
  int k = 0;
  if (g_impls & 1) impls[k++] = lib;
  if ((g_impls & 2) && raw.fn) impls[k++] = raw;
  if (k > 0) measure(name, m, impls, k);
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

static void run_lock_uncontended(const char *name) {
  mp_lock_t *lock = NULL;
  check_mp(mp_lock_new(&lock, 0), "mp_lock_new");
  pthread_mutex_t *mu = raw_mutex_new();
  metric_t m = {"ns", 0, 1000};
  measure_pair(name, &m, (impl_t){"multiproc", mp_lock_batch, lock},
               (impl_t){"raw", raw_mutex_batch, mu});
  pthread_mutex_destroy(mu);
  munmap(mu, sizeof *mu);
  mp_lock_free(lock);
}

/* ------------------------------------------------------------------------
 * lock_contended
 * ---------------------------------------------------------------------- */

/* The control page of a contended batch, shared with the children. */
typedef struct ctl {
  int ready;              /* children set up */
  int go;                 /* start hammering */
  long n[CONTENDERS];     /* operations of each child */
  int64_t t_start[CONTENDERS];
  int64_t t_end[CONTENDERS];
  int failed;
  char err[256];
} ctl_t;

static ctl_t *g_ctl;

static int child_fail(const char *fmt, ...) {
  if (__atomic_exchange_n(&g_ctl->failed, 1, __ATOMIC_SEQ_CST) == 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_ctl->err, sizeof g_ctl->err, fmt, ap);
    va_end(ap);
  }
  return 1;
}

static void child_wait_go(void) {
  __atomic_add_fetch(&g_ctl->ready, 1, __ATOMIC_SEQ_CST);
  while (!__atomic_load_n(&g_ctl->go, __ATOMIC_ACQUIRE)) sleep_us(20);
}

/* The parent: wait until every child is set up, then let them go. */
static void ctl_start(void) {
  double end = now_s() + WATCHDOG_S;
  while (__atomic_load_n(&g_ctl->ready, __ATOMIC_ACQUIRE) < CONTENDERS) {
    if (g_ctl->failed) die("lock_contended: %s", g_ctl->err);
    if (now_s() > end) die("lock_contended: the children did not get ready");
    sleep_us(50);
  }
  __atomic_store_n(&g_ctl->go, 1, __ATOMIC_RELEASE);
}

static void ctl_reset(long n) {
  memset(g_ctl, 0, sizeof *g_ctl);
  for (int i = 0; i < CONTENDERS; ++i) g_ctl->n[i] = n / CONTENDERS;
  g_ctl->n[0] += n % CONTENDERS;
}

/* The batch's seconds: first start to last end. */
static double ctl_elapsed(void) {
  if (g_ctl->failed) die("lock_contended: %s", g_ctl->err);
  int64_t first = INT64_MAX, last = INT64_MIN;
  for (int i = 0; i < CONTENDERS; ++i) {
    if (g_ctl->t_start[i] < first) first = g_ctl->t_start[i];
    if (g_ctl->t_end[i] > last) last = g_ctl->t_end[i];
  }
  if (last < first) die("lock_contended: no timing recorded");
  return (double)(last - first) * 1e-9;
}

/* The multiproc child: argument = its index; descriptor 0 = the lock. */
static int mp_hammer(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  int idx;
  if (arg_len != sizeof idx) return child_fail("bad argument");
  memcpy(&idx, arg, sizeof idx);
  mp_lock_t *lock = NULL;
  int fd = mp_child_fd(0);
  int r = fd < 0 ? fd : mp_lock_from_fd(&lock, fd);
  if (r < 0) return child_fail("open the lock: %s: %s", mp_err_name(r), mp_last_error());
  long n = g_ctl->n[idx];
  int bad = 0;
  child_wait_go();
  int64_t t0 = now_ns();
  for (long i = 0; i < n; ++i) {
    bad |= mp_lock_acquire(lock, MP_FOREVER);
    bad |= mp_lock_release(lock);
  }
  int64_t t1 = now_ns();
  g_ctl->t_start[idx] = t0;
  g_ctl->t_end[idx] = t1;
  if (bad) child_fail("mp_lock_acquire/release failed: %s", mp_last_error());
  mp_lock_free(lock);
  return bad ? 1 : 0;
}

static double mp_contended_batch(void *ctx, long n) {
  mp_lock_t *lock = ctx;
  mp_process_t *p[CONTENDERS] = {NULL};
  ctl_reset(n);
  for (int i = 0; i < CONTENDERS; ++i) {
    check_mp(mp_process_new(&p[i], HAMMER_TARGET, &i, sizeof i), "mp_process_new");
    check_mp(mp_process_pass_fd(p[i], mp_lock_fileno(lock)), "mp_process_pass_fd");
    check_mp(mp_process_start(p[i]), "mp_process_start");
  }
  ctl_start();
  for (int i = 0; i < CONTENDERS; ++i) {
    int code = -1, r = mp_process_join(p[i], (int64_t)(WATCHDOG_S * 1000));
    if (r == MP_ETIMEDOUT) {
      for (int k = 0; k < CONTENDERS; ++k) mp_process_kill(p[k]);
      die("lock_contended: hung for %g s", WATCHDOG_S);
    }
    check_mp(r, "mp_process_join");
    check_mp(mp_process_exitcode(&code, p[i]), "mp_process_exitcode");
    if (code != 0) die("lock_contended: child exit code %d: %s", code, g_ctl->err);
    mp_process_free(p[i]);
  }
  return ctl_elapsed();
}

/* The raw child. */
static int raw_hammer(pthread_mutex_t *mu, int idx) {
  long n = g_ctl->n[idx];
  int bad = 0;
  child_wait_go();
  int64_t t0 = now_ns();
  for (long i = 0; i < n; ++i) {
    bad |= pthread_mutex_lock(mu);
    bad |= pthread_mutex_unlock(mu);
  }
  int64_t t1 = now_ns();
  g_ctl->t_start[idx] = t0;
  g_ctl->t_end[idx] = t1;
  if (bad) return child_fail("pthread_mutex_lock/unlock failed");
  return 0;
}

static double raw_contended_batch(void *ctx, long n) {
  pthread_mutex_t *mu = ctx;
  pid_t pid[CONTENDERS];
  ctl_reset(n);
  fflush(NULL);
  for (int i = 0; i < CONTENDERS; ++i) {
    pid[i] = fork();
    if (pid[i] < 0) die("fork: %s", strerror(errno));
    if (pid[i] == 0) _exit(raw_hammer(mu, i));
  }
  ctl_start();
  double end = now_s() + WATCHDOG_S;
  for (int i = 0; i < CONTENDERS; ++i) {
    int status;
    pid_t r;
    while ((r = waitpid(pid[i], &status, WNOHANG)) == 0) {
      if (now_s() > end) {
        for (int k = 0; k < CONTENDERS; ++k) kill(pid[k], SIGKILL);
        die("lock_contended raw: hung for %g s", WATCHDOG_S);
      }
      sleep_us(1000);
    }
    if (r < 0) die("waitpid: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      die("lock_contended raw: child ended with wait status 0x%x: %s", status,
          g_ctl->err);
  }
  return ctl_elapsed();
}

static void run_lock_contended(const char *name) {
  mp_lock_t *lock = NULL;
  check_mp(mp_lock_new(&lock, 0), "mp_lock_new");
  pthread_mutex_t *mu = raw_mutex_new();
  if (!g_ctl) g_ctl = shared_alloc(sizeof *g_ctl);
  printf("# %s: %d processes on %d CPUs\n", name, CONTENDERS, mp_cpu_count());
  metric_t m = {"ns", 0, 20000};
  measure_pair(name, &m, (impl_t){"multiproc", mp_contended_batch, lock},
               (impl_t){"raw", raw_contended_batch, mu});
  pthread_mutex_destroy(mu);
  munmap(mu, sizeof *mu);
  mp_lock_free(lock);
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
  metric_t m = {"ops/s", 1, 1000};
  measure_pair(name, &m, (impl_t){"multiproc", mp_dict_incr_batch, d},
               (impl_t){"raw", NULL, NULL});
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
  double window = g_quick ? 0.5 : 5.0;
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

typedef struct workload {
  const char *name;
  const char *unit;
  void (*run)(const char *name);
} workload_t;

static const workload_t kWorkloads[] = {
    {"lock_uncontended", "ns", run_lock_uncontended},
    {"lock_contended", "ns", run_lock_contended},
    {"dict_incr", "ops/s", run_dict_incr},
    {"idle_waiter_cpu", "ms/s", run_idle_waiter_cpu},
};
#define N_WORKLOADS (sizeof kWorkloads / sizeof kWorkloads[0])

static const workload_t *find_workload(const char *name) {
  for (size_t i = 0; i < N_WORKLOADS; ++i)
    if (strcmp(kWorkloads[i].name, name) == 0) return &kWorkloads[i];
  return NULL;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench_sync [--time SEC] [--batches N] [--iters N] "
          "[--impl multiproc|raw|both] [--quick] [--list] NAME...\nnames:");
  for (size_t i = 0; i < N_WORKLOADS; ++i) fprintf(f, " %s", kWorkloads[i].name);
  fputc('\n', f);
}

static double parse_num(const char *opt, const char *s, double min) {
  char *end;
  double v;
  if (!s) die("%s needs a value", opt);
  v = strtod(s, &end);
  if (*end || !(v >= min)) die("%s %s: expected a number >= %g", opt, s, min);
  return v;
}

int main(int argc, char **argv) {
  check_mp(mp_register(HAMMER_TARGET, mp_hammer, NULL), "mp_register");
  check_mp(mp_main(argc, argv), "mp_main");

  const char *names[64];
  int n_names = 0;
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    if (strcmp(a, "--time") == 0) {
      g_time_budget = parse_num(a, argv[++i], 0.001);
    } else if (strcmp(a, "--batches") == 0) {
      g_batches = (int)parse_num(a, argv[++i], 1);
    } else if (strcmp(a, "--iters") == 0) {
      g_fixed_iters = (long)parse_num(a, argv[++i], 1);
    } else if (strcmp(a, "--impl") == 0) {
      const char *v = argv[++i];
      if (v && strcmp(v, "multiproc") == 0) g_impls = 1;
      else if (v && strcmp(v, "raw") == 0) g_impls = 2;
      else if (v && strcmp(v, "both") == 0) g_impls = 3;
      else die("--impl: expected multiproc, raw or both");
    } else if (strcmp(a, "--quick") == 0) {
      g_time_budget = 0.05;
      g_batches = 3;
      g_quick = 1;
    } else if (strcmp(a, "--list") == 0) {
      for (size_t k = 0; k < N_WORKLOADS; ++k)
        printf("%s %s\n", kWorkloads[k].name, kWorkloads[k].unit);
      return 0;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (a[0] == '-') {
      usage(stderr);
      die("unknown option %s", a);
    } else if (!find_workload(a)) {
      usage(stderr);
      die("unknown workload %s", a);
    } else if (n_names < 64) {
      names[n_names++] = a;
    }
  }
  if (n_names == 0)
    for (size_t k = 0; k < N_WORKLOADS; ++k) names[n_names++] = kWorkloads[k].name;

  printf("# bench_sync: multiproc %s, time budget %.3g s per implementation, "
         "%d batches, value = median of batch means\n",
         mp_version(), g_time_budget, g_batches);
  for (int i = 0; i < n_names; ++i) find_workload(names[i])->run(names[i]);
  return 0;
}
