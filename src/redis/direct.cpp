// Round trips on the caller's thread, on a pool of connections per
// endpoint (direct.hpp). The socket is ours (non-blocking, close-on-exec,
// written with MSG_NOSIGNAL so a closed server never raises SIGPIPE in the
// caller's thread); hiredis only formats the command and parses the reply.
#include "redis/direct.hpp"

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/resolve.hpp"
#include "redis/credentials.hpp"

namespace mp::redis {

namespace {

constexpr size_t kReadChunk = 64 * 1024;

}  // namespace

// One connection: its socket, the parser of what it read, and how many
// replies it still owes (sent commands whose reply was not read yet).
struct DirectConn {
  Fd fd;
  redisReader *reader = redisReaderCreate();
  int owed = 0;
  std::unique_ptr<char[]> buf;  // what read() fills, kReadChunk bytes once used
  DirectConn() = default;
  DirectConn(const DirectConn &) = delete;
  DirectConn &operator=(const DirectConn &) = delete;
  ~DirectConn() {
    if (reader) redisReaderFree(reader);
  }
};

Lane::Lane() = default;
Lane::~Lane() = default;

std::unique_ptr<DirectConn> Lane::take() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::move(conn_);
}

void Lane::keep(std::unique_ptr<DirectConn> c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!conn_) conn_ = std::move(c);
}

namespace {

using Conn = DirectConn;
using ConnPtr = std::unique_ptr<Conn>;

struct Pool {
  std::mutex mu;
  std::vector<ConnPtr> idle;  // under mu; the last one given back at the end
};

// Never freed, as server.cpp's servers: a forked child abandons its
// parent's table (another thread may have held its locks).
struct Pools {
  std::mutex mu;
  std::map<std::string, Pool> by_endpoint;  // nodes never move
};
Pools *g_pools = new Pools();

// The idle sockets are closed in the child (the server then sees the
// parent's close when the parent closes them), unless a lock of their
// table was held at the fork (by a thread the child does not have).
void forget_pools_after_fork() {
  static auto *abandoned = new std::vector<Pools *>();
  if (g_pools->by_endpoint.empty()) return;
  if (g_pools->mu.try_lock()) {
    for (auto &entry : g_pools->by_endpoint) {
      if (!entry.second.mu.try_lock()) continue;
      for (auto &c : entry.second.idle) c->fd.reset();
    }
  }
  abandoned->push_back(g_pools);
  g_pools = new Pools();
}
const int g_atfork = pthread_atfork(nullptr, nullptr, forget_pools_after_fork);

Pool &pool_for(const Endpoint &ep) {
  Pools *pools = g_pools;
  std::lock_guard<std::mutex> lock(pools->mu);
  return pools->by_endpoint[ep.user + "@" + ep.text];
}

// An idle connection is usable while it has nothing to read: a readable
// one was closed by the server (or holds bytes nobody asked for).
bool quiet(const Conn &c) {
  pollfd p{c.fd.get(), POLLIN, 0};
  return poll(&p, 1, 0) == 0;
}

ConnPtr take_idle(Pool &p) {
  std::lock_guard<std::mutex> lock(p.mu);
  while (!p.idle.empty()) {
    ConnPtr c = std::move(p.idle.back());
    p.idle.pop_back();
    if (quiet(*c)) return c;
  }
  return nullptr;
}

void give_back(Pool &p, ConnPtr c) {
  std::lock_guard<std::mutex> lock(p.mu);
  if (p.idle.size() < kDirectIdleMax) p.idle.push_back(std::move(c));
}

// Wait for events on fd (and the token): MP_OK, MP_ETIMEDOUT (also when
// canceled), or MP_ESYS with *why.
int wait_io(int fd, short events, const Deadline &d, std::string *why) {
  int r = wait_ready(fd, events, d);
  if (r != MP_OK && r != MP_ETIMEDOUT) *why = last_error_message();
  return r;
}

int lost(std::string *why, int err) {
  *why = strerror(err);
  return MP_EPIPE;
}

int send_all(int fd, const char *p, size_t n, const Deadline &d, std::string *why) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w >= 0) {
      p += w;
      n -= size_t(w);
    } else if (errno != EINTR) {
      if (errno != EAGAIN) return lost(why, errno);
      int r = wait_io(fd, POLLOUT, d, why);
      if (r != MP_OK) return r;
    }
  }
  return MP_OK;
}

int read_reply(Conn &c, Value *out, const Deadline &d, std::string *why) {
  for (;;) {
    void *reply = nullptr;
    if (redisReaderGetReply(c.reader, &reply) != REDIS_OK) {
      *why = std::string("cannot parse the reply: ") + c.reader->errstr;
      return MP_EPIPE;
    }
    if (reply) {
      *out = copy_reply(static_cast<redisReply *>(reply));
      freeReplyObject(reply);
      return MP_OK;
    }
    int r = wait_io(c.fd.get(), POLLIN, d, why);
    if (r != MP_OK) return r;
    if (!c.buf) c.buf.reset(new char[kReadChunk]);
    ssize_t n = read(c.fd.get(), c.buf.get(), kReadChunk);
    if (n > 0) redisReaderFeed(c.reader, c.buf.get(), size_t(n));
    else if (n == 0) return *why = "the connection ended", MP_EPIPE;
    else if (errno != EINTR && errno != EAGAIN) return lost(why, errno);
  }
}

// Send argv, then read the replies c owes before its own. MP_OK with *out;
// else *sent tells whether the whole command went out (then it may run).
int trip(Conn &c, const std::vector<std::string> &argv, Value *out, const Deadline &d,
         std::string *why, bool *sent) {
  std::vector<const char *> p;
  std::vector<size_t> l;
  for (const auto &a : argv) {
    p.push_back(a.data());
    l.push_back(a.size());
  }
  char *cmd = nullptr;
  *sent = false;
  int n = redisFormatCommandArgv(&cmd, int(argv.size()), p.data(), l.data());
  if (n < 0) return *why = "out of memory", MP_ENOMEM;
  int r = send_all(c.fd.get(), cmd, size_t(n), d, why);
  redisFreeCommand(cmd);
  if (r != MP_OK) return r;
  *sent = true;
  ++c.owed;
  while (c.owed > 0) {  // the late ones are dropped: their callers gave up
    r = read_reply(c, out, d, why);
    if (r != MP_OK) return r;
    --c.owed;
  }
  return MP_OK;
}

int connect_one(ConnPtr *out, const addrinfo *a, const Deadline &d, std::string *why) {
  auto c = std::make_unique<Conn>();
  if (!c->reader) return *why = "out of memory", MP_ENOMEM;
  c->fd.reset(socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!c->fd.valid()) return *why = strerror(errno), MP_ECONNREFUSED;
  if (connect(c->fd.get(), a->ai_addr, a->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return *why = strerror(errno), MP_ECONNREFUSED;
    int r = wait_io(c->fd.get(), POLLOUT, d, why);
    if (r != MP_OK) return r;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return *why = strerror(err), MP_ECONNREFUSED;
  }
  int one = 1;
  setsockopt(c->fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  *out = std::move(c);
  return MP_OK;
}

// AUTH (when a password is set) and SELECT (db other than 0).
int handshake(Conn &c, const Endpoint &ep, const Deadline &d, std::string *why) {
  std::string password;
  if (password_for(&password, ep.user) != MP_OK) return *why = last_error_message(), MP_EACCES;
  std::vector<std::vector<std::string>> steps;
  if (!password.empty()) {
    steps.push_back({"AUTH"});
    if (!ep.user.empty()) steps.back().push_back(ep.user);
    steps.back().push_back(password);
  }
  if (ep.db) steps.push_back({"SELECT", std::to_string(ep.db)});
  for (const auto &argv : steps) {
    Value v;
    bool sent;
    int r = trip(c, argv, &v, d, why, &sent);
    if (r != MP_OK) return r;
    if (v.kind == Value::kErr)
      return *why = argv[0] + ": " + v.s, argv[0] == "AUTH" ? MP_EACCES : MP_EINVAL;
  }
  return MP_OK;
}

int open_conn(ConnPtr *out, const Endpoint &ep, const Deadline &d, std::string *why) {
  addrinfo *ai = nullptr;
  int r = resolve_host(&ai, ep.host, ep.port, false, d, "redis");
  if (r != MP_OK) {
    *why = last_error_message();
    return r == MP_ETIMEDOUT ? r : MP_ECONNREFUSED;
  }
  r = MP_ECONNREFUSED;
  for (const addrinfo *a = ai; a; a = a->ai_next) {
    r = connect_one(out, a, d, why);
    if (r == MP_OK || r == MP_ETIMEDOUT) break;
  }
  freeaddrinfo(ai);
  return r == MP_OK ? handshake(**out, ep, d, why) : r;
}

}  // namespace

int direct_command(Value *out, const Endpoint &ep, const std::vector<std::string> &argv,
                   const Deadline &deadline, const char *op, Lane *lane) {
  // A call that may not wait (timeout 0) still makes its one round trip.
  if (deadline.canceled())  // guarded() reports MP_ECANCELED
    return fail(MP_ETIMEDOUT, "%s: canceled before it was sent to %s", op, ep.text.c_str());
  Deadline d = deadline.nonblocking() ? Deadline(kReplyCapMs) : deadline.within(kReplyCapMs);
  Pool &pool = pool_for(ep);
  ConnPtr c = lane ? lane->take() : nullptr;
  if (!c) c = take_idle(pool);
  std::string why;
  Value reply;
  bool sent = false;
  int r = c ? MP_OK : open_conn(&c, ep, d, &why);
  if (r == MP_OK) r = trip(*c, argv, &reply, d, &why, &sent);
  if (r == MP_OK) give_back(pool, std::move(c));
  else if (r == MP_ETIMEDOUT && sent && lane) lane->keep(std::move(c));
  // else closed: a command sent in part never runs, a lost one ran or never will
  return report_trip(out, r, why, std::move(reply), ep, op);
}

}  // namespace mp::redis
