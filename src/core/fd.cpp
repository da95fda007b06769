#include "core/fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "core/error.hpp"

namespace mp {

void Fd::reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

int make_pipe(Fd &read_end, Fd &write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return fail_errno("pipe2", "", errno);
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  return MP_OK;
}

int dup_cloexec(Fd &out, int fd, int min_fd, const char *what) {
  int r = fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
  if (r < 0) {
    int err = errno;
    if (err == EBADF) return fail(MP_EINVAL, "%s: descriptor %d is not open", what, fd);
    return fail_errno("fcntl(F_DUPFD_CLOEXEC)", what, err);
  }
  out.reset(r);
  return MP_OK;
}

int set_nonblocking(int fd, bool on) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return fail_errno("fcntl(F_GETFL)", "", errno);
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (fcntl(fd, F_SETFL, flags) < 0) return fail_errno("fcntl(F_SETFL)", "", errno);
  return MP_OK;
}

int wait_ready(int fd, short events, const Deadline &deadline) {
  for (;;) {
    pollfd p[2] = {{fd, events, 0}, {deadline.cancel_fd(), POLLIN, 0}};
    int r = poll(p, 2, deadline.poll_ms());
    if (r > 0) return p[0].revents ? MP_OK : MP_ETIMEDOUT;  // else canceled
    if (r == 0) return MP_ETIMEDOUT;
    if (errno != EINTR) return fail_errno("poll", "", errno);
  }
}

long write_no_sigpipe(int fd, const void *buf, size_t len) {
  // Block SIGPIPE in this thread for the write; if the write raised one that
  // was not already pending, consume it so it never reaches the process.
  sigset_t pipe_set, old_mask, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  long n;
  do {
    n = write(fd, buf, len);
  } while (n < 0 && errno == EINTR);
  int saved = errno;
  if (n < 0 && saved == EPIPE && !was_pending) {
    timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = saved;
  return n;
}

int write_all(int fd, const void *buf, size_t len, const Deadline &deadline,
              const char *what) {
  const char *p = static_cast<const char *>(buf);
  while (len > 0) {
    long n = write_no_sigpipe(fd, p, len);
    if (n >= 0) {
      p += n;
      len -= size_t(n);
      continue;
    }
    if (errno == EPIPE) return fail(MP_EPIPE, "%s: the reader closed the pipe", what);
    if (errno != EAGAIN) return fail_errno("write", what, errno);
    int r = wait_ready(fd, POLLOUT, deadline);
    if (r == MP_ETIMEDOUT) return fail(MP_ETIMEDOUT, "%s: timed out", what);
    if (r != MP_OK) return r;
  }
  return MP_OK;
}

}  // namespace mp
