/* Benchmarks of the broker (issue 15), self-contained like bench_pool.c:
 *
 *   open_by_address          us to mp_queue_open() a published queue
 *                            (connect, request, SCM_RIGHTS, attach)
 *   queue_64B_1to1           msg/s of 64-byte messages: impl
 *                            multiproc_unrelated = a program started on its
 *                            own (mp-rendezvous-peer bench_put) that opened
 *                            the queue by address; impl multiproc = a forked
 *                            child given the queue, in the same run
 *   broker_pool_apply_async  us/task of apply_async + get through an opened
 *                            pool (impl multiproc_broker) and the same pool
 *                            in-process (impl multiproc)
 *
 * usage: bench_broker PEER [N]   (PEER: the mp-rendezvous-peer program) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "multiproc.h"

#define CHECK(expr)                                                                        \
  do {                                                                                     \
    int rc_ = (expr);                                                                      \
    if (rc_ < 0) {                                                                         \
      fprintf(stderr, "bench_broker: %s = %s: %s\n", #expr, mp_err_name(rc_), mp_last_error()); \
      exit(1);                                                                             \
    }                                                                                      \
  } while (0)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int echo(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)p;
  *out = malloc(len + 1);
  memcpy(*out, arg, len);
  *out_len = len;
  return 0;
}

static int put_target(const void *arg, size_t len, void *p) {
  (void)p, (void)len;
  long n;
  memcpy(&n, arg, sizeof n);
  mp_queue_t *q;
  CHECK(mp_queue_from_fd(&q, mp_child_fd(0)));
  char msg[64];
  memset(msg, 'x', sizeof msg);
  for (long i = 0; i < n; i++) CHECK(mp_queue_put(q, msg, sizeof msg, MP_FOREVER));
  mp_queue_free(q);
  return 0;
}

static double drain(mp_queue_t *q, long n) {
  char buf[64];
  size_t len;
  double t0 = 0;
  for (long i = 0; i < n; i++) {
    CHECK(mp_queue_get_into(&len, q, buf, sizeof buf, MP_FOREVER));
    if (i == 0) t0 = now_s();
  }
  return (n - 1) / (now_s() - t0);
}

static double pool_per_task(mp_pool_t *pool, int n) {
  mp_result_t **r = malloc(sizeof *r * (size_t)n);
  double t0 = now_s();
  for (int i = 0; i < n; i++) CHECK(mp_pool_apply_async(&r[i], pool, "bench_echo", "x", 1, NULL, NULL, NULL));
  for (int i = 0; i < n; i++) {
    const void *d;
    size_t len;
    CHECK(mp_result_get(&d, &len, r[i], MP_FOREVER));
    mp_result_free(r[i]);
  }
  double us = (now_s() - t0) * 1e6 / n;
  free(r);
  return us;
}

int main(int argc, char **argv) {
  CHECK(mp_register_task("bench_echo", echo, NULL));
  CHECK(mp_register("bench_put", put_target, NULL));
  CHECK(mp_main(argc, argv));
  if (argc < 2) {
    fprintf(stderr, "usage: bench_broker PEER [N]\n");
    return 2;
  }
  long n = argc > 2 ? atol(argv[2]) : 500000;
  char addr[64], qaddr[80], paddr[80], nbuf[32];
  snprintf(addr, sizeof addr, "unix:@mp-bench-broker-%d", (int)getpid());
  snprintf(qaddr, sizeof qaddr, "%s#q", addr);
  snprintf(paddr, sizeof paddr, "%s#p", addr);
  mp_queue_t *q;
  mp_broker_t *b;
  mp_pool_opts_t *o;
  mp_pool_t *pool, *opened;
  CHECK(mp_queue_new(&q, 0, 0, 0));
  CHECK(mp_pool_opts_new(&o));
  CHECK(mp_pool_opts_set_workers(o, 2));
  CHECK(mp_pool_new(&pool, o));
  mp_pool_opts_free(o);
  CHECK(mp_broker_new(&b, addr, NULL));
  CHECK(mp_broker_publish(b, "q", mp_queue_fileno(q)));
  CHECK(mp_broker_publish_pool(b, "p", pool));

  int opens = 2000;
  double t0 = now_s();
  for (int i = 0; i < opens; i++) {
    mp_queue_t *o2;
    CHECK(mp_queue_open(&o2, qaddr, 5000));
    mp_queue_free(o2);
  }
  printf("BENCH open_by_address multiproc %.2f us\n", (now_s() - t0) * 1e6 / opens);

  /* parent->child, then an unrelated program, same queue, same run */
  mp_process_t *child;
  CHECK(mp_process_new(&child, "bench_put", &n, sizeof n));
  CHECK(mp_process_pass_fd(child, mp_queue_fileno(q)));
  CHECK(mp_process_start(child));
  double child_rate = drain(q, n);
  CHECK(mp_process_join(child, MP_FOREVER));
  mp_process_free(child);
  mp_cmd_t *cmd;
  mp_process_t *peer;
  snprintf(nbuf, sizeof nbuf, "%ld", n);
  CHECK(mp_cmd_new(&cmd, argv[1]));
  CHECK(mp_cmd_add_arg(cmd, "bench_put"));
  CHECK(mp_cmd_add_arg(cmd, qaddr));
  CHECK(mp_cmd_add_arg(cmd, nbuf));
  CHECK(mp_process_spawn(&peer, cmd));
  double peer_rate = drain(q, n);
  CHECK(mp_process_join(peer, MP_FOREVER));
  mp_process_free(peer);
  mp_cmd_free(cmd);
  printf("BENCH queue_64B_1to1 multiproc %.0f msg/s\n", child_rate);
  printf("BENCH queue_64B_1to1 multiproc_unrelated %.0f msg/s\n", peer_rate);

  int tasks = 20000;
  CHECK(mp_pool_open(&opened, paddr, 5000));
  pool_per_task(pool, 1000);  /* warm-up */
  pool_per_task(opened, 1000);
  printf("BENCH broker_pool_apply_async multiproc %.2f us/task\n", pool_per_task(pool, tasks));
  printf("BENCH broker_pool_apply_async multiproc_broker %.2f us/task\n", pool_per_task(opened, tasks));
  mp_pool_free(opened);
  mp_broker_free(b);
  mp_pool_free(pool);
  mp_queue_free(q);
  return 0;
}
