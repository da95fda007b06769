/* The C peer of the cross-language rendezvous (tests/rendezvous/xl/README.md):
 * two programs that did not start each other share a queue, a lock, a
 * dict and a pool through a broker, knowing only its address.
 *
 *   xl_peer serve unix:/path   publish jobs, lock, dict, pool; print
 *                              "ready", then what the opener sent
 *   xl_peer open unix:/path    open them by address and answer
 *
 * Exit 0 on success; any error: a message on stderr, exit 1. */
#include <ctype.h>
#include <multiproc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LANG "c"
#define WAIT_MS 120000

static int die(const char *what, int rc) {
  fprintf(stderr, "xl_peer(c): %s: %s (%s)\n", what, mp_err_name(rc), mp_last_error());
  exit(1);
}

static void must(int rc, const char *what) {
  if (rc < 0) die(what, rc);
}

/* The pool task of every peer: the argument's bytes in upper case. */
static int rv_upper(void **out, size_t *out_len, const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  char *buf = malloc(arg_len + 1);
  if (!buf) return 1;
  for (size_t i = 0; i < arg_len; ++i) buf[i] = (char)toupper(((const unsigned char *)arg)[i]);
  *out = buf;
  *out_len = arg_len;
  return 0;
}

static char *address_of(const char *base, const char *name) {
  static char buf[4][512];
  static int next;
  char *a = buf[next++ % 4];
  snprintf(a, sizeof buf[0], "%s#%s", base, name);
  return a;
}

/* A dict value as a NUL-terminated string (NULL if absent). */
static char *dict_str(mp_dict_t *d, const char *key) {
  void *v = NULL;
  size_t n = 0;
  int rc = mp_dict_get(&v, &n, d, key, strlen(key));
  if (rc == MP_ENOENT) return NULL;
  must(rc, "dict get");
  char *s = malloc(n + 1);
  memcpy(s, v, n);
  s[n] = '\0';
  mp_free(v);
  return s;
}

static int serve(const char *addr) {
  mp_queue_t *q;
  mp_lock_t *lock;
  mp_dict_t *d;
  mp_pool_opts_t *o;
  mp_pool_t *pool;
  mp_broker_t *b;
  must(mp_queue_new(&q, 0, 0, 0), "queue new");
  must(mp_lock_new(&lock, 0), "lock new");
  must(mp_dict_new(&d, 64, 1 << 16), "dict new");
  must(mp_pool_opts_new(&o), "pool opts");
  must(mp_pool_opts_set_workers(o, 2), "pool workers");
  must(mp_pool_new(&pool, o), "pool new");
  mp_pool_opts_free(o);
  must(mp_lock_acquire(lock, 0), "lock acquire");
  must(mp_dict_set(d, "server", 6, LANG, strlen(LANG)), "dict set");
  must(mp_broker_new(&b, addr, NULL), "broker new");
  must(mp_broker_publish(b, "jobs", mp_queue_fileno(q)), "publish jobs");
  must(mp_broker_publish(b, "lock", mp_lock_fileno(lock)), "publish lock");
  must(mp_broker_publish(b, "dict", mp_dict_fileno(d)), "publish dict");
  must(mp_broker_publish_pool(b, "pool", pool), "publish pool");
  printf("ready\n");
  fflush(stdout);

  void *msg = NULL;
  size_t n = 0;
  must(mp_queue_get(&msg, &n, q, WAIT_MS), "queue get");
  printf("got %.*s\n", (int)n, (char *)msg);
  mp_free(msg);
  must(mp_lock_release(lock), "lock release");
  /* the opener sets "ack" holding the lock, once it got it */
  char *ack = NULL;
  for (int i = 0; i < WAIT_MS / 10 && !(ack = dict_str(d, "ack")); ++i) usleep(10000);
  if (!ack) die("no ack from the opener", MP_ETIMEDOUT);
  printf("ack=%s\n", ack);
  fflush(stdout);
  free(ack);
  mp_broker_free(b);
  mp_pool_close(pool);
  must(mp_pool_join(pool, WAIT_MS), "pool join");
  mp_pool_free(pool);
  mp_dict_free(d);
  mp_lock_free(lock);
  mp_queue_free(q);
  return 0;
}

static int open_side(const char *addr) {
  mp_queue_t *q;
  mp_lock_t *lock;
  mp_dict_t *d;
  mp_pool_t *pool;
  must(mp_queue_open(&q, address_of(addr, "jobs"), WAIT_MS), "open jobs");
  must(mp_lock_open(&lock, address_of(addr, "lock"), WAIT_MS), "open lock");
  must(mp_dict_open(&d, address_of(addr, "dict"), WAIT_MS), "open dict");
  must(mp_pool_open(&pool, address_of(addr, "pool"), WAIT_MS), "open pool");
  /* the server holds the lock: the same lock cannot be taken here */
  int rc = mp_lock_acquire(lock, 0);
  if (rc == MP_OK) die("the lock is not the server's: acquired while it holds it", MP_ESTATE);
  char *server = dict_str(d, "server");
  if (!server) die("dict: no 'server' key", MP_ENOENT);
  void *res = NULL;
  size_t res_len = 0;
  const char *arg = "ping-" LANG;
  must(mp_pool_apply(&res, &res_len, pool, "rv_upper", arg, strlen(arg)), "pool apply");
  char line[512];
  int len = snprintf(line, sizeof line, "client=%s server=%s pool=%.*s", LANG, server,
                     (int)res_len, (char *)res);
  mp_free(res);
  free(server);
  must(mp_queue_put(q, line, (size_t)len, WAIT_MS), "queue put");
  must(mp_lock_acquire(lock, WAIT_MS), "lock acquire");
  must(mp_dict_set(d, "ack", 3, LANG, strlen(LANG)), "dict set ack");
  must(mp_lock_release(lock), "lock release");
  printf("done\n");
  mp_pool_free(pool);
  mp_dict_free(d);
  mp_lock_free(lock);
  mp_queue_free(q);
  return 0;
}

int main(int argc, char **argv) {
  must(mp_register_task("rv_upper", rv_upper, NULL), "register task");
  mp_main(argc, argv);
  if (argc == 3 && !strcmp(argv[1], "serve")) return serve(argv[2]);
  if (argc == 3 && !strcmp(argv[1], "open")) return open_side(argv[2]);
  fprintf(stderr, "usage: %s serve|open unix:/path\n", argv[0]);
  return 2;
}
