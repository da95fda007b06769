// Shared pieces of the dict and the lock on a redis server (object.hpp).
#include "redis/object.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "core/error.hpp"
#include "redis/eval.hpp"

namespace mp::redis {

void init_object(Object &o, const Address &a, const char *kind) {
  o.ep = endpoint_of(a);
  o.kind = kind;
  o.name = a.name;
  o.prefix = std::string("mp:") + kind + ":{" + a.name + "}";
}

namespace {

// The text from tag on in e ("" when e has no tag).
std::string after(const std::string &e, const char *tag) {
  size_t at = e.find(tag);
  return at == std::string::npos ? "" : e.substr(at);
}

// What follows "MPGARBAGE " in e.
std::string garbage_why(const std::string &e) {
  std::string g = after(e, "MPGARBAGE");
  return g.size() > 10 ? g.substr(10) : g;
}

}  // namespace

int error_reply(const Object &o, const std::string &e, const char *op) {
  const char *n = o.name.c_str(), *k = o.kind, *at = o.ep.text.c_str();
  if (!after(e, "MPGARBAGE").empty())
    return fail(MP_EINVAL, "%s: %s '%s' at %s is damaged: %s (written by another client?)", op, k,
                n, at, garbage_why(e).c_str());
  if (!after(e, "WRONGTYPE").empty())
    return fail(MP_EINVAL, "%s: %s '%s' at %s is damaged: a key under %s holds another type "
                "(written by another client?)", op, k, n, at, o.prefix.c_str());
  if (!after(e, "OOM").empty())
    return fail(MP_ENOSPC, "%s: %s is out of memory: %s", op, at, e.c_str());
  return fail(MP_EINVAL, "%s: %s '%s' at %s: %s", op, k, n, at, e.c_str());
}

int call(Value *out, const Object &o, const std::vector<std::string> &argv,
         const Deadline &deadline, const char *op) {
  int r = command(out, o.ep, argv, deadline, op);
  if (r != MP_OK) return r;
  return out->kind == Value::kErr ? error_reply(o, out->s, op) : MP_OK;
}

int eval_raw(Value *out, const Object &o, const char *script, const std::vector<std::string> &keys,
             const std::vector<std::string> &args, const Deadline &deadline, const char *op) {
  return eval_script(out, o.ep, script, keys, args, deadline, op);
}

int eval(Value *out, const Object &o, const char *script, const std::vector<std::string> &keys,
         const std::vector<std::string> &args, const Deadline &deadline, const char *op) {
  int r = eval_raw(out, o, script, keys, args, deadline, op);
  if (r != MP_OK) return r;
  return out->kind == Value::kErr ? error_reply(o, out->s, op) : MP_OK;
}

int damaged(const Object &o, const char *what, const char *op) {
  return fail(MP_EINVAL, "%s: %s '%s' at %s: the server's reply is not %s (keys under %s "
              "written by another client?)", op, o.kind, o.name.c_str(), o.ep.text.c_str(), what,
              o.prefix.c_str());
}

bool as_int(const Value &v, long long *out) {
  if (v.kind == Value::kInt) {
    *out = v.i;
    return true;
  }
  if (v.kind != Value::kStr || v.s.empty() || v.s.size() > 19) return false;
  char *end = nullptr;
  *out = strtoll(v.s.c_str(), &end, 10);
  return *end == '\0';
}

std::string unique_name() {
  static std::atomic<uint64_t> counter{0};
  char host[64] = "host";
  gethostname(host, sizeof host - 1);
  uint64_t salt = 0;
  if (getrandom(&salt, sizeof salt, GRND_NONBLOCK) != sizeof salt) salt = uint64_t(now_ms());
  char buf[160];
  snprintf(buf, sizeof buf, "%s:%d:%llu:%016llx", host, int(getpid()),
           (unsigned long long)counter.fetch_add(1), (unsigned long long)salt);
  return buf;
}

void warn_if_evicts(const Endpoint &ep, const char *kind, const Deadline &deadline,
                    const char *op) {
  Value p;
  bool evicts = command(&p, ep, {"CONFIG", "GET", "maxmemory-policy"}, deadline, op) == MP_OK &&
                p.kind == Value::kArr && p.a.size() == 2 && p.a[1].s != "noeviction";
  if (evicts)  // a warning: the open succeeded, mp_last_error() says why to worry
    fail(MP_OK, "%s: warning: %s has maxmemory-policy %s, which can evict the %s's keys; set it "
         "to noeviction", op, ep.text.c_str(), p.a[1].s.c_str(), kind);
  else
    fail(MP_OK, "%s", "");
}

}  // namespace mp::redis
