/*
 * example_communicate — feed input to a program and read its output
 * (Popen.communicate).
 *
 * Ports the second subprocess example of 002_*.txt:
 *
 *     print('$ nslookup')
 *     p = subprocess.Popen(['nslookup'], stdin=subprocess.PIPE,
 *                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
 *     output, err = p.communicate(b'set q=mx\nPython.org\nexit\n')
 *     print(output.decode('utf-8'))
 *     print('Exit code:', p.returncode)
 *
 * nslookup needs the network; this port feeds local programs instead:
 * `sort` gets lines to sort, and `sh` reads a small script from stdin the
 * way nslookup reads its commands.
 */
#include <multiproc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

/*
 * p = Popen([program], stdin=PIPE, stdout=PIPE, stderr=PIPE, env=LC_ALL=C)
 * output, err = p.communicate(input)
 * Prints both streams and the exit code; stores the exit code in *code.
 */
static int popen_communicate(int *code, const char *program,
                             const char *input) {
  mp_cmd_t *cmd = NULL;
  mp_process_t *p = NULL;
  void *out = NULL, *err = NULL;
  size_t out_len = 0, err_len = 0;
  int status = EXIT_FAILURE;

  int rc = mp_cmd_new(&cmd, program);
  if (rc < 0) {
    fail("mp_cmd_new", rc);
    goto out;
  }
  for (int s = MP_STDIN; s <= MP_STDERR; s++) {
    rc = mp_cmd_set_stdio(cmd, (mp_stream_t)s, MP_STDIO_PIPE);
    if (rc < 0) {
      fail("mp_cmd_set_stdio", rc);
      goto out;
    }
  }
  rc = mp_cmd_env_set(cmd, "LC_ALL", "C"); /* byte order for sort */
  if (rc < 0) {
    fail("mp_cmd_env_set", rc);
    goto out;
  }
  rc = mp_process_spawn(&p, cmd);
  if (rc < 0) {
    fail("mp_process_spawn", rc);
    goto out;
  }
  rc = mp_process_communicate(&out, &out_len, &err, &err_len, p, input,
                              strlen(input), MP_FOREVER);
  if (rc < 0) {
    fail("mp_process_communicate", rc);
    goto out;
  }
  rc = mp_process_exitcode(code, p); /* p.returncode */
  if (rc < 0) {
    fail("mp_process_exitcode", rc);
    goto out;
  }
  printf("$ %s\n", program);
  printf("--- stdout (%zu bytes) ---\n%s", out_len, (const char *)out);
  printf("--- stderr (%zu bytes) ---\n%s", err_len, (const char *)err);
  printf("Exit code: %d\n", *code);
  status = EXIT_SUCCESS;

out:
  mp_free(out);
  mp_free(err);
  mp_process_free(p);
  mp_cmd_free(cmd);
  return status;
}

int main(int argc, char **argv) {
  int rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);

  int code;
  if (popen_communicate(&code, "sort", "pear\napple\nfig\nbanana\n") !=
          EXIT_SUCCESS ||
      code != 0)
    return EXIT_FAILURE;

  printf("\n");
  /* Like nslookup, sh reads its commands from stdin until "exit". */
  static const char script[] =
      "x=41\n"
      "echo \"the answer is $((x + 1))\"\n"
      "echo 'a line on stderr' >&2\n"
      "exit 5\n"
      "echo 'never reached'\n";
  if (popen_communicate(&code, "sh", script) != EXIT_SUCCESS || code != 5)
    return EXIT_FAILURE;
  return EXIT_SUCCESS;
}
