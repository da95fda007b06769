/* Fault-injection soak: producers, consumers, lock users and dict writers
 * run as separate processes around one queue, two locks and one dict, and a
 * process pool runs tasks, while the main loop SIGKILLs a random one of them
 * every few tens of milliseconds and starts a replacement. At the end it
 * checks the guarantees of include/multiproc.h under that abuse:
 *
 *  - queue: every message whose put returned MP_OK is delivered exactly
 *    once (the only messages allowed to be missing are those a consumer
 *    was killed in the middle of getting), none is duplicated, none seen
 *    out of order per producer, none corrupted, none invented;
 *  - pool: every task is done or failed with MP_EWORKERDIED, never lost;
 *  - locks: still usable, MP_EOWNERDEAD at most once per holder killed and
 *    at least once per holder killed while certainly holding it, and the
 *    data they protect is never seen half-updated without MP_EOWNERDEAD;
 *  - dict: every entry well-formed, len() matches the items, the counter
 *    between the increments that returned and those attempted;
 *  - this process: no zombie, no extra descriptor or thread left.
 *
 * What a producer was told is known even if it is killed right after: it
 * stores "attempted" before each put and "acked" right after a put returned
 * MP_OK, in memory shared with this process (MAP_SHARED before the fork).
 * A consumer counts each (producer, sequence) it gets in a shared byte
 * array, and raises a "busy" flag around each get, so a kill in the middle
 * of a get is known afterwards.
 *
 * Runs MP_SOAK_SECONDS seconds (default 60); MP_SOAK_SEED fixes the random
 * choices. Prints one SOAK summary line (quoted in docs/reliability.md);
 * exits 0 only if every check passed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "multiproc.h"
#include "testclock.h"

/* AddressSanitizer's allocator (GCC 12's libasan) is not fork-safe: a
 * child forked while another thread of this multi-threaded process held
 * one of its size-class locks deadlocks at its first malloc (seen in the
 * soak: a consumer stuck in malloc holding the queue's get lock, the other
 * consumers behind it). glibc's malloc resets its locks in the child, so
 * normal builds fork as users do; sanitizer builds start the children from
 * the single-threaded forkserver, the start method Python recommends for a
 * threaded parent. */
#if defined(__SANITIZE_ADDRESS__)
#define SOAK_START_METHOD MP_START_FORKSERVER
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOAK_START_METHOD MP_START_FORKSERVER
#endif
#endif
#ifndef SOAK_START_METHOD
#define SOAK_START_METHOD MP_START_FORK
#endif

#define N_PRODUCERS 3
#define N_CONSUMERS 3
#define N_LOCKERS 4 /* two per lock */
#define N_WRITERS 2
#define N_WORKERS 2

#define MAX_INC 16384    /* producer incarnations over the whole run */
#define SEQ_PER_INC 16384 /* messages a producer puts before it retires */
#define RING_BYTES (64 * 1024)
#define LARGE_LEN 40000 /* above half the ring: streamed in pieces */
#define N_KEYS 128
#define JOIN_MS 30000

/* ------------------------------------------------------------------------
 * Shared bookkeeping (MAP_SHARED, inherited by every forked child)
 * ---------------------------------------------------------------------- */

struct producer_log {
  _Atomic uint32_t attempted; /* seq + 1 of the put in progress or last */
  _Atomic uint32_t acked;     /* seq + 1 of the last put that returned OK */
};

/* Locker states: the kill's outcome depends on where the victim was. */
enum { L_IDLE = 0, L_ACQUIRING = 1, L_HOLDING = 2, L_RELEASING = 3 };

struct shared {
  _Atomic int stop;                   /* producers, lockers, writers: finish */
  struct producer_log prod[MAX_INC];
  _Atomic int consumer_busy[N_CONSUMERS]; /* inside a get (or recording it) */
  _Atomic uint64_t delivered, corrupt, reordered, duplicates;
  _Atomic int locker_state[N_LOCKERS];
  uint64_t data_a[2], data_b[2];      /* protected by lock i: a == b */
  _Atomic uint64_t owner_dead[2], half_updated_seen, lock_rounds;
  _Atomic uint64_t dict_ops, incr_attempted, incr_acked, dict_bad;
  _Atomic int worker_pid[16];         /* pids that ran a pool task lately */
  _Atomic uint32_t worker_pid_next;
  _Atomic uint64_t child_errors;      /* unexpected return codes in children */
};

static struct shared *S;
static _Atomic uint8_t *g_count; /* [MAX_INC][SEQ_PER_INC] deliveries */

/* S and g_count live in one memfd. Forked children inherit the mapping;
 * forkserver children (sanitizer builds) and the pool's workers there are
 * not forked from this process, so they open the memfd by the path in
 * SOAK_SHARED (/proc/<pid>/fd/<fd>), set before the forkserver starts (its
 * children get the environment it started with). */
#define SHARED_HEAD (((sizeof(struct shared) + 4095) / 4096) * 4096)
#define SHARED_BYTES (SHARED_HEAD + (size_t)MAX_INC * SEQ_PER_INC)

static int map_shared(int fd) {
  char *p = mmap(NULL, SHARED_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) return -1;
  S = (struct shared *)p;
  g_count = (_Atomic uint8_t *)(p + SHARED_HEAD);
  return 0;
}

static int setup_shared(void) {
  int fd = memfd_create("soak-shared", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, (off_t)SHARED_BYTES) != 0 || map_shared(fd) != 0) {
    perror("soak: shared memory");
    return -1;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)getpid(), fd);
  return setenv("SOAK_SHARED", path, 1);  /* fd stays open for the run */
}

/* In a child: map the shared memory unless it came with the fork. */
static void attach_shared(void) {
  if (S) return;
  const char *path = getenv("SOAK_SHARED");
  int fd = path ? open(path, O_RDWR | O_CLOEXEC) : -1;
  if (fd < 0 || map_shared(fd) != 0) {
    fprintf(stderr, "soak child %d: no shared memory (%s)\n", (int)getpid(), path ? path : "unset");
    _exit(3);
  }
  close(fd);
}

static mp_queue_t *g_queue;
static mp_lock_t *g_lock[2];
static mp_dict_t *g_dict;

/* ------------------------------------------------------------------------
 * Small utilities
 * ---------------------------------------------------------------------- */

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* xorshift64*: cheap, and reproducible from MP_SOAK_SEED. */
static uint64_t rnd(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ULL;
}

static void child_error(const char *what, int code) {
  fprintf(stderr, "soak child %d: %s: %s (%s)\n", (int)getpid(), what, mp_err_name(code),
          mp_last_error());
  atomic_fetch_add(&S->child_errors, 1);
}

/* ------------------------------------------------------------------------
 * Messages: [inc][seq][len][pattern bytes], the length a function of both
 * ---------------------------------------------------------------------- */

static size_t msg_len(uint32_t inc, uint32_t seq) {
  if (seq % 97 == 96) return LARGE_LEN + inc % 13;
  return 12 + (seq * 31u + inc * 7u) % 200u;
}

static unsigned char msg_byte(uint32_t inc, uint32_t seq, size_t i) {
  return (unsigned char)(inc * 131u + seq * 17u + i * 7u + (i >> 8));
}

static void msg_fill(unsigned char *buf, uint32_t inc, uint32_t seq, size_t len) {
  uint32_t len32 = (uint32_t)len;
  memcpy(buf, &inc, 4);
  memcpy(buf + 4, &seq, 4);
  memcpy(buf + 8, &len32, 4);
  for (size_t i = 12; i < len; i++) buf[i] = msg_byte(inc, seq, i);
}

/* 0 if buf is a well-formed message; its producer and sequence in *inc, *seq. */
static int msg_check(const unsigned char *buf, size_t len, uint32_t *inc, uint32_t *seq) {
  uint32_t len32;
  if (len < 12) return -1;
  memcpy(inc, buf, 4);
  memcpy(seq, buf + 4, 4);
  memcpy(&len32, buf + 8, 4);
  if (*inc >= MAX_INC || *seq >= SEQ_PER_INC || len32 != len || msg_len(*inc, *seq) != len)
    return -1;
  for (size_t i = 12; i < len; i++)
    if (buf[i] != msg_byte(*inc, *seq, i)) return -1;
  return 0;
}

/* ------------------------------------------------------------------------
 * Children (started with SOAK_START_METHOD; handles arrive by descriptor)
 * ---------------------------------------------------------------------- */

static mp_queue_t *child_queue(void) {
  mp_queue_t *q = NULL;
  int r = mp_queue_from_fd(&q, mp_child_fd(0));
  if (r != MP_OK) {
    child_error("queue_from_fd", r);
    _exit(3);
  }
  return q;
}

static int producer_main(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  attach_shared();
  uint32_t inc;
  if (arg_len != sizeof inc) return 3;
  memcpy(&inc, arg, sizeof inc);
  mp_queue_t *q = child_queue();
  static unsigned char buf[LARGE_LEN + 64];
  struct producer_log *log = &S->prod[inc];
  for (uint32_t seq = 0; seq < SEQ_PER_INC && !atomic_load(&S->stop);) {
    size_t len = msg_len(inc, seq);
    msg_fill(buf, inc, seq, len);
    atomic_store(&log->attempted, seq + 1);
    int r = mp_queue_put(q, buf, len, 500);
    if (r == MP_OK) {
      atomic_store(&log->acked, seq + 1);
      seq++;
    } else if (r == MP_ECLOSED) {
      break;
    } else if (r != MP_ETIMEDOUT) {
      child_error("put", r);
      return 3;
    } /* timed out: nothing was stored; put the same message again */
  }
  mp_queue_free(q);
  return 0;
}

static int consumer_main(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  attach_shared();
  int slot;
  if (arg_len != sizeof slot) return 3;
  memcpy(&slot, arg, sizeof slot);
  mp_queue_t *q = child_queue();
  /* The last sequence this consumer got from each producer: per-producer
   * FIFO means each consumer sees a producer's messages in order. */
  static int32_t last[MAX_INC];
  for (int i = 0; i < MAX_INC; i++) last[i] = -1;
  for (;;) {
    void *msg = NULL;
    size_t len = 0;
    atomic_store(&S->consumer_busy[slot], 1);
    int r = mp_queue_get(&msg, &len, q, 200);
    if (r == MP_OK) {
      uint32_t inc, seq;
      if (msg_check(msg, len, &inc, &seq) != 0) {
        atomic_fetch_add(&S->corrupt, 1);
      } else {
        if (atomic_fetch_add(&g_count[(size_t)inc * SEQ_PER_INC + seq], 1) != 0)
          atomic_fetch_add(&S->duplicates, 1);
        if ((int32_t)seq <= last[inc]) atomic_fetch_add(&S->reordered, 1);
        last[inc] = (int32_t)seq;
        atomic_fetch_add(&S->delivered, 1);
      }
      mp_free(msg);
    }
    atomic_store(&S->consumer_busy[slot], 0);
    if (r == MP_ECLOSED) break;
    if (r != MP_OK && r != MP_ETIMEDOUT) {
      child_error("get", r);
      return 3;
    }
  }
  mp_queue_free(q);
  return 0;
}

/* Take lock i, check and update the data it protects in two steps (a kill
 * between them leaves it half-updated), release. */
static int locker_main(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  attach_shared();
  int slot;
  if (arg_len != sizeof slot) return 3;
  memcpy(&slot, arg, sizeof slot);
  int i = slot % 2, recursive = i == 1;
  mp_lock_t *lock = NULL;
  int r = mp_lock_from_fd(&lock, mp_child_fd(0));
  if (r != MP_OK) {
    child_error("lock_from_fd", r);
    return 3;
  }
  _Atomic int *state = &S->locker_state[slot];
  while (!atomic_load(&S->stop)) {
    atomic_store(state, L_ACQUIRING);
    r = mp_lock_acquire(lock, 2000);
    if (r == MP_ETIMEDOUT) continue;
    if (r != MP_OK && r != MP_EOWNERDEAD) {
      child_error("acquire", r);
      return 3;
    }
    /* Count before saying "holding": a kill in between then counts as a
     * kill near the lock, never as a sure holder whose death went unseen. */
    if (r == MP_EOWNERDEAD) atomic_fetch_add(&S->owner_dead[i], 1);
    atomic_store(state, L_HOLDING);
    if (r == MP_EOWNERDEAD) {
      S->data_b[i] = S->data_a[i]; /* the repair */
    } else if (S->data_a[i] != S->data_b[i]) {
      atomic_fetch_add(&S->half_updated_seen, 1);
    }
    if (recursive && mp_lock_acquire(lock, 0) != MP_OK) child_error("re-acquire", -1);
    S->data_a[i]++;
    sleep_us(100);
    S->data_b[i]++;
    if (recursive && mp_lock_release(lock) != MP_OK) child_error("inner release", -1);
    atomic_store(state, L_RELEASING);
    r = mp_lock_release(lock);
    if (r != MP_OK) child_error("release", r);
    atomic_store(state, L_IDLE);
    atomic_fetch_add(&S->lock_rounds, 1);
  }
  mp_lock_free(lock);
  return 0;
}

/* Dict values: [key index][version][pattern bytes]. */
static size_t dict_value(unsigned char *buf, uint32_t k, uint32_t ver) {
  size_t len = 8 + (ver * 37u + k) % 300u;
  memcpy(buf, &k, 4);
  memcpy(buf + 4, &ver, 4);
  for (size_t i = 8; i < len; i++) buf[i] = (unsigned char)(k * 7u + ver * 13u + i);
  return len;
}

static int dict_value_ok(const unsigned char *v, size_t len, uint32_t k) {
  unsigned char expect[400];
  uint32_t vk, ver;
  if (len < 8) return 0;
  memcpy(&vk, v, 4);
  memcpy(&ver, v + 4, 4);
  return vk == k && dict_value(expect, k, ver) == len && memcmp(expect, v, len) == 0;
}

static int writer_main(const void *arg, size_t arg_len, void *payload) {
  (void)arg, (void)arg_len, (void)payload;
  attach_shared();
  mp_dict_t *d = NULL;
  int r = mp_dict_from_fd(&d, mp_child_fd(0));
  if (r != MP_OK) {
    child_error("dict_from_fd", r);
    return 3;
  }
  uint64_t seed = (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL + 1;
  unsigned char val[400], old[400];
  while (!atomic_load(&S->stop)) {
    uint32_t k = (uint32_t)(rnd(&seed) % N_KEYS), ver = (uint32_t)rnd(&seed);
    char key[8];
    snprintf(key, sizeof key, "k%03u", k);
    unsigned op = (unsigned)(rnd(&seed) % 10);
    size_t len = dict_value(val, k, ver);
    if (op < 5) {
      r = mp_dict_set(d, key, 4, val, len);
    } else if (op < 7) {
      r = mp_dict_delete(d, key, 4);
      if (r == MP_ENOENT) r = MP_OK;
    } else if (op < 9) {
      int64_t v;
      atomic_fetch_add(&S->incr_attempted, 1);
      r = mp_dict_incr(&v, d, "counter", 7, 1);
      if (r == MP_OK) atomic_fetch_add(&S->incr_acked, 1);
    } else {
      size_t old_len = 0;
      r = mp_dict_get_into(&old_len, d, key, 4, old, sizeof old);
      if (r == MP_OK) r = mp_dict_cas(d, key, 4, old, old_len, val, len);
      else if (r == MP_ENOENT) r = mp_dict_cas(d, key, 4, NULL, 0, val, len);
      if (r == 0 || r == 1) r = MP_OK;
    }
    if (r != MP_OK) {
      child_error("dict op", r);
      return 3;
    }
    atomic_fetch_add(&S->dict_ops, 1);
  }
  mp_dict_free(d);
  return 0;
}

static int noop_main(const void *arg, size_t arg_len, void *payload) {
  (void)arg, (void)arg_len, (void)payload;
  return 0;
}

/* A pool task: note which worker runs it, take a little time, answer 3n. */
static int soak_task(void **out, size_t *out_len, const void *arg, size_t arg_len,
                     void *payload) {
  (void)payload;
  attach_shared();
  uint64_t n;
  if (arg_len != sizeof n) return 1;
  memcpy(&n, arg, sizeof n);
  uint32_t slot = atomic_fetch_add(&S->worker_pid_next, 1) % 16;
  atomic_store(&S->worker_pid[slot], (int)getpid());
  sleep_us((long)(n % 4000));
  uint64_t *res = malloc(sizeof *res);
  if (!res) return 1;
  *res = 3 * n;
  *out = res;
  *out_len = sizeof *res;
  return 0;
}

/* ------------------------------------------------------------------------
 * The parent: children it restarts after each kill
 * ---------------------------------------------------------------------- */

enum role { PRODUCER, CONSUMER, LOCKER, WRITER, N_ROLES };
static const char *const k_role_name[] = {"producer", "consumer", "locker", "writer"};
static const char *const k_role_target[] = {"soak_producer", "soak_consumer", "soak_locker",
                                            "soak_writer"};
static const int k_role_count[] = {N_PRODUCERS, N_CONSUMERS, N_LOCKERS, N_WRITERS};

struct child {
  enum role role;
  int slot;
  mp_process_t *proc;
};

static struct child g_children[N_PRODUCERS + N_CONSUMERS + N_LOCKERS + N_WRITERS];
static int g_nchildren;
static uint32_t g_next_inc;
static int g_failures;

struct stats {
  uint64_t kills[N_ROLES], worker_kills;
  uint64_t consumer_kills_busy;           /* killed inside a get */
  uint64_t holder_kills_sure;             /* killed while holding */
  uint64_t holder_kills_maybe;            /* acquiring, holding or releasing */
  uint64_t producer_restarts, producers_retired;
} g_stats;

static void failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failure(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "SOAK FAILURE: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  g_failures++;
}

static int start_child(struct child *c) {
  uint32_t inc = 0;
  const void *arg = &c->slot;
  size_t arg_len = sizeof c->slot;
  if (c->role == PRODUCER) {
    if (g_next_inc >= MAX_INC) return -1; /* out of incarnations: stay down */
    inc = g_next_inc++;
    arg = &inc;
    arg_len = sizeof inc;
  }
  int r = mp_process_new(&c->proc, k_role_target[c->role], arg, arg_len);
  if (r == MP_OK) r = mp_process_set_daemon(c->proc, 1);
  int fd = c->role == LOCKER   ? mp_lock_fileno(g_lock[c->slot % 2])
           : c->role == WRITER ? mp_dict_fileno(g_dict)
                               : mp_queue_fileno(g_queue);
  if (r == MP_OK) r = mp_process_pass_fd(c->proc, fd) >= 0 ? MP_OK : -1;
  if (r == MP_OK) r = mp_process_start(c->proc);
  if (r != MP_OK) {
    failure("start %s: %s (%s)", k_role_name[c->role], mp_err_name(r), mp_last_error());
    mp_process_free(c->proc);
    c->proc = NULL;
    return -1;
  }
  return 0;
}

/* Print what each thread of a child that will not end is doing (state,
 * kernel wait channel, system call), and its stacks where gdb is
 * installed: a soak failure is rare, and this is all a CI log keeps. */
static void print_stuck(int pid) {
  char path[320], line[512];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *d = opendir(path);
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    static const char *const files[] = {"stat", "wchan", "syscall"};
    for (int i = 0; i < 3; i++) {
      snprintf(path, sizeof path, "/proc/%d/task/%s/%s", pid, e->d_name, files[i]);
      FILE *f = fopen(path, "re");
      if (f && fgets(line, sizeof line, f)) fprintf(stderr, "  %s: %s\n", path, strtok(line, "\n"));
      if (f) fclose(f);
    }
  }
  if (d) closedir(d);
  if (access("/usr/bin/gdb", X_OK) == 0) {
    snprintf(line, sizeof line, "gdb -p %d -batch -ex 'thread apply all bt' 1>&2", pid);
    if (system(line) != 0) fprintf(stderr, "  (gdb failed)\n");
  }
}

/* Join an ended (or killed) child and free it; its exit code in *code. */
static void reap_child(struct child *c, int *code) {
  int r = mp_process_join(c->proc, JOIN_MS);
  if (r != MP_OK) {
    failure("join %s: %s", k_role_name[c->role], mp_err_name(r));
    print_stuck(mp_process_pid(c->proc));
  }
  if (mp_process_exitcode(code, c->proc) != MP_OK) *code = -1000;
  mp_process_free(c->proc);
  c->proc = NULL;
}

/* Kill child c, account for where it was, start its replacement. */
static void kill_and_restart(struct child *c) {
  if (!c->proc) return;
  if (c->role == LOCKER) {
    /* Aim at lock holders: wait briefly for the victim to hold its lock. */
    int64_t until = now_ms() + 50;
    while (atomic_load(&S->locker_state[c->slot]) != L_HOLDING && now_ms() < until)
      sleep_us(200);
  }
  int r = mp_process_kill(c->proc);
  if (r != MP_OK) failure("kill: %s", mp_err_name(r));
  int code;
  reap_child(c, &code);
  g_stats.kills[c->role]++;
  /* The victim is dead: the flags it left say where it was. */
  if (c->role == CONSUMER && atomic_exchange(&S->consumer_busy[c->slot], 0))
    g_stats.consumer_kills_busy++;
  if (c->role == LOCKER) {
    int st = atomic_exchange(&S->locker_state[c->slot], L_IDLE);
    if (st == L_HOLDING) g_stats.holder_kills_sure++;
    if (st != L_IDLE) g_stats.holder_kills_maybe++;
  }
  start_child(c);
}

/* Restart producers that retired (or children that failed by themselves). */
static void restart_ended(void) {
  for (int i = 0; i < g_nchildren; i++) {
    struct child *c = &g_children[i];
    if (c->proc && mp_process_is_alive(c->proc) == 0) {
      int code;
      reap_child(c, &code);
      if (code != 0) failure("%s exited with %d", k_role_name[c->role], code);
      if (c->role == PRODUCER) g_stats.producers_retired++;
      start_child(c);
    } else if (!c->proc && c->role == PRODUCER) {
      start_child(c);
    }
  }
}

/* A pool worker that ran a task lately, if it is still our child. */
/* The parent of process pid and its state letter; 0 if it is gone. */
static int parent_of(int pid, char *state) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *rp = strrchr(buf, ')');
  int ppid;
  if (!rp || sscanf(rp + 1, " %c %d", state, &ppid) != 2) return 0;
  return ppid;
}

static int pick_worker(uint64_t *seed) {
  int pid = atomic_load(&S->worker_pid[rnd(seed) % 16]);
  if (pid <= 0 || pid == getpid()) return -1;
  /* A live worker of this process's pool: its child, or the forkserver's
   * (the server is this process's child). */
  char st = 0, server_st = 0;
  int ppid = parent_of(pid, &st);
  if (ppid <= 0 || st == 'Z') return -1;
  if (ppid != getpid() && parent_of(ppid, &server_st) != getpid()) return -1;
  /* Not one of the queue, lock or dict children (pid reuse). */
  for (int i = 0; i < g_nchildren; i++)
    if (g_children[i].proc && mp_process_pid(g_children[i].proc) == pid) return -1;
  return pid;
}

/* ------------------------------------------------------------------------
 * The pool: a thread keeps tasks in flight and sorts their outcomes
 * ---------------------------------------------------------------------- */

static mp_pool_t *g_pool;
static atomic_int g_pool_stop;
static struct pool_stats {
  _Atomic uint64_t submitted, done, died, other, wrong_result, callbacks;
} P;

static void on_result(mp_result_t *r, void *payload) {
  (void)r, (void)payload;
  atomic_fetch_add(&P.callbacks, 1);
}

static void settle(mp_result_t *res, uint64_t n) {
  const void *data;
  size_t len;
  int r = mp_result_get(&data, &len, res, JOIN_MS);
  if (r == MP_OK) {
    uint64_t v;
    if (len != sizeof v || (memcpy(&v, data, sizeof v), v != 3 * n))
      atomic_fetch_add(&P.wrong_result, 1);
    atomic_fetch_add(&P.done, 1);
  } else if (r == MP_EWORKERDIED) {
    atomic_fetch_add(&P.died, 1);
  } else {
    fprintf(stderr, "SOAK: task %" PRIu64 ": %s (%s)\n", n, mp_err_name(r), mp_last_error());
    atomic_fetch_add(&P.other, 1);
  }
  mp_result_free(res);
}

#define IN_FLIGHT 6

static void *pool_feeder(void *arg) {
  (void)arg;
  mp_result_t *ring[IN_FLIGHT] = {0};
  uint64_t args[IN_FLIGHT] = {0};
  uint64_t n = 0;
  for (size_t i = 0; !atomic_load(&g_pool_stop); i = (i + 1) % IN_FLIGHT) {
    if (ring[i]) settle(ring[i], args[i]);
    ring[i] = NULL;
    args[i] = n++ * 2654435761u % 100000;
    int r = mp_pool_apply_async(&ring[i], g_pool, "soak_task", &args[i], sizeof args[i],
                                on_result, on_result, NULL);
    if (r != MP_OK) {
      fprintf(stderr, "SOAK: apply_async: %s (%s)\n", mp_err_name(r), mp_last_error());
      atomic_fetch_add(&P.other, 1);
      ring[i] = NULL;
      continue;
    }
    atomic_fetch_add(&P.submitted, 1);
  }
  for (size_t i = 0; i < IN_FLIGHT; i++)
    if (ring[i]) settle(ring[i], args[i]);
  return NULL;
}

/* ------------------------------------------------------------------------
 * Checks at the end
 * ---------------------------------------------------------------------- */

static int count_dir(const char *path) {
  DIR *d = opendir(path);
  int n = 0;
  struct dirent *e;
  if (!d) return -1;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

/* List this process's descriptors (to say what leaked). */
static void print_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  if (!d) return;
  while ((e = readdir(d)) != NULL) {
    char path[300], target[300];
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    fprintf(stderr, "  fd %s -> %s\n", e->d_name, target);
  }
  closedir(d);
}

static uint64_t g_put_ok, g_torn, g_unacked_delivered, g_lost;

static void check_queue(void) {
  uint64_t dups = 0, phantom = 0;
  for (uint32_t inc = 0; inc < g_next_inc; inc++) {
    uint32_t acked = atomic_load(&S->prod[inc].acked);
    uint32_t attempted = atomic_load(&S->prod[inc].attempted);
    g_put_ok += acked;
    for (uint32_t seq = 0; seq < SEQ_PER_INC; seq++) {
      unsigned c = atomic_load(&g_count[(size_t)inc * SEQ_PER_INC + seq]);
      if (c > 1) dups++;
      if (seq < acked && c == 0) {
        g_lost++;
        if (g_lost <= 10) fprintf(stderr, "SOAK: lost producer %u seq %u\n", inc, seq);
      }
      if (seq >= acked && seq < attempted) c == 0 ? g_torn++ : g_unacked_delivered++;
      if (seq >= attempted && c > 0) phantom++;
    }
  }
  if (dups || atomic_load(&S->duplicates))
    failure("queue: %" PRIu64 " messages delivered twice", dups);
  if (phantom) failure("queue: %" PRIu64 " messages delivered that were never put", phantom);
  if (atomic_load(&S->reordered))
    failure("queue: %" PRIu64 " messages out of order", atomic_load(&S->reordered));
  if (atomic_load(&S->corrupt))
    failure("queue: %" PRIu64 " corrupt messages", atomic_load(&S->corrupt));
  /* A message whose put returned may be missing only if a consumer was
   * killed while getting (that get took it and died with it). */
  if (g_lost > g_stats.consumer_kills_busy)
    failure("queue: %" PRIu64 " acknowledged messages lost, only %" PRIu64
            " consumers were killed inside a get",
            g_lost, g_stats.consumer_kills_busy);
  int left = mp_queue_qsize(g_queue);
  if (left != 0) failure("queue: %d messages left after the drain", left);
}

static uint64_t g_final_owner_dead;

static void check_locks(void) {
  for (int i = 0; i < 2; i++) {
    int r = mp_lock_acquire(g_lock[i], 5000);
    if (r == MP_EOWNERDEAD) {
      g_final_owner_dead++;
      S->data_b[i] = S->data_a[i];
    } else if (r != MP_OK) {
      failure("lock %d: final acquire: %s", i, mp_err_name(r));
      continue;
    } else if (S->data_a[i] != S->data_b[i]) {
      failure("lock %d: data half-updated without MP_EOWNERDEAD", i);
    }
    mp_lock_release(g_lock[i]);
    r = mp_lock_acquire(g_lock[i], 5000);
    if (r != MP_OK) failure("lock %d: second acquire: %s", i, mp_err_name(r));
    else mp_lock_release(g_lock[i]);
  }
  uint64_t seen = atomic_load(&S->owner_dead[0]) + atomic_load(&S->owner_dead[1]) +
                  g_final_owner_dead;
  if (seen < g_stats.holder_kills_sure || seen > g_stats.holder_kills_maybe)
    failure("locks: MP_EOWNERDEAD %" PRIu64 " times for %" PRIu64
            " holders killed while holding and %" PRIu64 " killed near the lock",
            seen, g_stats.holder_kills_sure, g_stats.holder_kills_maybe);
  if (atomic_load(&S->half_updated_seen))
    failure("locks: protected data seen half-updated %" PRIu64 " times",
            atomic_load(&S->half_updated_seen));
}

static int64_t g_counter;
static int g_dict_items;

static void check_dict(void) {
  mp_dict_iter_t *it = NULL;
  int r = mp_dict_iter_new(&it, g_dict);
  if (r != MP_OK) {
    failure("dict: iter_new: %s", mp_err_name(r));
    return;
  }
  const void *k, *v;
  size_t kl, vl;
  int seen[N_KEYS] = {0};
  while ((r = mp_dict_iter_next(it, &k, &kl, &v, &vl)) == 1) {
    g_dict_items++;
    unsigned idx;
    if (kl == 7 && memcmp(k, "counter", 7) == 0 && vl == 8) {
      memcpy(&g_counter, v, 8);
    } else if (kl == 4 && sscanf((const char *)k, "k%3u", &idx) == 1 && idx < N_KEYS &&
               !seen[idx]++ && dict_value_ok(v, vl, idx)) {
      /* a well-formed entry */
    } else {
      failure("dict: bad entry %.*s (%zu bytes)", (int)kl, (const char *)k, vl);
    }
  }
  if (r != 0) failure("dict: iter_next: %s", mp_err_name(r));
  mp_dict_iter_free(it);
  int len = mp_dict_len(g_dict);
  if (len != g_dict_items) failure("dict: len %d but %d items", len, g_dict_items);
  uint64_t lo = atomic_load(&S->incr_acked), hi = atomic_load(&S->incr_attempted);
  if ((uint64_t)g_counter < lo || (uint64_t)g_counter > hi)
    failure("dict: counter %" PRId64 " outside [%" PRIu64 ", %" PRIu64 "]", g_counter, lo, hi);
  if (atomic_load(&S->dict_bad)) failure("dict: writers saw bad values");
}

static void check_pool(void) {
  uint64_t sub = atomic_load(&P.submitted), done = atomic_load(&P.done),
           died = atomic_load(&P.died);
  if (atomic_load(&P.other)) failure("pool: %" PRIu64 " tasks neither done nor EWORKERDIED",
                                     atomic_load(&P.other));
  if (done + died != sub)
    failure("pool: %" PRIu64 " submitted, %" PRIu64 " settled", sub, done + died);
  if (atomic_load(&P.wrong_result)) failure("pool: wrong results");
  if (atomic_load(&P.callbacks) != sub)
    failure("pool: %" PRIu64 " callbacks for %" PRIu64 " tasks", atomic_load(&P.callbacks), sub);
  if (died > g_stats.worker_kills)
    failure("pool: %" PRIu64 " tasks failed for %" PRIu64 " worker kills", died,
            g_stats.worker_kills);
}

/* ------------------------------------------------------------------------
 * main
 * ---------------------------------------------------------------------- */

/* Start, join and free a daemon child that does nothing. The library keeps
 * an ended child's exit watch (a pidfd) until the next start, so the
 * descriptors are compared after the same step at both ends. */
static int run_noop_child(void) {
  mp_process_t *p = NULL;
  int r = mp_process_new(&p, "soak_noop", NULL, 0);
  if (r == MP_OK) r = mp_process_set_daemon(p, 1);
  if (r == MP_OK) r = mp_process_start(p);
  if (r == MP_OK) r = mp_process_join(p, JOIN_MS);
  mp_process_free(p);
  return r;
}

static int create_objects(void) {
  mp_pool_opts_t *o = NULL;
  int r = mp_queue_new(&g_queue, 0, RING_BYTES, 0);
  if (r == MP_OK) r = mp_lock_new(&g_lock[0], 0);
  if (r == MP_OK) r = mp_lock_new(&g_lock[1], MP_LOCK_RECURSIVE);
  if (r == MP_OK) r = mp_dict_new(&g_dict, 256, 256 * 1024);
  if (r == MP_OK) r = mp_pool_opts_new(&o);
  if (r == MP_OK) r = mp_pool_opts_set_workers(o, N_WORKERS);
  if (r == MP_OK) r = mp_pool_new(&g_pool, o);
  mp_pool_opts_free(o);
  if (r != MP_OK) fprintf(stderr, "soak: setup: %s (%s)\n", mp_err_name(r), mp_last_error());
  return r;
}

/* Stop everything in order: producers and the other loops first, then the
 * pool, then close the queue so the consumers drain it and leave. */
static void wind_down(pthread_t feeder) {
  atomic_store(&S->stop, 1);
  for (int i = 0; i < g_nchildren; i++) {
    struct child *c = &g_children[i];
    if (c->proc && c->role != CONSUMER) {
      int code;
      reap_child(c, &code);
      if (code != 0) failure("%s exited with %d at the end", k_role_name[c->role], code);
    }
  }
  atomic_store(&g_pool_stop, 1);
  pthread_join(feeder, NULL);
  if (mp_pool_close(g_pool) != MP_OK || mp_pool_join(g_pool, JOIN_MS) != MP_OK)
    failure("pool: close/join: %s", mp_last_error());
  mp_queue_close(g_queue);
  for (int i = 0; i < g_nchildren; i++) {
    struct child *c = &g_children[i];
    if (c->proc) {
      int code;
      reap_child(c, &code);
      if (code != 0) failure("consumer exited with %d at the end", code);
    }
  }
}

int main(int argc, char **argv) {
  mp_register("soak_producer", producer_main, NULL);
  mp_register("soak_consumer", consumer_main, NULL);
  mp_register("soak_locker", locker_main, NULL);
  mp_register("soak_writer", writer_main, NULL);
  mp_register("soak_noop", noop_main, NULL);
  mp_register_task("soak_task", soak_task, NULL);
  mp_main(argc, argv);

  const char *env = getenv("MP_SOAK_SECONDS");
  int seconds = env ? atoi(env) : 60;
  env = getenv("MP_SOAK_SEED");
  uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ (uint64_t)getpid();
  if (seed == 0) seed = 1;
  const uint64_t seed0 = seed;
  printf("soak: %d s, seed %" PRIu64 " (MP_SOAK_SEED=%" PRIu64 " repeats the choices), %s\n",
         seconds, seed, seed, SOAK_START_METHOD == MP_START_FORK ? "fork" : "forkserver");
  fflush(stdout);
  if (seconds <= 0 || setup_shared() != 0) return 2;
  if (mp_set_start_method(SOAK_START_METHOD, 0) != MP_OK) {
    fprintf(stderr, "soak: start method: %s\n", mp_last_error());
    return 2;
  }

  /* Start the library's runtime thread, and its daemon lifeline, before
   * the baseline of threads and descriptors: both live as long as the
   * process, by design. */
  if (run_noop_child() != 0) return 2;
  int fds0 = count_dir("/proc/self/fd"), threads0 = count_dir("/proc/self/task");

  if (create_objects() != MP_OK) return 2;
  for (int role = 0; role < N_ROLES; role++)
    for (int s = 0; s < k_role_count[role]; s++) {
      struct child *c = &g_children[g_nchildren++];
      c->role = (enum role)role;
      c->slot = s;
      start_child(c);
    }
  pthread_t feeder;
  if (pthread_create(&feeder, NULL, pool_feeder, NULL) != 0) return 2;

  int64_t start = now_ms(), end = start + (int64_t)seconds * 1000;
  while (now_ms() < end) {
    sleep_us(5000 + (long)(rnd(&seed) % 60000));
    restart_ended();
    unsigned pick = (unsigned)(rnd(&seed) % 100);
    if (pick < 15) {
      int pid = pick_worker(&seed);
      if (pid > 0 && kill(pid, SIGKILL) == 0) g_stats.worker_kills++;
    } else {
      kill_and_restart(&g_children[rnd(&seed) % (uint64_t)g_nchildren]);
    }
  }
  wind_down(feeder);
  double elapsed = (double)(now_ms() - start) / 1000.0;

  check_queue();
  check_locks();
  check_dict();
  check_pool();

  mp_pool_free(g_pool);
  mp_dict_free(g_dict);
  mp_lock_free(g_lock[0]);
  mp_lock_free(g_lock[1]);
  mp_queue_free(g_queue);
  if (run_noop_child() != 0) failure("final child: %s", mp_last_error());
  /* Pool threads end, and the runtime thread closes the exit watches of
   * reaped children, shortly after the frees: give them a moment. */
  int64_t until = now_ms() + 5000;
  while ((count_dir("/proc/self/task") != threads0 || count_dir("/proc/self/fd") > fds0) &&
         now_ms() < until)
    sleep_us(10000);
  /* A leak is an increase; fewer than at the start is fine (the library
   * closes a freed process's pidfd as soon as the runtime thread drops its
   * exit watch). */
  int fds1 = count_dir("/proc/self/fd"), threads1 = count_dir("/proc/self/task");
  if (fds1 > fds0) {
    failure("leak: %d descriptors before, %d after", fds0, fds1);
    print_fds();
  }
  if (threads1 != threads0) failure("leak: %d threads before, %d after", threads0, threads1);

  uint64_t kills = g_stats.worker_kills;
  for (int i = 0; i < N_ROLES; i++) kills += g_stats.kills[i];
  printf("SOAK seconds=%.0f seed=%" PRIu64 " result=%s\n", elapsed, seed0,
         g_failures ? "FAIL" : "PASS");
  printf("SOAK messages: put_ok=%" PRIu64 " delivered=%" PRIu64 " lost_after_ok=%" PRIu64
         " (consumers killed inside a get: %" PRIu64 ") torn=%" PRIu64
         " delivered_unacked=%" PRIu64 " duplicated=%" PRIu64 " reordered=%" PRIu64
         " corrupt=%" PRIu64 " producer_incarnations=%u\n",
         g_put_ok, atomic_load(&S->delivered), g_lost, g_stats.consumer_kills_busy, g_torn,
         g_unacked_delivered, atomic_load(&S->duplicates), atomic_load(&S->reordered),
         atomic_load(&S->corrupt), g_next_inc);
  printf("SOAK kills: total=%" PRIu64 " producer=%" PRIu64 " consumer=%" PRIu64
         " pool_worker=%" PRIu64 " lock_user=%" PRIu64 " (holding=%" PRIu64 ") dict_writer=%" PRIu64
         "\n",
         kills, g_stats.kills[PRODUCER], g_stats.kills[CONSUMER], g_stats.worker_kills,
         g_stats.kills[LOCKER], g_stats.holder_kills_sure, g_stats.kills[WRITER]);
  printf("SOAK tasks: submitted=%" PRIu64 " done=%" PRIu64 " worker_died=%" PRIu64
         " other=%" PRIu64 " callbacks=%" PRIu64 "\n",
         atomic_load(&P.submitted), atomic_load(&P.done), atomic_load(&P.died),
         atomic_load(&P.other), atomic_load(&P.callbacks));
  printf("SOAK locks: rounds=%" PRIu64 " owner_dead=%" PRIu64 " half_updated_unflagged=%" PRIu64
         "\n",
         atomic_load(&S->lock_rounds),
         atomic_load(&S->owner_dead[0]) + atomic_load(&S->owner_dead[1]) + g_final_owner_dead,
         atomic_load(&S->half_updated_seen));
  printf("SOAK dict: ops=%" PRIu64 " items=%d counter=%" PRId64 " incr_ok=%" PRIu64
         " incr_attempted=%" PRIu64 "\n",
         atomic_load(&S->dict_ops), g_dict_items, g_counter, atomic_load(&S->incr_acked),
         atomic_load(&S->incr_attempted));
  printf("SOAK leaks: fds %d->%d threads %d->%d child_errors=%" PRIu64 "\n", fds0, fds1,
         threads0, threads1, atomic_load(&S->child_errors));
  if (atomic_load(&S->child_errors)) failure("children reported unexpected errors");
  return g_failures ? 1 : 0;
}
