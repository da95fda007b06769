// Deadline-bounded name lookup (see resolve.hpp).
#include "core/resolve.hpp"

#include <memory>
#include <mutex>

#include "core/cond_var.hpp"
#include "core/error.hpp"
#include "core/runtime.hpp"

namespace mp {
namespace {

// What the caller and the thread-pool callback share. The callback owns one
// reference through req.data until it runs; whoever comes last frees.
struct Lookup {
  std::mutex mu;
  CondVar cv;
  bool done = false;       // under mu
  bool abandoned = false;  // under mu: the caller stopped waiting
  int status = 0;          // a UV_* code, under mu
  addrinfo *found = nullptr;
  uv_getaddrinfo_t req{};
  std::string host, port;
  addrinfo hints{};
};

void finish(const std::shared_ptr<Lookup> &l, int status, addrinfo *found) {
  std::lock_guard<std::mutex> g(l->mu);
  l->done = true;
  l->status = status;
  if (l->abandoned) {
    if (found) uv_freeaddrinfo(found);
  } else {
    l->found = found;
  }
  l->cv.notify_all();
}

void on_resolved(uv_getaddrinfo_t *req, int status, addrinfo *found) {
  std::unique_ptr<std::shared_ptr<Lookup>> self(static_cast<std::shared_ptr<Lookup> *>(req->data));
  finish(*self, status, found);
}

void start_lookup(uv_loop_t *loop, const std::shared_ptr<Lookup> &l) {
  auto *self = new std::shared_ptr<Lookup>(l);
  l->req.data = self;
  int r = uv_getaddrinfo(loop, &l->req, on_resolved, l->host.c_str(), l->port.c_str(), &l->hints);
  if (r != 0) {
    delete self;
    finish(l, r, nullptr);
  }
}

int lookup_error(int status, const std::string &host, const char *op) {
  if (status == UV_EAI_NONAME || status == UV_EAI_NODATA || status == UV_EAI_FAIL)
    return fail(MP_ENOENT, "%s: cannot resolve host '%s': %s", op, host.c_str(), uv_strerror(status));
  if (status == UV_EAI_MEMORY || status == UV_ENOMEM)
    return fail(MP_ENOMEM, "%s: out of memory resolving '%s'", op, host.c_str());
  return fail(MP_ESYS, "%s: cannot resolve host '%s': %s", op, host.c_str(), uv_strerror(status));
}

}  // namespace

int resolve_host(addrinfo **out, const std::string &host, int port, bool passive,
                 const Deadline &deadline, const char *op) {
  auto l = std::make_shared<Lookup>();
  l->host = host;
  l->port = std::to_string(port);
  l->hints.ai_family = AF_UNSPEC;
  l->hints.ai_socktype = SOCK_STREAM;
  l->hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  // A numeric address needs no lookup and never blocks: no thread hop.
  addrinfo numeric = l->hints;
  numeric.ai_flags |= AI_NUMERICHOST;
  if (getaddrinfo(host.c_str(), l->port.c_str(), &numeric, out) == 0) return MP_OK;
  int r = rt::post([l](uv_loop_t *loop) { start_lookup(loop, l); });
  if (r != MP_OK) return fail(r, "%s: cannot resolve host '%s': the runtime is not running", op, host.c_str());
  std::unique_lock<std::mutex> lock(l->mu);
  if (!wait_cv(l->cv, lock, deadline, [&] { return l->done; })) {
    l->abandoned = true;
    return fail(MP_ETIMEDOUT, "%s: resolving host '%s' timed out", op, host.c_str());
  }
  if (l->status != 0) return lookup_error(l->status, host, op);
  *out = l->found;
  return MP_OK;
}

}  // namespace mp
