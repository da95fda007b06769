// Public entry points: mp_listener_opts_*, mp_listener_*, mp_conn_connect.
#include <memory>

#include "capi/guard.hpp"
#include "ipc/auth.hpp"
#include "ipc/listener.hpp"

using namespace mp;

namespace {

constexpr int kSchemes = int(Scheme::kUnix) | int(Scheme::kTcp);
constexpr int64_t kMaxHandshakeMs = 3600000;

bool valid(const mp_listener_opts *o) { return o && o->magic == mp_listener_opts::kMagic; }
bool valid(const mp_listener *l) { return l && l->magic == mp_listener::kMagic; }

// Parse an address a listener or client takes (unix: or tcp://, no #name).
int parse_endpoint(Address &a, const char *address, const char *op) {
  int r = parse_address(a, address, NameRule::kForbidden, op);
  return r == MP_OK ? require_scheme(a, kSchemes, op) : r;
}

}  // namespace

extern "C" {

MP_EXTERN int mp_listener_opts_new(mp_listener_opts_t **out) {
  const char *op = "mp_listener_opts_new";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  return guarded(op, [&]() -> int {
    *out = new mp_listener_opts();
    return MP_OK;
  });
}

MP_EXTERN void mp_listener_opts_free(mp_listener_opts_t *opts) {
  if (!valid(opts)) return;
  opts->magic = 0;
  delete opts;
}

MP_EXTERN int mp_listener_opts_set_authkey(mp_listener_opts_t *opts, const void *key,
                                           size_t len) {
  const char *op = "mp_listener_opts_set_authkey";
  MP_CHECK_ARG(valid(opts), op, "opts is NULL or not listener options");
  MP_CHECK_ARG(key || len == 0, op, "key is NULL with a length");
  MP_CHECK_ARG(len <= auth::kMaxKey, op, "an authkey is at most 4096 bytes");
  return guarded(op, [&]() -> int {
    opts->authkey.assign(static_cast<const char *>(key), key ? len : 0);
    return MP_OK;
  });
}

MP_EXTERN int mp_listener_opts_set_allow_no_auth(mp_listener_opts_t *opts, int enabled) {
  const char *op = "mp_listener_opts_set_allow_no_auth";
  MP_CHECK_ARG(valid(opts), op, "opts is NULL or not listener options");
  MP_CHECK_ARG(enabled == 0 || enabled == 1, op, "enabled must be 0 or 1");
  opts->allow_no_auth = enabled == 1;
  return MP_OK;
}

MP_EXTERN int mp_listener_opts_set_backlog(mp_listener_opts_t *opts, int backlog) {
  const char *op = "mp_listener_opts_set_backlog";
  MP_CHECK_ARG(valid(opts), op, "opts is NULL or not listener options");
  MP_CHECK_ARG(backlog >= 1 && backlog <= 65535, op, "backlog must be 1 to 65535");
  opts->backlog = backlog;
  return MP_OK;
}

MP_EXTERN int mp_listener_opts_set_handshake_timeout(mp_listener_opts_t *opts,
                                                     int64_t timeout_ms) {
  const char *op = "mp_listener_opts_set_handshake_timeout";
  MP_CHECK_ARG(valid(opts), op, "opts is NULL or not listener options");
  MP_CHECK_ARG(timeout_ms >= 1 && timeout_ms <= kMaxHandshakeMs, op,
               "the handshake timeout must be 1 to 3600000 ms");
  opts->handshake_ms = timeout_ms;
  return MP_OK;
}

MP_EXTERN int mp_listener_new(mp_listener_t **out, const char *address,
                              const mp_listener_opts_t *opts) {
  const char *op = "mp_listener_new";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(!opts || valid(opts), op, "opts is not listener options");
  return guarded(op, [&]() -> int {
    Address a;
    int r = parse_endpoint(a, address, op);
    if (r != MP_OK) return r;
    static const mp_listener_opts kDefaults;
    const mp_listener_opts &o = opts ? *opts : kDefaults;
    if (a.scheme == Scheme::kTcp && o.authkey.empty() && !o.allow_no_auth)
      return fail(MP_EINVAL, "%s: a tcp:// listener needs an authkey (anyone who reaches the "
                  "port could connect); mp_listener_opts_set_allow_no_auth() allows none", op);
    auto l = std::make_unique<mp_listener>();
    r = listener_open(*l, a, o, op);
    if (r != MP_OK) return r;
    *out = l.release();
    return MP_OK;
  });
}

MP_EXTERN const char *mp_listener_address(const mp_listener_t *listener) {
  return valid(listener) ? listener->address.c_str() : nullptr;
}

MP_EXTERN int mp_listener_accept(mp_conn_t **out, mp_listener_t *listener, int64_t timeout_ms) {
  const char *op = "mp_listener_accept";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(valid(listener), op, "listener is NULL or not a live mp_listener_t");
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  return guarded(op, [&]() -> int {
    std::unique_ptr<mp_conn> c;
    int r = listener_accept(c, *listener, Deadline(timeout_ms), op);
    if (r == MP_OK) *out = c.release();
    return r;
  });
}

MP_EXTERN int mp_listener_close(mp_listener_t *listener) {
  MP_CHECK_ARG(valid(listener), "mp_listener_close", "listener is NULL or not a live mp_listener_t");
  listener_close(*listener);
  return MP_OK;
}

MP_EXTERN void mp_listener_free(mp_listener_t *listener) {
  if (!valid(listener)) return;
  listener_release(*listener);
  listener->magic = 0;
  delete listener;
}

MP_EXTERN int mp_conn_connect(mp_conn_t **out, const char *address, const void *authkey,
                              size_t authkey_len, int64_t timeout_ms) {
  const char *op = "mp_conn_connect";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(authkey || authkey_len == 0, op, "authkey is NULL with a length");
  MP_CHECK_ARG(authkey_len <= auth::kMaxKey, op, "an authkey is at most 4096 bytes");
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  return guarded(op, [&]() -> int {
    Address a;
    int r = parse_endpoint(a, address, op);
    if (r != MP_OK) return r;
    std::string key = authkey ? std::string(static_cast<const char *>(authkey), authkey_len) : "";
    std::unique_ptr<mp_conn> c;
    r = client_connect(c, a, key, Deadline(timeout_ms), op);
    if (r == MP_OK) *out = c.release();
    return r;
  });
}

}  // extern "C"
