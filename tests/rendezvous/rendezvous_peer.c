/* mp-rendezvous-peer: a program the rendezvous tests start on its own (not
 * given any handle): it serves objects through a broker, or opens them by
 * address and uses them.
 *
 *   serve ADDR [UID]  broker at ADDR: queue "jobs", lock "lk", dict "d",
 *                     event "stop", pool "pool" (2 workers); runs until
 *                     "stop" is set; UID: a uid it admits besides its own
 *   use ADDR          opens them all: under the lock, d["peer"]="hello";
 *                     puts "from-peer" and the pool's square("7") on jobs
 *   open ADDR         mp_fd_open(ADDR); prints the result's error name
 *   pool_and_die ADDR opens ADDR (a pool), submits 40 "sleep_ms" 200 tasks,
 *                     and exits without freeing anything
 *   bench_put ADDR N  opens the queue at ADDR, puts N 64-byte messages
 * Exit status 0, or 1 with the reason on stderr. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "multiproc.h"

#define CHECK(expr)                                                                   \
  do {                                                                                \
    int rc_ = (expr);                                                                 \
    if (rc_ < 0) {                                                                    \
      fprintf(stderr, "peer: %s = %s: %s\n", #expr, mp_err_name(rc_), mp_last_error()); \
      exit(1);                                                                        \
    }                                                                                 \
  } while (0)

static int square(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)p;
  char buf[32];
  snprintf(buf, sizeof buf, "%.*s", (int)(len < 16 ? len : 16), (const char *)arg);
  long v = strtol(buf, NULL, 10);
  char *s = malloc(32);
  if (!s) return 1;
  *out_len = (size_t)snprintf(s, 32, "sq:%ld", v * v);
  *out = s;
  return 0;
}

static int sleep_ms(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)p, (void)out, (void)out_len;
  char buf[32];
  snprintf(buf, sizeof buf, "%.*s", (int)(len < 16 ? len : 16), (const char *)arg);
  struct timespec ts = {0, 0};
  long ms = strtol(buf, NULL, 10);
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
  return 0;
}

static int die(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)out, (void)out_len, (void)arg, (void)len, (void)p;
  raise(SIGKILL);
  return 0;
}

static void named(char *buf, size_t cap, const char *addr, const char *name) {
  snprintf(buf, cap, "%s#%s", addr, name);
}

static int serve(const char *addr, const char *admit_uid) {
  mp_broker_t *b;
  mp_queue_t *q;
  mp_lock_t *lk;
  mp_dict_t *d;
  mp_event_t *stop;
  mp_pool_t *pool;
  mp_pool_opts_t *opts;
  CHECK(mp_queue_new(&q, 0, 0, 0));
  CHECK(mp_lock_new(&lk, 0));
  CHECK(mp_dict_new(&d, 64, 4096));
  CHECK(mp_event_new(&stop));
  CHECK(mp_pool_opts_new(&opts));
  CHECK(mp_pool_opts_set_workers(opts, 2));
  CHECK(mp_pool_new(&pool, opts));
  mp_pool_opts_free(opts);
  mp_broker_opts_t *bo;
  CHECK(mp_broker_opts_new(&bo));
  if (admit_uid) CHECK(mp_broker_opts_add_uid(bo, (uint32_t)atol(admit_uid)));
  CHECK(mp_broker_new(&b, addr, bo));
  mp_broker_opts_free(bo);
  CHECK(mp_broker_publish(b, "jobs", mp_queue_fileno(q)));
  CHECK(mp_broker_publish(b, "lk", mp_lock_fileno(lk)));
  CHECK(mp_broker_publish(b, "d", mp_dict_fileno(d)));
  CHECK(mp_broker_publish(b, "stop", mp_event_fileno(stop)));
  CHECK(mp_broker_publish_pool(b, "pool", pool));
  CHECK(mp_event_wait(stop, MP_FOREVER));
  mp_broker_free(b);
  mp_pool_free(pool);
  mp_event_free(stop);
  mp_dict_free(d);
  mp_lock_free(lk);
  mp_queue_free(q);
  return 0;
}

static int use(const char *addr) {
  char a[512];
  mp_queue_t *q;
  mp_lock_t *lk;
  mp_dict_t *d;
  mp_pool_t *pool;
  named(a, sizeof a, addr, "jobs");
  CHECK(mp_queue_open(&q, a, 5000));
  named(a, sizeof a, addr, "lk");
  CHECK(mp_lock_open(&lk, a, 5000));
  named(a, sizeof a, addr, "d");
  CHECK(mp_dict_open(&d, a, 5000));
  named(a, sizeof a, addr, "pool");
  CHECK(mp_pool_open(&pool, a, 5000));
  CHECK(mp_lock_acquire(lk, 5000));
  CHECK(mp_dict_set(d, "peer", 4, "hello", 5));
  CHECK(mp_lock_release(lk));
  CHECK(mp_queue_put(q, "from-peer", 9, 5000));
  void *out;
  size_t len;
  CHECK(mp_pool_apply(&out, &len, pool, "square", "7", 1));
  CHECK(mp_queue_put(q, out, len, 5000));
  mp_free(out);
  mp_pool_free(pool);
  mp_dict_free(d);
  mp_lock_free(lk);
  mp_queue_free(q);
  return 0;
}

static int open_only(const char *addr) {
  int fd = -1;
  int rc = mp_fd_open(&fd, addr, 5000);
  printf("%s\n", mp_err_name(rc));
  if (fd >= 0) close(fd);
  return 0;
}

static int pool_and_die(const char *addr) {
  mp_pool_t *pool;
  CHECK(mp_pool_open(&pool, addr, 5000));
  for (int i = 0; i < 40; i++) {
    mp_result_t *r;
    CHECK(mp_pool_apply_async(&r, pool, "sleep_ms", "200", 3, NULL, NULL, NULL));
  }
  struct timespec ts = {0, 100 * 1000000L};  /* the chunks are with the owner */
  nanosleep(&ts, NULL);
  _exit(0);
}

static int bench_put(const char *addr, long n) {
  mp_queue_t *q;
  char msg[64];
  memset(msg, 'x', sizeof msg);
  CHECK(mp_queue_open(&q, addr, 5000));
  for (long i = 0; i < n; i++) CHECK(mp_queue_put(q, msg, sizeof msg, MP_FOREVER));
  mp_queue_free(q);
  return 0;
}

int main(int argc, char **argv) {
  CHECK(mp_register_task("square", square, NULL));
  CHECK(mp_register_task("sleep_ms", sleep_ms, NULL));
  CHECK(mp_register_task("die", die, NULL));
  CHECK(mp_main(argc, argv));
  if (argc < 3) {
    fprintf(stderr, "usage: mp-rendezvous-peer serve|use|open|pool_and_die|bench_put ADDR [N]\n");
    return 2;
  }
  const char *mode = argv[1], *addr = argv[2];
  if (!strcmp(mode, "serve")) return serve(addr, argc > 3 ? argv[3] : NULL);
  if (!strcmp(mode, "use")) return use(addr);
  if (!strcmp(mode, "open")) return open_only(addr);
  if (!strcmp(mode, "pool_and_die")) return pool_and_die(addr);
  if (!strcmp(mode, "bench_put") && argc > 3) return bench_put(addr, atol(argv[3]));
  fprintf(stderr, "peer: unknown mode %s\n", mode);
  return 2;
}
