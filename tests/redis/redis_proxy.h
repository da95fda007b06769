/* A TCP proxy for the tests of the suite `redis`: a thread that forwards
 * every connection made to its loopback port to a target port, until told
 * to stop forwarding (a network partition: connections stay open, bytes
 * stop moving both ways, nothing is reset) and, later, to resume. */
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROXY_MAX_FDS 64

typedef struct {
  int listen_fd, port, target;
  atomic_int frozen, stop;
  int fds[PROXY_MAX_FDS]; /* pairs: fds[2k] client side, fds[2k+1] server side; -1 unused */
  pthread_t thread;
} proxy_t;

static int proxy_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
  if (fd >= 0) close(fd);
  return -1;
}

static void proxy_accept(proxy_t *p) {
  int c = accept(p->listen_fd, NULL, NULL);
  if (c < 0) return;
  int s = proxy_connect(p->target);
  for (int i = 0; s >= 0 && i < PROXY_MAX_FDS; i += 2)
    if (p->fds[i] < 0) {
      p->fds[i] = c;
      p->fds[i + 1] = s;
      return;
    }
  close(c);
  if (s >= 0) close(s);
}

/* Move what fds[i] has to its peer; close the pair at its end. */
static void proxy_move(proxy_t *p, int i) {
  char buf[65536];
  ssize_t n = read(p->fds[i], buf, sizeof buf);
  int peer = p->fds[i ^ 1];
  for (ssize_t off = 0; n > 0 && off < n;) {
    ssize_t w = write(peer, buf + off, (size_t)(n - off));
    if (w <= 0) {
      n = 0;
      break;
    }
    off += w;
  }
  if (n <= 0) {
    close(p->fds[i & ~1]);
    close(p->fds[i | 1]);
    p->fds[i & ~1] = p->fds[i | 1] = -1;
  }
}

static void *proxy_run(void *arg) {
  proxy_t *p = arg;
  while (!atomic_load(&p->stop)) {
    struct pollfd pf[PROXY_MAX_FDS + 1];
    int at[PROXY_MAX_FDS + 1], n = 0;
    pf[n] = (struct pollfd){.fd = p->listen_fd, .events = POLLIN};
    at[n++] = -1;
    for (int i = 0; !atomic_load(&p->frozen) && i < PROXY_MAX_FDS; i++)
      if (p->fds[i] >= 0) {
        pf[n] = (struct pollfd){.fd = p->fds[i], .events = POLLIN};
        at[n++] = i;
      }
    if (poll(pf, (nfds_t)n, 20) <= 0) continue;
    for (int k = 0; k < n; k++) {
      if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (at[k] < 0) proxy_accept(p);
      else if (p->fds[at[k]] >= 0) proxy_move(p, at[k]);
    }
  }
  return NULL;
}

/* Listen on a free loopback port (p->port) and forward to target. */
static int proxy_start(proxy_t *p, int target) {
  memset(p, 0, sizeof *p);
  for (int i = 0; i < PROXY_MAX_FDS; i++) p->fds[i] = -1;
  p->target = target;
  p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      listen(p->listen_fd, 16) != 0 || getsockname(p->listen_fd, (struct sockaddr *)&a, &len) != 0)
    return -1;
  p->port = ntohs(a.sin_port);
  return pthread_create(&p->thread, NULL, proxy_run, p) == 0 ? 0 : -1;
}

/* Stop forwarding (1) or forward again (0). */
static void proxy_freeze(proxy_t *p, int on) { atomic_store(&p->frozen, on); }

static void proxy_stop(proxy_t *p) {
  atomic_store(&p->stop, 1);
  pthread_join(p->thread, NULL);
  close(p->listen_fd);
  for (int i = 0; i < PROXY_MAX_FDS; i++)
    if (p->fds[i] >= 0) close(p->fds[i]);
}
