// Public entry points: mp_dict_* (the shared dict and its snapshot iterator).
#include <fcntl.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "capi/guard.hpp"
#include "dict/dict.hpp"
#include "redis/dict.hpp"

using namespace mp;

// A snapshot of a dict's items (see dict_snapshot for the format).
struct mp_dict_iter {
  static constexpr uint32_t kMagic = 0x4d504449;  // "MPDI"
  uint32_t magic = kMagic;
  std::unique_ptr<char[]> buf;
  size_t len = 0;
  size_t pos = 0;
};

namespace {

bool valid(const mp_dict *d) { return d && d->magic == mp_dict::kMagic; }
bool valid(const mp_dict_iter *it) { return it && it->magic == mp_dict_iter::kMagic; }

#define MP_CHECK_DICT(d, op) MP_CHECK_ARG(valid(d), op, "dict is NULL or not a live mp_dict_t")

// A key or value: NULL only when empty, and stored with a
// 32-bit length.
#define MP_CHECK_BYTES(p, len, op, name)                                                  \
  do {                                                                                    \
    MP_CHECK_ARG((p) || (len) == 0, op, name " is NULL but its length is not 0");         \
    MP_CHECK_ARG((len) <= kDictMaxItemBytes, op, name " is longer than 4 GiB - 1 bytes"); \
  } while (0)

// Read key's value into a malloc()ed, NUL-terminated buffer. A small value
// is copied through the stack; a larger one is read again into a buffer
// allocated with the lock released (so no allocation happens under the
// dict's lock), as often as a writer grows it meanwhile.
int read_alloc(mp_dict &d, Bytes key, char **out, size_t *out_len, const char *op) {
  char small[256];
  size_t len = 0;
  int r = dict_read(d, key, small, sizeof small, &len, op);
  char *buf = nullptr;
  while (r == MP_ENOSPC) {
    char *grown = static_cast<char *>(realloc(buf, len + 1));
    if (!grown) {
      free(buf);
      return fail(MP_ENOMEM, "%s: out of memory for %zu bytes", op, len);
    }
    buf = grown;
    r = dict_read(d, key, buf, len, &len, op);
  }
  if (r != MP_OK) {
    free(buf);
    return r;
  }
  if (!buf) {
    buf = static_cast<char *>(malloc(len + 1));
    if (!buf) return fail(MP_ENOMEM, "%s: out of memory for %zu bytes", op, len);
    if (len) memcpy(buf, small, len);
  }
  buf[len] = '\0';
  *out = buf;
  *out_len = len;
  return MP_OK;
}

// ---- a dict on a redis server (redis/dict.hpp) ----

std::string str(Bytes b) {
  return b.len ? std::string(static_cast<const char *>(b.data), b.len) : std::string();
}

// MP_EMSGSIZE when b is above what a dict on a redis server takes.
int check_remote_size(Bytes b, const char *what, const char *op) {
  if (b.len <= kRemoteDictMaxItem) return MP_OK;
  return fail(MP_EMSGSIZE, "%s: the %s has %zu bytes; a dict on a redis server takes at most %zu",
              op, what, b.len, kRemoteDictMaxItem);
}

// The value of key into a malloc()ed, NUL-terminated buffer.
int remote_read_alloc(RemoteDict &d, Bytes key, char **out, size_t *out_len, const char *op) {
  int r = check_remote_size(key, "key", op);
  std::string v;
  if (r == MP_OK) r = remote_dict_get(d, str(key), &v, op);
  if (r != MP_OK) return r;
  char *buf = static_cast<char *>(malloc(v.size() + 1));
  if (!buf) return fail(MP_ENOMEM, "%s: out of memory for %zu bytes", op, v.size());
  memcpy(buf, v.data(), v.size());
  buf[v.size()] = '\0';
  *out = buf;
  *out_len = v.size();
  return MP_OK;
}

int remote_read_into(RemoteDict &d, Bytes key, void *buf, size_t cap, size_t *len,
                     const char *op) {
  int r = check_remote_size(key, "key", op);
  std::string v;
  if (r == MP_OK) r = remote_dict_get(d, str(key), &v, op);
  if (r != MP_OK) return r;
  *len = v.size();
  if (v.size() > cap)
    return fail(MP_ENOSPC, "%s: the value has %zu bytes, the buffer %zu", op, v.size(), cap);
  if (!v.empty()) memcpy(buf, v.data(), v.size());
  return MP_OK;
}

int remote_set(RemoteDict &d, Bytes key, Bytes value, const char *op) {
  int r = check_remote_size(key, "key", op);
  if (r == MP_OK) r = check_remote_size(value, "value", op);
  return r != MP_OK ? r : remote_dict_set(d, str(key), str(value), op);
}

int remote_cas(RemoteDict &d, Bytes key, Bytes expected, Bytes desired, const char *op) {
  int r = check_remote_size(key, "key", op);
  if (r == MP_OK) r = check_remote_size(expected, "expected value", op);
  if (r == MP_OK) r = check_remote_size(desired, "desired value", op);
  if (r != MP_OK) return r;
  std::string want = str(expected);
  return remote_dict_cas(d, str(key), expected.data ? &want : nullptr, str(desired), op);
}

// The key check of the calls that take only a key, then f(key string).
template <class F>
int with_remote_key(Bytes key, const char *op, F f) {
  int r = check_remote_size(key, "key", op);
  return r != MP_OK ? r : f(str(key));
}

// Copy every item, growing the buffer (lock released) until it fits.
int take_snapshot(mp_dict &d, mp_dict_iter &it) {
  size_t size = 0;
  int r = dict_snapshot(d, nullptr, 0, &size);
  while (r == MP_ENOSPC) {
    it.buf.reset(new char[size]);
    r = dict_snapshot(d, it.buf.get(), size, &size);
  }
  it.len = size;
  return r;
}

}  // namespace

extern "C" {

MP_EXTERN int mp_dict_new(mp_dict_t **out, size_t max_entries, size_t max_bytes) {
  const char *op = "mp_dict_new";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(max_entries > 0, op, "max_entries is 0");
  MP_CHECK_ARG(max_bytes > 0, op, "max_bytes is 0");
  return guarded(op, [&]() -> int {
    std::unique_ptr<mp_dict> d(new mp_dict());
    int r = dict_create(*d, max_entries, max_bytes);
    if (r != MP_OK) return r;
    *out = d.release();
    return MP_OK;
  });
}

MP_EXTERN int mp_dict_from_fd(mp_dict_t **out, int fd) {
  const char *op = "mp_dict_from_fd";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(fd >= 0 && fcntl(fd, F_GETFD) >= 0, op, "fd is not an open descriptor");
  return guarded(op, [&]() -> int {
    std::unique_ptr<mp_dict> d(new mp_dict());
    int r = dict_attach(*d, fd);  // d owns fd from here on, also on failure
    if (r != MP_OK) return r;
    *out = d.release();
    return MP_OK;
  });
}

MP_EXTERN int mp_dict_fileno(mp_dict_t *dict) {
  MP_CHECK_DICT(dict, "mp_dict_fileno");
  if (dict->remote)
    return fail(MP_ENOTSUP, "mp_dict_fileno: a dict on a redis server has no descriptor");
  return dict->segment.fd();
}

MP_EXTERN int mp_dict_set(mp_dict_t *dict, const void *key, size_t key_len, const void *value,
                          size_t value_len) {
  const char *op = "mp_dict_set";
  MP_CHECK_DICT(dict, op);
  MP_CHECK_BYTES(key, key_len, op, "key");
  MP_CHECK_BYTES(value, value_len, op, "value");
  return guarded(op, [&] {
    if (dict->remote) return remote_set(*dict->remote, Bytes{key, key_len}, Bytes{value, value_len}, op);
    return dict_set(*dict, Bytes{key, key_len}, Bytes{value, value_len});
  });
}

MP_EXTERN int mp_dict_get(void **out, size_t *out_len, mp_dict_t *dict, const void *key,
                          size_t key_len) {
  const char *op = "mp_dict_get";
  MP_CHECK_ARG(out && out_len, op, "out or out_len is NULL");
  *out = nullptr;
  *out_len = 0;
  MP_CHECK_DICT(dict, op);
  MP_CHECK_BYTES(key, key_len, op, "key");
  return guarded(op, [&]() -> int {
    char *buf = nullptr;
    size_t len = 0;
    int r = dict->remote ? remote_read_alloc(*dict->remote, Bytes{key, key_len}, &buf, &len, op)
                         : read_alloc(*dict, Bytes{key, key_len}, &buf, &len, op);
    if (r != MP_OK) return r;
    *out = buf;
    *out_len = len;
    return MP_OK;
  });
}

MP_EXTERN int mp_dict_get_into(size_t *out_len, mp_dict_t *dict, const void *key, size_t key_len,
                               void *buf, size_t cap) {
  const char *op = "mp_dict_get_into";
  MP_CHECK_ARG(out_len, op, "out_len is NULL");
  *out_len = 0;
  MP_CHECK_DICT(dict, op);
  MP_CHECK_BYTES(key, key_len, op, "key");
  MP_CHECK_ARG(buf || cap == 0, op, "buf is NULL but cap is not 0");
  return guarded(op, [&]() -> int {
    size_t len = 0;
    int r = dict->remote ? remote_read_into(*dict->remote, Bytes{key, key_len}, buf, cap, &len, op)
                         : dict_read(*dict, Bytes{key, key_len}, buf, cap, &len, op);
    if (r == MP_OK || r == MP_ENOSPC) *out_len = len;
    return r;
  });
}

MP_EXTERN int mp_dict_delete(mp_dict_t *dict, const void *key, size_t key_len) {
  const char *op = "mp_dict_delete";
  MP_CHECK_DICT(dict, op);
  MP_CHECK_BYTES(key, key_len, op, "key");
  return guarded(op, [&] {
    if (dict->remote)
      return with_remote_key(Bytes{key, key_len}, op, [&](const std::string &k) {
        return remote_dict_delete(*dict->remote, k, op);
      });
    return dict_delete(*dict, Bytes{key, key_len});
  });
}

MP_EXTERN int mp_dict_contains(mp_dict_t *dict, const void *key, size_t key_len) {
  const char *op = "mp_dict_contains";
  MP_CHECK_DICT(dict, op);
  MP_CHECK_BYTES(key, key_len, op, "key");
  return guarded(op, [&] {
    if (dict->remote)
      return with_remote_key(Bytes{key, key_len}, op, [&](const std::string &k) {
        return remote_dict_contains(*dict->remote, k, op);
      });
    return dict_contains(*dict, Bytes{key, key_len});
  });
}

MP_EXTERN int mp_dict_len(mp_dict_t *dict) {
  const char *op = "mp_dict_len";
  MP_CHECK_DICT(dict, op);
  return guarded(op, [&]() -> int {
    size_t n = 0;
    int r = dict->remote ? remote_dict_len(*dict->remote, &n, op) : dict_len(*dict, &n);
    if (n > size_t(INT_MAX)) n = size_t(INT_MAX);  // locally max_entries <= 2^28
    return r != MP_OK ? r : int(n);
  });
}

MP_EXTERN int mp_dict_clear(mp_dict_t *dict) {
  const char *op = "mp_dict_clear";
  MP_CHECK_DICT(dict, op);
  return guarded(op, [&] {
    return dict->remote ? remote_dict_clear(*dict->remote, op) : dict_clear(*dict);
  });
}

MP_EXTERN int mp_dict_incr(int64_t *out, mp_dict_t *dict, const void *key, size_t key_len,
                           int64_t delta) {
  const char *op = "mp_dict_incr";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = 0;
  MP_CHECK_DICT(dict, op);
  MP_CHECK_BYTES(key, key_len, op, "key");
  return guarded(op, [&] {
    if (dict->remote)
      return with_remote_key(Bytes{key, key_len}, op, [&](const std::string &k) {
        return remote_dict_incr(*dict->remote, k, delta, out, op);
      });
    return dict_incr(*dict, Bytes{key, key_len}, delta, out);
  });
}

MP_EXTERN int mp_dict_cas(mp_dict_t *dict, const void *key, size_t key_len, const void *expected,
                          size_t expected_len, const void *desired, size_t desired_len) {
  const char *op = "mp_dict_cas";
  MP_CHECK_DICT(dict, op);
  MP_CHECK_BYTES(key, key_len, op, "key");
  MP_CHECK_ARG(expected || expected_len == 0, op,
               "expected is NULL (\"key absent\") but expected_len is not 0");
  MP_CHECK_ARG(expected_len <= kDictMaxItemBytes, op, "expected is longer than 4 GiB - 1 bytes");
  MP_CHECK_BYTES(desired, desired_len, op, "desired");
  return guarded(op, [&] {
    if (dict->remote)
      return remote_cas(*dict->remote, Bytes{key, key_len}, Bytes{expected, expected_len},
                        Bytes{desired, desired_len}, op);
    return dict_cas(*dict, Bytes{key, key_len}, Bytes{expected, expected_len},
                    Bytes{desired, desired_len});
  });
}

MP_EXTERN int mp_dict_iter_new(mp_dict_iter_t **out, mp_dict_t *dict) {
  const char *op = "mp_dict_iter_new";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_DICT(dict, op);
  return guarded(op, [&]() -> int {
    std::unique_ptr<mp_dict_iter> it(new mp_dict_iter());
    int r = dict->remote ? remote_dict_snapshot(*dict->remote, &it->buf, &it->len, op)
                         : take_snapshot(*dict, *it);
    if (r != MP_OK) return r;
    *out = it.release();
    return MP_OK;
  });
}

}  // extern "C"

namespace {

// The next item of the snapshot: 1, or 0 at the end.
int iter_next(const void **key, size_t *key_len, const void **value, size_t *value_len,
              mp_dict_iter_t *iter, const char *op) {
  MP_CHECK_ARG(key && key_len && value && value_len, op,
               "key, key_len, value or value_len is NULL");
  *key = nullptr;
  *key_len = 0;
  *value = nullptr;
  *value_len = 0;
  MP_CHECK_ARG(valid(iter), op, "iter is NULL or not a live mp_dict_iter_t");
  Bytes k, v;
  if (!dict_snapshot_next(iter->buf.get(), iter->len, &iter->pos, &k, &v)) return 0;
  *key = k.data;
  *key_len = k.len;
  *value = v.data;
  *value_len = v.len;
  return 1;
}

}  // namespace

extern "C" {

MP_EXTERN int mp_dict_iter_next2(const void **key, size_t *key_len, const void **value,
                                 size_t *value_len, mp_dict_iter_t *iter) {
  return iter_next(key, key_len, value, value_len, iter, "mp_dict_iter_next2");
}

MP_EXTERN int mp_dict_iter_next(mp_dict_iter_t *iter, const void **key, size_t *key_len,
                                const void **value, size_t *value_len) {
  return iter_next(key, key_len, value, value_len, iter, "mp_dict_iter_next");
}

MP_EXTERN void mp_dict_iter_free(mp_dict_iter_t *iter) {
  if (!valid(iter)) return;
  iter->magic = 0;
  delete iter;
}

MP_EXTERN void mp_dict_free(mp_dict_t *dict) {
  if (!valid(dict)) return;
  if (dict->remote) remote_dict_free(dict->remote);
  dict->magic = 0;
  delete dict;
}

}  // extern "C"
