/*
 * IPC benchmarks: multiproc queues and connections against the raw limit.
 *
 *   bench_ipc [options] NAME...
 *     --time SEC     time budget per implementation and workload (default 1.5)
 *     --batches N    timed batches per implementation (default 5)
 *     --iters N      messages (round trips) per batch (default: calibrated)
 *     --impl LIST    multiproc, raw or both (default both, batches alternate)
 *     --quick        smoke mode: --time 0.05 --batches 3
 *     --list         print the workload names and units, one a line
 *
 * For each NAME it prints `BENCH <name> multiproc <value> <unit>` and
 * `BENCH <name> raw <value> <unit>` (no raw line for queue_64B_2to2), the
 * median of the batch means; the method is in bench_common.h. The Boost
 * peer of the queue workloads is bench_boost.cpp, the CPython one
 * cpython_bench.py.
 *
 * Queue workloads: a batch forks its producers and consumers (not timed),
 * lets the producers go at once, and times from the first put to the end
 * of the last get (CLOCK_MONOTONIC across the processes). Producer i puts
 * its share of the batch's messages, numbered, then one pill; a consumer
 * gets (into its own buffer) until it sees a pill and checks every message
 * (length, per-producer order, no duplicate; the total count at the end).
 * Value: data messages per second (msg/s), or for 1 MiB messages
 * MB/s = 10^6 bytes per second.
 *   queue_64B_1to1  mp_queue_new(maxsize 0, default max_bytes), handed to
 *                   the children (mp_process_new, MP_START_FORK) with
 *                   mp_process_pass_fd + mp_child_fd + mp_queue_from_fd;
 *                   mp_queue_put / mp_queue_get_into, MP_FOREVER
 *                   | raw: a lock-free single-producer single-consumer ring
 *                   of 16384 64-byte slots (1 MiB) in a shared anonymous
 *                   mapping, both sides spinning: the physical limit
 *                   | multiproc_many: the same queue, the producer puts
 *                   256 messages per mp_queue_put_many, the consumer
 *                   gets up to 256 per mp_queue_get_many into its buffer
 *                   (and checks each)
 *   queue_64B_2to2  the same with 2 producers and 2 consumers | no raw
 *   queue_64B_4to4, queue_64B_8to8
 *                   the same with 4 / 8 producers and as many consumers
 *                   (8 -> 8: 16 processes on the machine's CPUs) | no raw
 *   queue_64B_1to1_loaded
 *                   queue_64B_1to1 (and its raw ring) while 2 CPU-bound
 *                   busy processes run (started before the warm-up, killed
 *                   after the last batch): a design that spins must not
 *                   collapse when the cores are shared
 *   queue_1MiB      1 -> 1, 1 MiB messages (a message above half of the
 *                   queue's 1 MiB ring streams through it in pieces)
 *                   | raw: 1 MiB write()s into a pipe (default pipe size),
 *                   read() until a message is whole
 * Connection workload (the batch function loops n round trips, us each):
 *   pingpong_64B    mp_pipe(duplex); a child (MP_START_FORK) echoes with
 *                   mp_conn_recv_into + mp_conn_send; the parent sends 64
 *                   bytes and receives them back | raw: socketpair
 *                   (AF_UNIX stream), write 64 / read 64 both ways
 *   pingpong_64B_samecpu
 *                   the same with this process pinned (sched_setaffinity)
 *                   to the CPU it runs on before it forks the echo
 *                   children, so that both sides share one CPU
 * Placement: the queue and ping-pong children sample sched_getcpu (a
 * producer every 256 puts, the echo before each reply) and the other side
 * compares its own (a consumer every 256 gets, the parent after each
 * reply); per implementation a `PLACE <name> <impl> <same> <other>` line
 * counts the samples that found both on one CPU / on two.
 * Memory (KiB, lower is better; median of --batches samples):
 *   queue_idle_rss_1, queue_idle_rss_8, queue_idle_rss_64
 *                   a forked child reads its VmRSS, creates 1 / 8 / 64
 *                   queues (mp_queue_new(maxsize 0, default 1 MiB ring)),
 *                   reads VmRSS again: the difference, what idle queues
 *                   cost the process that made them (no raw figure)
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_mp.h"

#define PRODUCER_TARGET "bench_queue_producer"
#define CONSUMER_TARGET "bench_queue_consumer"
#define ECHO_TARGET "bench_echo"
#define PING_SIZE 64

static const char *const kImpls[] = {"multiproc", "raw", "multiproc_many"};
enum { IMPL_MULTIPROC, IMPL_RAW, IMPL_MULTIPROC_MANY };

/* Messages per mp_queue_put_many / mp_queue_get_many (multiproc_many). */
#define MANY 256

/* ------------------------------------------------------------------------
 * multiproc: queue
 * ---------------------------------------------------------------------- */

typedef struct qarg {
  qcfg_t cfg;
  int idx;  /* producer number (message tag) */
  int many; /* put_many / get_many, MANY at a time */
} qarg_t;

static int open_child_queue(mp_queue_t **q) {
  int fd = mp_child_fd(0), r;
  if (fd < 0) return child_mp_fail(fd, "mp_child_fd");
  r = mp_queue_from_fd(q, fd);
  return r < 0 ? child_mp_fail(r, "mp_queue_from_fd") : 0;
}

/* Put n numbered messages MANY at a time (buf: MANY filled messages). */
static int put_many_numbered(mp_queue_t *q, char *buf, size_t size, long n) {
  const void *bufs[MANY];
  size_t lens[MANY], put;
  int r;
  for (long i = 0; i < n;) {
    int m = n - i < MANY ? (int)(n - i) : MANY;
    for (int k = 0; k < m; ++k) {
      bufs[k] = buf + k * size;
      lens[k] = size;
      q_stamp(buf + k * size, size, (uint64_t)(i + k));
    }
    if ((r = mp_queue_put_many(&put, q, bufs, lens, (size_t)m, MP_FOREVER)) < 0)
      return child_mp_fail(r, "mp_queue_put_many");
    for (int k = 0; k < m; ++k) ctl_put_progress(i + k);
    i += m;
  }
  return 0;
}

/* Get MANY at a time and check each message, up to the pill (1 -> 1: the
 * pill is the producer's last message, so nothing follows it). */
static int get_many_checked(mp_queue_t *q, char *buf, size_t size, qcheck_t *check) {
  size_t lens[MANY], count;
  int r, k = 1;
  while (k > 0) {
    if ((r = mp_queue_get_many(&count, q, buf, size * MANY, lens, MANY, MP_FOREVER)) < 0)
      return child_mp_fail(r, "mp_queue_get_many");
    const char *at = buf;
    for (size_t i = 0; i < count && k > 0; at += lens[i], ++i)
      if ((k = q_check(check, at, lens[i], size)) < 0) return 1;
  }
  return 0;
}

static int mp_producer(const void *arg, size_t arg_len, void *payload) {
  qarg_t a;
  mp_queue_t *q = NULL;
  int r;
  (void)payload;
  if (arg_len != sizeof a) return ctl_fail("producer: bad argument");
  memcpy(&a, arg, sizeof a);
  if (open_child_queue(&q)) return 1;
  size_t size = a.cfg.msg_size;
  int copies = a.many ? MANY : 1;
  char *buf = malloc(size * (size_t)copies);
  if (!buf) return ctl_fail("producer: out of memory");
  for (int k = 0; k < copies; ++k) q_fill(buf + k * size, size, a.idx);
  long n = q_share(&a.cfg, a.idx);
  ctl_wait_go();
  ctl_first_put();
  if (a.many) {
    if ((r = put_many_numbered(q, buf, size, n)) != 0) return r;
  } else {
    for (long i = 0; i < n; ++i) {
      q_stamp(buf, size, (uint64_t)i);
      if ((r = mp_queue_put(q, buf, size, MP_FOREVER)) < 0)
        return child_mp_fail(r, "mp_queue_put");
      ctl_put_progress(i);
    }
  }
  q_stamp(buf, size, Q_PILL);
  if ((r = mp_queue_put(q, buf, size, MP_FOREVER)) < 0)
    return child_mp_fail(r, "mp_queue_put (pill)");
  mp_queue_free(q);
  free(buf);
  return 0;
}

static int mp_consumer(const void *arg, size_t arg_len, void *payload) {
  qarg_t a;
  mp_queue_t *q = NULL;
  qcheck_t check;
  int r, k = 1;
  (void)payload;
  if (arg_len != sizeof a) return ctl_fail("consumer: bad argument");
  memcpy(&a, arg, sizeof a);
  if (open_child_queue(&q)) return 1;
  size_t size = a.cfg.msg_size, len;
  char *buf = malloc(a.many ? size * MANY : size);
  if (!buf) return ctl_fail("consumer: out of memory");
  memset(&check, 0, sizeof check);
  ctl_ready();
  if (a.many) {
    if (get_many_checked(q, buf, size, &check)) return 1;
    k = 0;
  }
  while (k > 0) {
    if ((r = mp_queue_get_into(&len, q, buf, size, MP_FOREVER)) < 0)
      return child_mp_fail(r, "mp_queue_get_into");
    if ((k = q_check(&check, buf, len, size)) < 0) return 1;
  }
  ctl_last_get(check.got);
  mp_queue_free(q);
  free(buf);
  return 0;
}

static mp_process_t *start_queue_child(const char *target, mp_queue_t *q,
                                       const qarg_t *run, int idx) {
  mp_process_t *p = NULL;
  qarg_t a = *run;
  a.idx = idx;
  check_mp(mp_process_new(&p, target, &a, sizeof a), "mp_process_new");
  check_mp(mp_process_pass_fd(p, mp_queue_fileno(q)), "mp_process_pass_fd");
  check_mp(mp_process_start(p), "mp_process_start");
  return p;
}

/* ctx: a qarg_t, the children's argument but for idx. */
static double mp_queue_batch(void *ctx, long n) {
  qarg_t run = *(const qarg_t *)ctx;
  qcfg_t cfg = run.cfg;
  mp_queue_t *q = NULL;
  mp_process_t *procs[16];
  int np = 0;
  cfg.n = run.cfg.n = n;
  ctl_reset();
  check_mp(mp_queue_new(&q, 0, 0, 0), "mp_queue_new");
  for (int i = 0; i < cfg.consumers; ++i)
    procs[np++] = start_queue_child(CONSUMER_TARGET, q, &run, i);
  for (int i = 0; i < cfg.producers; ++i)
    procs[np++] = start_queue_child(PRODUCER_TARGET, q, &run, i);
  ctl_start(np, "multiproc queue");
  join_all(procs, np, q, "multiproc queue");
  for (int i = 0; i < np; ++i) mp_process_free(procs[i]);
  mp_queue_free(q);
  return ctl_elapsed(&cfg, "multiproc queue");
}

/* ------------------------------------------------------------------------
 * raw: SPSC ring of 64-byte slots in a shared anonymous mapping
 * ---------------------------------------------------------------------- */

#define RING_SLOTS 16384 /* x 64 B = 1 MiB, the queue's default ring */
#define SLOT 64

typedef struct spsc {
  _Alignas(64) uint64_t head; /* next slot to read (consumer) */
  _Alignas(64) uint64_t tail; /* next slot to write (producer) */
  _Alignas(64) unsigned char slot[RING_SLOTS][SLOT];
} spsc_t;

typedef struct raw_q {
  qcfg_t cfg;
  spsc_t *ring;
  int fds[2]; /* queue_1MiB: the pipe */
} raw_q_t;

static inline void spin(unsigned *spins) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
  if (++*spins % 1024 == 0) sched_yield(); /* another process needs the CPU */
}

static int ring_producer(void *arg) {
  raw_q_t *rq = arg;
  spsc_t *r = rq->ring;
  uint64_t tail = 0, head = 0;
  long n = rq->cfg.n;
  unsigned spins = 0;
  unsigned char msg[SLOT];
  q_fill(msg, SLOT, 0);
  ctl_wait_go();
  ctl_first_put();
  for (long i = 0; i <= n; ++i) { /* n data messages, then the pill */
    while (tail - head == RING_SLOTS) {
      head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
      if (tail - head == RING_SLOTS) spin(&spins);
    }
    q_stamp(msg, SLOT, i < n ? (uint64_t)i : Q_PILL);
    memcpy(r->slot[tail % RING_SLOTS], msg, SLOT);
    __atomic_store_n(&r->tail, ++tail, __ATOMIC_RELEASE);
    ctl_put_progress(i);
  }
  return 0;
}

static int ring_consumer(void *arg) {
  raw_q_t *rq = arg;
  spsc_t *r = rq->ring;
  uint64_t head = 0, tail = 0;
  unsigned spins = 0;
  unsigned char msg[SLOT];
  qcheck_t check;
  int k;
  memset(&check, 0, sizeof check);
  ctl_ready();
  do {
    while (head == tail) {
      tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
      if (head == tail) spin(&spins);
    }
    memcpy(msg, r->slot[head % RING_SLOTS], SLOT);
    __atomic_store_n(&r->head, ++head, __ATOMIC_RELEASE);
    if ((k = q_check(&check, msg, SLOT, SLOT)) < 0) return 1;
  } while (k > 0);
  ctl_last_get(check.got);
  return 0;
}

static double raw_ring_batch(void *ctx, long n) {
  raw_q_t *rq = ctx;
  pid_t pids[2];
  rq->cfg.n = n;
  ctl_reset();
  if (!rq->ring) {
    void *p = mmap(NULL, sizeof(spsc_t), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("mmap: %s", strerror(errno));
    rq->ring = p;
  }
  rq->ring->head = rq->ring->tail = 0;
  pids[0] = fork_child(ring_consumer, rq);
  pids[1] = fork_child(ring_producer, rq);
  ctl_start(2, "raw ring");
  wait_children(pids, 2, BENCH_WATCHDOG_S, "raw ring");
  return ctl_elapsed(&rq->cfg, "raw ring");
}

/* ------------------------------------------------------------------------
 * raw: a pipe stream of fixed-size messages (queue_1MiB)
 * ---------------------------------------------------------------------- */

static int write_full(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w, len -= (size_t)w;
  }
  return 0;
}

/* 1: whole, 0: end of stream before any byte, -1: error. */
static int read_full(int fd, void *buf, size_t len) {
  char *p = buf;
  size_t got = 0;
  while (got < len) {
    ssize_t r = read(fd, p + got, len - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) return got == 0 ? 0 : -1;
    got += (size_t)r;
  }
  return 1;
}

static int pipe_producer(void *arg) {
  raw_q_t *rq = arg;
  size_t size = rq->cfg.msg_size;
  long n = rq->cfg.n;
  char *buf = malloc(size);
  if (!buf) return ctl_fail("producer: out of memory");
  close(rq->fds[0]);
  q_fill(buf, size, 0);
  ctl_wait_go();
  ctl_first_put();
  for (long i = 0; i <= n; ++i) {
    q_stamp(buf, size, i < n ? (uint64_t)i : Q_PILL);
    if (write_full(rq->fds[1], buf, size) < 0)
      return ctl_fail("pipe write: %s", strerror(errno));
    ctl_put_progress(i);
  }
  return 0;
}

static int pipe_consumer(void *arg) {
  raw_q_t *rq = arg;
  size_t size = rq->cfg.msg_size;
  char *buf = malloc(size);
  qcheck_t check;
  int k;
  if (!buf) return ctl_fail("consumer: out of memory");
  close(rq->fds[1]);
  memset(&check, 0, sizeof check);
  ctl_ready();
  do {
    if (read_full(rq->fds[0], buf, size) <= 0)
      return ctl_fail("pipe read: %s", errno ? strerror(errno) : "end of stream");
    if ((k = q_check(&check, buf, size, size)) < 0) return 1;
  } while (k > 0);
  ctl_last_get(check.got);
  return 0;
}

static double raw_pipe_batch(void *ctx, long n) {
  raw_q_t *rq = ctx;
  pid_t pids[2];
  rq->cfg.n = n;
  ctl_reset();
  if (pipe(rq->fds) < 0) die("pipe: %s", strerror(errno));
  pids[0] = fork_child(pipe_consumer, rq);
  pids[1] = fork_child(pipe_producer, rq);
  close(rq->fds[0]);
  close(rq->fds[1]);
  ctl_start(2, "raw pipe");
  wait_children(pids, 2, BENCH_WATCHDOG_S, "raw pipe");
  return ctl_elapsed(&rq->cfg, "raw pipe");
}

/* ------------------------------------------------------------------------
 * Queue workloads
 * ---------------------------------------------------------------------- */

static void run_queue(const char *name, int pairs, size_t msg_size,
                      bench_batch_fn raw_fn, int busy) {
  qcfg_t cfg = {pairs, pairs, msg_size, 0};
  qarg_t one = {cfg, 0, 0}, many = {cfg, 0, 1};
  raw_q_t rq;
  bench_impl_t impls[3];
  int n = 0;
  int big = msg_size >= 4096;
  bench_metric_t m = {.unit = big ? "MB/s" : "msg/s", .rate = 1,
                      .scale = big ? (double)msg_size / 1e6 : 1.0,
                      .first_n = big ? 16 : 20000};
  memset(&rq, 0, sizeof rq);
  rq.cfg = cfg;
  if (bench_want(IMPL_MULTIPROC))
    impls[n++] = (bench_impl_t){"multiproc", mp_queue_batch, &one};
  if (bench_want(IMPL_RAW) && raw_fn) impls[n++] = (bench_impl_t){"raw", raw_fn, &rq};
  /* Batches: 1 -> 1 small messages only (a consumer must stop at the pill,
   * and with one producer nothing follows it). */
  if (bench_want(IMPL_MULTIPROC_MANY) && pairs == 1 && msg_size < 4096)
    impls[n++] = (bench_impl_t){"multiproc_many", mp_queue_batch, &many};
  if (!raw_fn) printf("# %s: no raw figure (an SPSC ring has one producer)\n", name);
  if (busy) printf("# %s: %d CPU-bound busy processes running\n", name, busy);
  busy_start(busy);
  bench_measure(name, &m, impls, n);
  busy_stop();
  if (rq.ring) munmap(rq.ring, sizeof(spsc_t));
}

static void run_queue_64B_1to1(const char *name) { run_queue(name, 1, 64, raw_ring_batch, 0); }
static void run_queue_64B_2to2(const char *name) { run_queue(name, 2, 64, NULL, 0); }
static void run_queue_64B_4to4(const char *name) { run_queue(name, 4, 64, NULL, 0); }
static void run_queue_64B_8to8(const char *name) { run_queue(name, 8, 64, NULL, 0); }
static void run_queue_64B_1to1_loaded(const char *name) {
  run_queue(name, 1, 64, raw_ring_batch, 2);
}
static void run_queue_1MiB(const char *name) { run_queue(name, 1, 1 << 20, raw_pipe_batch, 0); }

/* ------------------------------------------------------------------------
 * pingpong_64B
 * ---------------------------------------------------------------------- */

static int mp_echo(const void *arg, size_t arg_len, void *payload) {
  mp_conn_t *c = NULL;
  char buf[PING_SIZE];
  size_t len;
  int fd = mp_child_fd(0), r;
  (void)arg, (void)arg_len, (void)payload;
  if (fd < 0) return 1;
  if (mp_conn_from_fd(&c, fd, MP_CONN_READABLE | MP_CONN_WRITABLE) < 0) return 1;
  /* An empty message ends the echo (the parent's end stays open here:
   * a fork child inherits every descriptor). */
  while ((r = mp_conn_recv_into(&len, c, buf, sizeof buf, MP_FOREVER)) == MP_OK &&
         len > 0)
  {
    place_mark();
    if (mp_conn_send(c, buf, len, MP_FOREVER) < 0) return 1;
  }
  mp_conn_free(c);
  return r == MP_OK ? 0 : 1;
}

typedef struct mp_ping {
  mp_conn_t *conn;
  mp_process_t *echo;
} mp_ping_t;

static double mp_ping_batch(void *ctx, long n) {
  mp_ping_t *pp = ctx;
  char buf[PING_SIZE];
  size_t len;
  memset(buf, 0x5a, sizeof buf);
  double t0 = now_s();
  for (long i = 0; i < n; ++i) {
    check_mp(mp_conn_send(pp->conn, buf, sizeof buf, MP_FOREVER), "mp_conn_send");
    check_mp(mp_conn_recv_into(&len, pp->conn, buf, sizeof buf, MP_FOREVER),
             "mp_conn_recv_into");
    if (len != sizeof buf) die("pingpong: got %zu bytes back", len);
    place_check();
  }
  return now_s() - t0;
}

static int raw_echo(void *arg) {
  int *sv = arg, fd = sv[1], r;
  char buf[PING_SIZE];
  close(sv[0]);
  while ((r = read_full(fd, buf, sizeof buf)) == 1) {
    place_mark();
    if (write_full(fd, buf, sizeof buf) < 0) return 1;
  }
  return r == 0 ? 0 : 1;
}

static double raw_ping_batch(void *ctx, long n) {
  int fd = *(int *)ctx;
  char buf[PING_SIZE];
  memset(buf, 0x5a, sizeof buf);
  double t0 = now_s();
  for (long i = 0; i < n; ++i) {
    if (write_full(fd, buf, sizeof buf) < 0 || read_full(fd, buf, sizeof buf) != 1)
      die("pingpong raw: %s", strerror(errno));
    place_check();
  }
  return now_s() - t0;
}

static void pingpong(const char *name, int same_cpu) {
  bench_metric_t m = {.unit = "us", .scale = 1.0, .first_n = 100};
  bench_impl_t impls[2];
  mp_ping_t pp = {NULL, NULL};
  mp_conn_t *b = NULL;
  int sv[2] = {-1, -1}, n = 0;
  pid_t raw_pid = -1;
  ctl_reset(); /* the placement samples: mapped before the echoes fork */
  if (same_cpu) printf("# %s: every process pinned to CPU %d\n", name, pin_here());
  /* The raw echo first: the multiproc one inherits its descriptors. */
  if (bench_want(IMPL_RAW)) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
      die("socketpair: %s", strerror(errno));
    raw_pid = fork_child(raw_echo, sv);
    close(sv[1]);
    impls[n++] = (bench_impl_t){"raw", raw_ping_batch, &sv[0]};
  }
  if (bench_want(IMPL_MULTIPROC)) {
    check_mp(mp_pipe(&pp.conn, &b, 1), "mp_pipe");
    check_mp(mp_process_new(&pp.echo, ECHO_TARGET, NULL, 0), "mp_process_new");
    check_mp(mp_process_pass_fd(pp.echo, mp_conn_fileno(b)), "mp_process_pass_fd");
    check_mp(mp_process_start(pp.echo), "mp_process_start");
    mp_conn_free(b);
    impls[n++] = (bench_impl_t){"multiproc", mp_ping_batch, &pp};
  }
  bench_measure(name, &m, impls, n);
  if (pp.echo) {
    check_mp(mp_conn_send(pp.conn, "", 0, MP_FOREVER), "mp_conn_send (stop)");
    mp_conn_free(pp.conn);
    join_ok(pp.echo, "pingpong: echo child");
    mp_process_free(pp.echo);
  }
  if (raw_pid > 0) {
    close(sv[0]);
    wait_ok(raw_pid, "pingpong raw echo");
  }
  pin_restore();
}

static void run_pingpong(const char *name) { pingpong(name, 0); }
static void run_pingpong_samecpu(const char *name) { pingpong(name, 1); }

/* ------------------------------------------------------------------------
 * queue_idle_rss_N
 * ---------------------------------------------------------------------- */

/* A child: VmRSS before and after creating *(int *)arg queues, the
 * difference into the control page (t_last_ns, in KiB). */
static int idle_queues_child(void *arg) {
  int nq = *(int *)arg;
  mp_queue_t *q[64];
  long before = vm_rss_kib();
  for (int i = 0; i < nq; ++i) {
    int r = mp_queue_new(&q[i], 0, 0, 0);
    if (r < 0) return child_mp_fail(r, "mp_queue_new");
  }
  long after = vm_rss_kib();
  if (before < 0 || after < 0) return ctl_fail("no VmRSS in /proc/self/status");
  g_ctl->t_last_ns = after - before;
  for (int i = 0; i < nq; ++i) mp_queue_free(q[i]);
  return 0;
}

static void run_idle_rss(const char *name, int nq) {
  double v[64];
  int batches = g_opts.batches < 64 ? g_opts.batches : 64;
  for (int b = 0; b < batches; ++b) {
    ctl_reset();
    wait_ok(fork_child(idle_queues_child, &nq), name);
    v[b] = (double)g_ctl->t_last_ns;
  }
  double med = bench_median(v, batches);
  printf("# %s multiproc: median of %d samples, VmRSS growth %.0f..%.0f KiB "
         "for %d queues\n", name, batches, v[0], v[batches - 1], nq);
  printf("BENCH %s multiproc %.2f KiB\n", name, med);
  fflush(stdout);
}

static void run_idle_rss_1(const char *name) { run_idle_rss(name, 1); }
static void run_idle_rss_8(const char *name) { run_idle_rss(name, 8); }
static void run_idle_rss_64(const char *name) { run_idle_rss(name, 64); }

/* ------------------------------------------------------------------------
 * main
 * ---------------------------------------------------------------------- */

static const bench_workload_t kWorkloads[] = {
    {"queue_64B_1to1", "msg/s", run_queue_64B_1to1},
    {"queue_64B_2to2", "msg/s", run_queue_64B_2to2},
    {"queue_64B_4to4", "msg/s", run_queue_64B_4to4},
    {"queue_64B_8to8", "msg/s", run_queue_64B_8to8},
    {"queue_64B_1to1_loaded", "msg/s", run_queue_64B_1to1_loaded},
    {"queue_1MiB", "MB/s", run_queue_1MiB},
    {"pingpong_64B", "us", run_pingpong},
    {"pingpong_64B_samecpu", "us", run_pingpong_samecpu},
    {"queue_idle_rss_1", "KiB", run_idle_rss_1},
    {"queue_idle_rss_8", "KiB", run_idle_rss_8},
    {"queue_idle_rss_64", "KiB", run_idle_rss_64},
};

int main(int argc, char **argv) {
  check_mp(mp_register(PRODUCER_TARGET, mp_producer, NULL), "mp_register");
  check_mp(mp_register(CONSUMER_TARGET, mp_consumer, NULL), "mp_register");
  check_mp(mp_register(ECHO_TARGET, mp_echo, NULL), "mp_register");
  check_mp(mp_main(argc, argv), "mp_main");
  return bench_mp_main("bench_ipc", argc, argv, kWorkloads,
                       sizeof kWorkloads / sizeof kWorkloads[0], kImpls, 3);
}
