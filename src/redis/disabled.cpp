// Built instead of the redis backend when the build has none (meson option
// `redis` off or hiredis missing): require_scheme() already refuses a
// redis:// address with MP_ENOTSUP naming the option, so none of these is
// reached; they keep the dispatch in capi/queue_api.cpp linkable.
#include "core/error.hpp"
#include "redis/queue.hpp"

namespace mp {

namespace {
int off(const char *op) {
  return fail(MP_ENOTSUP, "%s: this build has no redis backend (meson -Dredis=enabled)", op);
}
}  // namespace

int64_t redis_lease_ms() { return 0; }
int remote_queue_open(mp_queue_t **, const Address &, bool, uint64_t, bool, const Deadline &,
                      const char *op) {
  return off(op);
}
void remote_queue_free(RemoteQueue *) {}  // none exists without the backend
int remote_put_many(RemoteQueue &, const void *const *, const size_t *, size_t, size_t *done,
                    const Deadline &, const char *op) {
  *done = 0;
  return off(op);
}
int remote_get(RemoteQueue &, Sink &, const Deadline &, const char *op) { return off(op); }
int remote_get_many(RemoteQueue &, void *, size_t, size_t *, size_t, size_t *count,
                    const Deadline &, const char *op) {
  *count = 0;
  return off(op);
}
int remote_state(RemoteQueue &, size_t *, bool *, bool *, const char *op) { return off(op); }
int remote_close(RemoteQueue &, const char *op) { return off(op); }
int remote_task_done(RemoteQueue &, const char *op) { return off(op); }
int remote_join(RemoteQueue &, const Deadline &, const char *op) { return off(op); }

}  // namespace mp
