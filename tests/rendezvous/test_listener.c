/* Listener and Client (multiprocessing.connection): accept and connect
 * over unix: and tcp://, messages both ways, right, wrong and missing
 * authkeys on either side, timeouts (an accept with nothing pending, a
 * silent peer that must not stall a good one), bad addresses, the socket
 * file (0600, never taken over, removed by free), closing and freeing
 * while another thread waits in accept, descriptor and thread accounting,
 * and interoperation with CPython: its Client and Listener (Debian's
 * python3, the 3.11 handshake) and the 3.12 handshake reproduced by
 * tests/rendezvous/py_peer.py --proto 312. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define LONG_MS 30000 /* generous bound for anything that should be quick */

static const char k_key[] = "secret key";
static const char k_other_key[] = "another key";

static char g_dir[64]; /* a private directory for socket files */

/* ------------------------------------------------------------------------
 * Utilities
 * ---------------------------------------------------------------------- */

static int64_t ms_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sock_path(char *out, size_t cap, const char *name) {
  snprintf(out, cap, "%s/%s", g_dir, name);
}

static void unix_address(char *out, size_t cap, const char *name) {
  snprintf(out, cap, "unix:%s/%s", g_dir, name);
}

static mp_listener_t *listen_at(const char *address, const char *key, int allow_no_auth,
                                int64_t handshake_ms) {
  mp_listener_opts_t *o = NULL;
  MP_ASSERT_OK(mp_listener_opts_new(&o));
  if (key) MP_ASSERT_OK(mp_listener_opts_set_authkey(o, key, strlen(key)));
  MP_ASSERT_OK(mp_listener_opts_set_allow_no_auth(o, allow_no_auth));
  if (handshake_ms > 0) MP_ASSERT_OK(mp_listener_opts_set_handshake_timeout(o, handshake_ms));
  mp_listener_t *l = NULL;
  int rc = mp_listener_new(&l, address, o);
  mp_listener_opts_free(o);
  if (rc != MP_OK) fail_msg("mp_listener_new(%s) = %s: %s", address, mp_err_name(rc), mp_last_error());
  return l;
}

static mp_conn_t *connect_to(const char *address, const char *key) {
  mp_conn_t *c = NULL;
  int rc = mp_conn_connect(&c, address, key, key ? strlen(key) : 0, LONG_MS);
  if (rc != MP_OK) fail_msg("mp_conn_connect(%s) = %s: %s", address, mp_err_name(rc), mp_last_error());
  return c;
}

static void send_str(mp_conn_t *c, const char *s) {
  MP_ASSERT_OK(mp_conn_send(c, s, strlen(s), LONG_MS));
}

static void expect_str(mp_conn_t *c, const char *want) {
  void *out = NULL;
  size_t n = 0;
  MP_ASSERT_OK(mp_conn_recv(&out, &n, c, LONG_MS));
  if (n != strlen(want) || memcmp(out, want, n) != 0)
    fail_msg("received '%.*s', expected '%s'", (int)n, (char *)out, want);
  mp_free(out);
}

/* Both directions over an accepted pair. */
static void exchange(mp_conn_t *server, mp_conn_t *client) {
  send_str(client, "ping from the client");
  expect_str(server, "ping from the client");
  send_str(server, "pong from the listener");
  expect_str(client, "pong from the listener");
}

/* Listen at address with the key, connect with the key, exchange. */
static void roundtrip(const char *address, const char *key) {
  mp_listener_t *l = listen_at(address, key, key == NULL, 0);
  mp_conn_t *client = connect_to(mp_listener_address(l), key);
  mp_conn_t *server = NULL;
  MP_ASSERT_OK(mp_listener_accept(&server, l, LONG_MS));
  exchange(server, client);
  mp_conn_free(client);
  mp_conn_free(server);
  mp_listener_free(l);
}

/* ------------------------------------------------------------------------
 * Accept and connect
 * ---------------------------------------------------------------------- */

static void test_listener_unix_roundtrip(void **state) {
  (void)state;
  char addr[128];
  unix_address(addr, sizeof addr, "rt.sock");
  roundtrip(addr, k_key);
  roundtrip(addr, NULL); /* the file went with the first listener */
  roundtrip("unix:@mp-test-listener-abstract", k_key);
}

static void test_listener_tcp_roundtrip_reports_port(void **state) {
  (void)state;
  mp_listener_t *l = listen_at("tcp://127.0.0.1:0", k_key, 0, 0);
  const char *addr = mp_listener_address(l);
  assert_non_null(addr);
  assert_true(strncmp(addr, "tcp://127.0.0.1:", 16) == 0);
  assert_true(atoi(addr + 16) > 0);
  mp_conn_t *client = connect_to(addr, k_key);
  mp_conn_t *server = NULL;
  MP_ASSERT_OK(mp_listener_accept(&server, l, LONG_MS));
  exchange(server, client);
  /* A second peer on the same listener. */
  mp_conn_t *client2 = connect_to(addr, k_key);
  mp_conn_t *server2 = NULL;
  MP_ASSERT_OK(mp_listener_accept(&server2, l, LONG_MS));
  exchange(server2, client2);
  mp_conn_free(client2);
  mp_conn_free(server2);
  mp_conn_free(client);
  mp_conn_free(server);
  mp_listener_free(l);
}

static void test_listener_tcp_without_key_needs_allow(void **state) {
  (void)state;
  mp_listener_t *l = NULL;
  MP_ASSERT_ERR(mp_listener_new(&l, "tcp://127.0.0.1:0", NULL), MP_EINVAL);
  assert_null(l);
  assert_non_null(strstr(mp_last_error(), "authkey"));
  roundtrip("tcp://127.0.0.1:0", NULL); /* allow_no_auth */
}

/* ------------------------------------------------------------------------
 * Keys
 * ---------------------------------------------------------------------- */

static void test_listener_wrong_key_fails_both_sides(void **state) {
  (void)state;
  mp_listener_t *l = listen_at("tcp://127.0.0.1:0", k_key, 0, 0);
  mp_conn_t *c = NULL;
  int64_t t0 = ms_now();
  MP_ASSERT_ERR(mp_conn_connect(&c, mp_listener_address(l), k_other_key, strlen(k_other_key),
                                LONG_MS),
                MP_EACCES);
  assert_null(c);
  assert_non_null(strstr(mp_last_error(), "authkey"));
  mp_conn_t *s = NULL;
  MP_ASSERT_ERR(mp_listener_accept(&s, l, LONG_MS), MP_EACCES);
  assert_null(s);
  assert_non_null(strstr(mp_last_error(), "peer 127.0.0.1:"));
  assert_true(ms_now() - t0 < 10000);
  /* The listener goes on serving good peers. */
  mp_conn_t *good = connect_to(mp_listener_address(l), k_key);
  MP_ASSERT_OK(mp_listener_accept(&s, l, LONG_MS));
  exchange(s, good);
  mp_conn_free(good);
  mp_conn_free(s);
  mp_listener_free(l);
}

/* A client without the key sends data where the answer belongs: the
 * listener refuses it as a failed authentication. */
static void test_listener_client_without_key_is_refused(void **state) {
  (void)state;
  char addr[128];
  unix_address(addr, sizeof addr, "nokey.sock");
  mp_listener_t *l = listen_at(addr, k_key, 0, 0);
  mp_conn_t *c = connect_to(addr, NULL);
  send_str(c, "hello without a key");
  mp_conn_t *s = NULL;
  MP_ASSERT_ERR(mp_listener_accept(&s, l, LONG_MS), MP_EACCES);
  assert_non_null(strstr(mp_last_error(), "peer pid "));
  /* It got the challenge, then #FAILURE#, then the end. */
  void *out = NULL;
  size_t n = 0;
  MP_ASSERT_OK(mp_conn_recv(&out, &n, c, LONG_MS));
  assert_true(n > 11 && memcmp(out, "#CHALLENGE#{sha256}", 19) == 0);
  mp_free(out);
  expect_str(c, "#FAILURE#");
  MP_ASSERT_ERR(mp_conn_recv(&out, &n, c, LONG_MS), MP_ECLOSED);
  mp_conn_free(c);
  mp_listener_free(l);
}

/* A client with a key facing a listener without one waits for a
 * challenge that never comes: a timeout that says why. */
static void test_listener_without_key_client_times_out(void **state) {
  (void)state;
  char addr[128];
  unix_address(addr, sizeof addr, "nokey2.sock");
  mp_listener_t *l = listen_at(addr, NULL, 0, 0);
  mp_conn_t *c = NULL;
  int64_t t0 = ms_now();
  MP_ASSERT_ERR(mp_conn_connect(&c, addr, k_key, strlen(k_key), 300), MP_ETIMEDOUT);
  int64_t took = ms_now() - t0;
  assert_true(took >= 250 && took < 10000);
  assert_non_null(strstr(mp_last_error(), "authkey"));
  assert_null(c);
  mp_listener_free(l);
}

/* A listener that hangs up in the middle of the handshake: MP_EPIPE. */
static void *accept_and_hang_up(void *arg) {
  int lfd = *(int *)arg;
  usleep(100 * 1000); /* the client waits for its challenge meanwhile */
  int fd = accept(lfd, NULL, NULL);
  if (fd >= 0) close(fd);
  return NULL;
}

static void test_listener_client_sees_hang_up_as_epipe(void **state) {
  (void)state;
  char path[100], addr[128]; /* path fits sun_path (108) */
  sock_path(path, sizeof path, "hangup.sock");
  unix_address(addr, sizeof addr, "hangup.sock");
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  assert_true(strlen(path) < sizeof sa.sun_path);
  memcpy(sa.sun_path, path, strlen(path) + 1); /* snprintf: -Werror=format-truncation */
  assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(lfd, 4), 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, accept_and_hang_up, &lfd), 0);
  mp_conn_t *c = NULL;
  MP_ASSERT_ERR(mp_conn_connect(&c, addr, k_key, strlen(k_key), LONG_MS), MP_EPIPE);
  assert_null(c);
  pthread_join(t, NULL);
  close(lfd);
  unlink(path);
}

/* ------------------------------------------------------------------------
 * Timeouts
 * ---------------------------------------------------------------------- */

static void test_listener_accept_times_out(void **state) {
  (void)state;
  mp_listener_t *l = listen_at("tcp://127.0.0.1:0", k_key, 0, 0);
  mp_conn_t *s = NULL;
  MP_ASSERT_ERR(mp_listener_accept(&s, l, 0), MP_ETIMEDOUT);
  int64_t t0 = ms_now();
  MP_ASSERT_ERR(mp_listener_accept(&s, l, 200), MP_ETIMEDOUT);
  int64_t took = ms_now() - t0;
  assert_true(took >= 150 && took < 10000);
  assert_null(s);
  mp_listener_free(l);
}

/* Connect a plain socket that never says anything. */
static int silent_tcp_peer(const char *address) {
  int port = atoi(strrchr(address, ':') + 1);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  return fd;
}

static void test_listener_silent_peer_does_not_stall_others(void **state) {
  (void)state;
  /* A handshake timeout far above the bound below: a listener that ran
   * handshakes one after another would make the good peer wait for it. */
  mp_listener_t *l = listen_at("tcp://127.0.0.1:0", k_key, 0, 20000);
  int silent[3];
  for (int i = 0; i < 3; i++) silent[i] = silent_tcp_peer(mp_listener_address(l));
  int64_t t0 = ms_now();
  mp_conn_t *good = connect_to(mp_listener_address(l), k_key);
  mp_conn_t *s = NULL;
  MP_ASSERT_OK(mp_listener_accept(&s, l, 5000));
  int64_t took = ms_now() - t0;
  if (took >= 5000) fail_msg("the good peer took %lld ms", (long long)took);
  exchange(s, good);
  /* The silent peers are dropped after the handshake timeout (here: by free). */
  mp_conn_free(good);
  mp_conn_free(s);
  mp_listener_free(l);
  for (int i = 0; i < 3; i++) {
    char b;
    /* They got the challenge and then the end of the stream. */
    while (read(silent[i], &b, 1) > 0) {
    }
    close(silent[i]);
  }
}

static void test_listener_silent_peer_dropped_after_handshake_timeout(void **state) {
  (void)state;
  mp_listener_t *l = listen_at("tcp://127.0.0.1:0", k_key, 0, 300);
  int fd = silent_tcp_peer(mp_listener_address(l));
  int64_t t0 = ms_now();
  char buf[256];
  while (read(fd, buf, sizeof buf) > 0) {
  } /* the challenge, then the end */
  int64_t took = ms_now() - t0;
  assert_true(took >= 200 && took < 10000);
  mp_conn_t *s = NULL;
  MP_ASSERT_ERR(mp_listener_accept(&s, l, 100), MP_ETIMEDOUT); /* dropped, not refused */
  close(fd);
  mp_listener_free(l);
}

/* ------------------------------------------------------------------------
 * Addresses and the socket file
 * ---------------------------------------------------------------------- */

static void test_listener_bad_addresses(void **state) {
  (void)state;
  static const struct {
    const char *address;
    int want;
  } rows[] = {
      {"", MP_EINVAL},
      {"tcp://127.0.0.1", MP_EINVAL},
      {"tcp://127.0.0.1:99999", MP_EINVAL},
      {"unix:relative.sock", MP_EINVAL},
      {"unix:/tmp/x.sock#name", MP_EINVAL},
      {"ftp://example.org:21", MP_EINVAL},
      {"redis://localhost", MP_EINVAL}, /* a Listener serves no redis:// */
      {"unix:/nonexistent-dir-of-mp-tests/x.sock", MP_ENOENT},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    mp_listener_t *l = NULL;
    mp_listener_opts_t *o = NULL;
    MP_ASSERT_OK(mp_listener_opts_new(&o));
    MP_ASSERT_OK(mp_listener_opts_set_authkey(o, k_key, strlen(k_key)));
    int rc = mp_listener_new(&l, rows[i].address, o);
    mp_listener_opts_free(o);
    if (rc != rows[i].want)
      fail_msg("listen at '%s' = %s, expected %s", rows[i].address, mp_err_name(rc),
               mp_err_name(rows[i].want));
    assert_null(l);
    mp_conn_t *c = NULL;
    int want = rows[i].want;
    rc = mp_conn_connect(&c, rows[i].address, NULL, 0, 1000);
    if (rc != want)
      fail_msg("connect to '%s' = %s, expected %s", rows[i].address, mp_err_name(rc),
               mp_err_name(want));
    assert_null(c);
  }
  MP_ASSERT_ERR(mp_listener_new(NULL, "unix:/tmp/x", NULL), MP_EINVAL);
  mp_listener_t *l = NULL;
  MP_ASSERT_ERR(mp_listener_new(&l, NULL, NULL), MP_EINVAL);
}

static void test_listener_connect_errors(void **state) {
  (void)state;
  char addr[128];
  mp_conn_t *c = NULL;
  unix_address(addr, sizeof addr, "nobody.sock");
  MP_ASSERT_ERR(mp_conn_connect(&c, addr, NULL, 0, 1000), MP_ENOENT);
  /* A port nobody listens on: take a free one, then let it go. */
  mp_listener_t *l = listen_at("tcp://127.0.0.1:0", k_key, 0, 0);
  char tcp[64];
  snprintf(tcp, sizeof tcp, "%s", mp_listener_address(l));
  mp_listener_free(l);
  MP_ASSERT_ERR(mp_conn_connect(&c, tcp, k_key, strlen(k_key), 1000), MP_ECONNREFUSED);
  assert_null(c);
}

/* A host name is looked up within the caller's deadline (the lookup runs
 * off the calling thread): "localhost" connects, an unknown name fails
 * clearly (MP_ENOENT; MP_ETIMEDOUT where DNS does not answer) within its
 * timeout, and a deadline already over ends the lookup at once. */
static void test_listener_host_names_resolved_within_deadline(void **state) {
  (void)state;
  mp_listener_t *l = listen_at("tcp://127.0.0.1:0", k_key, 0, 0);
  const char *port = strrchr(mp_listener_address(l), ':') + 1;
  char named[96];
  snprintf(named, sizeof named, "tcp://localhost:%s", port);
  mp_conn_t *client = connect_to(named, k_key);
  mp_conn_t *server = NULL;
  MP_ASSERT_OK(mp_listener_accept(&server, l, LONG_MS));
  exchange(server, client);
  mp_conn_free(client);
  mp_conn_free(server);

  mp_conn_t *c = NULL;
  int64_t t0 = now_ms();
  int r = mp_conn_connect(&c, "tcp://no-such-host.invalid:1", k_key, strlen(k_key), 2000);
  if (r != MP_ENOENT && r != MP_ETIMEDOUT) fail_msg("unknown host: %s", mp_strerror(r));
  assert_true(now_ms() - t0 < 10000);
  assert_null(c);
  MP_ASSERT_ERR(mp_conn_connect(&c, named, k_key, strlen(k_key), 0), MP_ETIMEDOUT);
  assert_null(c);
  mp_listener_free(l);
}

static void test_listener_address_in_use(void **state) {
  (void)state;
  mp_listener_t *l = listen_at("tcp://127.0.0.1:0", k_key, 0, 0);
  mp_listener_t *l2 = NULL;
  mp_listener_opts_t *o = NULL;
  MP_ASSERT_OK(mp_listener_opts_new(&o));
  MP_ASSERT_OK(mp_listener_opts_set_authkey(o, k_key, strlen(k_key)));
  MP_ASSERT_ERR(mp_listener_new(&l2, mp_listener_address(l), o), MP_EEXIST);
  /* An existing file at a unix: path is never taken over nor removed. */
  char path[128], addr[128];
  sock_path(path, sizeof path, "taken");
  unix_address(addr, sizeof addr, "taken");
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("not a socket", f);
  fclose(f);
  MP_ASSERT_ERR(mp_listener_new(&l2, addr, o), MP_EEXIST);
  assert_non_null(strstr(mp_last_error(), "never removed"));
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  unlink(path);
  /* Nor is a live listener's socket. */
  mp_listener_t *u = listen_at(addr, k_key, 0, 0);
  MP_ASSERT_ERR(mp_listener_new(&l2, addr, o), MP_EEXIST);
  mp_conn_t *c = connect_to(addr, k_key);
  mp_conn_free(c);
  mp_listener_free(u);
  mp_listener_opts_free(o);
  mp_listener_free(l);
}

static void test_listener_socket_file_0600_removed_by_free(void **state) {
  (void)state;
  char path[128], addr[128];
  sock_path(path, sizeof path, "mode.sock");
  unix_address(addr, sizeof addr, "mode.sock");
  mode_t old = umask(0); /* the widest umask: the file must still be 0600 */
  mp_listener_t *l = listen_at(addr, NULL, 0, 0);
  umask(old);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISSOCK(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_string_equal(mp_listener_address(l), addr);
  MP_ASSERT_OK(mp_listener_close(l));
  assert_int_equal(stat(path, &st), -1);
  MP_ASSERT_OK(mp_listener_close(l)); /* again: nothing */
  mp_listener_free(l);
  /* A file that replaced ours after bind is not removed. */
  l = listen_at(addr, NULL, 0, 0);
  assert_int_equal(unlink(path), 0);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
  mp_listener_free(l);
  assert_int_equal(stat(path, &st), 0);
  unlink(path);
}

/* ------------------------------------------------------------------------
 * Closing while another thread waits
 * ---------------------------------------------------------------------- */

struct waiter {
  mp_listener_t *l;
  int rc;
  volatile int started;
};

static void *accept_forever(void *arg) {
  struct waiter *w = arg;
  mp_conn_t *c = NULL;
  w->started = 1;
  w->rc = mp_listener_accept(&c, w->l, MP_FOREVER);
  mp_conn_free(c);
  return NULL;
}

static void wake_waiter(int free_it) {
  struct waiter w = {listen_at("tcp://127.0.0.1:0", k_key, 0, 0), 1, 0};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, accept_forever, &w), 0);
  while (!w.started) usleep(1000);
  usleep(200 * 1000); /* well inside the wait */
  int64_t t0 = ms_now();
  if (free_it) {
    mp_listener_free(w.l);
  } else {
    MP_ASSERT_OK(mp_listener_close(w.l));
  }
  pthread_join(t, NULL);
  assert_true(ms_now() - t0 < 10000);
  assert_int_equal(w.rc, MP_ECLOSED);
  if (!free_it) {
    mp_conn_t *c = NULL;
    MP_ASSERT_ERR(mp_listener_accept(&c, w.l, 0), MP_ECLOSED);
    mp_listener_free(w.l);
  }
}

static void test_listener_close_wakes_accept(void **state) {
  (void)state;
  wake_waiter(0);
}

static void test_listener_free_wakes_accept(void **state) {
  (void)state;
  wake_waiter(1);
}

/* Connections accepted stay open after the listener is freed; those not
 * yet accepted are closed. */
static void test_listener_free_keeps_accepted(void **state) {
  (void)state;
  mp_listener_t *l = listen_at("tcp://127.0.0.1:0", k_key, 0, 0);
  mp_conn_t *c1 = connect_to(mp_listener_address(l), k_key);
  mp_conn_t *c2 = connect_to(mp_listener_address(l), k_key);
  mp_conn_t *s1 = NULL;
  MP_ASSERT_OK(mp_listener_accept(&s1, l, LONG_MS));
  mp_listener_free(l);
  exchange(s1, c1);
  void *out = NULL;
  size_t n = 0;
  MP_ASSERT_ERR(mp_conn_recv(&out, &n, c2, LONG_MS), MP_ECLOSED);
  mp_conn_free(s1);
  mp_conn_free(c1);
  mp_conn_free(c2);
}

/* ------------------------------------------------------------------------
 * Accounting
 * ---------------------------------------------------------------------- */

static int settled_threads(int at_most) {
  int n = count_threads();
  for (int i = 0; i < 300 && n > at_most; i++) {
    usleep(10 * 1000);
    n = count_threads();
  }
  return n;
}

static void test_listener_no_fd_or_thread_leak(void **state) {
  (void)state;
  int fds = count_open_fds(), threads = count_threads();
  for (int round = 0; round < 3; round++) {
    mp_listener_t *l = listen_at("tcp://127.0.0.1:0", k_key, 0, 0);
    const char *addr = mp_listener_address(l);
    mp_conn_t *c = connect_to(addr, k_key), *s = NULL;
    MP_ASSERT_OK(mp_listener_accept(&s, l, LONG_MS));
    exchange(s, c);
    mp_conn_t *bad = NULL;
    MP_ASSERT_ERR(mp_conn_connect(&bad, addr, k_other_key, strlen(k_other_key), LONG_MS), MP_EACCES);
    mp_conn_t *refused = NULL;
    MP_ASSERT_ERR(mp_listener_accept(&refused, l, LONG_MS), MP_EACCES);
    int silent = silent_tcp_peer(addr);
    mp_conn_t *queued = connect_to(addr, k_key); /* never accepted */
    mp_listener_free(l);
    close(silent);
    mp_conn_free(queued);
    mp_conn_free(c);
    mp_conn_free(s);
  }
  ASSERT_NO_FD_LEAK(fds);
  int now = settled_threads(threads);
  if (now > threads) fail_msg("%d threads, %d before", now, threads);
}

/* ------------------------------------------------------------------------
 * CPython
 * ---------------------------------------------------------------------- */

static int have_python(void) {
  const char *path = getenv("PATH");
  if (!path) return 0;
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *save = NULL, *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    char exe[4200];
    snprintf(exe, sizeof exe, "%s/python3", dir);
    if (access(exe, X_OK) == 0) return 1;
  }
  return 0;
}

#define SKIP_WITHOUT_PYTHON()                                                  \
  do {                                                                         \
    if (!have_python()) {                                                      \
      print_message("# SKIP: python3 is not on PATH (CPython interop needs Debian's " \
                    "python3)\n");                                             \
      skip();                                                                  \
    }                                                                          \
  } while (0)

static const char *py_peer(void) {
  const char *p = getenv("MP_PY_PEER");
  if (!p) fail_msg("MP_PY_PEER is not set; run the tests with meson test");
  return p;
}

static void hex(char *out, const char *key) {
  if (!key) {
    strcpy(out, "-");
    return;
  }
  for (size_t i = 0; key[i]; i++) sprintf(out + 2 * i, "%02x", (unsigned char)key[i]);
}

/* Start py_peer.py role address key [addrfile] [--proto 312]. */
static mp_process_t *start_python(const char *role, const char *address, const char *key,
                                  const char *addrfile, int proto312) {
  char keyhex[128];
  hex(keyhex, key);
  mp_cmd_t *cmd = NULL;
  MP_ASSERT_OK(mp_cmd_new(&cmd, "python3"));
  const char *args[] = {py_peer(), role, address, keyhex, addrfile,
                        proto312 ? "--proto" : NULL, "312"};
  for (size_t i = 0; i < sizeof args / sizeof args[0] && args[i]; i++)
    MP_ASSERT_OK(mp_cmd_add_arg(cmd, args[i]));
  mp_process_t *p = NULL;
  int rc = mp_process_spawn(&p, cmd);
  mp_cmd_free(cmd);
  if (rc != MP_OK) fail_msg("spawning python3 = %s: %s", mp_err_name(rc), mp_last_error());
  return p;
}

static int python_exit(mp_process_t *p) {
  MP_ASSERT_OK(mp_process_join(p, LONG_MS));
  int code = -1;
  MP_ASSERT_OK(mp_process_exitcode(&code, p));
  mp_process_free(p);
  return code;
}

/* A CPython Client (3.11's, or 3.12's handshake) against our listener. */
static void python_client(const char *address, int proto312) {
  mp_listener_t *l = listen_at(address, k_key, 0, 0);
  /* The right key: messages both ways. */
  mp_process_t *p = start_python("client", mp_listener_address(l), k_key, NULL, proto312);
  mp_conn_t *s = NULL;
  MP_ASSERT_OK(mp_listener_accept(&s, l, LONG_MS));
  expect_str(s, "from python client");
  send_str(s, "abc, from multiproc");
  expect_str(s, "corpitlum morf ,cba");
  assert_int_equal(python_exit(p), 0);
  mp_conn_free(s);
  /* A wrong key: AuthenticationError there, MP_EACCES here. */
  p = start_python("client", mp_listener_address(l), k_other_key, NULL, proto312);
  MP_ASSERT_ERR(mp_listener_accept(&s, l, LONG_MS), MP_EACCES);
  assert_non_null(strstr(mp_last_error(), "peer "));
  assert_int_equal(python_exit(p), 3);
  mp_listener_free(l);
}

/* Wait for py_peer's listener to write the address it serves. */
static void read_addrfile(const char *path, char *out, size_t cap) {
  for (int i = 0; i < 3000; i++) {
    FILE *f = fopen(path, "r");
    if (f) {
      size_t n = fread(out, 1, cap - 1, f);
      fclose(f);
      out[n] = '\0';
      unlink(path);
      return;
    }
    usleep(10 * 1000);
  }
  fail_msg("the Python listener wrote no address to %s", path);
}

/* Our client against a CPython Listener. */
static void python_listener(const char *address, int proto312) {
  char addrfile[128], served[256];
  sock_path(addrfile, sizeof addrfile, "py-address");
  mp_process_t *p = start_python("listener", address, k_key, addrfile, proto312);
  read_addrfile(addrfile, served, sizeof served);
  mp_conn_t *c = connect_to(served, k_key);
  send_str(c, "xyz, from multiproc");
  expect_str(c, "corpitlum morf ,zyx");
  expect_str(c, "from python listener");
  send_str(c, "bye");
  assert_int_equal(python_exit(p), 0);
  mp_conn_free(c);
  /* A wrong key. */
  p = start_python("listener", address, k_other_key, addrfile, proto312);
  read_addrfile(addrfile, served, sizeof served);
  MP_ASSERT_ERR(mp_conn_connect(&c, served, k_key, strlen(k_key), LONG_MS), MP_EACCES);
  assert_null(c);
  assert_int_equal(python_exit(p), 3);
}

static void test_listener_python_client(void **state) {
  (void)state;
  SKIP_WITHOUT_PYTHON();
  char addr[128];
  unix_address(addr, sizeof addr, "py-client.sock");
  python_client("tcp://127.0.0.1:0", 0);
  python_client(addr, 0);
}

static void test_listener_python_listener(void **state) {
  (void)state;
  SKIP_WITHOUT_PYTHON();
  char addr[128];
  unix_address(addr, sizeof addr, "py-listener.sock");
  python_listener("tcp://127.0.0.1:0", 0);
  python_listener(addr, 0);
}

static void test_listener_python312_handshake(void **state) {
  (void)state;
  SKIP_WITHOUT_PYTHON();
  python_client("tcp://127.0.0.1:0", 1);
  python_listener("tcp://127.0.0.1:0", 1);
}

/* ------------------------------------------------------------------------ */

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/mp-listener-XXXXXX");
  return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  return rmdir(g_dir);
}

int main(int argc, char **argv) {
  mp_main(argc, argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_listener_unix_roundtrip),
      cmocka_unit_test(test_listener_tcp_roundtrip_reports_port),
      cmocka_unit_test(test_listener_tcp_without_key_needs_allow),
      cmocka_unit_test(test_listener_wrong_key_fails_both_sides),
      cmocka_unit_test(test_listener_client_without_key_is_refused),
      cmocka_unit_test(test_listener_without_key_client_times_out),
      cmocka_unit_test(test_listener_client_sees_hang_up_as_epipe),
      cmocka_unit_test(test_listener_accept_times_out),
      cmocka_unit_test(test_listener_silent_peer_does_not_stall_others),
      cmocka_unit_test(test_listener_silent_peer_dropped_after_handshake_timeout),
      cmocka_unit_test(test_listener_bad_addresses),
      cmocka_unit_test(test_listener_connect_errors),
      cmocka_unit_test(test_listener_host_names_resolved_within_deadline),
      cmocka_unit_test(test_listener_address_in_use),
      cmocka_unit_test(test_listener_socket_file_0600_removed_by_free),
      cmocka_unit_test(test_listener_close_wakes_accept),
      cmocka_unit_test(test_listener_free_wakes_accept),
      cmocka_unit_test(test_listener_free_keeps_accepted),
      cmocka_unit_test(test_listener_no_fd_or_thread_leak),
      cmocka_unit_test(test_listener_python_client),
      cmocka_unit_test(test_listener_python_listener),
      cmocka_unit_test(test_listener_python312_handshake),
  };
  mp_test_filter_from_env();
  return cmocka_run_group_tests(tests, setup, teardown);
}
