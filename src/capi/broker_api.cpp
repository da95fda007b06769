// Public entry points of the broker (mp_broker_*, mp_fd_open) and the typed
// opens by address (mp_queue_open, mp_lock_open, ...): argument checks and
// the guarded() edge; the work is in src/broker/.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "broker/broker.hpp"
#include "broker/client.hpp"
#include "capi/guard.hpp"
#include "core/address.hpp"
#include "multiproc.h"
#include "pool/pool.hpp"
#include "redis/dict.hpp"
#include "redis/lock.hpp"
#include "redis/pool.hpp"
#include "redis/queue.hpp"

using namespace mp;

namespace {

constexpr int64_t kMaxTimeoutCheck = -1;

#define MP_CHECK_TIMEOUT(t, op) MP_CHECK_ARG((t) >= kMaxTimeoutCheck, op, "negative timeout other than MP_FOREVER")

// mp_fd_open, then the kind's from_fd (which owns the descriptor only when
// it succeeds).
template <class T, class FromFd>
int open_typed(T **out, const char *address, int64_t timeout_ms, FromFd from_fd) {
  int fd = -1;
  int r = mp_fd_open(&fd, address, timeout_ms);
  if (r != MP_OK) return r;
  r = from_fd(out, fd);
  if (r != MP_OK) close(fd);
  return r;
}

// Parse address under the rule of the call: its name rule and the one
// scheme it serves.
int parse_for(Address &a, const char *address, NameRule rule, Scheme scheme, const char *op) {
  int r = parse_address(a, address, rule, op);
  return r == MP_OK ? require_scheme(a, int(scheme), op) : r;
}

// A redis:// address opens (or makes) the lock or dict on that server
// (redis/lock.hpp, redis/dict.hpp); others go to a broker.
template <class T, class FromFd, class Remote>
int open_or_remote(T **out, const char *address, int64_t timeout_ms, const char *op,
                   FromFd from_fd, Remote remote) {
  if (out) *out = nullptr;
  MP_CHECK_ARG(out, op, "out is NULL");
  if (!address || strncmp(address, "redis://", 8) != 0)
    return open_typed(out, address, timeout_ms, from_fd);
  MP_CHECK_TIMEOUT(timeout_ms, op);
  return guarded(op, [&]() -> int {
    Address a;
    int r = parse_for(a, address, NameRule::kRequired, Scheme::kRedis, op);
    return r != MP_OK ? r : remote(out, a, Deadline(timeout_ms), op);
  });
}

}  // namespace

extern "C" {

MP_EXTERN int mp_fd_open(int *out, const char *address, int64_t timeout_ms) {
  static const char op[] = "mp_fd_open";
  if (out) *out = -1;
  MP_CHECK_ARG(out, op, "out is NULL");
  MP_CHECK_ARG(address, op, "address is NULL");
  MP_CHECK_TIMEOUT(timeout_ms, op);
  return guarded(op, [&]() -> int {
    Address a;
    int r = parse_for(a, address, NameRule::kRequired, Scheme::kUnix, op);
    if (r != MP_OK) return r;
    Fd sock, fd;
    Reply reply;
    r = broker_request(&sock, &reply, &fd, a, FrameType::kOpenFd, Deadline(timeout_ms), op);
    if (r == MP_OK) *out = fd.release();
    return r;
  });
}

#define MP_TYPED_OPEN(fn, type, from_fd)                                         \
  MP_EXTERN int fn(type **out, const char *address, int64_t timeout_ms) {        \
    if (out) *out = nullptr;                                                     \
    MP_CHECK_ARG(out, #fn, "out is NULL");                                       \
    return open_typed(out, address, timeout_ms, from_fd);                        \
  }

// A redis:// address opens (or makes) the queue on that server; others go
// to a broker.
MP_EXTERN int mp_queue_open(mp_queue_t **out, const char *address, int64_t timeout_ms) {
  static const char op[] = "mp_queue_open";
  if (out) *out = nullptr;
  MP_CHECK_ARG(out, op, "out is NULL");
  MP_CHECK_ARG(address, op, "address is NULL");
  MP_CHECK_TIMEOUT(timeout_ms, op);
  if (strncmp(address, "redis://", 8) != 0) return open_typed(out, address, timeout_ms, mp_queue_from_fd);
  return guarded(op, [&]() -> int {
    Address a;
    int r = parse_for(a, address, NameRule::kRequired, Scheme::kRedis, op);
    if (r != MP_OK) return r;
    return remote_queue_open(out, a, false, 0, false, Deadline(timeout_ms), op);
  });
}

MP_EXTERN int mp_queue_new_at(mp_queue_t **out, const char *address, size_t maxsize, int flags,
                              int64_t timeout_ms) {
  static const char op[] = "mp_queue_new_at";
  if (out) *out = nullptr;
  MP_CHECK_ARG(out, op, "out is NULL");
  MP_CHECK_ARG(address, op, "address is NULL");
  MP_CHECK_ARG(flags == 0 || flags == MP_QUEUE_JOINABLE, op, "unknown flags");
  MP_CHECK_TIMEOUT(timeout_ms, op);
  return guarded(op, [&]() -> int {
    Address a;
    int r = parse_for(a, address, NameRule::kRequired, Scheme::kRedis, op);
    if (r != MP_OK) return r;
    return remote_queue_open(out, a, true, maxsize, flags == MP_QUEUE_JOINABLE,
                             Deadline(timeout_ms), op);
  });
}

MP_TYPED_OPEN(mp_sem_open, mp_sem_t, mp_sem_from_fd)
MP_TYPED_OPEN(mp_event_open, mp_event_t, mp_event_from_fd)
MP_TYPED_OPEN(mp_barrier_open, mp_barrier_t, mp_barrier_from_fd)
MP_TYPED_OPEN(mp_shm_open, mp_shm_t, mp_shm_from_fd)
MP_TYPED_OPEN(mp_value_open, mp_value_t, mp_value_from_fd)

MP_EXTERN int mp_lock_open(mp_lock_t **out, const char *address, int64_t timeout_ms) {
  return open_or_remote(out, address, timeout_ms, "mp_lock_open", mp_lock_from_fd,
                        remote_lock_open);
}

MP_EXTERN int mp_dict_open(mp_dict_t **out, const char *address, int64_t timeout_ms) {
  return open_or_remote(out, address, timeout_ms, "mp_dict_open", mp_dict_from_fd,
                        remote_dict_open);
}

MP_EXTERN int mp_cond_open(mp_cond_t **out, const char *address, mp_lock_t *lock,
                           int64_t timeout_ms) {
  if (out) *out = nullptr;
  MP_CHECK_ARG(out, "mp_cond_open", "out is NULL");
  MP_CHECK_ARG(lock, "mp_cond_open", "lock is NULL");
  return open_typed(out, address, timeout_ms,
                    [lock](mp_cond_t **o, int fd) { return mp_cond_from_fd(o, fd, lock); });
}

}  // extern "C"

// ---------------------------------------------------------------------------
// Broker options and the broker (serving side)
// ---------------------------------------------------------------------------

namespace {
bool valid(const mp_broker_opts *o) { return o && o->magic == mp_broker_opts::kMagic; }
bool valid(const mp_broker *b) { return b && b->magic == mp_broker::kMagic; }
#define MP_CHECK_BROKER(b, op) MP_CHECK_ARG(valid(b), op, "broker is NULL or not a live mp_broker_t")
#define MP_CHECK_NAME(n, op) MP_CHECK_ARG((n) && valid_handle_name(n), op, "name is NULL or not 1-64 characters of [A-Za-z0-9_]")
#define MP_CHECK_OPTS(o, op) MP_CHECK_ARG(valid(o), op, "opts is NULL or not a live mp_broker_opts_t")
}  // namespace

extern "C" {

MP_EXTERN int mp_broker_opts_new(mp_broker_opts_t **out) {
  MP_CHECK_ARG(out, "mp_broker_opts_new", "out is NULL");
  *out = nullptr;
  return guarded("mp_broker_opts_new", [&]() -> int {
    *out = new mp_broker_opts;
    return MP_OK;
  });
}

MP_EXTERN void mp_broker_opts_free(mp_broker_opts_t *opts) {
  if (!valid(opts)) return;
  opts->magic = 0;
  delete opts;
}

MP_EXTERN int mp_broker_opts_add_uid(mp_broker_opts_t *opts, uint32_t uid) {
  MP_CHECK_OPTS(opts, "mp_broker_opts_add_uid");
  return guarded("mp_broker_opts_add_uid", [&]() -> int {
    opts->uids.push_back(uid);
    return MP_OK;
  });
}

MP_EXTERN int mp_broker_opts_add_gid(mp_broker_opts_t *opts, uint32_t gid) {
  MP_CHECK_OPTS(opts, "mp_broker_opts_add_gid");
  return guarded("mp_broker_opts_add_gid", [&]() -> int {
    opts->gids.push_back(gid);
    return MP_OK;
  });
}

MP_EXTERN int mp_broker_opts_set_max_clients(mp_broker_opts_t *opts, unsigned n) {
  MP_CHECK_OPTS(opts, "mp_broker_opts_set_max_clients");
  MP_CHECK_ARG(n >= 1 && n <= 65536, "mp_broker_opts_set_max_clients", "n is not 1 to 65536");
  opts->max_clients = n;
  return MP_OK;
}

MP_EXTERN int mp_broker_opts_set_handshake_timeout(mp_broker_opts_t *opts, int64_t timeout_ms) {
  MP_CHECK_OPTS(opts, "mp_broker_opts_set_handshake_timeout");
  MP_CHECK_ARG(timeout_ms >= 1 && timeout_ms <= 3600000, "mp_broker_opts_set_handshake_timeout",
               "timeout_ms is not 1 to 3600000");
  opts->handshake_timeout_ms = timeout_ms;
  return MP_OK;
}

MP_EXTERN int mp_broker_new(mp_broker_t **out, const char *address, const mp_broker_opts_t *opts) {
  static const char op[] = "mp_broker_new";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(address, op, "address is NULL");
  MP_CHECK_ARG(!opts || valid(opts), op, "opts is not a live mp_broker_opts_t");
  return guarded(op, [&]() -> int {
    Address a;
    int r = parse_for(a, address, NameRule::kForbidden, Scheme::kUnix, op);
    if (r != MP_OK) return r;
    std::unique_ptr<mp_broker> b(new mp_broker());
    if (opts) b->opts = *opts;
    r = broker_start(*b, a);
    if (r != MP_OK) {
      std::string why = mp_last_error();
      broker_stop(*b);
      return fail(r, "%s", why.c_str());
    }
    *out = b.release();
    return MP_OK;
  });
}

MP_EXTERN int mp_broker_publish(mp_broker_t *broker, const char *name, int fd) {
  static const char op[] = "mp_broker_publish";
  MP_CHECK_BROKER(broker, op);
  MP_CHECK_NAME(name, op);
  MP_CHECK_ARG(fd >= 0 && fcntl(fd, F_GETFD) >= 0, op, "fd is not an open descriptor");
  return guarded(op, [&]() -> int {
    Published p;
    int r = dup_cloexec(p.fd, fd, 3, op);
    if (r != MP_OK) return r;
    std::lock_guard<std::mutex> lock(broker->mu);
    if (!broker->published.emplace(name, std::move(p)).second)
      return fail(MP_EEXIST, "%s: '%s' is already published", op, name);
    return MP_OK;
  });
}

MP_EXTERN int mp_broker_publish_pool(mp_broker_t *broker, const char *name, mp_pool_t *pool) {
  static const char op[] = "mp_broker_publish_pool";
  MP_CHECK_BROKER(broker, op);
  MP_CHECK_NAME(name, op);
  MP_CHECK_ARG(pool && pool->magic == mp_pool::kMagic && !pool->remote, op,
               "pool is NULL, not a live mp_pool_t, or an opened pool");
  return guarded(op, [&]() -> int {
    Published p;
    p.pool = pool;
    std::lock_guard<std::mutex> lock(broker->mu);
    if (!broker->published.emplace(name, std::move(p)).second)
      return fail(MP_EEXIST, "%s: '%s' is already published", op, name);
    return MP_OK;
  });
}

MP_EXTERN int mp_broker_unpublish(mp_broker_t *broker, const char *name) {
  static const char op[] = "mp_broker_unpublish";
  MP_CHECK_BROKER(broker, op);
  MP_CHECK_NAME(name, op);
  return guarded(op, [&]() -> int {
    std::lock_guard<std::mutex> lock(broker->mu);
    auto it = broker->published.find(name);
    if (it == broker->published.end()) return fail(MP_ENOENT, "%s: nothing is published as '%s'", op, name);
    for (auto &ch : it->second.channels) channel_close(*ch, "the pool was withdrawn by its owner");
    broker->published.erase(it);
    return MP_OK;
  });
}

MP_EXTERN void mp_broker_free(mp_broker_t *broker) {
  if (!valid(broker)) return;
  broker->magic = 0;
  broker_stop(*broker);
  delete broker;
}

MP_EXTERN int mp_pool_open(mp_pool_t **out, const char *address, int64_t timeout_ms) {
  static const char op[] = "mp_pool_open";
  if (out) *out = nullptr;
  MP_CHECK_ARG(out, op, "out is NULL");
  MP_CHECK_ARG(address, op, "address is NULL");
  MP_CHECK_TIMEOUT(timeout_ms, op);
  return guarded(op, [&]() -> int {
    Address a;
    int r = parse_address(a, address, NameRule::kRequired, op);
    if (r == MP_OK) r = require_scheme(a, int(Scheme::kUnix) | int(Scheme::kRedis), op);
    if (r != MP_OK) return r;
    if (a.scheme == Scheme::kRedis) return redis_pool_open(out, a, Deadline(timeout_ms), op);
    return pool_open_remote(out, a, Deadline(timeout_ms), op);
  });
}

}  // extern "C"
