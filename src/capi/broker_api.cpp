// Public entry points of the broker (mp_broker_*, mp_fd_open) and the typed
// opens by address (mp_queue_open, mp_lock_open, ...): argument checks and
// the guarded() edge; the work is in src/broker/.
#include <unistd.h>

#include "capi/guard.hpp"
#include "core/address.hpp"
#include "multiproc.h"

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

}  // namespace

extern "C" {

MP_EXTERN int mp_fd_open(int *out, const char *address, int64_t timeout_ms) {
  static const char op[] = "mp_fd_open";
  if (out) *out = -1;
  MP_CHECK_ARG(out, op, "out is NULL");
  MP_CHECK_ARG(address, op, "address is NULL");
  MP_CHECK_TIMEOUT(timeout_ms, op);
  return guarded(op, [&] {
    Address a;
    int r = parse_address(a, address, NameRule::kRequired, op);
    if (r == MP_OK) r = require_scheme(a, int(Scheme::kUnix), op);
    if (r != MP_OK) return r;
    return fail(MP_ENOTSUP, "%s: the broker client is not built yet", op);
  });
}

#define MP_TYPED_OPEN(fn, type, from_fd)                                         \
  MP_EXTERN int fn(type **out, const char *address, int64_t timeout_ms) {        \
    if (out) *out = nullptr;                                                     \
    MP_CHECK_ARG(out, #fn, "out is NULL");                                       \
    return open_typed(out, address, timeout_ms, from_fd);                        \
  }

MP_TYPED_OPEN(mp_queue_open, mp_queue_t, mp_queue_from_fd)
MP_TYPED_OPEN(mp_lock_open, mp_lock_t, mp_lock_from_fd)
MP_TYPED_OPEN(mp_sem_open, mp_sem_t, mp_sem_from_fd)
MP_TYPED_OPEN(mp_event_open, mp_event_t, mp_event_from_fd)
MP_TYPED_OPEN(mp_barrier_open, mp_barrier_t, mp_barrier_from_fd)
MP_TYPED_OPEN(mp_shm_open, mp_shm_t, mp_shm_from_fd)
MP_TYPED_OPEN(mp_value_open, mp_value_t, mp_value_from_fd)
MP_TYPED_OPEN(mp_dict_open, mp_dict_t, mp_dict_from_fd)

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

#include <vector>

struct mp_broker_opts {
  static constexpr uint32_t kMagic = 0x4d50424f;  // "MPBO"
  uint32_t magic = kMagic;
  std::vector<uint32_t> uids, gids;
  unsigned max_clients = 128;
  int64_t handshake_timeout_ms = 5000;
};

namespace {
bool valid(const mp_broker_opts *o) { return o && o->magic == mp_broker_opts::kMagic; }
#define MP_CHECK_OPTS(o, op) MP_CHECK_ARG(valid(o), op, "opts is NULL or not a live mp_broker_opts_t")
}  // namespace

extern "C" {

MP_EXTERN int mp_broker_opts_new(mp_broker_opts_t **out) {
  MP_CHECK_ARG(out, "mp_broker_opts_new", "out is NULL");
  *out = nullptr;
  return guarded("mp_broker_opts_new", [&] {
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
  return guarded("mp_broker_opts_add_uid", [&] {
    opts->uids.push_back(uid);
    return MP_OK;
  });
}

MP_EXTERN int mp_broker_opts_add_gid(mp_broker_opts_t *opts, uint32_t gid) {
  MP_CHECK_OPTS(opts, "mp_broker_opts_add_gid");
  return guarded("mp_broker_opts_add_gid", [&] {
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
  return guarded(op, [&] {
    Address a;
    int r = parse_address(a, address, NameRule::kForbidden, op);
    if (r == MP_OK) r = require_scheme(a, int(Scheme::kUnix), op);
    if (r != MP_OK) return r;
    return fail(MP_ENOTSUP, "%s: the broker is not built yet", op);
  });
}

MP_EXTERN int mp_broker_publish(mp_broker_t *broker, const char *name, int fd) {
  (void)name, (void)fd;
  MP_CHECK_ARG(broker && false, "mp_broker_publish", "broker is NULL or not a live mp_broker_t");
  return MP_OK;
}

MP_EXTERN int mp_broker_publish_pool(mp_broker_t *broker, const char *name, mp_pool_t *pool) {
  (void)name, (void)pool;
  MP_CHECK_ARG(broker && false, "mp_broker_publish_pool", "broker is NULL or not a live mp_broker_t");
  return MP_OK;
}

MP_EXTERN int mp_broker_unpublish(mp_broker_t *broker, const char *name) {
  (void)name;
  MP_CHECK_ARG(broker && false, "mp_broker_unpublish", "broker is NULL or not a live mp_broker_t");
  return MP_OK;
}

MP_EXTERN void mp_broker_free(mp_broker_t *broker) { (void)broker; }

MP_EXTERN int mp_pool_open(mp_pool_t **out, const char *address, int64_t timeout_ms) {
  if (out) *out = nullptr;
  MP_CHECK_ARG(out, "mp_pool_open", "out is NULL");
  int fd = -1;
  int r = mp_fd_open(&fd, address, timeout_ms);
  if (r == MP_OK) close(fd);
  return r;
}

}  // extern "C"
