/* A real redis-server for the tests of the suite `redis`: started on a free
 * loopback port with a temporary directory (no RDB snapshots; AOF and a
 * password when asked: redis_start_opts) and stopped by its pid, never by
 * name; redis_kill_keep + redis_restart crash it and start it again on the
 * same port and directory. */
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

typedef struct {
  pid_t pid;
  int port;
  char dir[64];
  int aof;            /* appendonly yes, appendfsync always */
  char password[64];  /* requirepass, "" for none */
  int load_delay_us;  /* > 0: key-load-delay, a slow load after a restart */
} redis_srv;

/* redis-server's path on PATH, or NULL. */
static const char *redis_server_path(void) {
  static char found[512];
  const char *path = getenv("PATH");
  if (!path) return NULL;
  char copy[4096];
  snprintf(copy, sizeof copy, "%s", path);
  for (char *save = NULL, *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    snprintf(found, sizeof found, "%s/redis-server", d);
    if (access(found, X_OK) == 0) return found;
  }
  return NULL;
}

/* A loopback port nothing listens on right now. */
static int redis_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0)
    return -1;
  close(fd);
  return ntohs(a.sin_port);
}

static int redis_port_answers(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  close(fd);
  return ok;
}

/* Start redis-server with s's settings on s->port in s->dir; 0, or -1
 * when it did not start answering within 10 s. */
static int redis_spawn(redis_srv *s) {
  char port[16], log[128];
  snprintf(port, sizeof port, "%d", s->port);
  snprintf(log, sizeof log, "%s/redis.log", s->dir);
  char *argv[24] = {(char *)redis_server_path(), "--port", port, "--bind", "127.0.0.1",
                    "--dir", s->dir, "--save", "", "--daemonize", "no",
                    "--logfile", log, "--appendonly", s->aof ? "yes" : "no"};
  int n = 15;
  if (s->aof) {
    argv[n++] = "--appendfsync";
    argv[n++] = "always";
  }
  if (s->password[0]) {
    argv[n++] = "--requirepass";
    argv[n++] = s->password;
  }
  char delay[16];
  if (s->load_delay_us > 0) {
    snprintf(delay, sizeof delay, "%d", s->load_delay_us);
    argv[n++] = "--key-load-delay";
    argv[n++] = delay;
    argv[n++] = "--loading-process-events-interval-bytes"; /* answer LOADING at once */
    argv[n++] = "1024";
  }
  argv[n] = NULL;
  if (posix_spawn(&s->pid, argv[0], NULL, NULL, argv, environ) != 0) return -1;
  for (int i = 0; i < 200; i++) {
    if (redis_port_answers(s->port)) return 0;
    usleep(50 * 1000);
  }
  return -1;
}

/* A new server on a free port in a new temporary directory, with AOF
 * (appendfsync always) when aof, requiring password when not NULL. */
static int redis_start_opts(redis_srv *s, int aof, const char *password) {
  memset(s, 0, sizeof *s);
  snprintf(s->dir, sizeof s->dir, "/tmp/mp-redis-XXXXXX");
  if (!mkdtemp(s->dir)) return -1;
  s->port = redis_free_port();
  s->aof = aof;
  snprintf(s->password, sizeof s->password, "%s", password ? password : "");
  return redis_spawn(s);
}

/* 0, or -1 when the server did not start answering within 10 s. */
static int redis_start(redis_srv *s) { return redis_start_opts(s, 0, NULL); }

/* SIGKILL the server and reap it, keeping its directory (its AOF). */
static inline void redis_kill_keep(redis_srv *s) {
  if (s->pid > 0) {
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
  }
}

/* Start it again on the same port and directory, with the same settings. */
static inline int redis_restart(redis_srv *s) { return redis_spawn(s); }

/* Stop the server by its pid: SIGTERM, or SIGKILL with kill_it. */
static void redis_stop(redis_srv *s, int kill_it) {
  if (s->pid > 0) {
    kill(s->pid, kill_it ? SIGKILL : SIGTERM);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
  if (s->dir[0] && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", s->dir);
  s->dir[0] = '\0';
}
