// The dict and lock of the redis backend in a build without it (as
// disabled.cpp for the queue): require_scheme() refuses a redis:// address
// first, so none of these is reached; they keep the dispatch in
// capi/dict_api.cpp and capi/sync_api.cpp linkable.
#include "core/error.hpp"
#include "redis/dict.hpp"
#include "redis/lock.hpp"

namespace mp {

namespace {
int off(const char *op) {
  return fail(MP_ENOTSUP, "%s: this build has no redis backend (meson -Dredis=enabled)", op);
}
}  // namespace

int remote_dict_open(mp_dict **, const Address &, const Deadline &, const char *op) {
  return off(op);
}
void remote_dict_free(RemoteDict *d) { delete d; }
int remote_dict_set(RemoteDict &, const std::string &, const std::string &, const char *op) {
  return off(op);
}
int remote_dict_get(RemoteDict &, const std::string &, std::string *, const char *op) {
  return off(op);
}
int remote_dict_delete(RemoteDict &, const std::string &, const char *op) { return off(op); }
int remote_dict_contains(RemoteDict &, const std::string &, const char *op) { return off(op); }
int remote_dict_len(RemoteDict &, size_t *, const char *op) { return off(op); }
int remote_dict_clear(RemoteDict &, const char *op) { return off(op); }
int remote_dict_incr(RemoteDict &, const std::string &, int64_t, int64_t *, const char *op) {
  return off(op);
}
int remote_dict_cas(RemoteDict &, const std::string &, const std::string *, const std::string &,
                    const char *op) {
  return off(op);
}
int remote_dict_snapshot(RemoteDict &, std::unique_ptr<char[]> *, size_t *, const char *op) {
  return off(op);
}

int remote_lock_open(mp_lock **, const Address &, const Deadline &, const char *op) {
  return off(op);
}
void remote_lock_free(RemoteLock *l) { delete l; }
int remote_lock_acquire(RemoteLock &, const Deadline &, const char *op) { return off(op); }
int remote_lock_release(RemoteLock &, const char *op) { return off(op); }
int remote_lock_locked(RemoteLock &, const char *op) { return off(op); }
int remote_lock_fence(RemoteLock &, uint64_t *, const char *op) { return off(op); }

}  // namespace mp
