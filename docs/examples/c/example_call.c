/*
 * example_call — run a command and get its exit code (subprocess.call /
 * run) or its output (check_output).
 *
 * Ports "启动外部进程当做子进程 subprocess" of 002_*.txt:
 *
 *     print('$ nslookup www.Python.org')
 *     r = subprocess.call(['nslookup', 'www.Python.org'])
 *     print('Exit code:', r)
 *
 * nslookup needs the network, so this port runs local programs instead:
 *
 *     r = subprocess.call(['sh', '-c', 'echo hello from sh; exit 3'])
 *     out = subprocess.check_output(['echo', 'captured', 'text'])
 *     r = subprocess.run(['cat', '/no/such/file'], capture_output=True,
 *                        env=dict(os.environ, LC_ALL='C'))
 *     subprocess.run(['sleep', '5'], timeout=0.2)    # TimeoutExpired
 *     subprocess.call(['/no/such/program'])          # FileNotFoundError
 *
 * mp_run() is subprocess.run(): spawn, feed input, collect the streams
 * that are pipes, wait. Streams left at MP_STDIO_INHERIT go straight to
 * this program's stdout/stderr, as with call().
 */
#include <multiproc.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

/* Build a command from a NULL-terminated argv (program first). */
static int make_cmd(mp_cmd_t **out, const char *const *argv) {
  int rc = mp_cmd_new(out, argv[0]);
  if (rc < 0) return fail("mp_cmd_new", rc);
  for (size_t i = 1; argv[i] != NULL; i++) {
    rc = mp_cmd_add_arg(*out, argv[i]);
    if (rc < 0) {
      mp_cmd_free(*out);
      *out = NULL;
      return fail("mp_cmd_add_arg", rc);
    }
  }
  return EXIT_SUCCESS;
}

/* r = subprocess.call(argv): inherit stdio, return the exit code. */
static int demo_call(void) {
  static const char *const argv[] = {"sh", "-c", "echo hello from sh; exit 3",
                                     NULL};
  mp_cmd_t *cmd;
  int code;
  if (make_cmd(&cmd, argv) != EXIT_SUCCESS) return EXIT_FAILURE;
  printf("$ sh -c 'echo hello from sh; exit 3'\n");
  fflush(stdout); /* the child writes to the same stdout */
  int rc = mp_run(&code, NULL, NULL, NULL, NULL, cmd, NULL, 0, MP_FOREVER);
  mp_cmd_free(cmd);
  if (rc < 0) return fail("mp_run", rc);
  printf("Exit code: %d\n", code);
  return code == 3 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* out = subprocess.check_output(argv) */
static int demo_check_output(void) {
  static const char *const argv[] = {"echo", "captured", "text", NULL};
  mp_cmd_t *cmd;
  void *out = NULL;
  size_t out_len = 0;
  int code;
  if (make_cmd(&cmd, argv) != EXIT_SUCCESS) return EXIT_FAILURE;
  int rc = mp_cmd_set_stdio(cmd, MP_STDOUT, MP_STDIO_PIPE);
  if (rc < 0) {
    mp_cmd_free(cmd);
    return fail("mp_cmd_set_stdio", rc);
  }
  printf("$ echo captured text   (check_output)\n");
  rc = mp_run(&code, &out, &out_len, NULL, NULL, cmd, NULL, 0, MP_FOREVER);
  mp_cmd_free(cmd);
  if (rc < 0) {
    mp_free(out);
    return fail("mp_run", rc);
  }
  int status = EXIT_SUCCESS;
  if (code != 0) { /* check_output raises CalledProcessError */
    printf("CalledProcessError: exit code %d\n", code);
    status = EXIT_FAILURE;
  } else {
    printf("output: %zu bytes: %s", out_len, (const char *)out);
  }
  mp_free(out);
  return status;
}

/* subprocess.run(argv, capture_output=True, env=...): a failing command. */
static int demo_failing_command(void) {
  static const char *const argv[] = {"cat", "/no/such/file", NULL};
  mp_cmd_t *cmd;
  void *out = NULL, *err = NULL;
  size_t out_len = 0, err_len = 0;
  int code;
  if (make_cmd(&cmd, argv) != EXIT_SUCCESS) return EXIT_FAILURE;
  int rc = mp_cmd_set_stdio(cmd, MP_STDOUT, MP_STDIO_PIPE);
  if (rc == MP_OK) rc = mp_cmd_set_stdio(cmd, MP_STDERR, MP_STDIO_PIPE);
  if (rc < 0) {
    mp_cmd_free(cmd);
    return fail("mp_cmd_set_stdio", rc);
  }
  rc = mp_cmd_env_set(cmd, "LC_ALL", "C"); /* an untranslated message */
  if (rc < 0) {
    mp_cmd_free(cmd);
    return fail("mp_cmd_env_set", rc);
  }
  printf("$ cat /no/such/file   (run, capture_output=True)\n");
  rc = mp_run(&code, &out, &out_len, &err, &err_len, cmd, NULL, 0,
              MP_FOREVER);
  mp_cmd_free(cmd);
  int status = EXIT_SUCCESS;
  if (rc < 0) {
    status = fail("mp_run", rc);
  } else {
    printf("Exit code: %d\n", code);
    printf("stdout: %zu bytes\n", out_len);
    printf("stderr: %s", (const char *)err);
    if (code == 0) status = EXIT_FAILURE;
  }
  mp_free(out);
  mp_free(err);
  return status;
}

/* subprocess.run(['sleep', '5'], timeout=0.2) raises TimeoutExpired. */
static int demo_timeout(void) {
  static const char *const argv[] = {"sleep", "5", NULL};
  mp_cmd_t *cmd;
  if (make_cmd(&cmd, argv) != EXIT_SUCCESS) return EXIT_FAILURE;
  printf("$ sleep 5   (run, timeout=0.2)\n");
  int code = 0;
  int rc = mp_run(&code, NULL, NULL, NULL, NULL, cmd, NULL, 0, 200);
  mp_cmd_free(cmd);
  if (rc != MP_ETIMEDOUT) {
    fprintf(stderr, "mp_run: expected MP_ETIMEDOUT, got %s\n",
            mp_err_name(rc));
    return EXIT_FAILURE;
  }
  /* mp_run killed and reaped the child before returning. */
  printf("TimeoutExpired: %s: %s\n", mp_err_name(rc), mp_strerror(rc));
  return EXIT_SUCCESS;
}

/* subprocess.call(['/no/such/program']) raises FileNotFoundError. */
static int demo_missing_program(void) {
  static const char *const argv[] = {"/no/such/program", NULL};
  mp_cmd_t *cmd;
  if (make_cmd(&cmd, argv) != EXIT_SUCCESS) return EXIT_FAILURE;
  printf("$ /no/such/program\n");
  int rc = mp_run(NULL, NULL, NULL, NULL, NULL, cmd, NULL, 0, MP_FOREVER);
  mp_cmd_free(cmd);
  if (rc != MP_ENOENT) {
    fprintf(stderr, "mp_run: expected MP_ENOENT, got %s\n", mp_err_name(rc));
    return EXIT_FAILURE;
  }
  /* mp_last_error() names the path and errno; on stderr as it varies. */
  fprintf(stderr, "(detail: %s)\n", mp_last_error());
  printf("FileNotFoundError: %s: %s\n", mp_err_name(rc), mp_strerror(rc));
  return EXIT_SUCCESS;
}

int main(int argc, char **argv) {
  int rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);

  int (*const demos[])(void) = {demo_call, demo_check_output,
                                demo_failing_command, demo_timeout,
                                demo_missing_program};
  for (size_t i = 0; i < sizeof demos / sizeof demos[0]; i++) {
    if (i > 0) printf("\n");
    if (demos[i]() != EXIT_SUCCESS) return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
