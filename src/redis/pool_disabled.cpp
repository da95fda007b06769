// Built instead of the redis pool when the build has no redis backend:
// require_scheme() already refuses a redis:// address with MP_ENOTSUP
// naming the option, so no pool ever serves or opens one; these keep the
// pool's hooks and the C API linkable.
#include "core/error.hpp"
#include "pool/pool.hpp"
#include "redis/pool.hpp"

namespace mp {

struct RedisServe {};

void serve_wake(RedisServe &) {}
void serve_join(RedisServe &) {}

int redis_pool_serve(mp_pool &, const Address &, const Deadline &, const char *op) {
  return fail(MP_ENOTSUP, "%s: this build has no redis backend (meson -Dredis=enabled)", op);
}

int redis_pool_open(mp_pool **, const Address &, const Deadline &, const char *op) {
  return fail(MP_ENOTSUP, "%s: this build has no redis backend (meson -Dredis=enabled)", op);
}

}  // namespace mp
