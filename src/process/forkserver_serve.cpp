// The forkserver's own side: the loop that forks children on request and
// relays their wait status, and the start of a child it forked. Runs from
// the library's constructor in a process started with kForkserverEnv, so
// nothing of the program (threads, heap, a Go runtime) exists yet.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "core/backend.hpp"
#include "core/error.hpp"
#include "process/forkserver.hpp"
#include "process/parent_watch.hpp"

namespace mp {
namespace {

constexpr size_t kMaxFds = kMaxPassFds + 1;  // the status socket, then the passed ones

Bootstrap *g_job = nullptr;  // set in a forked child, read by mp_main()

[[noreturn]] void job_abort(const char *what) {
  fprintf(stderr, "multiproc forkserver child %d: %s\n", int(getpid()), what);
  _exit(1);
}

// Read exactly len bytes (blocking); false at EOF or error.
bool read_exact(int fd, void *buf, size_t len) {
  char *p = static_cast<char *>(buf);
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= size_t(n);
  }
  return true;
}

// In the forked child: become the job the parent sends over status.
void become_child(int status, const std::vector<int> &passed, bool daemon, pid_t server) {
  // A daemon dies with the server, which dies with the parent: through
  // PR_SET_PDEATHSIG, or in the portable backend a watch on the server's
  // pipe (parent_watch.hpp), inherited across the fork.
  int pipe_fd = take_inherited_parent_pipe();
  if (daemon && portable_backend()) {
    if (watch_parent_pipe(pipe_fd) != MP_OK) _exit(1);
  } else if (pipe_fd >= 0) {
    close(pipe_fd);
  }
#ifdef MP_HAVE_LINUX_MECHANISMS
  if (daemon && !portable_backend()) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != server) _exit(1);
  }
#endif
  uint32_t len;
  std::string wire;
  if (!read_exact(status, &len, sizeof len)) _exit(1);  // the parent gave up
  wire.resize(len);
  if (!read_exact(status, wire.data(), len)) _exit(1);
  close(status);
  auto *b = new Bootstrap();
  if (decode_bootstrap(*b, wire) != MP_OK) job_abort(last_error_message());
  if (b->nfds + b->named.size() != passed.size())
    job_abort("bootstrap: wrong number of descriptors");
  SelfInfo &self = self_info();
  self.is_child = true;
  self.name = b->name;
  self.parent_pid = int(b->parent_pid);
  self.alive_ppid = int(server);
  self.parent_name = b->parent_name;
  size_t i = 0;
  for (; i < b->nfds; ++i) self.fds.push_back(passed[i]);
  for (const NamedSlot &slot : b->named)
    self.named.push_back(NamedFd{slot.name, slot.kind, passed[i++]});
  g_job = b;
}

void send_reply(int status, pid_t pid, int err) {
  ForkReply reply = {int32_t(pid), int32_t(err)};
  std::vector<int> fds;
  // The portable backend signals by pid: no pidfd.
  int pidfd = pid > 0 && !portable_backend() ? int(syscall(SYS_pidfd_open, pid, 0)) : -1;
  if (pidfd >= 0) fds.push_back(pidfd);
  send_with_fds(status, &reply, sizeof reply, fds);  // a parent gone is no matter
  if (pidfd >= 0) close(pidfd);
}

// Report every reaped child's wait status to its parent.
void reap_children(std::map<pid_t, int> &status_of) {
  int st;
  pid_t pid;
  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    auto it = status_of.find(pid);
    if (it == status_of.end()) continue;
    send(it->second, &st, sizeof st, MSG_NOSIGNAL);
    close(it->second);
    status_of.erase(it);
  }
}

struct Server {
  int ctl;
  int sigfd;
  sigset_t old_mask;
  std::map<pid_t, int> status_of;  // running children's status sockets
};

// Serve one request; true in the forked child (whose job is then set).
bool serve_request(Server &s) {
  ForkRequest req;
  std::vector<int> fds;
  long n = recv_with_fds(s.ctl, &req, sizeof req, fds);
  if (n == 0) _exit(0);  // the parent is gone: so are we
  if (n < 0) return false;  // a broken ctl reads as EOF next
  if (size_t(n) != sizeof req || req.magic != kForkRequestMagic || fds.empty() ||
      fds.size() > kMaxFds) {
    for (int fd : fds) close(fd);
    return false;
  }
  pid_t server = getpid();
  if (req.daemon && portable_backend() && parent_pipe_read_end() < 0) {
    send_reply(fds[0], -1, EMFILE);  // no pipe for its watch: refuse the daemon
    for (int fd : fds) close(fd);
    return false;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(s.ctl);
    close(s.sigfd);
    sigprocmask(SIG_SETMASK, &s.old_mask, nullptr);
    for (auto &[p, fd] : s.status_of) close(fd);
    become_child(fds[0], std::vector<int>(fds.begin() + 1, fds.end()), req.daemon != 0, server);
    return true;
  }
  send_reply(fds[0], pid, pid < 0 ? errno : 0);
  for (size_t i = 1; i < fds.size(); ++i) close(fds[i]);
  if (pid > 0)
    s.status_of[pid] = fds[0];
  else
    close(fds[0]);
  return false;
}

// The server loop; returns only in a forked child.
void serve(int ctl) {
  Server s;
  s.ctl = ctl;
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &s.old_mask);
  s.sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (s.sigfd < 0) _exit(1);
  for (;;) {
    pollfd p[2] = {{s.ctl, POLLIN, 0}, {s.sigfd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    if (p[1].revents) {
      signalfd_siginfo info;
      while (read(s.sigfd, &info, sizeof info) > 0) {
      }
      reap_children(s.status_of);
    }
    if (p[0].revents && serve_request(s)) return;
  }
}

// A process started as the forkserver serves from here, before main().
__attribute__((constructor)) void forkserver_entry() {
  const char *v = getenv(kForkserverEnv);
  if (!v) return;
  char *end;
  long fd = strtol(v, &end, 10);
  unsetenv(kForkserverEnv);  // the children are no servers
  if (*v < '0' || *v > '9' || *end || fd < 0 || fd > 1 << 20)
    job_abort("bad " "MULTIPROC_FORKSERVER_FD");
  fcntl(int(fd), F_SETFD, FD_CLOEXEC);
  serve(int(fd));
}

}  // namespace

const Bootstrap *forkserver_job() { return g_job; }

int send_with_fds(int sock, const void *data, size_t len, const std::vector<int> &fds) {
  iovec iov = {const_cast<void *>(data), len};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  for (;;) {
    ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n == ssize_t(len)) return MP_OK;
    if (n >= 0) return fail(MP_ESYS, "forkserver: short send");
    if (errno == EINTR) continue;
    if (errno == EPIPE || errno == ECONNRESET) return MP_ECLOSED;
    return fail_errno("forkserver: sendmsg", "", errno);
  }
}

long recv_with_fds(int sock, void *data, size_t len, std::vector<int> &fds) {
  iovec iov = {data, len};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFds));
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int e = errno;  // kept for the caller (read_reply tells ECONNRESET apart)
    long rc = fail_errno("forkserver: recvmsg", "", e);
    errno = e;
    return rc;
  }
  for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const char *p = reinterpret_cast<const char *>(CMSG_DATA(c));
    for (size_t i = 0; i < count; ++i) {
      int fd;
      memcpy(&fd, p + i * sizeof fd, sizeof fd);
      fds.push_back(fd);
    }
  }
  if (msg.msg_flags & MSG_CTRUNC) {
    for (int fd : fds) close(fd);
    fds.clear();
    return fail(MP_ESYS, "forkserver: too many descriptors in one message");
  }
  return long(n);
}

}  // namespace mp
