/* A serving host of a pool across hosts, started as an independent
 * program by test_redis_pool (never through multiproc):
 *   redis_pool_peer serve ADDR WORKERS TAG
 * registers the tasks below, starts a pool of WORKERS processes, serves it
 * at ADDR (mp_pool_serve), prints "serving" and waits: SIGTERM closes the
 * pool (join, exit 0); SIGKILL of its process group is a vanished host.
 * Tasks:
 *   echo        returns its argument
 *   whoami      returns TAG
 *   fail        fails with the message "failed: ARG"
 *   die         SIGKILLs its worker
 *   die_once    ARG is a path: the first run creates it and SIGKILLs its
 *               worker, a later one returns "again TAG"
 *   sleep_tag   ARG "MS PATH": creates PATH.TAG.run, sleeps MS ms, creates
 *               PATH.TAG (no files when PATH is "-"), returns TAG */
#include <fcntl.h>
#include <multiproc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *g_tag = "?";

static int reply(void **out, size_t *out_len, const char *s) {
  *out = strdup(s);
  *out_len = strlen(s);
  return 0;
}

static int echo(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)p;
  *out = malloc(len ? len : 1);
  if (len) memcpy(*out, arg, len);
  *out_len = len;
  return 0;
}

static int whoami(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)arg, (void)len, (void)p;
  return reply(out, out_len, g_tag);
}

static int failing(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)p;
  char msg[128];
  snprintf(msg, sizeof msg, "failed: %.*s", (int)len, (const char *)arg);
  reply(out, out_len, msg);
  return 1;
}

static int die(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)out, (void)out_len, (void)arg, (void)len, (void)p;
  kill(getpid(), SIGKILL);
  return 0;
}

static int die_once(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)p;
  char path[256];
  snprintf(path, sizeof path, "%.*s", (int)len, (const char *)arg);
  int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
  if (fd >= 0) {
    close(fd);
    kill(getpid(), SIGKILL);
  }
  char msg[64];
  snprintf(msg, sizeof msg, "again %s", g_tag);
  return reply(out, out_len, msg);
}

static int sleep_tag(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)p;
  char buf[300], path[256] = "-";
  int ms = 0;
  snprintf(buf, sizeof buf, "%.*s", (int)len, (const char *)arg);
  sscanf(buf, "%d %255s", &ms, path);
  int files = strcmp(path, "-") != 0;
  char mine[300];
  if (files) {  /* the task runs here: a test may cut this host off now */
    snprintf(mine, sizeof mine, "%s.%s.run", path, g_tag);
    int fd = open(mine, O_CREAT | O_WRONLY, 0600);
    if (fd >= 0) close(fd);
  }
  usleep((useconds_t)ms * 1000);
  if (files) {
    snprintf(mine, sizeof mine, "%s.%s", path, g_tag);
    int fd = open(mine, O_CREAT | O_WRONLY, 0600);
    if (fd >= 0) close(fd);
  }
  return reply(out, out_len, g_tag);
}

static volatile sig_atomic_t g_stop = 0;
static void on_term(int sig) { (void)sig, g_stop = 1; }

int main(int argc, char **argv) {
  if (argc != 5 || strcmp(argv[1], "serve") != 0) {
    fprintf(stderr, "usage: redis_pool_peer serve ADDR WORKERS TAG\n");
    return 2;
  }
  g_tag = argv[4];
  mp_register_task("echo", echo, NULL);
  mp_register_task("whoami", whoami, NULL);
  mp_register_task("fail", failing, NULL);
  mp_register_task("die", die, NULL);
  mp_register_task("die_once", die_once, NULL);
  mp_register_task("sleep_tag", sleep_tag, NULL);
  if (mp_main(argc, argv) != 0) return 1;
  signal(SIGTERM, on_term);
  mp_pool_opts_t *opts;
  mp_pool_t *pool;
  mp_pool_opts_new(&opts);
  mp_pool_opts_set_workers(opts, (unsigned)atoi(argv[3]));
  int rc = mp_pool_new(&pool, opts);
  mp_pool_opts_free(opts);
  if (rc == 0) rc = mp_pool_serve(pool, argv[2], 5000);
  if (rc != 0) {
    fprintf(stderr, "redis_pool_peer: %s (%s)\n", mp_err_name(rc), mp_last_error());
    return 1;
  }
  printf("serving\n");
  fflush(stdout);
  while (!g_stop) pause();
  mp_pool_close(pool);
  rc = mp_pool_join(pool, 30000);
  mp_pool_free(pool);
  return rc == 0 ? 0 : 1;
}
