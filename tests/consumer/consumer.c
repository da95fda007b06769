/*
 * consumer — a program built against an *installed* multiproc, with nothing
 * but `pkg-config --cflags --libs multiproc`, to prove the installed headers,
 * library, soname and .pc work together (scripts/test-install.sh,
 * scripts/test-packages.sh). It checks real behaviour across processes:
 *   1. header and library agree on the version;
 *   2. mp_run: a command reads stdin and answers, its exit status comes back;
 *   3. a spawned (re-executed) child sends a message over a queue and its
 *      return value becomes its exit code.
 * Prints "consumer: ok" and exits 0, or says what failed and exits 1.
 */
#include <multiproc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHILD_EXIT 7
#define TIMEOUT_MS 30000

static int failed(const char *what, int rc) {
  fprintf(stderr, "consumer: %s: %s (%s)\n", what, mp_strerror(rc),
          mp_last_error());
  return 1;
}

static int mismatch(const char *what, const char *want, const char *got) {
  fprintf(stderr, "consumer: %s: want \"%s\", got \"%s\"\n", what, want, got);
  return 1;
}

/* Runs in the child: put a greeting naming the argument on the passed queue. */
static int greeter(const void *arg, size_t arg_len, void *payload) {
  (void)payload;
  mp_queue_t *q = NULL;
  if (mp_queue_from_fd(&q, mp_child_fd(0)) < 0) return 1;
  char msg[64];
  int n = snprintf(msg, sizeof msg, "hello %.*s", (int)arg_len,
                   (const char *)arg);
  int rc = mp_queue_put(q, msg, (size_t)n, TIMEOUT_MS);
  mp_queue_free(q);
  return rc < 0 ? 1 : CHILD_EXIT;
}

static int check_version(void) {
  if (mp_version_number() != MP_VERSION_NUMBER) {
    fprintf(stderr, "consumer: library %s does not match the headers\n",
            mp_version());
    return 1;
  }
  return 0;
}

/* subprocess.run(['sh', '-c', ...], input=b'42\n') */
static int check_run(void) {
  mp_cmd_t *cmd = NULL;
  int rc = mp_cmd_new(&cmd, "/bin/sh");
  if (rc < 0) return failed("mp_cmd_new", rc);
  mp_cmd_arg(cmd, "-c");
  mp_cmd_arg(cmd, "read x; echo \"got $x\"; exit 3");
  mp_cmd_stdio(cmd, MP_STDOUT, MP_STDIO_PIPE);
  mp_cmd_stdio(cmd, MP_STDIN, MP_STDIO_PIPE);
  int status = -1;
  void *out = NULL;
  size_t out_len = 0;
  rc = mp_run(&status, &out, &out_len, NULL, NULL, cmd, "42\n", 3, TIMEOUT_MS);
  mp_cmd_free(cmd);
  if (rc < 0) return failed("mp_run", rc);
  char text[32] = "";
  snprintf(text, sizeof text, "%.*s", (int)out_len, (const char *)out);
  mp_free(out);
  if (strcmp(text, "got 42\n") != 0) return mismatch("mp_run output", "got 42\\n", text);
  if (status != 3) {
    fprintf(stderr, "consumer: mp_run exit status %d, want 3\n", status);
    return 1;
  }
  return 0;
}

/* Process(target=greeter, args=('consumer',)) started with spawn. */
static int check_process_queue(void) {
  mp_queue_t *q = NULL;
  mp_process_t *proc = NULL;
  int rc = mp_queue_new(&q, 0, 0, 0);
  if (rc < 0) return failed("mp_queue_new", rc);
  rc = mp_process_new(&proc, "greeter", "consumer", 8);
  if (rc == 0) rc = mp_process_set_start_method(proc, MP_START_SPAWN);
  if (rc == 0) rc = mp_process_pass_fd(proc, mp_queue_fileno(q));
  if (rc >= 0) rc = mp_process_start(proc);
  if (rc < 0) return failed("starting the child", rc);

  void *msg = NULL;
  size_t len = 0;
  int result = 0;
  rc = mp_queue_get(&msg, &len, q, TIMEOUT_MS);
  if (rc < 0) {
    result = failed("mp_queue_get", rc);
  } else {
    char text[64] = "";
    snprintf(text, sizeof text, "%.*s", (int)len, (const char *)msg);
    if (strcmp(text, "hello consumer") != 0)
      result = mismatch("queue message", "hello consumer", text);
    mp_free(msg);
  }
  int code = -1;
  rc = mp_process_join(proc, TIMEOUT_MS);
  if (rc == 0) rc = mp_process_exitcode(&code, proc);
  if (rc < 0) result = failed("joining the child", rc);
  else if (code != CHILD_EXIT) {
    fprintf(stderr, "consumer: child exit code %d, want %d\n", code, CHILD_EXIT);
    result = 1;
  }
  mp_process_free(proc);
  mp_queue_free(q);
  return result;
}

int main(int argc, char **argv) {
  int rc = mp_register("greeter", greeter, NULL);
  if (rc < 0) return failed("mp_register", rc);
  rc = mp_main(argc, argv); /* a spawned child runs greeter here */
  if (rc < 0) return failed("mp_main", rc);
  if (check_version() || check_run() || check_process_queue()) return 1;
  printf("consumer: ok (multiproc %s)\n", mp_version());
  return 0;
}
