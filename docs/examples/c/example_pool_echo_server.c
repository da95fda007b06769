/*
 * example_pool_echo_server — a TCP echo server whose work is done by a
 * pool: each client gets its message back in upper case.
 *
 * Ports "进程池版的socket并发聊天代码示例" of "进程池和multiprocess.Pool"
 * in 001_*.txt:
 *
 *     server = socket(AF_INET, SOCK_STREAM)
 *     server.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
 *     server.bind(('127.0.0.1', 8080))
 *     server.listen(5)
 *
 *     def talk(conn):                      # in a pool worker
 *         while True:
 *             msg = conn.recv(1024)
 *             if not msg: break
 *             conn.send(msg.upper())
 *
 *     if __name__ == '__main__':
 *         p = Pool(4)
 *         while True:
 *             conn, *_ = server.accept()
 *             p.apply_async(talk, args=(conn,))
 *
 * and its client, which connects, sends a line and prints the reply.
 *
 * Design. Python pickles the accepted socket to the worker (it passes the
 * descriptor behind the scenes). A multiproc task receives bytes only, so
 * the socket stays with the process that accepted it, and the pool gets
 * the part that is work: the parent accepts a connection, reads the
 * client's request line, and submits apply_async(upper, line) with a
 * callback. The callback runs in the parent (on the pool's callback
 * thread), where the socket is, and writes the reply and closes the
 * connection. The parent never waits for a reply: it goes back to
 * accept() at once, and replies go out as the workers finish, as in the
 * tutorial. Simplification: one request line per connection (the
 * tutorial's talk() loops until the client closes; that needs an event
 * loop over the connections, not a pool feature).
 *
 * The server listens on 127.0.0.1 with an ephemeral port (port 0, then
 * getsockname()), so the test never collides with anything. The three
 * clients are child processes (mp_process_new), started with
 * MP_START_SPAWN: the server's sockets are close-on-exec, so the clients
 * do not inherit them; the port is their argument. Each client sends
 * "hello from client-N", reads the reply and puts "client-N got: ..."
 * on a queue; the parent prints those lines sorted once the clients are
 * joined. The pool is created first, so its (forked) workers do not
 * inherit the sockets either.
 *
 * Every blocking socket call has a 10 s deadline, so a broken run fails
 * instead of hanging.
 */
#include <multiproc.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NWORKERS 2
#define NCLIENTS 3
#define LINE_CAP 256
#define IO_TIMEOUT_MS 10000

static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

static int fail_errno(const char *what) {
  fprintf(stderr, "%s: %s\n", what, strerror(errno));
  return EXIT_FAILURE;
}

/* The argument bytes of a client. */
typedef struct client_arg {
  uint16_t port; /* host order */
  int id;        /* 1, 2, 3 */
} client_arg_t;

/* One accepted connection; its reply is written by the callback. */
typedef struct connection {
  int fd;     /* closed by the callback, then -1 */
  int status; /* EXIT_SUCCESS once the reply is out */
} connection_t;

/* Wait up to IO_TIMEOUT_MS for fd to be ready for events. */
static int wait_fd(int fd, short events) {
  struct pollfd pfd = {fd, events, 0};
  int n;
  do {
    n = poll(&pfd, 1, IO_TIMEOUT_MS);
  } while (n < 0 && errno == EINTR);
  if (n == 0) errno = ETIMEDOUT;
  return n > 0 ? 0 : -1;
}

/* Read one line (without its '\n') into buf; NUL-terminated. */
static int read_line(int fd, char *buf, size_t cap, size_t *len) {
  size_t n = 0;
  for (;;) {
    if (n + 1 >= cap) {
      errno = EMSGSIZE;
      return -1;
    }
    if (wait_fd(fd, POLLIN) < 0) return -1;
    ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) { /* the peer closed before the end of the line */
      errno = ECONNRESET;
      return -1;
    }
    char *nl = memchr(buf + n, '\n', (size_t)r);
    n += (size_t)r;
    if (nl != NULL) {
      *nl = '\0';
      *len = (size_t)(nl - buf);
      return 0;
    }
  }
}

static int send_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    if (wait_fd(fd, POLLOUT) < 0) return -1;
    ssize_t w = send(fd, buf, len, MSG_NOSIGNAL); /* never SIGPIPE */
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    buf += w;
    len -= (size_t)w;
  }
  return 0;
}

/* ---- the client (a child process) ------------------------------------- */

static int client(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  client_arg_t ca;
  if (arg_len != sizeof ca) return EXIT_FAILURE;
  memcpy(&ca, arg, sizeof ca);

  int qfd = mp_child_fd(0);
  if (qfd < 0) return fail("mp_child_fd", qfd);
  mp_queue_t *results = NULL;
  int rc = mp_queue_from_fd(&results, qfd);
  if (rc < 0) return fail("mp_queue_from_fd", rc);

  int status = EXIT_SUCCESS;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    status = fail_errno("client: socket");
    goto out;
  }
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons(ca.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    status = fail_errno("client: connect");
    goto out;
  }
  char msg[LINE_CAP];
  int n = snprintf(msg, sizeof msg, "hello from client-%d\n", ca.id);
  if (send_all(fd, msg, (size_t)n) < 0) { /* client.send(msg) */
    status = fail_errno("client: send");
    goto out;
  }
  char reply[LINE_CAP];
  size_t len = 0;
  if (read_line(fd, reply, sizeof reply, &len) < 0) { /* client.recv */
    status = fail_errno("client: recv");
    goto out;
  }
  char line[2 * LINE_CAP];
  n = snprintf(line, sizeof line, "client-%d got: %s", ca.id, reply);
  rc = mp_queue_put(results, line, (size_t)n, IO_TIMEOUT_MS);
  if (rc < 0) status = fail("mp_queue_put", rc);

out:
  if (fd >= 0) close(fd);
  mp_queue_free(results);
  return status;
}

/* ---- the pool's task and its callbacks --------------------------------- */

/* msg.upper(): in a worker process. */
static int upper(void **out, size_t *out_len, const void *arg, size_t arg_len,
                 void *payload) {
  (void)payload;
  char *reply = malloc(arg_len + 1); /* freed by the library */
  if (reply == NULL) return 1;
  const char *in = arg;
  for (size_t i = 0; i < arg_len; i++)
    reply[i] = (char)toupper((unsigned char)in[i]);
  reply[arg_len] = '\n'; /* the reply is a line */
  *out = reply;
  *out_len = arg_len + 1;
  return 0;
}

/* conn.send(msg.upper()): in the parent, where the socket is. */
static void send_reply(mp_result_t *result, void *payload) {
  connection_t *c = payload;
  const void *data = NULL;
  size_t len = 0;
  int rc = mp_result_get(&data, &len, result, 0); /* done: never waits */
  if (rc < 0)
    fail("send_reply: mp_result_get", rc);
  else if (send_all(c->fd, data, len) < 0)
    fail_errno("send_reply: send");
  else
    c->status = EXIT_SUCCESS;
  close(c->fd);
  c->fd = -1;
}

/* The task failed: close the connection without a reply. */
static void reply_failed(mp_result_t *result, void *payload) {
  connection_t *c = payload;
  const void *data = NULL;
  size_t len = 0;
  int rc = mp_result_get(&data, &len, result, 0);
  fprintf(stderr, "upper failed: %s: %.*s\n", mp_err_name(rc), (int)len,
          data != NULL ? (const char *)data : "");
  close(c->fd);
  c->fd = -1;
}

/* ---- the server (the main process) ------------------------------------- */

static int listen_local(int *out_fd, uint16_t *out_port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno("socket");
  int one = 1;
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = 0; /* an ephemeral port */
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof addr;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
      listen(fd, 5) < 0 ||
      getsockname(fd, (struct sockaddr *)&addr, &alen) < 0) {
    int status = fail_errno("listen on 127.0.0.1");
    close(fd);
    return status;
  }
  *out_fd = fd;
  *out_port = ntohs(addr.sin_port);
  return EXIT_SUCCESS;
}

static int start_client(mp_process_t **out, int id, uint16_t port,
                        mp_queue_t *results) {
  client_arg_t ca;
  memset(&ca, 0, sizeof ca); /* no stray padding bytes */
  ca.port = port;
  ca.id = id;
  int rc = mp_process_new(out, "client", &ca, sizeof ca);
  if (rc < 0) return fail("mp_process_new", rc);
  char name[32];
  snprintf(name, sizeof name, "client-%d", id);
  rc = mp_process_set_name(*out, name);
  if (rc < 0) return fail("mp_process_set_name", rc);
  rc = mp_process_set_start_method(*out, MP_START_SPAWN);
  if (rc < 0) return fail("mp_process_set_start_method", rc);
  rc = mp_process_pass_fd(*out, mp_queue_fileno(results));
  if (rc < 0) return fail("mp_process_pass_fd", rc);
  rc = mp_process_start(*out);
  if (rc < 0) return fail("mp_process_start", rc);
  return EXIT_SUCCESS;
}

static int join_ok(mp_process_t *p) {
  int rc = mp_process_join(p, MP_FOREVER);
  if (rc < 0) return fail("mp_process_join", rc);
  int code;
  rc = mp_process_exitcode(&code, p);
  if (rc < 0) return fail("mp_process_exitcode", rc);
  if (code != 0) {
    fprintf(stderr, "%s exited with %d\n", mp_process_name(p), code);
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}

static int cmp_line(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

int main(int argc, char **argv) {
  int rc = mp_register("client", client, NULL);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_register_task("upper", upper, NULL);
  if (rc < 0) return fail("mp_register_task", rc);
  rc = mp_main(argc, argv); /* a spawned client runs here and exits */
  if (rc < 0) return fail("mp_main", rc);

  mp_pool_opts_t *opts = NULL;
  mp_pool_t *pool = NULL;
  mp_queue_t *results = NULL;
  mp_process_t *clients[NCLIENTS] = {NULL};
  mp_result_t *res[NCLIENTS] = {NULL};
  connection_t conns[NCLIENTS];
  int listen_fd = -1;
  uint16_t port = 0;
  int status = EXIT_SUCCESS;
  for (int i = 0; i < NCLIENTS; i++) {
    conns[i].fd = -1;
    conns[i].status = EXIT_FAILURE;
  }

  /* p = Pool(2), first: its workers are forked before any socket exists. */
  rc = mp_pool_opts_new(&opts);
  if (rc < 0) return fail("mp_pool_opts_new", rc);
  rc = mp_pool_opts_set_workers(opts, NWORKERS);
  if (rc < 0) {
    status = fail("mp_pool_opts_set_workers", rc);
    goto out;
  }
  rc = mp_pool_new(&pool, opts);
  if (rc < 0) {
    status = fail("mp_pool_new", rc);
    goto out;
  }
  rc = mp_queue_new(&results, 0, 0, 0);
  if (rc < 0) {
    status = fail("mp_queue_new", rc);
    goto out;
  }

  status = listen_local(&listen_fd, &port);
  if (status != EXIT_SUCCESS) goto out;
  printf("server: listening on 127.0.0.1, an ephemeral port\n");
  fflush(stdout);

  for (int i = 0; i < NCLIENTS; i++) {
    status = start_client(&clients[i], i + 1, port, results);
    if (status != EXIT_SUCCESS) goto out;
  }
  printf("server: %d clients started\n", NCLIENTS);

  /* while True: conn = server.accept(); p.apply_async(talk, (conn,)) */
  for (int i = 0; i < NCLIENTS; i++) {
    if (wait_fd(listen_fd, POLLIN) < 0) {
      status = fail_errno("accept");
      goto out;
    }
    conns[i].fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (conns[i].fd < 0) {
      status = fail_errno("accept");
      goto out;
    }
    char request[LINE_CAP];
    size_t len = 0;
    if (read_line(conns[i].fd, request, sizeof request, &len) < 0) {
      status = fail_errno("server: recv");
      goto out;
    }
    rc = mp_pool_apply_async(&res[i], pool, "upper", request, len,
                             send_reply, reply_failed, &conns[i]);
    if (rc < 0) {
      status = fail("mp_pool_apply_async", rc);
      goto out;
    }
    printf("server: connection %d: request read, reply left to the pool\n",
           i + 1);
  }

  rc = mp_pool_close(pool);
  if (rc < 0) {
    status = fail("mp_pool_close", rc);
    goto out;
  }
  rc = mp_pool_join(pool, MP_FOREVER); /* every reply is written now */
  if (rc < 0) {
    status = fail("mp_pool_join", rc);
    goto out;
  }
  printf("server: pool closed and joined: every callback has run\n");
  for (int i = 0; i < NCLIENTS; i++) {
    if (conns[i].status != EXIT_SUCCESS) {
      fprintf(stderr, "connection %d: no reply sent\n", i + 1);
      status = EXIT_FAILURE;
      goto out;
    }
  }

  for (int i = 0; i < NCLIENTS; i++) {
    status = join_ok(clients[i]);
    if (status != EXIT_SUCCESS) goto out;
  }
  printf("server: clients joined\n");

  /* Every client has ended, so every line is queued. */
  char lines[NCLIENTS][2 * LINE_CAP];
  int count = 0;
  for (; count < NCLIENTS; count++) {
    size_t len = 0;
    rc = mp_queue_get_into(&len, results, lines[count],
                           sizeof lines[count] - 1, 0);
    if (rc < 0) {
      status = fail("mp_queue_get_into", rc);
      goto out;
    }
    lines[count][len] = '\0';
  }
  qsort(lines, (size_t)count, sizeof lines[0], cmp_line);
  for (int i = 0; i < count; i++) printf("%s\n", lines[i]);

out:
  /* The pool goes first: after mp_pool_free no callback touches conns. */
  mp_pool_free(pool);
  for (int i = 0; i < NCLIENTS; i++) {
    mp_result_free(res[i]);
    if (conns[i].fd >= 0) close(conns[i].fd);
  }
  if (listen_fd >= 0) close(listen_fd);
  for (int i = 0; i < NCLIENTS; i++) mp_process_free(clients[i]);
  mp_queue_free(results);
  mp_pool_opts_free(opts);
  return status;
}
