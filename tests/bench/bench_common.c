/* Shared by the benchmark programs: see bench_common.h. */
#include "bench_common.h"

#include <errno.h>
#include <sched.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

bench_opts_t g_opts = {1.5, 5, 0, 0, ~0u, 0};
ipc_ctl_t *g_ctl;
static const char *g_prog = "bench";

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", g_prog);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(2);
}

int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double now_s(void) { return (double)now_ns() * 1e-9; }

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, NULL);
}

static void check_status(int status, const char *what) {
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  if (g_ctl && g_ctl->failed) die("%s: %s", what, g_ctl->err);
  die("%s: child ended with wait status 0x%x", what, status);
}

void wait_ok(pid_t pid, const char *what) {
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) die("%s: waitpid: %s", what, strerror(errno));
  check_status(status, what);
}

pid_t fork_child(int (*fn)(void *arg), void *arg) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) _exit(fn(arg));
  return pid;
}

void wait_children(const pid_t *pids, int n, double deadline_s, const char *what) {
  int done[16] = {0}, left = n, status;
  double end = now_s() + deadline_s;
  while (left > 0) {
    for (int i = 0; i < n; ++i) {
      if (done[i]) continue;
      pid_t r = waitpid(pids[i], &status, WNOHANG);
      if (r < 0 && errno != EINTR) die("%s: waitpid: %s", what, strerror(errno));
      if (r == pids[i]) {
        done[i] = 1;
        --left;
        check_status(status, what);
      }
    }
    if (left > 0 && now_s() > end) {
      char report[1024] = "";
      if (g_ctl) ctl_hang_report(report, sizeof report);
      for (int i = 0; i < n; ++i)
        if (!done[i]) kill(pids[i], SIGKILL), waitpid(pids[i], &status, 0);
      die("%s: hung for %g s: %s", what, deadline_s, report);
    }
    if (left > 0) sleep_us(1000);
  }
}

/* ------------------------------------------------------------------------
 * Placement, pinning, busy processes
 * ---------------------------------------------------------------------- */

void place_mark(void) {
  if (g_ctl) __atomic_store_n(&g_ctl->place_cpu, sched_getcpu(), __ATOMIC_RELAXED);
}

void place_check(void) {
  if (!g_ctl) return;
  int other = __atomic_load_n(&g_ctl->place_cpu, __ATOMIC_RELAXED);
  if (other < 0) return; /* nothing marked yet */
  __atomic_add_fetch(other == sched_getcpu() ? &g_ctl->place_same : &g_ctl->place_other,
                     1, __ATOMIC_RELAXED);
}

static void place_zero(void) {
  if (!g_ctl) return;
  g_ctl->place_cpu = -1;
  g_ctl->place_same = g_ctl->place_other = 0;
}

static cpu_set_t g_saved_affinity;
static int g_pinned;

int pin_here(void) {
  int cpu = sched_getcpu();
  cpu_set_t one;
  if (cpu < 0) die("sched_getcpu: %s", strerror(errno));
  if (sched_getaffinity(0, sizeof g_saved_affinity, &g_saved_affinity) < 0)
    die("sched_getaffinity: %s", strerror(errno));
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (sched_setaffinity(0, sizeof one, &one) < 0) die("sched_setaffinity: %s", strerror(errno));
  g_pinned = 1;
  return cpu;
}

void pin_restore(void) {
  if (g_pinned && sched_setaffinity(0, sizeof g_saved_affinity, &g_saved_affinity) < 0)
    die("sched_setaffinity: %s", strerror(errno));
  g_pinned = 0;
}

static pid_t g_busy[8];
static int g_n_busy;

static int busy_loop(void *arg) {
  volatile unsigned long x = 0;
  (void)arg;
  for (;;) ++x;
  return 0;
}

void busy_start(int n) {
  for (; g_n_busy < n && g_n_busy < 8; ++g_n_busy) g_busy[g_n_busy] = fork_child(busy_loop, NULL);
}

void busy_stop(void) {
  for (int i = 0; i < g_n_busy; ++i) {
    int status;
    kill(g_busy[i], SIGKILL);
    waitpid(g_busy[i], &status, 0);
  }
  g_n_busy = 0;
}

/* ------------------------------------------------------------------------
 * Measurement
 * ---------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

double bench_calls_batch(void *ctx, long n) {
  void (*fn)(void) = ((const bench_calls_t *)ctx)->fn;
  double t0 = now_s();
  for (long i = 0; i < n; ++i) fn();
  return now_s() - t0;
}

long vm_rss_kib(void) {
  char line[256];
  long kib = -1;
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &kib) == 1) break;
  fclose(f);
  return kib;
}

double bench_median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double batch_value(const bench_metric_t *m, long units, double secs) {
  if (secs <= 0) secs = 1e-9;
  if (m->rate) return (double)units * m->scale / secs;
  return secs / (double)units * (m->time_scale > 0 ? m->time_scale : 1e6);
}

/* Warm up for about `budget` seconds with growing batches; return the
 * seconds per unit of the last (largest) batch. */
static double warm_up(const bench_impl_t *im, const bench_metric_t *m, double budget) {
  long units = m->first_n > 0 ? m->first_n : 1;
  double spent = 0, per;
  for (;;) {
    double s = im->fn(im->ctx, units);
    spent += s;
    per = (s > 0 ? s : 1e-9) / (double)units;
    if (spent >= budget) return per;
    double want = (budget - spent) / per; /* units that fill the rest */
    long next = units * 2;
    if (want > (double)next) next = want < (double)units * 16 ? (long)want : units * 16;
    units = next;
  }
}

void bench_measure(const char *name, const bench_metric_t *m,
                   const bench_impl_t *impls, int n) {
  long units[8];
  double *vals[8];
  int64_t same[8] = {0}, other[8] = {0};
  if (n > 8) die("too many implementations");
  for (int k = 0; k < n; ++k) {
    double per = g_opts.no_warmup ? 1 : warm_up(&impls[k], m, g_opts.time * 0.1);
    double u = g_opts.time / ((double)g_opts.batches * per);
    units[k] = g_opts.iters > 0 ? g_opts.iters : u < 1 ? 1 : u > 1e9 ? 1000000000L : (long)u;
    vals[k] = (double *)calloc((size_t)g_opts.batches, sizeof(double));
    if (!vals[k]) die("out of memory");
  }
  for (int b = 0; b < g_opts.batches; ++b)
    for (int k = 0; k < n; ++k) {
      place_zero();
      vals[k][b] = batch_value(m, units[k], impls[k].fn(impls[k].ctx, units[k]));
      if (g_ctl) same[k] += g_ctl->place_same, other[k] += g_ctl->place_other;
    }
  for (int k = 0; k < n; ++k) {
    int nb = g_opts.batches;
    double *v = vals[k];
    double med = bench_median(v, nb);
    const char *per = m->per_batch ? m->per_batch : m->rate ? "messages" : "iterations";
    printf("# %s %s: median of %d batch means, %ld %s/batch, batch means "
           "%.2f..%.2f %s\n",
           name, impls[k].impl, nb, units[k], per, v[0], v[nb - 1], m->unit);
    printf("%s %s %s %.2f %s\n", m->kind ? m->kind : "BENCH", name, impls[k].impl, med,
           m->unit);
    if (same[k] + other[k] > 0)
      printf("PLACE %s %s %lld %lld\n", name, impls[k].impl, (long long)same[k],
             (long long)other[k]);
    fflush(stdout);
    free(v);
  }
}

/* ------------------------------------------------------------------------
 * main()
 * ---------------------------------------------------------------------- */

int bench_want(int k) { return (g_opts.impls >> k) & 1u; }

static void usage(FILE *f, const bench_workload_t *w, size_t nw,
                  const char *const *impl_names, int ni) {
  fprintf(f, "usage: %s [--time SEC] [--batches N] [--iters N] [--impl LIST] "
          "[--quick] [--no-warmup] [--list] NAME...\nimpls (comma-separated):", g_prog);
  for (int i = 0; i < ni; ++i) fprintf(f, " %s", impl_names[i]);
  fprintf(f, "\nnames:");
  for (size_t i = 0; i < nw; ++i) fprintf(f, " %s", w[i].name);
  fputc('\n', f);
}

static double parse_num(const char *opt, const char *s, double min) {
  char *end;
  if (!s) die("%s needs a value", opt);
  double v = strtod(s, &end);
  if (*end || !(v >= min)) die("%s %s: expected a number >= %g", opt, s, min);
  return v;
}

static unsigned parse_impls(const char *s, const char *const *names, int n) {
  unsigned mask = 0;
  char buf[256];
  if (!s || strlen(s) >= sizeof buf) die("--impl needs a list");
  strcpy(buf, s);
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    int k = 0;
    if (strcmp(t, "all") == 0 || strcmp(t, "both") == 0) {
      mask = ~0u;
      continue;
    }
    while (k < n && strcmp(names[k], t) != 0) ++k;
    if (k == n) die("--impl: unknown implementation %s", t);
    mask |= 1u << k;
  }
  return mask;
}

int bench_main(const char *prog, const char *banner, int argc, char **argv,
               const bench_workload_t *w, size_t nw,
               const char *const *impl_names, int ni) {
  const char *names[64];
  int n_names = 0;
  g_prog = prog;
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    if (strcmp(a, "--time") == 0) {
      g_opts.time = parse_num(a, argv[++i], 0.001);
    } else if (strcmp(a, "--batches") == 0) {
      g_opts.batches = (int)parse_num(a, argv[++i], 1);
    } else if (strcmp(a, "--iters") == 0) {
      g_opts.iters = (long)parse_num(a, argv[++i], 1);
    } else if (strcmp(a, "--no-warmup") == 0) {
      g_opts.no_warmup = 1;
    } else if (strcmp(a, "--impl") == 0) {
      g_opts.impls = parse_impls(argv[++i], impl_names, ni);
    } else if (strcmp(a, "--quick") == 0) {
      g_opts.quick = 1;
      g_opts.time = 0.05;
      g_opts.batches = 3;
    } else if (strcmp(a, "--list") == 0) {
      for (size_t k = 0; k < nw; ++k) printf("%s %s\n", w[k].name, w[k].unit);
      return 0;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout, w, nw, impl_names, ni);
      return 0;
    } else {
      size_t k = 0;
      while (k < nw && strcmp(w[k].name, a) != 0) ++k;
      if (a[0] == '-' || k == nw) {
        usage(stderr, w, nw, impl_names, ni);
        die("unknown %s %s", a[0] == '-' ? "option" : "workload", a);
      }
      if (n_names < 64) names[n_names++] = a;
    }
  }
  if (g_opts.no_warmup && g_opts.iters == 0) die("--no-warmup needs --iters");
  if (n_names == 0)
    for (size_t k = 0; k < nw && k < 64; ++k) names[n_names++] = w[k].name;
  printf("# %s: %s, time budget %.3g s per implementation, %d batches, "
         "value = median of batch means\n", prog, banner, g_opts.time,
         g_opts.batches);
  for (int i = 0; i < n_names; ++i)
    for (size_t k = 0; k < nw; ++k)
      if (strcmp(w[k].name, names[i]) == 0) w[k].run(names[i]);
  return 0;
}

/* ------------------------------------------------------------------------
 * Queue workloads
 * ---------------------------------------------------------------------- */

long q_share(const qcfg_t *cfg, int idx) {
  long share = cfg->n / cfg->producers;
  return idx == 0 ? share + cfg->n % cfg->producers : share;
}

void ctl_reset(void) {
  if (!g_ctl) {
    void *p = mmap(NULL, sizeof *g_ctl, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("mmap: %s", strerror(errno));
    g_ctl = (ipc_ctl_t *)p;
  }
  memset(g_ctl, 0, sizeof *g_ctl);
  g_ctl->t_first_ns = INT64_MAX;
  g_ctl->place_cpu = -1;
}

int ctl_fail(const char *fmt, ...) {
  if (__atomic_exchange_n(&g_ctl->failed, 1, __ATOMIC_SEQ_CST) == 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_ctl->err, sizeof g_ctl->err, fmt, ap);
    va_end(ap);
  }
  return 1;
}

static void ready_as(char role) {
  int slot = __atomic_fetch_add(&g_ctl->ready, 1, __ATOMIC_SEQ_CST);
  if (slot < 16) g_ctl->pid[slot] = getpid(), g_ctl->role[slot] = role;
}

void ctl_ready(void) { ready_as('C'); }

void ctl_wait_go(void) {
  ready_as('P');
  while (!__atomic_load_n(&g_ctl->go, __ATOMIC_ACQUIRE)) sleep_us(20);
}

void ctl_first_put(void) {
  int64_t t = now_ns(), cur = __atomic_load_n(&g_ctl->t_first_ns, __ATOMIC_RELAXED);
  while (t < cur && !__atomic_compare_exchange_n(&g_ctl->t_first_ns, &cur, t, 0,
                                                  __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
  }
}

void ctl_last_get(long got) {
  int64_t t = now_ns(), cur = __atomic_load_n(&g_ctl->t_last_ns, __ATOMIC_RELAXED);
  while (t > cur && !__atomic_compare_exchange_n(&g_ctl->t_last_ns, &cur, t, 0,
                                                  __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
  }
  __atomic_add_fetch(&g_ctl->got, (int64_t)got, __ATOMIC_SEQ_CST);
}

void ctl_hang_report(char *buf, size_t cap) {
  size_t len = (size_t)snprintf(buf, cap, ">= %lld messages put, >= %lld got",
                                (long long)g_ctl->put_progress,
                                (long long)g_ctl->got_progress);
  for (int i = 0; i < g_ctl->ready && i < 16 && len < cap; ++i) {
    char path[64], wchan[64] = "?", stat[256] = "", state = '?';
    FILE *f;
    snprintf(path, sizeof path, "/proc/%d/wchan", (int)g_ctl->pid[i]);
    if ((f = fopen(path, "r"))) {
      if (!fgets(wchan, sizeof wchan, f)) strcpy(wchan, "?");
      fclose(f);
    }
    snprintf(path, sizeof path, "/proc/%d/stat", (int)g_ctl->pid[i]);
    if ((f = fopen(path, "r"))) {
      if (fgets(stat, sizeof stat, f) && strrchr(stat, ')'))
        state = strrchr(stat, ')')[2];
      fclose(f);
    }
    len += (size_t)snprintf(buf + len, cap - len, "; %s pid %d state %c wchan %s",
                            g_ctl->role[i] == 'P' ? "producer" : "consumer",
                            (int)g_ctl->pid[i], state, wchan);
  }
  if (g_ctl->failed && len < cap) snprintf(buf + len, cap - len, "; %s", g_ctl->err);
}

void ctl_start(int n, const char *what) {
  double end = now_s() + BENCH_WATCHDOG_S;
  while (__atomic_load_n(&g_ctl->ready, __ATOMIC_ACQUIRE) < n) {
    if (g_ctl->failed) die("%s: %s", what, g_ctl->err);
    if (now_s() > end) die("%s: the children did not get ready", what);
    sleep_us(50);
  }
  __atomic_store_n(&g_ctl->go, 1, __ATOMIC_RELEASE);
}

double ctl_elapsed(const qcfg_t *cfg, const char *what) {
  if (g_ctl->failed) die("%s: %s", what, g_ctl->err);
  if (g_ctl->got != cfg->n)
    die("%s: the consumers got %lld data messages, %ld were put", what,
        (long long)g_ctl->got, cfg->n);
  if (g_ctl->t_first_ns == INT64_MAX || g_ctl->t_last_ns < g_ctl->t_first_ns)
    die("%s: no timing recorded", what);
  return (double)(g_ctl->t_last_ns - g_ctl->t_first_ns) * 1e-9;
}

void q_fill(void *buf, size_t len, int producer) {
  memset(buf, 0xa5, len);
  ((unsigned char *)buf)[8] = (unsigned char)producer;
}

void q_stamp(void *buf, size_t len, uint64_t seq) {
  memcpy(buf, &seq, 8);
  memcpy((char *)buf + len - 8, &seq, 8);
}

int q_check(qcheck_t *c, const void *buf, size_t len, size_t want_len) {
  uint64_t seq, tail;
  unsigned p;
  if (len != want_len) return -ctl_fail("got a message of %zu bytes, %zu expected", len, want_len);
  memcpy(&seq, buf, 8);
  if (seq == Q_PILL) return 0;
  memcpy(&tail, (const char *)buf + len - 8, 8);
  p = ((const unsigned char *)buf)[8];
  if ((c->got & 255) == 255) place_check();
  if (tail != seq || p >= 8)
    return -ctl_fail("corrupt message (sequence %llu, tail %llu, producer %u)",
                     (unsigned long long)seq, (unsigned long long)tail, p);
  if (seq < c->next[p])
    return -ctl_fail("message %llu of producer %u after %llu: out of order "
                     "or duplicated", (unsigned long long)seq, p,
                     (unsigned long long)(c->next[p] - 1));
  c->next[p] = seq + 1;
  if ((++c->got & 1023) == 0)
    __atomic_add_fetch(&g_ctl->got_progress, 1024, __ATOMIC_RELAXED);
  return 1;
}
