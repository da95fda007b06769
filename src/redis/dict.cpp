// The dict calls on a redis server (dict.hpp): plain hash commands where
// one command is atomic by itself, scripts (object_scripts.hpp) for incr,
// cas, clear and the snapshot.
#include "redis/dict.hpp"

#include <cstring>

#include "core/error.hpp"
#include "dict/dict.hpp"
#include "redis/object_scripts.hpp"

namespace mp {

using redis::Value;

namespace {

// Every call is one round trip: the dict calls have no timeout of their
// own, so a silent server ends them after kReplyCapMs (the thread's cancel
// token still ends them sooner).
Deadline trip() { return Deadline(redis::kReplyCapMs); }

int hash_call(Value *out, RemoteDict &d, std::vector<std::string> argv, const char *op) {
  return redis::call(out, d.o, argv, trip(), op);
}

size_t pad8(size_t n) { return (n + 7) & ~size_t(7); }

// One snapshot item (dict.hpp's format): u32 key length, u32 value
// length, the key and the value each NUL-terminated and padded to 8.
char *put_item(char *p, const std::string &k, const std::string &v) {
  uint32_t lens[2] = {uint32_t(k.size()), uint32_t(v.size())};
  memcpy(p, lens, 8);
  char *kp = p + 8;
  memcpy(kp, k.data(), k.size());
  kp[k.size()] = '\0';
  char *vp = kp + pad8(k.size() + 1);
  memcpy(vp, v.data(), v.size());
  vp[v.size()] = '\0';
  return vp + pad8(v.size() + 1);
}

bool is_str(const Value &v) { return v.kind == Value::kStr; }

}  // namespace

int remote_dict_open(mp_dict **out, const Address &a, const Deadline &deadline, const char *op) {
  std::unique_ptr<RemoteDict> d(new RemoteDict());
  redis::init_object(d->o, a, "dict");
  d->items = d->o.prefix + ":items";
  Value v;
  int r = redis::call(&v, d->o, {"TYPE", d->items}, deadline, op);
  if (r != MP_OK) return r;
  if (v.s != "none" && v.s != "hash")
    return fail(MP_EINVAL, "%s: dict '%s' at %s is damaged: %s is a %s, not a hash (written by "
                "another client?)", op, d->o.name.c_str(), d->o.ep.text.c_str(), d->items.c_str(),
                v.s.c_str());
  auto *md = new mp_dict();
  md->remote = d.release();
  *out = md;
  redis::warn_if_evicts(md->remote->o.ep, md->remote->o.kind, deadline, op);
  return MP_OK;
}

void remote_dict_free(RemoteDict *d) { delete d; }

int remote_dict_set(RemoteDict &d, const std::string &key, const std::string &value,
                    const char *op) {
  Value v;
  return hash_call(&v, d, {"HSET", d.items, key, value}, op);
}

int remote_dict_get(RemoteDict &d, const std::string &key, std::string *value, const char *op) {
  Value v;
  int r = hash_call(&v, d, {"HGET", d.items, key}, op);
  if (r != MP_OK) return r;
  if (v.kind == Value::kNil) return fail(MP_ENOENT, "%s: no such key", op);
  if (!is_str(v)) return redis::damaged(d.o, "a value", op);
  *value = std::move(v.s);
  return MP_OK;
}

int remote_dict_delete(RemoteDict &d, const std::string &key, const char *op) {
  Value v;
  int r = hash_call(&v, d, {"HDEL", d.items, key}, op);
  if (r != MP_OK) return r;
  if (v.kind != Value::kInt) return redis::damaged(d.o, "a count", op);
  return v.i == 0 ? fail(MP_ENOENT, "%s: no such key", op) : MP_OK;
}

int remote_dict_contains(RemoteDict &d, const std::string &key, const char *op) {
  Value v;
  int r = hash_call(&v, d, {"HEXISTS", d.items, key}, op);
  if (r != MP_OK) return r;
  if (v.kind != Value::kInt) return redis::damaged(d.o, "0 or 1", op);
  return v.i ? 1 : 0;
}

int remote_dict_len(RemoteDict &d, size_t *n, const char *op) {
  Value v;
  int r = hash_call(&v, d, {"HLEN", d.items}, op);
  if (r != MP_OK) return r;
  if (v.kind != Value::kInt || v.i < 0) return redis::damaged(d.o, "a count", op);
  *n = size_t(v.i);
  return MP_OK;
}

int remote_dict_clear(RemoteDict &d, const char *op) {
  Value v;
  return redis::eval(&v, d.o, redis::script::kDictClear, {d.items}, {}, trip(), op);
}

int remote_dict_incr(RemoteDict &d, const std::string &key, int64_t delta, int64_t *out,
                     const char *op) {
  unsigned char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(uint64_t(delta) >> (8 * i));
  Value v;
  int r = redis::eval_raw(&v, d.o, redis::script::kDictIncr, {d.items},
                          {key, std::string(reinterpret_cast<char *>(le), 8)}, trip(), op);
  if (r != MP_OK) return r;
  if (v.kind == Value::kErr && v.s.rfind("MPNOTINT ", 0) == 0)
    return fail(MP_EINVAL, "%s: the value has %s bytes, not an 8-byte integer", op,
                v.s.c_str() + 9);
  if (v.kind == Value::kErr) return redis::error_reply(d.o, v.s, op);
  if (!is_str(v) || v.s.size() != 8) return redis::damaged(d.o, "an 8-byte integer", op);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<unsigned char>(v.s[size_t(i)]);
  *out = int64_t(n);
  return MP_OK;
}

int remote_dict_cas(RemoteDict &d, const std::string &key, const std::string *expected,
                    const std::string &desired, const char *op) {
  Value v;
  int r = redis::eval(&v, d.o, redis::script::kDictCas, {d.items},
                      {key, expected ? "equal" : "absent", expected ? *expected : "", desired},
                      trip(), op);
  if (r != MP_OK) return r;
  if (v.kind != Value::kInt) return redis::damaged(d.o, "0 or 1", op);
  return v.i ? 1 : 0;
}

int remote_dict_snapshot(RemoteDict &d, std::unique_ptr<char[]> *buf, size_t *len,
                         const char *op) {
  Value v;
  int r = redis::eval_raw(&v, d.o, redis::script::kDictItems, {d.items},
                          {std::to_string(kRemoteDictMaxSnapshot)}, trip(), op);
  if (r != MP_OK) return r;
  if (v.kind == Value::kErr && v.s.rfind("MPTOOBIG ", 0) == 0)
    return fail(MP_EMSGSIZE, "%s: the dict's keys and values have %s bytes; an iterator over a "
                "dict on a redis server takes at most %zu", op, v.s.c_str() + 9,
                kRemoteDictMaxSnapshot);
  if (v.kind == Value::kErr) return redis::error_reply(d.o, v.s, op);
  if (v.kind != Value::kArr || v.a.size() % 2) return redis::damaged(d.o, "field-value pairs", op);
  size_t size = 0;
  for (const Value &s : v.a) {
    if (!is_str(s)) return redis::damaged(d.o, "field-value pairs", op);
    size += pad8(s.s.size() + 1);
  }
  size += 8 * (v.a.size() / 2);
  buf->reset(new char[size ? size : 1]);
  char *p = buf->get();
  for (size_t k = 0; k < v.a.size(); k += 2) p = put_item(p, v.a[k].s, v.a[k + 1].s);
  *len = size;
  return MP_OK;
}

}  // namespace mp
