/* Programs that did not start each other share objects through a broker
 * (issue 15, part 1). mp-rendezvous-peer is started as an independent
 * program (mp_process_spawn, no handle passed): it serves or opens by
 * address. Covered: queue, lock, dict and pool between two programs; the
 * broker SIGKILLed after the open and during a pool request; another uid
 * refused; bad addresses; silent, garbage, huge-length and dying clients;
 * a connection flood; a stale socket replaced, a foreign file kept; the
 * pool channel's semantics; no descriptor leaked. */
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

static char g_dir[64];
static char g_addr[128];  /* unix:<dir>/b.sock */
static char g_path[96];   /* <dir>/b.sock */

static const char *peer_path(void) {
  const char *p = getenv("MP_RENDEZVOUS_PEER");
  if (!p) fail_msg("MP_RENDEZVOUS_PEER is not set; run with meson test");
  return p;
}

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/mp-rdv-XXXXXX");
  assert_non_null(mkdtemp(g_dir));
  snprintf(g_path, sizeof g_path, "%s/b.sock", g_dir);
  snprintf(g_addr, sizeof g_addr, "unix:%s", g_path);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char p[160];
  snprintf(p, sizeof p, "%s.lock", g_path);
  unlink(p);
  unlink(g_path);
  rmdir(g_dir);
  return 0;
}

static char *with_name(const char *addr, const char *name) {
  static char buf[4][256];
  static int i;
  char *b = buf[i++ % 4];
  snprintf(b, 256, "%s#%s", addr, name);
  return b;
}

/* The peer started on its own: argv only, no handle. */
static mp_process_t *start_peer(const char *mode, const char *addr, const char *extra) {
  mp_cmd_t *cmd;
  mp_process_t *p;
  MP_ASSERT_OK(mp_cmd_new(&cmd, peer_path()));
  MP_ASSERT_OK(mp_cmd_add_arg(cmd, mode));
  MP_ASSERT_OK(mp_cmd_add_arg(cmd, addr));
  if (extra) MP_ASSERT_OK(mp_cmd_add_arg(cmd, extra));
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  return p;
}

/* Wait until the broker at addr serves name (the peer is starting). */
static void wait_served(const char *addr, const char *name) {
  int64_t until = now_ms() + 20000;
  for (;;) {
    int fd = -1;
    int rc = mp_fd_open(&fd, with_name(addr, name), 1000);
    if (rc == MP_OK) {
      close(fd);
      return;
    }
    if (now_ms() > until) fail_msg("the broker never served %s: %s", name, mp_last_error());
    usleep(20000);
  }
}

static void join_ok(mp_process_t *p) {
  int code = -1;
  MP_ASSERT_OK(mp_process_join(p, 30000));
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  assert_int_equal(code, 0);
  mp_process_free(p);
}

static void kill_and_join(mp_process_t *p) {
  MP_ASSERT_OK(mp_process_kill(p));
  MP_ASSERT_OK(mp_process_join(p, 30000));
  mp_process_free(p);
}

static void expect_message(mp_queue_t *q, const char *want) {
  void *m = NULL;
  size_t len = 0;
  MP_ASSERT_OK(mp_queue_get(&m, &len, q, 10000));
  assert_int_equal(len, strlen(want));
  assert_memory_equal(m, want, len);
  mp_free(m);
}

/* ---- two programs ------------------------------------------------------- */

/* serve and use are both independent programs; this test is a third that
 * checks what use left in the objects serve published. */
static void test_queue_lock_dict_pool_between_programs(void **state) {
  (void)state;
  int fds = count_open_fds();
  mp_process_t *server = start_peer("serve", g_addr, NULL);
  wait_served(g_addr, "stop");
  join_ok(start_peer("use", g_addr, NULL));
  mp_queue_t *q;
  mp_dict_t *d;
  mp_event_t *stop;
  MP_ASSERT_OK(mp_queue_open(&q, with_name(g_addr, "jobs"), 5000));
  MP_ASSERT_OK(mp_dict_open(&d, with_name(g_addr, "d"), 5000));
  MP_ASSERT_OK(mp_event_open(&stop, with_name(g_addr, "stop"), 5000));
  expect_message(q, "from-peer");
  expect_message(q, "sq:49");
  void *v = NULL;
  size_t len = 0;
  MP_ASSERT_OK(mp_dict_get(&v, &len, d, "peer", 4));
  assert_int_equal(len, 5);
  assert_memory_equal(v, "hello", 5);
  mp_free(v);
  /* The wrong kind: a queue opened as a lock, a pool as a descriptor. */
  mp_lock_t *wrong;
  int fd;
  MP_ASSERT_ERR(mp_lock_open(&wrong, with_name(g_addr, "jobs"), 5000), MP_EINVAL);
  MP_ASSERT_ERR(mp_fd_open(&fd, with_name(g_addr, "pool"), 5000), MP_ESTATE);
  mp_queue_t *none;
  MP_ASSERT_ERR(mp_queue_open(&none, with_name(g_addr, "nothing"), 5000), MP_ENOENT);
  MP_ASSERT_OK(mp_event_set(stop));
  join_ok(server);
  /* The broker removed its files when it ended. */
  assert_int_equal(access(g_path, F_OK), -1);
  mp_event_free(stop);
  mp_dict_free(d);
  mp_queue_free(q);
  ASSERT_NO_FD_LEAK(fds);
}

/* ---- the broker killed -------------------------------------------------- */

static void test_broker_killed_after_open(void **state) {
  (void)state;
  mp_process_t *server = start_peer("serve", g_addr, NULL);
  wait_served(g_addr, "stop");
  mp_queue_t *q;
  mp_lock_t *lk;
  mp_dict_t *d;
  MP_ASSERT_OK(mp_queue_open(&q, with_name(g_addr, "jobs"), 5000));
  MP_ASSERT_OK(mp_lock_open(&lk, with_name(g_addr, "lk"), 5000));
  MP_ASSERT_OK(mp_dict_open(&d, with_name(g_addr, "d"), 5000));
  kill_and_join(server);
  /* The objects live on in this process, at full speed. */
  MP_ASSERT_OK(mp_queue_put(q, "after", 5, 1000));
  expect_message(q, "after");
  MP_ASSERT_OK(mp_lock_acquire(lk, 1000));
  MP_ASSERT_OK(mp_lock_release(lk));
  MP_ASSERT_OK(mp_dict_set(d, "k", 1, "v", 1));
  /* No broker now: a socket file nobody serves. */
  mp_queue_t *none;
  MP_ASSERT_ERR(mp_queue_open(&none, with_name(g_addr, "jobs"), 1000), MP_ECONNREFUSED);
  mp_dict_free(d);
  mp_lock_free(lk);
  mp_queue_free(q);
}

static void test_broker_killed_during_pool_request(void **state) {
  (void)state;
  mp_process_t *server = start_peer("serve", g_addr, NULL);
  wait_served(g_addr, "stop");
  mp_pool_t *pool;
  mp_result_t *r;
  MP_ASSERT_OK(mp_pool_open(&pool, with_name(g_addr, "pool"), 5000));
  MP_ASSERT_OK(mp_pool_apply_async(&r, pool, "sleep_ms", "5000", 4, NULL, NULL, NULL));
  usleep(200000);
  kill_and_join(server);
  int64_t t0 = now_ms();
  const void *data;
  size_t len;
  MP_ASSERT_ERR(mp_result_get(&data, &len, r, 20000), MP_EPIPE);
  assert_true(now_ms() - t0 < 4000);
  mp_result_t *r2;
  MP_ASSERT_ERR(mp_pool_apply_async(&r2, pool, "square", "2", 1, NULL, NULL, NULL), MP_EPIPE);
  mp_result_free(r);
  mp_pool_free(pool);
}

/* ---- who may connect ------------------------------------------------------ */

static int run_peer_as_nobody(const char *addr, char *out, size_t cap) {
  mp_cmd_t *cmd;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "setpriv"));
  const char *args[] = {"--reuid=65534", "--regid=65534", "--clear-groups", peer_path(), "open", addr};
  for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) MP_ASSERT_OK(mp_cmd_add_arg(cmd, args[i]));
  MP_ASSERT_OK(mp_cmd_set_stdio(cmd, MP_STDOUT, MP_STDIO_PIPE));
  int code = -1;
  void *o = NULL, *e = NULL;
  size_t olen = 0, elen = 0;
  MP_ASSERT_OK(mp_run(&code, &o, &olen, &e, &elen, cmd, NULL, 0, 30000));
  snprintf(out, cap, "%.*s", (int)olen, o ? (char *)o : "");
  mp_free(o);
  mp_free(e);
  mp_cmd_free(cmd);
  return code;
}

/* The serving peer as uid 65533, admitting 65534 (nobody) to its broker. */
static mp_process_t *start_stranger_broker(const char *addr) {
  mp_cmd_t *cmd;
  mp_process_t *p;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "setpriv"));
  const char *args[] = {"--reuid=65533", "--regid=65533", "--clear-groups", peer_path(),
                        "serve", addr, "65534"};
  for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) MP_ASSERT_OK(mp_cmd_add_arg(cmd, args[i]));
  MP_ASSERT_OK(mp_cmd_set_daemon(cmd, 1)); /* a failed check must not wait for it */
  MP_ASSERT_OK(mp_process_spawn(&p, cmd));
  mp_cmd_free(cmd);
  return p;
}

/* What nobody gets opening addr, once something serves there. */
static void nobody_opens(const char *addr, char *out, size_t cap) {
  int64_t until = now_ms() + 20000;
  do {
    assert_int_equal(run_peer_as_nobody(addr, out, cap), 0);
    if (strcmp(out, "ECONNREFUSED\n") != 0 && strcmp(out, "ENOENT\n") != 0) return;
    usleep(50000);
  } while (now_ms() < until);
  fail_msg("nothing served %s in 20 s", addr);
}

static void test_other_uid_refused(void **state) {
  (void)state;
  if (geteuid() != 0) {
    print_message("# SKIP: needs root to run a peer as another uid (setpriv --reuid=65534)\n");
    skip();
  }
  if (access("/usr/bin/setpriv", X_OK) != 0 && access("/bin/setpriv", X_OK) != 0) {
    print_message("# SKIP: setpriv is not installed\n");
    skip();
  }
  /* The abstract namespace has no file mode: SO_PEERCRED alone decides. */
  char abstract[64];
  snprintf(abstract, sizeof abstract, "unix:@mp-rdv-%d", (int)getpid());
  mp_broker_t *b;
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_new(&q, 0, 0, 0));
  MP_ASSERT_OK(mp_broker_new(&b, abstract, NULL));
  MP_ASSERT_OK(mp_broker_publish(b, "q", mp_queue_fileno(q)));
  char out[128];
  assert_int_equal(run_peer_as_nobody(with_name(abstract, "q"), out, sizeof out), 0);
  assert_string_equal(out, "EACCES\n");
  /* The same name and a missing one look alike to the refused peer. */
  assert_int_equal(run_peer_as_nobody(with_name(abstract, "none"), out, sizeof out), 0);
  assert_string_equal(out, "EACCES\n");
  mp_broker_free(b);
  /* A uid added to the options may open. */
  mp_broker_opts_t *o;
  MP_ASSERT_OK(mp_broker_opts_new(&o));
  MP_ASSERT_OK(mp_broker_opts_add_uid(o, 65534));
  MP_ASSERT_OK(mp_broker_new(&b, abstract, o));
  MP_ASSERT_OK(mp_broker_publish(b, "q", mp_queue_fileno(q)));
  assert_int_equal(run_peer_as_nobody(with_name(abstract, "q"), out, sizeof out), 0);
  char ok[32];
  snprintf(ok, sizeof ok, "%s\n", mp_err_name(MP_OK));
  assert_string_equal(out, ok);
  mp_broker_free(b);
  mp_broker_opts_free(o);
  /* The client checks the broker too: a broker of a third uid (65533) that
   * admits nobody is refused by nobody in the abstract namespace, where
   * anyone can take a name first; a socket file in a directory that uid
   * owns is trusted. */
  char stranger[64];
  snprintf(stranger, sizeof stranger, "unix:@mp-rdv-stranger-%d", (int)getpid());
  mp_process_t *sp = start_stranger_broker(stranger);
  nobody_opens(with_name(stranger, "jobs"), out, sizeof out);
  assert_string_equal(out, "EACCES\n");
  kill_and_join(sp);
  char own_dir[128], own_addr[160];
  snprintf(own_dir, sizeof own_dir, "%s/svc", g_dir);
  assert_int_equal(mkdir(own_dir, 0755), 0);
  assert_int_equal(chown(own_dir, 65533, 65533), 0);
  assert_int_equal(chmod(g_dir, 0755), 0);
  snprintf(own_addr, sizeof own_addr, "unix:%s/b.sock", own_dir);
  sp = start_stranger_broker(own_addr);
  nobody_opens(with_name(own_addr, "jobs"), out, sizeof out);
  assert_string_equal(out, ok);
  kill_and_join(sp);
  char leftover[200];
  snprintf(leftover, sizeof leftover, "%s/b.sock", own_dir);
  unlink(leftover);
  snprintf(leftover, sizeof leftover, "%s/b.sock.lock", own_dir);
  unlink(leftover);
  rmdir(own_dir);
  /* The socket file is 0600 and the peer check applies to it as well. */
  MP_ASSERT_OK(mp_broker_new(&b, g_addr, NULL));
  struct stat st;
  assert_int_equal(stat(g_path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  mp_broker_free(b);
  mp_queue_free(q);
}

/* ---- bad input -------------------------------------------------------------- */

static void test_bad_addresses(void **state) {
  (void)state;
  mp_queue_t *q;
  char longpath[300];
  memset(longpath, 'a', sizeof longpath);
  memcpy(longpath, "unix:/", 6);
  strcpy(longpath + 200, "#q");
  static const struct {
    const char *addr;
    int code;
  } cases[] = {
      {"unix:relative/b.sock#q", MP_EINVAL}, {"unix:/tmp/b.sock", MP_EINVAL},
      {"unix:/tmp/b\x01sock#q", MP_EINVAL},  {"unix:/tmp/b\nsock#q", MP_EINVAL},
#ifdef MP_HAVE_REDIS /* served: nothing listens on port 1 */
      {"ftp://host/x#q", MP_EINVAL},         {"redis://127.0.0.1:1#q", MP_ECONNREFUSED},
#else /* the build has no redis backend: the error names the option */
      {"ftp://host/x#q", MP_EINVAL},         {"redis://host#q", MP_ENOTSUP},
#endif
      {"tcp://host:1#q", MP_EINVAL},         {"unix:/tmp/b.sock#", MP_EINVAL},
      {"unix:/tmp/b.sock#a/b", MP_EINVAL},   {"", MP_EINVAL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = mp_queue_open(&q, cases[i].addr, 100);
    if (rc != cases[i].code) fail_msg("'%s': %s, expected %s", cases[i].addr, mp_err_name(rc), mp_err_name(cases[i].code));
    assert_null(q);
  }
  MP_ASSERT_ERR(mp_queue_open(&q, longpath, 100), MP_EINVAL);
  mp_broker_t *b;
  MP_ASSERT_ERR(mp_broker_new(&b, "unix:relative.sock", NULL), MP_EINVAL);
  MP_ASSERT_ERR(mp_broker_new(&b, "unix:/no/such/dir/b.sock", NULL), MP_ENOENT);
  MP_ASSERT_ERR(mp_queue_open(&q, "unix:/no/such/dir/b.sock#q", 100), MP_ENOENT);
}

/* A raw connection to the broker; returns the socket. */
static int raw_connect(const char *path) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", path);
  assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof sa), 0);
  return s;
}

/* Read until the broker closes; returns the bytes it sent (0 if none),
 * or -1 if it did not close within ms. */
static int until_closed(int s, int ms) {
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[512];
  int total = 0;
  for (;;) {
    ssize_t n = recv(s, buf, sizeof buf, 0);
    if (n == 0) return total;
    if (n < 0) return errno == EAGAIN ? -1 : total;
    total += (int)n;
  }
}

static mp_broker_t *small_broker(unsigned max_clients, int64_t handshake_ms, mp_queue_t **q) {
  mp_broker_opts_t *o;
  mp_broker_t *b;
  MP_ASSERT_OK(mp_broker_opts_new(&o));
  MP_ASSERT_OK(mp_broker_opts_set_max_clients(o, max_clients));
  MP_ASSERT_OK(mp_broker_opts_set_handshake_timeout(o, handshake_ms));
  MP_ASSERT_OK(mp_broker_new(&b, g_addr, o));
  mp_broker_opts_free(o);
  MP_ASSERT_OK(mp_queue_new(q, 0, 0, 0));
  MP_ASSERT_OK(mp_broker_publish(b, "q", mp_queue_fileno(*q)));
  return b;
}

static void still_serves(void) {
  mp_queue_t *q;
  MP_ASSERT_OK(mp_queue_open(&q, with_name(g_addr, "q"), 5000));
  mp_queue_free(q);
}

static void test_silent_garbage_huge_dying_clients(void **state) {
  (void)state;
  int fds = count_open_fds();
  mp_queue_t *q;
  mp_broker_t *b = small_broker(16, 300, &q);
  /* Silent: closed after the handshake timeout, told nothing. */
  int s = raw_connect(g_path);
  int64_t t0 = now_ms();
  assert_int_equal(until_closed(s, 5000), 0);
  assert_true(now_ms() - t0 >= 250);
  close(s);
  /* Garbage, a 2^62-byte length, half a header then gone. */
  s = raw_connect(g_path);
  assert_int_equal(write(s, "GET / HTTP/1.0\r\n\r\n", 18), 18);
  assert_int_equal(until_closed(s, 5000), 0);
  close(s);
  unsigned char huge[16] = {'M', 'P', 'B', 'K', 1, 0, 1, 0};
  uint64_t len = (uint64_t)1 << 62;
  memcpy(huge + 8, &len, 8);
  s = raw_connect(g_path);
  assert_int_equal(write(s, huge, 16), 16);
  assert_int_equal(until_closed(s, 5000), 0);
  close(s);
  s = raw_connect(g_path);
  assert_int_equal(write(s, huge, 10), 10);
  close(s);
  /* A well-formed request that dies before reading its answer. */
  unsigned char req[17] = {'M', 'P', 'B', 'K', 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 'q'};
  s = raw_connect(g_path);
  assert_int_equal(write(s, req, 17), 17);
  close(s);
  still_serves();
  mp_broker_free(b);
  mp_queue_free(q);
  ASSERT_NO_FD_LEAK(fds);
}

static void test_connection_flood(void **state) {
  (void)state;
  int fds = count_open_fds();
  mp_queue_t *q;
  mp_broker_t *b = small_broker(16, 10000, &q);
  int socks[64];
  for (int i = 0; i < 64; i++) socks[i] = raw_connect(g_path);
  usleep(300000);
  /* The broker holds 16; one more is told MP_ENOSPC. */
  int fd;
  MP_ASSERT_ERR(mp_fd_open(&fd, with_name(g_addr, "q"), 5000), MP_ENOSPC);
  int refused = 0;
  for (int i = 0; i < 64; i++) refused += until_closed(socks[i], 50) > 0;
  assert_int_equal(refused, 48);
  for (int i = 0; i < 64; i++) close(socks[i]);
  usleep(100000);
  still_serves();
  mp_broker_free(b);
  mp_queue_free(q);
  ASSERT_NO_FD_LEAK(fds);
}

/* ---- the socket path ------------------------------------------------------ */

static void test_stale_socket_replaced_foreign_file_kept(void **state) {
  (void)state;
  mp_broker_t *b, *b2;
  /* A live broker: MP_EEXIST. */
  MP_ASSERT_OK(mp_broker_new(&b, g_addr, NULL));
  MP_ASSERT_ERR(mp_broker_new(&b2, g_addr, NULL), MP_EEXIST);
  mp_broker_free(b);
  /* A broker killed: its socket and lock file stay; the next one takes over. */
  mp_process_t *server = start_peer("serve", g_addr, NULL);
  wait_served(g_addr, "stop");
  kill_and_join(server);
  assert_int_equal(access(g_path, F_OK), 0);
  MP_ASSERT_OK(mp_broker_new(&b, g_addr, NULL));
  mp_broker_free(b);
  /* A regular file, and a socket nobody of ours made: never unlinked. */
  FILE *f = fopen(g_path, "w");
  fputs("precious", f);
  fclose(f);
  MP_ASSERT_ERR(mp_broker_new(&b, g_addr, NULL), MP_EEXIST);
  assert_int_equal(access(g_path, F_OK), 0);
  unlink(g_path);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", g_path);
  assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
  close(s); /* dead, but not a broker's: no lock file beside it */
  MP_ASSERT_ERR(mp_broker_new(&b, g_addr, NULL), MP_EEXIST);
  assert_int_equal(access(g_path, F_OK), 0);
  char lock[160];
  snprintf(lock, sizeof lock, "%s.lock", g_path);
  assert_int_equal(access(lock, F_OK), -1); /* the failed call left nothing */
}

/* Brokers started and stopped at one path by 4 processes at once: every
 * broker that mp_broker_new() returned is the one its clients reach (a
 * broker that locked a lock file its predecessor had just unlinked would
 * bind a socket file the next one replaces, and its own names would be
 * unreachable). Exit code of a racer: 0, or the step that failed. */
static int racer_failed(int code, const char *what) {
  fprintf(stderr, "racer %d: %s: %s\n", (int)getpid(), what, mp_last_error());
  return code;
}

static int broker_racer(int id) {
  char name[32];
  snprintf(name, sizeof name, "r%d", id);
  int64_t end = now_ms() + 1500;
  while (now_ms() < end) {
    mp_broker_t *b = NULL;
    int r = mp_broker_new(&b, g_addr, NULL);
    if (r == MP_EEXIST) continue;
    if (r != MP_OK) return racer_failed(1, "mp_broker_new");
    int fd = -1;
    if (mp_broker_publish(b, name, 0) != MP_OK) return racer_failed(2, "mp_broker_publish");
    if (mp_fd_open(&fd, with_name(g_addr, name), 10000) != MP_OK)
      return racer_failed(3, "mp_fd_open of its own name");
    close(fd);
    mp_broker_free(b);
  }
  return 0;
}

static void test_brokers_racing_for_one_path(void **state) {
  (void)state;
  pid_t pids[4];
  for (int i = 0; i < 4; i++) {
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if (pids[i] == 0) _exit(broker_racer(i));
  }
  for (int i = 0; i < 4; i++) {
    int st = 0;
    assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("racer %d: status %#x", i, st);
  }
  assert_int_equal(access(g_path, F_OK), -1); /* the last one took its files */
}

/* ---- the pool channel ------------------------------------------------------- */

static int echo(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)p;
  *out = malloc(len + 1);
  memcpy(*out, arg, len);
  *out_len = len;
  return 0;
}
static int failing(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)arg, (void)len, (void)p;
  *out = strdup("no luck");
  *out_len = 7;
  return 1;
}
static int sleep_task(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)out, (void)out_len, (void)p;
  char buf[16];
  snprintf(buf, sizeof buf, "%.*s", (int)(len < 8 ? len : 8), (const char *)arg);
  usleep(1000 * atoi(buf));
  return 0;
}
static int die(void **out, size_t *out_len, const void *arg, size_t len, void *p) {
  (void)out, (void)out_len, (void)arg, (void)len, (void)p;
  raise(SIGKILL);
  return 0;
}

static mp_pool_t *owner_pool(unsigned workers) {
  mp_pool_opts_t *o;
  mp_pool_t *p;
  MP_ASSERT_OK(mp_pool_opts_new(&o));
  MP_ASSERT_OK(mp_pool_opts_set_workers(o, workers));
  MP_ASSERT_OK(mp_pool_new(&p, o));
  mp_pool_opts_free(o);
  return p;
}

static void test_opened_pool(void **state) {
  (void)state;
  mp_pool_t *owned = owner_pool(2), *pool;
  mp_broker_t *b;
  MP_ASSERT_OK(mp_broker_new(&b, g_addr, NULL));
  MP_ASSERT_OK(mp_broker_publish_pool(b, "p", owned));
  MP_ASSERT_OK(mp_pool_open(&pool, with_name(g_addr, "p"), 5000));
  void *out;
  size_t len;
  MP_ASSERT_OK(mp_pool_apply(&out, &len, pool, "rdv_echo", "abc", 3));
  assert_int_equal(len, 3);
  mp_free(out);
  MP_ASSERT_ERR(mp_pool_apply(&out, &len, pool, "rdv_fail", "", 0), MP_ETASKFAILED);
  assert_string_equal(out, "no luck");
  mp_free(out);
  MP_ASSERT_ERR(mp_pool_apply(&out, &len, pool, "no_such_task", "", 0), MP_ENOENT);
  mp_free(out);
  MP_ASSERT_ERR(mp_pool_apply(&out, &len, pool, "rdv_die", "", 0), MP_EWORKERDIED);
  mp_free(out);
  /* map and imap over 20 items, in order. */
  const void *args[20];
  size_t lens[20];
  char text[20][4];
  for (int i = 0; i < 20; i++) {
    snprintf(text[i], 4, "%d", i);
    args[i] = text[i];
    lens[i] = strlen(text[i]);
  }
  mp_result_t *r;
  MP_ASSERT_OK(mp_pool_map(&r, pool, "rdv_echo", args, lens, 20, 3));
  assert_int_equal(mp_result_count(r), 20);
  const void *data;
  MP_ASSERT_OK(mp_result_item(&data, &len, r, 13));
  assert_memory_equal(data, "13", 2);
  mp_result_free(r);
  mp_pool_iter_t *it;
  MP_ASSERT_OK(mp_pool_imap(&it, pool, "rdv_echo", args, lens, 20, 1, 0));
  size_t index, n = 0;
  int rc;
  while ((rc = mp_pool_iter_next(&index, &data, &len, it, 10000)) > 0) assert_int_equal(index, n++);
  assert_int_equal(rc, 0);
  assert_int_equal(n, 20);
  mp_pool_iter_free(it);
  /* Unpublish: a task still running fails with MP_ECLOSED, later ones too. */
  MP_ASSERT_OK(mp_pool_apply_async(&r, pool, "sleep_ms", "500", 3, NULL, NULL, NULL));
  usleep(100000);
  MP_ASSERT_OK(mp_broker_unpublish(b, "p"));
  MP_ASSERT_ERR(mp_result_get(&data, &len, r, 10000), MP_ECLOSED);
  mp_result_free(r);
  /* close + join on the opened handle end at once: nothing of its own left. */
  MP_ASSERT_OK(mp_pool_close(pool));
  MP_ASSERT_OK(mp_pool_join(pool, 5000));
  mp_pool_free(pool);
  mp_broker_free(b);
  mp_pool_free(owned);
}

/* A client that dies leaves no task half-owned: its 40 queued 200 ms tasks
 * on a 1-worker pool are dropped, so the owner's pool drains at once. */
static void test_pool_client_dies(void **state) {
  (void)state;
  mp_pool_t *owned = owner_pool(1);
  mp_broker_t *b;
  MP_ASSERT_OK(mp_broker_new(&b, g_addr, NULL));
  MP_ASSERT_OK(mp_broker_publish_pool(b, "p", owned));
  join_ok(start_peer("pool_and_die", with_name(g_addr, "p"), NULL));
  usleep(200000);
  MP_ASSERT_OK(mp_broker_unpublish(b, "p"));
  int64_t t0 = now_ms();
  MP_ASSERT_OK(mp_pool_close(owned));
  MP_ASSERT_OK(mp_pool_join(owned, 20000));
  assert_true(now_ms() - t0 < 3000); /* 40 x 200 ms would be 8 s */
  print_message("# owner: submitted %lld, done %lld, failed %lld\n",
                (long long)mp_pool_stat(owned, MP_POOL_SUBMITTED), (long long)mp_pool_stat(owned, MP_POOL_DONE),
                (long long)mp_pool_stat(owned, MP_POOL_FAILED));
  assert_true(mp_pool_stat(owned, MP_POOL_FAILED) >= 30);
  mp_broker_free(b);
  mp_pool_free(owned);
}

int main(int argc, char **argv) {
  MP_ASSERT_OK(mp_register_task("rdv_echo", echo, NULL));
  MP_ASSERT_OK(mp_register_task("rdv_fail", failing, NULL));
  MP_ASSERT_OK(mp_register_task("sleep_ms", sleep_task, NULL));
  MP_ASSERT_OK(mp_register_task("rdv_die", die, NULL));
  MP_ASSERT_OK(mp_main(argc, argv));
  /* Warm up: the runtime's own descriptors open with the first child. */
  int code;
  mp_cmd_t *warm;
  MP_ASSERT_OK(mp_cmd_new(&warm, "true"));
  MP_ASSERT_OK(mp_run(&code, NULL, NULL, NULL, NULL, warm, NULL, 0, 30000));
  mp_cmd_free(warm);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_queue_lock_dict_pool_between_programs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_broker_killed_after_open, setup, teardown),
      cmocka_unit_test_setup_teardown(test_broker_killed_during_pool_request, setup, teardown),
      cmocka_unit_test_setup_teardown(test_other_uid_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_addresses, setup, teardown),
      cmocka_unit_test_setup_teardown(test_silent_garbage_huge_dying_clients, setup, teardown),
      cmocka_unit_test_setup_teardown(test_connection_flood, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stale_socket_replaced_foreign_file_kept, setup, teardown),
      cmocka_unit_test_setup_teardown(test_brokers_racing_for_one_path, setup, teardown),
      cmocka_unit_test_setup_teardown(test_opened_pool, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pool_client_dies, setup, teardown),
  };
  return MP_RUN_TESTS(tests);
}
