// The pipe from the parent that daemon targets of the portable backend
// watch (parent_watch.hpp).
#include "process/parent_watch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace mp {
namespace {

struct ParentPipe {
  std::mutex mu;
  int read_end = -1;   // given to daemon children
  int write_end = -1;  // held until this process ends
  int inherited = -1;  // after a fork: the parent's read end, not yet taken
  int watched = -1;    // the read end this process's own watch thread polls
};

// Reached through a function so that the forkserver, which forks from the
// library's constructor, finds it whatever order the initialisers run in.
ParentPipe &parent_pipe() {
  static ParentPipe *p = new ParentPipe();  // used until exit
  return *p;
}

// In every forked child: the write end is the parent's (held here it would
// keep the pipe open after the parent died), the read end is what a forked
// daemon watches, and the watch thread of this process does not exist.
// Idempotent: our own forks call it again explicitly.
void after_fork_in_child() {
  ParentPipe &p = parent_pipe();
  new (&p.mu) std::mutex();  // it may have been held by a thread not copied
  if (p.write_end >= 0) close(p.write_end);
  p.write_end = -1;
  if (p.watched >= 0) close(p.watched);
  p.watched = -1;
  if (p.read_end >= 0) {
    if (p.inherited >= 0) close(p.inherited);
    p.inherited = p.read_end;
    p.read_end = -1;
  }
}
const int g_parent_pipe_atfork = pthread_atfork(nullptr, nullptr, after_fork_in_child);

void *watch_main(void *arg) {
  int fd = int(intptr_t(arg));
  for (;;) {
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;  // cannot watch any longer: end as if the parent had died
    }
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n == 0) break;  // every write end closed: the parent is gone
    if (n < 0 && errno != EINTR && errno != EAGAIN) break;
  }
  kill(getpid(), SIGKILL);
  return nullptr;
}

}  // namespace

int parent_pipe_read_end() {
  ParentPipe &p = parent_pipe();
  std::lock_guard<std::mutex> lock(p.mu);
  if (p.read_end < 0) {
    Fd r, w;
    int rc = make_pipe(r, w);
    if (rc != MP_OK) return rc;
    p.read_end = r.release();
    p.write_end = w.release();
  }
  return p.read_end;
}

int take_inherited_parent_pipe() {
  after_fork_in_child();
  ParentPipe &p = parent_pipe();
  int fd = p.inherited;
  p.inherited = -1;
  return fd;
}

int watch_parent_pipe(int fd) {
  // The thread takes no signal: they belong to the program's threads.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  int r = pthread_create(&thread, &attr, watch_main, reinterpret_cast<void *>(intptr_t(fd)));
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (r != 0) {
    close(fd);
    return fail_errno("daemon: the parent watch thread", "pthread_create", r);
  }
  ParentPipe &p = parent_pipe();
  std::lock_guard<std::mutex> lock(p.mu);
  p.watched = fd;
  return MP_OK;
}

void watch_parent_pipe_from_env() {
  const char *v = getenv(kParentPipeEnv);
  if (!v) return;
  char *end;
  long fd = strtol(v, &end, 10);
  bool valid = *v >= '0' && *v <= '9' && !*end && fd >= 0 && fd < (1 << 20);
  unsetenv(kParentPipeEnv);
  if (valid) fcntl(int(fd), F_SETFD, FD_CLOEXEC);
  if (!valid || watch_parent_pipe(int(fd)) != MP_OK) {
    fprintf(stderr, "multiproc child %d: cannot watch the parent (%s)\n", int(getpid()),
            valid ? last_error_message() : "bad " "MULTIPROC_PARENT_PIPE_FD");
    _exit(1);
  }
}

}  // namespace mp
