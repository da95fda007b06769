/* mp-test-helper: predictable child behaviours for the tests.
 *
 *   exit N            exit with status N
 *   cat               copy stdin to stdout
 *   echo TEXT...      print the arguments, one line
 *   stderr TEXT       print TEXT to stderr
 *   both              print "out" to stdout and "err" to stderr
 *   fds               print the open descriptors, one per line
 *   env NAME          print the value of NAME or "(unset)"
 *   pwd               print the working directory
 *   sleep MS          sleep MS milliseconds, then exit 0
 *   ignore-term MS    ignore SIGTERM, sleep MS
 *   spew N            write N bytes to stdout and N to stderr while
 *                     reading all of stdin; print the stdin count to stderr
 *   pgid              print "pid pgid"
 *   grandchild MS     start a grandchild holding stdout open for MS ms,
 *                     print its pid, exit 0 at once
 *   signal-self SIG   kill itself with signal SIG
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "testclock.h"

static int do_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int self = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == self) continue;
    printf("%s\n", e->d_name);
  }
  closedir(d);
  return 0;
}

static int do_cat(void) {
  char buf[65536];
  ssize_t n;
  while ((n = read(0, buf, sizeof buf)) > 0)
    if (write(1, buf, (size_t)n) != n) return 1;
  return 0;
}

static int write_pattern(int fd, long long *left) {
  static char buf[65536];
  if (!buf[0]) memset(buf, 'x', sizeof buf);
  size_t chunk = *left < (long long)sizeof buf ? (size_t)*left : sizeof buf;
  ssize_t n = write(fd, buf, chunk);
  if (n < 0) return errno == EAGAIN ? 0 : -1;
  *left -= n;
  return 0;
}

/* Write N bytes to stdout and stderr while reading stdin, all at once. */
static int do_spew(long long n) {
  long long out_left = n, err_left = n, in_count = 0;
  int in_open = 1;
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
  fcntl(2, F_SETFL, fcntl(2, F_GETFL) | O_NONBLOCK);
  while (in_open || out_left || err_left) {
    struct pollfd p[3] = {{0, POLLIN, 0}, {1, POLLOUT, 0}, {2, POLLOUT, 0}};
    p[0].fd = in_open ? 0 : -1;
    p[1].fd = out_left ? 1 : -1;
    p[2].fd = err_left ? 2 : -1;
    if (poll(p, 3, -1) < 0 && errno != EINTR) return 2;
    if (p[0].revents) {
      char buf[65536];
      ssize_t r = read(0, buf, sizeof buf);
      if (r > 0) in_count += r;
      else if (r == 0 || errno != EAGAIN) in_open = 0;
    }
    if (p[1].revents && write_pattern(1, &out_left) < 0) return 3;
    if (p[2].revents && write_pattern(2, &err_left) < 0) return 4;
  }
  fcntl(2, F_SETFL, fcntl(2, F_GETFL) & ~O_NONBLOCK);
  dprintf(2, "\nstdin=%lld\n", in_count);
  return 0;
}

static int do_grandchild(long ms) {
  pid_t pid = fork();
  if (pid == 0) {
    sleep_ms(ms);
    _exit(0);
  }
  printf("%d\n", (int)pid);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return 64;
  const char *mode = argv[1];
  setvbuf(stdout, NULL, _IONBF, 0);
  if (!strcmp(mode, "exit") && argc > 2) return atoi(argv[2]);
  if (!strcmp(mode, "cat")) return do_cat();
  if (!strcmp(mode, "echo")) {
    for (int i = 2; i < argc; i++) printf(i > 2 ? " %s" : "%s", argv[i]);
    printf("\n");
    return 0;
  }
  if (!strcmp(mode, "stderr") && argc > 2) {
    fprintf(stderr, "%s\n", argv[2]);
    return 0;
  }
  if (!strcmp(mode, "both")) {
    printf("out\n");
    fprintf(stderr, "err\n");
    return 0;
  }
  if (!strcmp(mode, "fds")) return do_fds();
  if (!strcmp(mode, "env") && argc > 2) {
    const char *v = getenv(argv[2]);
    printf("%s\n", v ? v : "(unset)");
    return 0;
  }
  if (!strcmp(mode, "pwd")) {
    char buf[4096];
    printf("%s\n", getcwd(buf, sizeof buf) ? buf : "?");
    return 0;
  }
  if (!strcmp(mode, "sleep") && argc > 2) {
    sleep_ms(atol(argv[2]));
    return 0;
  }
  if (!strcmp(mode, "ignore-term") && argc > 2) {
    signal(SIGTERM, SIG_IGN);
    sleep_ms(atol(argv[2]));
    return 0;
  }
  if (!strcmp(mode, "spew") && argc > 2) return do_spew(atoll(argv[2]));
  if (!strcmp(mode, "ids")) {
    printf("%d %d %d\n", (int)getpid(), (int)getpgid(0), (int)getsid(0));
    return 0;
  }
  if (!strcmp(mode, "pgid")) {
    printf("%d %d\n", (int)getpid(), (int)getpgid(0));
    return 0;
  }
  if (!strcmp(mode, "grandchild") && argc > 2) return do_grandchild(atol(argv[2]));
  if (!strcmp(mode, "signal-self") && argc > 2) {
    kill(getpid(), atoi(argv[2]));
    sleep_ms(5000);
    return 0;
  }
  fprintf(stderr, "mp-test-helper: unknown mode %s\n", mode);
  return 64;
}
