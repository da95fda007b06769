/*
 * example_pipe — Pipe(): a duplex connection between parent and child,
 * the end of the stream (EOFError), and closing the ends you do not use.
 *
 * Ports the Pipe examples of "管道" in 004_*.txt and "管道（了解）" in
 * 001_*.txt (and "pip" in 000_*.txt):
 *
 *     def f(conn):
 *         conn.send('hello')
 *         print(conn.recv())
 *         conn.close()
 *
 *     if __name__ == '__main__':
 *         parent_conn, child_conn = Pipe()      # duplex: both ends talk
 *         p = Process(target=f, args=(child_conn,))
 *         p.start()
 *         print(parent_conn.recv())             # hello
 *         parent_conn.send('world')
 *         p.join()
 *
 * and, for the end of the stream, recv() in a loop until EOFError:
 *
 *     while True:
 *         try:
 *             print(conn.recv())
 *         except EOFError:                      # every copy of the
 *             break                             # other end is closed
 *
 * with the tutorial's warning: "if a process does not use an end, close
 * it ... otherwise recv() may hang: the operating system counts the
 * references, and EOFError comes only once the same end is closed in
 * every process".
 *
 * In C, mp_pipe(&a, &b, 1) gives the two ends. The child gets b as a
 * descriptor: mp_process_pass_fd(p, mp_conn_fileno(b)) before start, and
 * in the child mp_conn_from_fd(&c, mp_child_fd(0), READABLE | WRITABLE).
 * Python's EOFError is MP_ECLOSED from mp_conn_recv(); a send to an end
 * whose peer is gone is MP_EPIPE (BrokenPipeError; never SIGPIPE).
 *
 * The parent's b is the parent's own copy of the child's end. Once the
 * child is started the parent has no use for it, so it frees it at once
 * (parts 1 and 2). Part 3 forgets to: the child sends, closes its end and
 * even exits, yet the parent's recv never sees the end of the stream,
 * because the parent itself still holds that end open. Python's recv()
 * would block for ever; here a timeout shows it, then freeing b makes the
 * very same recv() return MP_ECLOSED.
 *
 * With MP_START_FORK (the default) the child is a copy of the parent and
 * also inherits every descriptor the parent had open at start, as in
 * Python. That is why each part frees its ends before the next child is
 * started, and why the child's end is fully closed only when the child
 * exits, even after the child closed the end it was passed.
 */
#include <multiproc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NMESSAGES 3

static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

/* In a child: wrap the passed descriptor 0 as a duplex end. */
static int open_passed_end(mp_conn_t **conn) {
  int fd = mp_child_fd(0);
  if (fd < 0) return fail("mp_child_fd", fd);
  int rc = mp_conn_from_fd(conn, fd, MP_CONN_READABLE | MP_CONN_WRITABLE);
  if (rc < 0) return fail("mp_conn_from_fd", rc);
  return EXIT_SUCCESS;
}

/* def f(conn): send 'hello', print what comes back. */
static int greeter(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  mp_conn_t *conn = NULL;
  int status = open_passed_end(&conn);
  if (status != EXIT_SUCCESS) return status;
  int rc = mp_conn_send(conn, "hello", 5, MP_FOREVER);
  if (rc < 0) {
    status = fail("mp_conn_send", rc);
  } else {
    void *msg = NULL;
    size_t len = 0;
    rc = mp_conn_recv(&msg, &len, conn, MP_FOREVER);
    if (rc < 0) {
      status = fail("mp_conn_recv", rc);
    } else {
      printf("child received: %.*s\n", (int)len, (const char *)msg);
      fflush(stdout);
      mp_free(msg);
    }
  }
  mp_conn_free(conn); /* conn.close() */
  return status;
}

/* Send NMESSAGES messages, then close this end. */
static int sender(const void *arg, size_t arg_len, void *payload) {
  (void)arg;
  (void)arg_len;
  (void)payload;
  mp_conn_t *conn = NULL;
  int status = open_passed_end(&conn);
  if (status != EXIT_SUCCESS) return status;
  printf("child: sending %d messages, then closing its end\n", NMESSAGES);
  fflush(stdout);
  for (int i = 0; i < NMESSAGES && status == EXIT_SUCCESS; i++) {
    char msg[32];
    int n = snprintf(msg, sizeof msg, "message %d", i);
    int rc = mp_conn_send(conn, msg, (size_t)n, MP_FOREVER);
    if (rc < 0) status = fail("mp_conn_send", rc);
  }
  int rc = mp_conn_close(conn);
  if (rc < 0 && status == EXIT_SUCCESS) status = fail("mp_conn_close", rc);
  mp_conn_free(conn);
  return status;
}

/* Create and start a child running target with end as its descriptor 0. */
static int start_with_end(mp_process_t **out, const char *target,
                          mp_conn_t *end) {
  int rc = mp_process_new(out, target, NULL, 0);
  if (rc < 0) return fail("mp_process_new", rc);
  int fd = mp_conn_fileno(end);
  if (fd < 0) return fail("mp_conn_fileno", fd);
  rc = mp_process_pass_fd(*out, fd); /* duplicated: index 0 in the child */
  if (rc < 0) return fail("mp_process_pass_fd", rc);
  fflush(stdout);
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

/* Part 1: hello / world over one duplex pipe. */
static int part_hello_world(void) {
  mp_conn_t *parent_conn = NULL, *child_conn = NULL;
  mp_process_t *p = NULL;
  printf("-- part 1: a duplex pipe\n");
  int rc = mp_pipe(&parent_conn, &child_conn, 1);
  if (rc < 0) return fail("mp_pipe", rc);
  int status = start_with_end(&p, "greeter", child_conn);
  if (status != EXIT_SUCCESS) goto out;
  mp_conn_free(child_conn); /* the child has its copy; close ours */
  child_conn = NULL;

  void *msg = NULL;
  size_t len = 0;
  rc = mp_conn_recv(&msg, &len, parent_conn, MP_FOREVER);
  if (rc < 0) {
    status = fail("mp_conn_recv", rc);
    goto out;
  }
  printf("main received: %.*s\n", (int)len, (const char *)msg);
  fflush(stdout); /* before the child prints its line */
  mp_free(msg);
  rc = mp_conn_send(parent_conn, "world", 5, MP_FOREVER);
  if (rc < 0) {
    status = fail("mp_conn_send", rc);
    goto out;
  }
  status = join_ok(p);

out:
  mp_conn_free(child_conn);
  mp_conn_free(parent_conn);
  mp_process_free(p);
  return status;
}

/* for msg in conn: receive and print until the end of the stream
 * (MP_ECLOSED, Python's EOFError) or until one receive waits longer than
 * timeout_ms (MP_ETIMEDOUT). Returns the code that ended the loop. */
static int recv_loop(mp_conn_t *conn, int64_t timeout_ms) {
  for (;;) {
    void *msg = NULL;
    size_t len = 0;
    int rc = mp_conn_recv(&msg, &len, conn, timeout_ms);
    if (rc < 0) return rc;
    printf("main received: %.*s\n", (int)len, (const char *)msg);
    mp_free(msg);
  }
}

/* Parts 2 and 3: the child sends, closes its end and exits. With
 * keep_copy 0 the parent closes its copy of the child's end right after
 * start and sees the end of the stream; with keep_copy 1 it does not. */
static int part_eof(int keep_copy) {
  mp_conn_t *parent_conn = NULL, *child_conn = NULL;
  mp_process_t *p = NULL;
  void *msg = NULL;
  size_t len = 0;
  if (keep_copy)
    printf("-- part 3: the parent forgets to close its copy of the child's "
           "end\n");
  else
    printf("-- part 2: the child closes its end: EOF\n");
  int rc = mp_pipe(&parent_conn, &child_conn, 1);
  if (rc < 0) return fail("mp_pipe", rc);
  int status = start_with_end(&p, "sender", child_conn);
  if (status != EXIT_SUCCESS) goto out;

  if (!keep_copy) {
    mp_conn_free(child_conn); /* close the end we do not use */
    child_conn = NULL;
    rc = recv_loop(parent_conn, MP_FOREVER);
    if (rc != MP_ECLOSED) {
      status = fail("mp_conn_recv", rc);
      goto out;
    }
    printf("main: recv -> %s (Python's EOFError)\n", mp_err_name(rc));
    status = join_ok(p);
    if (status != EXIT_SUCCESS) goto out;
    rc = mp_conn_send(parent_conn, "anyone?", 7, MP_FOREVER);
    printf("main: send -> %s (Python's BrokenPipeError)\n", mp_err_name(rc));
    if (rc != MP_EPIPE) {
      if (rc < 0) fail("mp_conn_send", rc);
      status = EXIT_FAILURE;
    }
    goto out;
  }

  /* keep_copy: Python's recv() would now block for ever; wait 1 s. */
  rc = recv_loop(parent_conn, 1000);
  if (rc != MP_ETIMEDOUT) {
    status = fail("mp_conn_recv (expected ETIMEDOUT)", rc);
    goto out;
  }
  printf("main: recv -> %s: no EOF\n", mp_err_name(rc));
  status = join_ok(p);
  if (status != EXIT_SUCCESS) goto out;
  rc = mp_conn_recv(&msg, &len, parent_conn, 100);
  printf("main: the child has exited, still recv -> %s: our own copy of "
         "the child's end keeps the pipe open\n",
         mp_err_name(rc));
  if (rc != MP_ETIMEDOUT) {
    if (rc < 0) fail("mp_conn_recv", rc);
    status = EXIT_FAILURE;
    goto out;
  }
  mp_conn_free(child_conn); /* the close that was missing */
  child_conn = NULL;
  rc = mp_conn_recv(&msg, &len, parent_conn, 5000);
  printf("main: closed our copy; recv -> %s\n", mp_err_name(rc));
  if (rc != MP_ECLOSED) {
    if (rc < 0) fail("mp_conn_recv", rc);
    status = EXIT_FAILURE;
  }

out:
  mp_free(msg); /* NULL unless a receive above unexpectedly got a message */
  mp_conn_free(child_conn);
  mp_conn_free(parent_conn);
  mp_process_free(p);
  return status;
}

int main(int argc, char **argv) {
  int rc = mp_register("greeter", greeter, NULL);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_register("sender", sender, NULL);
  if (rc < 0) return fail("mp_register", rc);
  rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);

  int status = part_hello_world();
  if (status == EXIT_SUCCESS) status = part_eof(0);
  if (status == EXIT_SUCCESS) status = part_eof(1);
  return status;
}
