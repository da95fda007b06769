// Listener and Client (multiprocessing.connection) over unix: and tcp://.
//
// Layout: a listener is a listening socket and a ListenerCore shared (by
// shared_ptr) between the handle, its acceptor thread and the handshake
// threads, so a thread that outlives the handle still has what it uses.
//
// Concurrency: the acceptor thread polls the listening socket and an
// eventfd (the stop signal). Each accepted peer gets its own short-lived
// thread that runs the handshake with the handshake timeout, so a peer
// that says nothing holds up only its own thread. At most kMaxHandshakes
// run at once and at most kMaxWaiting connections (handshaking or ready)
// are held: beyond that the acceptor stops accepting and new peers wait in
// the kernel's backlog; memory stays bounded whatever peers do. Without an
// authkey there is no handshake: the acceptor queues the connection.
//
// Waiting: mp_listener_accept waits on the core's CondVar for the ready
// queue (a connection, or the refusal of a peer that failed the
// handshake, which accept reports as MP_EACCES); its Deadline carries the
// caller's cancel token.
//
// Closing: under the core's mutex, `closed` is set, every socket in a
// handshake is shut down (its thread wakes from poll at once), the queue
// is emptied and the acceptor woken; then the acceptor is joined and the
// handshakes awaited, and the socket file unlinked if it is still ours
// (same device and inode as bound). In a child created by fork() none of
// the threads exist and the sockets are shared with the parent: the child
// only closes its own descriptors.
#include "ipc/listener.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <set>
#include <thread>

#include "core/cond_var.hpp"
#include "core/error.hpp"
#include "core/resolve.hpp"
#include "core/fd.hpp"
#include "ipc/auth.hpp"

namespace mp {

// A connection that finished its handshake, or (conn null) the refusal
// of a peer that failed it.
struct Pending {
  std::unique_ptr<mp_conn> conn;
  std::string refusal;
};

struct ListenerCore {
  std::mutex mu;
  CondVar cv;  // ready queue, free slots, closing, accepters leaving
  bool closed = false;
  std::deque<Pending> ready;
  std::set<int> handshaking;  // sockets in a handshake (shut down by close)
  int in_progress = 0;        // handshake threads not yet finished
  int accepters = 0;          // threads inside listener_accept
  std::string key;
  int64_t handshake_ms = 0;
  Fd lfd;
  Fd wake;  // eventfd: stops the acceptor
  std::unique_ptr<std::thread> acceptor;
  pid_t owner = 0;
  std::string unlink_path;  // the socket file, "" for tcp:// and abstract
  dev_t dev = 0;
  ino_t ino = 0;
};

namespace {

std::unique_ptr<mp_conn> socket_conn(int fd) {
  auto c = std::make_unique<mp_conn>();
  c->fd.reset(fd);
  c->readable = c->writable = c->is_socket = true;
  return c;
}

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// "host:port" ("[v6]:port") of an inet address.
std::string inet_text(const sockaddr *sa, socklen_t len) {
  char host[NI_MAXHOST], port[NI_MAXSERV];
  if (getnameinfo(sa, len, host, sizeof host, port, sizeof port,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "?";
  return sa->sa_family == AF_INET6 ? "[" + std::string(host) + "]:" + port
                                   : std::string(host) + ":" + port;
}

// Who a peer is, for messages: its address, or a unix peer's pid and uid.
std::string describe_peer(int fd, const sockaddr_storage &peer, socklen_t len) {
  if (peer.ss_family != AF_UNIX) return inet_text(reinterpret_cast<const sockaddr *>(&peer), len);
  ucred cred{};
  socklen_t clen = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0) return "a unix peer";
  return "pid " + std::to_string(cred.pid) + " (uid " + std::to_string(cred.uid) + ")";
}

// ---- the handshake threads and the acceptor ----------------------------

void queue_result(ListenerCore &core, int fd, std::unique_ptr<mp_conn> c, int rc,
                  const std::string &why) {
  std::unique_lock<std::mutex> lock(core.mu);
  core.handshaking.erase(fd);  // before the descriptor closes: close() shuts these down
  if (!core.closed && rc == MP_OK) core.ready.push_back({std::move(c), ""});
  if (!core.closed && rc == MP_EACCES) core.ready.push_back({nullptr, why});
  lock.unlock();
  c.reset();  // a dropped peer's descriptor closes before it stops counting
  lock.lock();
  --core.in_progress;
  core.cv.notify_all();
}

void handshake_main(std::shared_ptr<ListenerCore> core, int fd, std::string who) {
  std::unique_ptr<mp_conn> c;
  int rc = MP_ESYS;
  std::string why;
  try {
    c = socket_conn(fd);
    fd = c->fd.get();
    std::string op = "mp_listener_accept: peer " + who;
    Deadline d = Deadline::uncancelable(core->handshake_ms);
    rc = auth::deliver_challenge(*c, core->key, d, op.c_str());
    if (rc == MP_OK) rc = auth::answer_challenge(*c, core->key, d, op.c_str());
    if (rc == MP_EACCES) why = last_error_message();
  } catch (...) {  // out of memory: the peer is dropped
    if (!c) close(fd);
    rc = MP_ENOMEM;
  }
  queue_result(*core, fd, std::move(c), rc, why);
}

// Wait until a slot is free; false once closed.
bool wait_for_slot(ListenerCore &core) {
  std::unique_lock<std::mutex> lock(core.mu);
  core.cv.wait(lock, [&] {
    return core.closed || (core.in_progress < kMaxHandshakes &&
                           core.in_progress + int(core.ready.size()) < kMaxWaiting);
  });
  return !core.closed;
}

// Pause after a failed accept that will fail again at once (out of
// descriptors or memory), unless asked to stop.
void back_off(ListenerCore &core) {
  pollfd p = {core.wake.get(), POLLIN, 0};
  poll(&p, 1, 100);
}

void start_handshake(const std::shared_ptr<ListenerCore> &core, Fd conn, std::string who) {
  ListenerCore &c = *core;
  int fd = conn.get();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.closed) return;
    ++c.in_progress;
    c.handshaking.insert(fd);
  }
  try {
    std::thread(handshake_main, core, fd, std::move(who)).detach();
    conn.release();  // the thread owns it now
  } catch (...) {  // no thread: the peer is dropped
    std::lock_guard<std::mutex> lock(c.mu);
    c.handshaking.erase(fd);
    --c.in_progress;
  }
}

void acceptor_main(std::shared_ptr<ListenerCore> core) {
  ListenerCore &c = *core;
  while (wait_for_slot(c)) {
    pollfd p[2] = {{c.lfd.get(), POLLIN, 0}, {c.wake.get(), POLLIN, 0}};
    if (poll(p, 2, -1) < 0) continue;  // EINTR
    if (p[1].revents) return;
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    Fd conn(accept4(c.lfd.get(), reinterpret_cast<sockaddr *>(&peer), &len, SOCK_CLOEXEC));
    if (!conn.valid()) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) back_off(c);
      continue;  // EAGAIN (the peer left), ECONNABORTED, EINTR, ...
    }
    if (peer.ss_family != AF_UNIX) set_nodelay(conn.get());
    try {
      if (c.key.empty()) {  // no handshake: ready at once
        std::lock_guard<std::mutex> lock(c.mu);
        if (!c.closed) c.ready.push_back({socket_conn(conn.release()), ""});
        c.cv.notify_all();
        continue;
      }
      std::string who = describe_peer(conn.get(), peer, len);
      start_handshake(core, std::move(conn), std::move(who));
    } catch (...) {  // out of memory: this peer is dropped
    }
  }
}

// ---- binding ------------------------------------------------------------

int bind_error(const Address &a, int err, const char *op) {
  if (err == EADDRINUSE)
    return fail(MP_EEXIST, "%s: '%s' is in use%s", op, a.endpoint.c_str(),
                a.scheme == Scheme::kUnix && !a.abstract
                    ? " (the file exists; it is never removed: delete it yourself if it "
                      "is a stale socket)"
                    : "");
  return fail_errno(op, a.endpoint.c_str(), err);
}

// Bind a unix socket. The file is made 0600 before listen(): until then no
// one can connect, whatever the umask gave it for a moment.
int bind_unix(ListenerCore &core, const Address &a, std::string &address, const char *op) {
  core.lfd.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!core.lfd.valid()) return fail_errno(op, "socket", errno);
  sockaddr_un sa;
  socklen_t len = unix_sockaddr(a, &sa);
  if (bind(core.lfd.get(), reinterpret_cast<sockaddr *>(&sa), len) != 0)
    return bind_error(a, errno, op);
  address = a.endpoint;
  if (a.abstract) return MP_OK;
  core.unlink_path = a.path;
  struct stat st;
  if (chmod(a.path.c_str(), 0600) != 0 || stat(a.path.c_str(), &st) != 0) {
    int err = errno;
    unlink(a.path.c_str());
    core.unlink_path.clear();
    return fail_errno(op, a.path.c_str(), err);
  }
  core.dev = st.st_dev;
  core.ino = st.st_ino;
  return MP_OK;
}

// A listener's own host name is looked up for at most this long: binding
// takes no timeout, and a DNS server that does not answer must not hold
// mp_listener_new for the resolver's minutes.
constexpr int64_t kBindLookupMs = 30000;

int bind_tcp(ListenerCore &core, const Address &a, std::string &address, const char *op) {
  addrinfo *list = nullptr;
  int r = resolve_host(&list, a.host, a.port, true, Deadline::uncancelable(kBindLookupMs), op);
  if (r != MP_OK) return r;
  int err = EADDRNOTAVAIL;
  for (addrinfo *ai = list; ai; ai = ai->ai_next) {
    Fd fd(socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid()) {
      err = errno;
      continue;
    }
    int one = 1;  // as CPython's Listener: a restart may take the port again at once
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0) {
      core.lfd = std::move(fd);
      err = 0;
      break;
    }
    err = errno;
  }
  freeaddrinfo(list);
  if (err) return bind_error(a, err, op);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(core.lfd.get(), reinterpret_cast<sockaddr *>(&ss), &len) != 0)
    return fail_errno(op, "getsockname", errno);
  address = "tcp://" + inet_text(reinterpret_cast<sockaddr *>(&ss), len);
  return MP_OK;
}

// ---- connecting ---------------------------------------------------------

// Connect a non-blocking socket before the deadline. MP_OK or the errno
// of the failure in *err (0 for a timeout, reported by the caller).
int connect_one(int fd, const sockaddr *sa, socklen_t len, const Deadline &d, int *err) {
  for (;;) {
    if (connect(fd, sa, len) == 0) return MP_OK;
    *err = errno;
    if (*err == EAGAIN && sa->sa_family == AF_UNIX) {  // the backlog is full: try again
      if (d.expired()) return MP_ETIMEDOUT;
      poll(nullptr, 0, d.poll_ms() < 10 && d.poll_ms() >= 0 ? d.poll_ms() : 10);
      continue;
    }
    if (*err != EINPROGRESS && *err != EINTR) return MP_ESYS;
    int r = wait_ready(fd, POLLOUT, d);
    if (r != MP_OK) return r;
    socklen_t elen = sizeof *err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &elen) != 0) *err = errno;
    return *err ? MP_ESYS : MP_OK;
  }
}

int connect_error(const Address &a, int rc, int err, const char *op) {
  if (rc == MP_ETIMEDOUT)
    return fail(MP_ETIMEDOUT, "%s: connecting to '%s' timed out", op, a.endpoint.c_str());
  if (err == ECONNREFUSED)
    return fail(MP_ECONNREFUSED, "%s: nothing listens at '%s'", op, a.endpoint.c_str());
  if (err == ENOENT)
    return fail(MP_ENOENT, "%s: no socket file '%s'", op, a.path.c_str());
  return fail_errno(op, a.endpoint.c_str(), err);
}

int connect_socket(Fd &out, const Address &a, const Deadline &d, const char *op) {
  int rc = MP_ESYS, err = 0;
  if (a.scheme == Scheme::kUnix) {
    sockaddr_un sa;
    socklen_t len = unix_sockaddr(a, &sa);
    out.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!out.valid()) return fail_errno(op, "socket", errno);
    rc = connect_one(out.get(), reinterpret_cast<sockaddr *>(&sa), len, d, &err);
  } else {
    addrinfo *list = nullptr;
    int r = resolve_host(&list, a.host, a.port, false, d, op);
    if (r != MP_OK) return r;
    for (addrinfo *ai = list; ai && rc != MP_OK && rc != MP_ETIMEDOUT; ai = ai->ai_next) {
      out.reset(socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      if (!out.valid()) {
        err = errno;
        continue;
      }
      rc = connect_one(out.get(), ai->ai_addr, ai->ai_addrlen, d, &err);
    }
    freeaddrinfo(list);
    if (rc == MP_OK) set_nodelay(out.get());
  }
  if (rc != MP_OK) return connect_error(a, rc, err, op);
  // Blocking again, as the ends of mp_pipe: a blocking receive is one call.
  return set_nonblocking(out.get(), false);
}

}  // namespace

// ---- entry points -------------------------------------------------------

int listener_open(mp_listener &l, const Address &a, const mp_listener_opts &o, const char *op) {
  auto core = std::make_shared<ListenerCore>();
  core->key = o.authkey;
  core->handshake_ms = o.handshake_ms;
  core->owner = getpid();
  int r = a.scheme == Scheme::kUnix ? bind_unix(*core, a, l.address, op)
                                    : bind_tcp(*core, a, l.address, op);
  if (r == MP_OK && listen(core->lfd.get(), o.backlog) != 0) r = fail_errno(op, "listen", errno);
  if (r == MP_OK) {
    core->wake.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!core->wake.valid()) r = fail_errno(op, "eventfd", errno);
  }
  if (r == MP_OK) core->acceptor = std::make_unique<std::thread>(acceptor_main, core);
  l.core = core;
  if (r != MP_OK) listener_close(l);
  return r;
}

int listener_accept(std::unique_ptr<mp_conn> &out, mp_listener &l, const Deadline &d,
                    const char *op) {
  std::shared_ptr<ListenerCore> keep = l.core;
  ListenerCore &c = *keep;
  std::unique_lock<std::mutex> lock(c.mu);
  ++c.accepters;
  bool got = wait_cv(c.cv, lock, d, [&] { return c.closed || !c.ready.empty(); });
  --c.accepters;
  if (c.closed) {
    c.cv.notify_all();  // listener_release may wait for this thread
    return fail(MP_ECLOSED, "%s: the listener was closed", op);
  }
  if (!got) return fail(MP_ETIMEDOUT, "%s: no peer connected in time", op);
  Pending p = std::move(c.ready.front());
  c.ready.pop_front();
  c.cv.notify_all();  // a slot is free for the acceptor
  lock.unlock();
  if (!p.conn) return fail(MP_EACCES, "%s", p.refusal.c_str());
  out = std::move(p.conn);
  return MP_OK;
}

void listener_close(mp_listener &l) {
  std::shared_ptr<ListenerCore> keep = l.core;
  ListenerCore &c = *keep;
  bool owner = getpid() == c.owner;
  std::deque<Pending> dropped;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.closed) return;
    c.closed = true;
    dropped.swap(c.ready);
    if (owner) {  // a forked child shares these sockets: it must not touch them
      for (int fd : c.handshaking) shutdown(fd, SHUT_RDWR);
      uint64_t one = 1;
      ssize_t woken = c.wake.valid() ? write(c.wake.get(), &one, sizeof one) : 0;
      (void)woken;  // an eventfd write fails only when its counter is full: woken anyway
    }
    c.cv.notify_all();
  }
  dropped.clear();
  if (!owner) {
    (void)c.acceptor.release();  // a thread of the parent: nothing to join here
  } else {
    if (c.acceptor) c.acceptor->join();
    std::unique_lock<std::mutex> lock(c.mu);
    c.cv.wait(lock, [&] { return c.in_progress == 0; });
  }
  c.lfd.reset();
  struct stat st;
  if (owner && !c.unlink_path.empty() && stat(c.unlink_path.c_str(), &st) == 0 &&
      st.st_dev == c.dev && st.st_ino == c.ino)
    unlink(c.unlink_path.c_str());
}

void listener_release(mp_listener &l) {
  listener_close(l);
  ListenerCore &c = *l.core;
  if (getpid() != c.owner) return;
  std::unique_lock<std::mutex> lock(c.mu);
  c.cv.wait(lock, [&] { return c.accepters == 0; });
}

int client_connect(std::unique_ptr<mp_conn> &out, const Address &a, const std::string &key,
                   const Deadline &d, const char *op) {
  Fd fd;
  int r = connect_socket(fd, a, d, op);
  if (r != MP_OK) return r;
  std::unique_ptr<mp_conn> c = socket_conn(fd.release());
  if (!key.empty()) {
    r = auth::answer_challenge(*c, key, d, op);
    if (r == MP_OK) r = auth::deliver_challenge(*c, key, d, op);
    if (r == MP_ECLOSED)
      return fail(MP_EPIPE, "%s: '%s' closed the connection during the authentication "
                  "handshake", op, a.endpoint.c_str());
    if (r != MP_OK) return r;
  }
  out = std::move(c);
  return MP_OK;
}

}  // namespace mp
