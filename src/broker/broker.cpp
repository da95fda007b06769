// The broker's socket and thread: claiming the path (a lock file tells a
// stale socket of a dead broker, which is replaced, from anything else,
// which is never unlinked), the peer check on every connection, and one
// poll loop that answers requests, hands out descriptors over SCM_RIGHTS
// and carries the pool channels. The loop never blocks on a client: every
// socket is non-blocking, a request must arrive within the handshake
// timeout, a frame above the state's limit ends the connection, and one
// connection more than max_clients is told MP_ENOSPC and closed.
#include "broker/broker.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/address.hpp"
#include "core/deadline.hpp"
#include "core/error.hpp"
#include "pool/pool.hpp"

namespace mp {
namespace {

// ---- claiming the path ------------------------------------------------------

// Whether something accepts connections at the socket file.
bool socket_alive(const Address &a) {
  Fd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return true;  // cannot tell: never unlink on a guess
  sockaddr_un sa;
  socklen_t len = unix_sockaddr(a, &sa);
  return connect(probe.get(), reinterpret_cast<sockaddr *>(&sa), len) == 0 || errno != ECONNREFUSED;
}

// What lock_path_once returns when the file it locked is no longer the
// one at the path (an internal value, never an MP_E* code).
constexpr int kLockReplaced = 1;

// Open (creating it when absent) and lock path + ".lock" once. MP_OK,
// kLockReplaced (the file was unlinked or replaced between open and flock: a
// broker stopping unlinks it while holding its lock, and a lock on that
// unlinked inode would guard nothing), or an error.
int lock_path_once(mp_broker &b, bool *created, const char *op) {
  int fd = open(b.lock_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  *created = fd >= 0;
  if (fd < 0 && errno == EEXIST) {
    fd = open(b.lock_path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) return kLockReplaced;  // unlinked between the two opens
  }
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP) return fail(MP_EEXIST, "%s: %s is a symbolic link, not a broker's lock file", op, b.lock_path.c_str());
    return fail_errno(op, b.lock_path.c_str(), err);
  }
  b.lock_fd.reset(fd);
  struct stat st, now;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
    return fail(MP_EEXIST, "%s: %s exists and is not a broker lock file of this user", op, b.lock_path.c_str());
  // A file this call created but does not hold is another broker's from
  // the moment that one locked it: *created stays true only with the lock,
  // since the caller unlinks a created lock file when it fails.
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    *created = false;
    b.lock_fd.reset();
    return fail(MP_EEXIST, "%s: a live broker serves %s", op, b.path.c_str());
  }
  if (stat(b.lock_path.c_str(), &now) != 0 || now.st_ino != st.st_ino || now.st_dev != st.st_dev) {
    *created = false;
    b.lock_fd.reset();
    return kLockReplaced;
  }
  return MP_OK;
}

// Lock path + ".lock" (see lock_path_once). *created: the file is new (so
// a socket beside it is nobody's broker of ours).
int lock_path(mp_broker &b, bool *created, const char *op) {
  b.lock_path = b.path + ".lock";
  for (int tries = 0; tries < 16; ++tries) {
    int r = lock_path_once(b, created, op);
    if (r != kLockReplaced) return r;
  }
  return fail(MP_EEXIST, "%s: %s keeps being replaced; another broker is starting there", op,
              b.lock_path.c_str());
}

// With the lock held: the path is free, or a stale socket of ours (a lock
// file that was there before, nobody serving) that is unlinked.
int clear_stale(mp_broker &b, const Address &a, bool lock_created, const char *op) {
  struct stat st;
  if (lstat(b.path.c_str(), &st) != 0) return errno == ENOENT ? MP_OK : fail_errno(op, b.path.c_str(), errno);
  bool ours = S_ISSOCK(st.st_mode) && st.st_uid == geteuid() && !lock_created;
  if (!ours || socket_alive(a))
    return fail(MP_EEXIST, "%s: %s exists and is not a stale socket of a multiproc broker; "
                "it is left alone", op, b.path.c_str());
  if (unlink(b.path.c_str()) != 0) return fail_errno(op, b.path.c_str(), errno);
  return MP_OK;
}

mode_t socket_mode(const mp_broker_opts &o) {
  if (!o.uids.empty()) return 0666;
  return o.gids.empty() ? 0600 : 0660;
}

int bind_listen(mp_broker &b, const Address &a, const char *op) {
  b.listen_fd.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!b.listen_fd.valid()) return fail_errno(op, "socket", errno);
  // Linux gives the socket file the socket inode's mode (less the umask):
  // set before bind, there is no moment with a wider mode.
  mode_t mode = socket_mode(b.opts);
  if (!a.abstract) fchmod(b.listen_fd.get(), mode);
  sockaddr_un sa;
  socklen_t len = unix_sockaddr(a, &sa);
  if (bind(b.listen_fd.get(), reinterpret_cast<sockaddr *>(&sa), len) != 0) {
    if (errno == EADDRINUSE) return fail(MP_EEXIST, "%s: %s is in use", op, a.endpoint.c_str());
    return fail_errno(op, a.endpoint.c_str(), errno);
  }
  if (!a.abstract && mode != 0600) chmod(b.path.c_str(), mode);  // past the umask
  if (listen(b.listen_fd.get(), 128) != 0) return fail_errno(op, "listen", errno);
  return MP_OK;
}

// ---- connections --------------------------------------------------------------

struct Conn {
  Fd fd;
  FrameReader reader{kMaxRequestFrame};
  int64_t deadline_ms = 0;  // the request must be in by then (0: a channel)
  std::shared_ptr<PoolChannel> channel;
  std::string name;  // the channel's pool
};

bool peer_allowed(const mp_broker_opts &o, int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  if (cred.uid == geteuid()) return true;
  return std::find(o.uids.begin(), o.uids.end(), cred.uid) != o.uids.end() ||
         std::find(o.gids.begin(), o.gids.end(), cred.gid) != o.gids.end();
}

// A short frame on a fresh socket: it fits the socket's buffer, and a
// client that cannot take it is not waited for.
void send_reply(int fd, const Reply &r, int pass_fd = -1) {
  std::string wire = encode_frame(FrameType::kReply, encode_reply(r));
  iovec iov{wire.data(), wire.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (pass_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
}

Reply refusal(int status, std::string why) {
  Reply r;
  r.status = status;
  r.message = std::move(why);
  return r;
}

class Loop {
 public:
  explicit Loop(mp_broker &b) : b_(b) {}
  void run();

 private:
  void accept_all();
  // false: close the connection
  bool on_readable(Conn &c);
  bool on_request(Conn &c, const Frame &f);
  bool on_channel_frame(Conn &c, const Frame &f);
  bool flush(Conn &c);
  void close_conn(Conn &c);
  int poll_timeout() const;

  mp_broker &b_;
  std::vector<std::unique_ptr<Conn>> conns_;
};

void Loop::accept_all() {
  for (;;) {
    int fd = accept4(b_.listen_fd.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN, or out of descriptors: try on the next round
    }
    Fd sock(fd);
    if (!peer_allowed(b_.opts, fd)) {
      send_reply(fd, refusal(MP_EACCES, "this process may not use the broker"));
      continue;
    }
    if (conns_.size() >= b_.opts.max_clients) {
      send_reply(fd, refusal(MP_ENOSPC, "too many clients"));
      continue;
    }
    auto c = std::make_unique<Conn>();
    c->fd = std::move(sock);
    c->deadline_ms = now_ms() + b_.opts.handshake_timeout_ms;
    conns_.push_back(std::move(c));
  }
}

bool Loop::on_request(Conn &c, const Frame &f) {
  std::string name;
  if ((f.type != FrameType::kOpenFd && f.type != FrameType::kOpenPool) ||
      decode_open(&name, f.payload) != MP_OK)
    return false;
  bool want_pool = f.type == FrameType::kOpenPool;
  std::lock_guard<std::mutex> lock(b_.mu);
  auto it = b_.published.find(name);
  if (it == b_.published.end()) {
    send_reply(c.fd.get(), refusal(MP_ENOENT, "nothing is published as '" + name + "'"));
    return false;
  }
  Published &p = it->second;
  if (!want_pool) {
    if (p.pool) send_reply(c.fd.get(), refusal(MP_ESTATE, "'" + name + "' is a pool: use mp_pool_open()"));
    else send_reply(c.fd.get(), Reply{}, p.fd.get());
    return false;  // a descriptor request is done
  }
  if (!p.pool) {
    send_reply(c.fd.get(), refusal(MP_EINVAL, "'" + name + "' is not a pool"));
    return false;
  }
  c.channel = std::make_shared<PoolChannel>();
  c.channel->pool = p.pool;
  c.channel->wake_fd = b_.wake_fd.get();
  p.channels.push_back(c.channel);
  c.name = name;
  c.deadline_ms = 0;
  c.reader.set_limit(kMaxPoolFrame);
  Reply ok;
  ok.workers = uint32_t(pool_width(*p.pool));
  send_reply(c.fd.get(), ok);
  return true;
}

bool Loop::on_channel_frame(Conn &c, const Frame &f) {
  ChunkMsg chunk;
  if (f.type != FrameType::kTask || decode_chunk(chunk, f.payload) != MP_OK) return false;
  std::lock_guard<std::mutex> lock(b_.mu);
  int r = c.channel->pool ? channel_submit(c.channel, chunk) : MP_ECLOSED;
  if (r != MP_OK) channel_answer_failed(*c.channel, chunk, r == MP_ESTATE ? MP_ECLOSED : r, mp_last_error());
  return true;
}

bool Loop::on_readable(Conn &c) {
  char buf[65536];
  for (int rounds = 0; rounds < 16; ++rounds) {  // fairness: others wait
    if (c.channel && !channel_may_read(*c.channel)) return true;
    size_t want = std::min(c.reader.want(), sizeof buf);
    ssize_t n = recv(c.fd.get(), buf, want, MSG_DONTWAIT);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    if (c.reader.feed(buf, size_t(n)) != MP_OK) return false;
    Frame f;
    if (!c.reader.take(&f)) continue;
    bool keep = c.channel ? on_channel_frame(c, f) : on_request(c, f);
    if (!keep) return false;
  }
  return true;
}

// Write what the channel has for its client. false: the client is gone,
// or the pool was withdrawn and its last words are out.
bool Loop::flush(Conn &c) {
  PoolChannel &ch = *c.channel;
  std::lock_guard<std::mutex> lock(ch.mu);
  while (ch.out_pos < ch.outbox.size()) {
    ssize_t n = send(c.fd.get(), ch.outbox.data() + ch.out_pos, ch.outbox.size() - ch.out_pos,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN;
    }
    ch.out_pos += size_t(n);
  }
  ch.outbox.clear();
  ch.out_pos = 0;
  return ch.pool != nullptr;
}

void Loop::close_conn(Conn &c) {
  if (c.channel) {
    std::lock_guard<std::mutex> lock(b_.mu);
    auto it = b_.published.find(c.name);
    if (it != b_.published.end()) {
      auto &v = it->second.channels;
      v.erase(std::remove(v.begin(), v.end(), c.channel), v.end());
    }
    channel_close(*c.channel, nullptr);
    c.channel.reset();
  }
  c.fd.reset();
}

int Loop::poll_timeout() const {
  int64_t soonest = -1;
  for (const auto &c : conns_)
    if (c->deadline_ms && (soonest < 0 || c->deadline_ms < soonest)) soonest = c->deadline_ms;
  if (soonest < 0) return -1;
  int64_t left = soonest - now_ms();
  return left < 0 ? 0 : int(std::min<int64_t>(left, 1 << 30));
}

bool has_output(PoolChannel &ch) {
  std::lock_guard<std::mutex> lock(ch.mu);
  return ch.out_pos < ch.outbox.size() || !ch.pool;
}

void Loop::run() {
  std::vector<pollfd> fds;
  while (!b_.stopping.load()) {
    fds.assign({pollfd{b_.listen_fd.get(), POLLIN, 0}, pollfd{b_.wake_fd.get(), POLLIN, 0}});
    for (const auto &c : conns_) {
      short ev = 0;
      if (!c->channel || channel_may_read(*c->channel)) ev |= POLLIN;
      if (c->channel && has_output(*c->channel)) ev |= POLLOUT;
      fds.push_back(pollfd{c->fd.get(), ev, 0});
    }
    if (poll(fds.data(), fds.size(), poll_timeout()) < 0 && errno != EINTR) break;
    if (fds[1].revents) {
      uint64_t n;
      ssize_t r = read(b_.wake_fd.get(), &n, sizeof n);
      (void)r;
    }
    int64_t now = now_ms();
    for (size_t i = 0; i < conns_.size(); ++i) {
      Conn &c = *conns_[i];
      short rev = fds[i + 2].revents;
      bool keep = true;
      if (rev & (POLLIN | POLLHUP | POLLERR)) keep = on_readable(c);
      if (keep && c.channel && (rev & POLLOUT || !c.channel->pool)) keep = flush(c);
      if (keep && c.deadline_ms && now >= c.deadline_ms) keep = false;  // said nothing in time
      if (!keep) close_conn(c);
    }
    // Channels whose output arrived meanwhile get a POLLOUT next round.
    conns_.erase(std::remove_if(conns_.begin(), conns_.end(), [](const auto &c) { return !c->fd.valid(); }),
                 conns_.end());
    if (fds[0].revents) accept_all();
  }
  for (auto &c : conns_) close_conn(*c);
  conns_.clear();
}

}  // namespace

void broker_wake(mp_broker &b) {
  uint64_t one = 1;
  ssize_t w = write(b.wake_fd.get(), &one, sizeof one);
  (void)w;
}

int broker_start(mp_broker &b, const Address &a) {
  static const char op[] = "mp_broker_new";
  if (!a.abstract) {
    b.path = a.path;
    bool created = false;
    int r = lock_path(b, &created, op);
    if (r == MP_OK) r = clear_stale(b, a, created, op);
    if (r == MP_OK) r = bind_listen(b, a, op);
    if (r != MP_OK) {
      // Only a lock file this call made and holds goes; never anything
      // found there, nor one another broker locked first.
      if (created && b.lock_fd.valid()) unlink(b.lock_path.c_str());
      b.path.clear();
      b.lock_path.clear();
      return r;
    }
  } else {
    int r = bind_listen(b, a, op);
    if (r != MP_OK) return r;
  }
  b.wake_fd.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!b.wake_fd.valid()) return fail_errno(op, "eventfd", errno);
  b.thread = std::thread([&b] { Loop(b).run(); });
  return MP_OK;
}

void broker_stop(mp_broker &b) {
  b.stopping = true;
  if (b.wake_fd.valid()) broker_wake(b);
  if (b.thread.joinable()) b.thread.join();
  {
    std::lock_guard<std::mutex> lock(b.mu);
    b.published.clear();
  }
  if (!b.path.empty()) {  // while the lock is held: no other broker is there yet
    unlink(b.path.c_str());
    unlink(b.lock_path.c_str());
  }
  b.listen_fd.reset();
  b.lock_fd.reset();
}

}  // namespace mp
