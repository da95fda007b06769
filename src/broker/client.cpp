// The opening side of the broker (see client.hpp). The client trusts the
// broker only as far as the protocol allows: a reply is read frame by
// frame through the bounded FrameReader, at most one descriptor is kept
// and any other that arrives is closed.
#include "broker/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "core/error.hpp"

namespace mp {
namespace {

// connect() on a non-blocking unix socket: EAGAIN when the broker's
// backlog is full; try again until the deadline.
int connect_unix(Fd *sock, const Address &a, const Deadline &deadline, const char *op) {
  sock->reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!sock->valid()) return fail_errno(op, "socket", errno);
  sockaddr_un sa;
  socklen_t len = unix_sockaddr(a, &sa);
  for (;;) {
    if (connect(sock->get(), reinterpret_cast<sockaddr *>(&sa), len) == 0) return MP_OK;
    int err = errno;
    if (err == EINTR) continue;
    if (err == EINPROGRESS) return wait_ready(sock->get(), POLLOUT, deadline);
    if (err != EAGAIN) {
      if (err == ENOENT) return fail(MP_ENOENT, "%s: no broker at %s", op, a.endpoint.c_str());
      if (err == ECONNREFUSED)
        return fail(MP_ECONNREFUSED, "%s: nobody serves %s", op, a.endpoint.c_str());
      return fail_errno(op, a.endpoint.c_str(), err);
    }
    if (deadline.expired())
      return fail(MP_ETIMEDOUT, "%s: the broker at %s accepts no connection", op, a.endpoint.c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// The broker must run as this user, as root, or (for a socket file) as
// the owner of the directory holding it. A name in a shared directory
// (/tmp) or in the abstract namespace can be taken by anyone first, and a
// queue or pool handed out by a stranger's broker would carry this
// program's data to the stranger.
int check_broker_peer(int sock, const Address &a, const char *op) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return fail_errno(op, "SO_PEERCRED", errno);
  if (cred.uid == geteuid() || cred.uid == 0) return MP_OK;
  if (!a.abstract) {
    size_t slash = a.path.rfind('/');
    std::string dir = slash == 0 ? "/" : a.path.substr(0, slash);
    struct stat st;
    if (stat(dir.c_str(), &st) == 0 && st.st_uid == cred.uid) return MP_OK;
  }
  return fail(MP_EACCES,
              "%s: the broker at %s runs as uid %u: not this user, root or the owner of "
              "its directory; it is not trusted",
              op, a.endpoint.c_str(), unsigned(cred.uid));
}

// Keep the first descriptor a message carried; close every other.
void take_fds(msghdr *msg, Fd *fd) {
  for (cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const unsigned char *data = CMSG_DATA(c);
    for (size_t i = 0; i < n; ++i) {
      int got;
      memcpy(&got, data + i * sizeof(int), sizeof(int));
      if (!fd->valid()) fd->reset(got);
      else close(got);
    }
  }
}

// Read one reply frame (and its descriptor) before the deadline.
int read_reply(Frame *frame, Fd *fd, int sock, const Deadline &deadline, const char *op) {
  FrameReader reader(kMaxRequestFrame);
  char buf[kFrameHeader + kMaxRequestFrame];
  for (;;) {
    if (reader.take(frame)) return MP_OK;
    iovec iov{buf, reader.want()};
    alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n > 0) {
      take_fds(&msg, fd);
      int r = reader.feed(buf, size_t(n));
      if (r != MP_OK) return fail(MP_EPIPE, "%s: %s", op, mp_last_error());
      continue;
    }
    if (n == 0) return fail(MP_EPIPE, "%s: the broker closed the connection before it answered", op);
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return fail_errno(op, "reading the broker's reply", errno);
    if (deadline.expired()) return fail(MP_ETIMEDOUT, "%s: no reply from the broker in time", op);
    int r = wait_ready(sock, POLLIN, deadline);
    if (r != MP_OK) return fail(r, "%s: no reply from the broker in time", op);
  }
}

}  // namespace

int broker_request(Fd *sock, Reply *reply, Fd *fd, const Address &a, FrameType type,
                   const Deadline &deadline, const char *op) {
  int r = connect_unix(sock, a, deadline, op);
  if (r == MP_OK) r = check_broker_peer(sock->get(), a, op);
  if (r != MP_OK) return r;
  std::string request = encode_frame(type, a.name);
  // A broker that refuses at once may have closed before this write: the
  // reply it sent first is still there to read.
  write_all(sock->get(), request.data(), request.size(), deadline, op);
  Frame frame;
  r = read_reply(&frame, fd, sock->get(), deadline, op);
  if (r != MP_OK) return r;
  if (frame.type != FrameType::kReply || decode_reply(reply, frame.payload) != MP_OK)
    return fail(MP_EPIPE, "%s: the broker at %s answered garbage", op, a.endpoint.c_str());
  if (reply->status != MP_OK)
    return fail(reply->status, "%s: %s: %s", op, a.endpoint.c_str(), reply->message.c_str());
  if (type == FrameType::kOpenFd && !fd->valid())
    return fail(MP_EPIPE, "%s: the broker's reply carried no descriptor", op);
  return MP_OK;
}

}  // namespace mp
