// Public entry points: mp_shm_*, mp_value_* (the record calls are in
// value_record_api.cpp).
#include <sys/stat.h>

#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "capi/object_api.hpp"
#include "capi/value_access.hpp"

using namespace mp;

namespace {

constexpr size_t kMaxShared = size_t(1) << 40;

// The element at index, if it exists and its type is one of the allowed.
template <class T>
int element(T **out, mp_value *v, size_t index, const char *op,
            std::initializer_list<uint32_t> types) {
  MP_CHECK_HANDLE(v, op);
  bool ok = false;
  for (uint32_t t : types) ok = ok || v->shared->type == t;
  if (!ok) return fail(MP_EINVAL, "%s: the value's type does not fit this accessor", op);
  if (index >= v->shared->count)
    return fail(MP_EINVAL, "%s: index %zu is out of range (count %llu)", op, index,
                (unsigned long long)v->shared->count);
  // By the element's own size: T may be a byte view of a wider element.
  *out = reinterpret_cast<T *>(v->extra() + index * value_element_size(v->shared->type));
  return MP_OK;
}

bool is_narrow(mp_value *v, int64_t *lo, int64_t *hi) {
  return valid_handle(v) && narrow_range(v->shared->type, lo, hi);
}

template <class T, class F>
int with_element(mp_value *v, size_t index, const char *op, F f) {
  T *p;
  int r = element(&p, v, index, op, {v->shared->type});
  return r == MP_OK ? f(p) : r;
}

// Run f on element index of a narrow integer value (is_narrow() said so)
// through a pointer of the element's own type.
template <class F>
int with_narrow(mp_value *v, size_t index, const char *op, F f) {
  switch (v->shared->type) {
    case MP_TYPE_INT32: return with_element<int32_t>(v, index, op, f);
    case MP_TYPE_INT16: return with_element<int16_t>(v, index, op, f);
    case MP_TYPE_UINT16: return with_element<uint16_t>(v, index, op, f);
    case MP_TYPE_INT8: return with_element<int8_t>(v, index, op, f);
    default: return with_element<uint8_t>(v, index, op, f);  // UINT8, CHAR
  }
}

// What a new value is made of, beside its count.
struct ValueSpec {
  uint32_t type = 0;
  uint32_t flags = 0;                  // MP_VALUE_LOCK or kValueSharedLock
  uint8_t fields[kMaxRecordFields]{};  // MP_TYPE_RECORD
  uint32_t nfields = 0, record_size = 0;
  mp_lock *lock = nullptr;             // kValueSharedLock
};

// The memory object of a lock, which a value with a shared lock records.
bool lock_identity(mp_lock *lock, uint64_t *dev, uint64_t *ino) {
  struct stat st;
  if (fstat(lock->segment.fd(), &st) != 0) return false;
  *dev = uint64_t(st.st_dev);
  *ino = uint64_t(st.st_ino);
  return true;
}

int create_value(mp_value_t **out, const ValueSpec &spec, size_t count, const char *op) {
  size_t stride = spec.type == MP_TYPE_RECORD ? spec.record_size : value_element_size(spec.type);
  MP_CHECK_ARG(count > 0 && count <= kMaxShared / stride, op, "count must be > 0 and not huge");
  uint64_t dev = 0, ino = 0;
  if (spec.lock && !lock_identity(spec.lock, &dev, &ino))
    return fail_errno(op, "fstat of the lock", errno);
  return guarded(op, [&] {
    return new_object(out, ObjectKind::kValue, count * stride, [&](mp_value &h) {
      ValueShared &v = *h.shared;
      v.type = spec.type;
      v.flags = spec.flags;
      v.count = count;
      lock_init(v.lock, false);
      v.nfields = spec.nfields;
      v.record_size = spec.record_size;
      memcpy(v.fields, spec.fields, sizeof v.fields);
      v.lock_dev = dev;
      v.lock_ino = ino;
      h.lock = spec.lock;
      return int(MP_OK);
    });
  });
}

// The spec of a record value from its typecodes.
int record_spec(ValueSpec *spec, const char *fields, const char *op) {
  MP_CHECK_ARG(fields, op, "fields is NULL");
  spec->type = MP_TYPE_RECORD;
  MP_CHECK_ARG(record_layout(fields, spec->fields, &spec->nfields, &spec->record_size), op,
               "fields must be 1 to 32 typecodes of b B h H i q Q f d c ?");
  return MP_OK;
}

// The lock mp_value_acquire/release take: the value's own or the bound
// shared one.
int value_lock(LockWord **out, mp_value *v, const char *op) {
  MP_CHECK_HANDLE(v, op);
  uint32_t flags = v->shared->flags;
  if (flags & MP_VALUE_LOCK) {
    *out = &v->shared->lock;
    return MP_OK;
  }
  if (!(flags & kValueSharedLock))
    return fail(MP_ESTATE, "%s: the value was created without MP_VALUE_LOCK", op);
  if (!valid_handle(v->lock))
    return fail(MP_ESTATE, "%s: the value shares a lock: bind this process's handle on it "
                "with mp_value_bind_lock()", op);
  *out = &v->lock->shared->word;
  return MP_OK;
}

}  // namespace

extern "C" {

// ---- shared blocks --------------------------------------------------------------

MP_EXTERN int mp_shm_new(mp_shm_t **out, size_t size) {
  const char *op = "mp_shm_new";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  MP_CHECK_ARG(size > 0 && size <= kMaxShared, op, "size must be > 0 and <= 1 TiB");
  return guarded(op, [&] {
    return new_object(out, ObjectKind::kShm, size, [&](mp_shm &h) {
      h.shared->size = size;
      return int(MP_OK);
    });
  });
}

MP_EXTERN int mp_shm_from_fd(mp_shm_t **out, int fd) {
  const char *op = "mp_shm_from_fd";
  int r = object_from_fd(out, fd, ObjectKind::kShm, op);
  if (r == MP_OK && (*out)->shared->size > (*out)->extra_size()) {
    mp_shm_free(*out);
    *out = nullptr;
    return fail(MP_EINVAL, "%s: the block's header is inconsistent with its size", op);
  }
  return r;
}

MP_EXTERN int mp_shm_fileno(mp_shm_t *shm) { return object_fileno(shm, "mp_shm_fileno"); }

MP_EXTERN void mp_shm_free(mp_shm_t *shm) { object_free(shm); }

MP_EXTERN void *mp_shm_data(mp_shm_t *shm) {
  return valid_handle(shm) ? shm->extra() : nullptr;
}

MP_EXTERN size_t mp_shm_size(mp_shm_t *shm) {
  return valid_handle(shm) ? size_t(shm->shared->size) : 0;
}

MP_EXTERN int mp_shm_size2(size_t *out, mp_shm_t *shm) {
  MP_CHECK_ARG(out, "mp_shm_size2", "out is NULL");
  *out = 0;
  MP_CHECK_HANDLE(shm, "mp_shm_size2");
  *out = size_t(shm->shared->size);
  return MP_OK;
}

// ---- values and arrays ------------------------------------------------------------

MP_EXTERN int mp_value_new(mp_value_t **out, mp_type_t type_arg, size_t count, int flags) {
  const char *op = "mp_value_new";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  ValueSpec spec;
  spec.type = uint32_t(enum_value(type_arg));
  MP_CHECK_ARG(value_element_size(spec.type) > 0, op, "unknown type");
  MP_CHECK_ARG(flags == 0 || flags == MP_VALUE_LOCK, op, "unknown flags");
  spec.flags = uint32_t(flags);
  return create_value(out, spec, count, op);
}

MP_EXTERN int mp_value_new_record(mp_value_t **out, const char *fields, size_t count, int flags) {
  const char *op = "mp_value_new_record";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  ValueSpec spec;
  int r = record_spec(&spec, fields, op);
  if (r != MP_OK) return r;
  MP_CHECK_ARG(flags == 0 || flags == MP_VALUE_LOCK, op, "unknown flags");
  spec.flags = uint32_t(flags);
  return create_value(out, spec, count, op);
}

MP_EXTERN int mp_value_new_with_lock(mp_value_t **out, mp_type_t type_arg, size_t count,
                                     mp_lock_t *lock) {
  const char *op = "mp_value_new_with_lock";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  ValueSpec spec;
  spec.type = uint32_t(enum_value(type_arg));
  MP_CHECK_ARG(value_element_size(spec.type) > 0, op, "unknown type");
  MP_CHECK_LOCAL_LOCK(lock, op);
  MP_CHECK_HANDLE(lock, op);
  spec.flags = kValueSharedLock;
  spec.lock = lock;
  return create_value(out, spec, count, op);
}

MP_EXTERN int mp_value_new_record_with_lock(mp_value_t **out, const char *fields, size_t count,
                                            mp_lock_t *lock) {
  const char *op = "mp_value_new_record_with_lock";
  MP_CHECK_ARG(out, op, "out is NULL");
  *out = nullptr;
  ValueSpec spec;
  int r = record_spec(&spec, fields, op);
  if (r != MP_OK) return r;
  MP_CHECK_LOCAL_LOCK(lock, op);
  MP_CHECK_HANDLE(lock, op);
  spec.flags = kValueSharedLock;
  spec.lock = lock;
  return create_value(out, spec, count, op);
}

MP_EXTERN int mp_value_bind_lock(mp_value_t *value, mp_lock_t *lock) {
  const char *op = "mp_value_bind_lock";
  MP_CHECK_HANDLE(value, op);
  MP_CHECK_LOCAL_LOCK(lock, op);
  MP_CHECK_HANDLE(lock, op);
  if (!(value->shared->flags & kValueSharedLock))
    return fail(MP_ESTATE, "%s: the value has no shared lock (mp_value_new_with_lock())", op);
  uint64_t dev, ino;
  if (!lock_identity(lock, &dev, &ino)) return fail_errno(op, "fstat of the lock", errno);
  MP_CHECK_ARG(dev == value->shared->lock_dev && ino == value->shared->lock_ino, op,
               "this is not the lock the value was created with");
  value->lock = lock;
  return MP_OK;
}

MP_EXTERN int mp_value_from_fd(mp_value_t **out, int fd) {
  const char *op = "mp_value_from_fd";
  int r = object_from_fd(out, fd, ObjectKind::kValue, op);
  if (r != MP_OK) return r;
  const ValueShared &s = *(*out)->shared;
  size_t elem = value_stride(s);
  bool flags_ok = s.flags == 0 || s.flags == MP_VALUE_LOCK || s.flags == kValueSharedLock;
  if (!elem || !flags_ok || s.count == 0 || s.count > (*out)->extra_size() / elem ||
      s.bytes_len.load() > s.count) {
    mp_value_free(*out);
    *out = nullptr;
    return fail(MP_EINVAL, "%s: the value's header is inconsistent with its size", op);
  }
  return MP_OK;
}

MP_EXTERN int mp_value_fileno(mp_value_t *value) { return object_fileno(value, "mp_value_fileno"); }

MP_EXTERN void mp_value_free(mp_value_t *value) { object_free(value); }

MP_EXTERN int mp_value_type(mp_value_t *value) {
  MP_CHECK_HANDLE(value, "mp_value_type");
  return int(value->shared->type);
}

MP_EXTERN size_t mp_value_count(mp_value_t *value) {
  return valid_handle(value) ? size_t(value->shared->count) : 0;
}

MP_EXTERN int mp_value_count2(size_t *out, mp_value_t *value) {
  MP_CHECK_ARG(out, "mp_value_count2", "out is NULL");
  *out = 0;
  MP_CHECK_HANDLE(value, "mp_value_count2");
  *out = size_t(value->shared->count);
  return MP_OK;
}

MP_EXTERN int mp_value_get_i64(int64_t *out, mp_value_t *value, size_t index) {
  const char *op = "mp_value_get_i64";
  MP_CHECK_ARG(out, op, "out is NULL");
  int64_t lo, hi;
  if (is_narrow(value, &lo, &hi))
    return with_narrow(value, index, op, [&](auto *p) {
      *out = __atomic_load_n(p, __ATOMIC_SEQ_CST);
      return int(MP_OK);
    });
  int64_t *p;
  int r = element(&p, value, index, op, {MP_TYPE_INT64, MP_TYPE_UINT64});
  if (r != MP_OK) return r;
  int64_t v = __atomic_load_n(p, __ATOMIC_SEQ_CST);
  if (value->shared->type == MP_TYPE_UINT64 && v < 0)
    return fail(MP_EINVAL, "%s: the value does not fit in int64", op);
  *out = v;
  return MP_OK;
}

MP_EXTERN int mp_value_set_i64(mp_value_t *value, size_t index, int64_t v) {
  const char *op = "mp_value_set_i64";
  int64_t lo, hi;
  if (is_narrow(value, &lo, &hi)) {
    MP_CHECK_ARG(v >= lo && v <= hi, op, "the value does not fit the element type");
    return with_narrow(value, index, op, [&](auto *p) {
      __atomic_store_n(p, element_t<decltype(p)>(v), __ATOMIC_SEQ_CST);
      return int(MP_OK);
    });
  }
  int64_t *p;
  int r = element(&p, value, index, op, {MP_TYPE_INT64, MP_TYPE_UINT64});
  if (r != MP_OK) return r;
  if (value->shared->type == MP_TYPE_UINT64 && v < 0)
    return fail(MP_EINVAL, "%s: a negative value for an unsigned element", op);
  __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
  return MP_OK;
}

MP_EXTERN int mp_value_get_u64(uint64_t *out, mp_value_t *value, size_t index) {
  MP_CHECK_ARG(out, "mp_value_get_u64", "out is NULL");
  uint64_t *p;
  int r = element(&p, value, index, "mp_value_get_u64", {MP_TYPE_UINT64});
  if (r == MP_OK) *out = __atomic_load_n(p, __ATOMIC_SEQ_CST);
  return r;
}

MP_EXTERN int mp_value_set_u64(mp_value_t *value, size_t index, uint64_t v) {
  uint64_t *p;
  int r = element(&p, value, index, "mp_value_set_u64", {MP_TYPE_UINT64});
  if (r == MP_OK) __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
  return r;
}

MP_EXTERN int mp_value_get_f64(double *out, mp_value_t *value, size_t index) {
  MP_CHECK_ARG(out, "mp_value_get_f64", "out is NULL");
  char *p;
  int r = element(&p, value, index, "mp_value_get_f64", {MP_TYPE_DOUBLE, MP_TYPE_FLOAT});
  if (r != MP_OK) return r;
  *out = load_f64(value->shared->type, p);
  return MP_OK;
}

MP_EXTERN int mp_value_set_f64(mp_value_t *value, size_t index, double v) {
  char *p;
  int r = element(&p, value, index, "mp_value_set_f64", {MP_TYPE_DOUBLE, MP_TYPE_FLOAT});
  if (r != MP_OK) return r;
  store_f64(value->shared->type, p, v);
  return MP_OK;
}

MP_EXTERN int mp_value_add_i64(int64_t *out, mp_value_t *value, size_t index, int64_t delta) {
  const char *op = "mp_value_add_i64";
  MP_CHECK_ARG(out, op, "out is NULL");
  int64_t lo, hi;
  if (is_narrow(value, &lo, &hi)) {
    // An unsigned element takes a negative delta too (a decrement).
    int64_t least = lo < 0 ? lo : -hi;
    MP_CHECK_ARG(delta >= least && delta <= hi, op, "delta does not fit the element type");
    return with_narrow(value, index, op, [&](auto *p) {
      *out = __atomic_add_fetch(p, element_t<decltype(p)>(delta), __ATOMIC_SEQ_CST);
      return int(MP_OK);
    });
  }
  int64_t *p;
  int r = element(&p, value, index, op, {MP_TYPE_INT64, MP_TYPE_UINT64});
  if (r == MP_OK) *out = __atomic_add_fetch(p, delta, __ATOMIC_SEQ_CST);
  return r;
}

}  // extern "C"

namespace {

// Compare-and-exchange of an integer element; *actual (if asked) gets the
// element's value before the call.
int compare_exchange(int64_t *actual, mp_value_t *value, size_t index, int64_t expected,
                     int64_t desired, const char *op) {
  int64_t lo, hi;
  if (is_narrow(value, &lo, &hi)) {
    MP_CHECK_ARG(expected >= lo && expected <= hi && desired >= lo && desired <= hi, op,
                 "values do not fit the element type");
    return with_narrow(value, index, op, [&](auto *p) {
      using T = element_t<decltype(p)>;
      T e = T(expected);
      bool swapped = __atomic_compare_exchange_n(p, &e, T(desired), false, __ATOMIC_SEQ_CST,
                                                 __ATOMIC_SEQ_CST);
      if (actual) *actual = swapped ? expected : int64_t(e);
      return swapped ? 1 : 0;
    });
  }
  int64_t *p;
  int r = element(&p, value, index, op, {MP_TYPE_INT64, MP_TYPE_UINT64});
  if (r != MP_OK) return r;
  int64_t e = expected;
  bool swapped = __atomic_compare_exchange_n(p, &e, desired, false, __ATOMIC_SEQ_CST,
                                             __ATOMIC_SEQ_CST);
  if (actual) *actual = swapped ? expected : e;
  return swapped ? 1 : 0;
}

}  // namespace

extern "C" {

MP_EXTERN int mp_value_compare_exchange_i64(int64_t *actual, mp_value_t *value, size_t index,
                                            int64_t expected, int64_t desired) {
  return compare_exchange(actual, value, index, expected, desired,
                          "mp_value_compare_exchange_i64");
}

MP_EXTERN int mp_value_cas_i64(mp_value_t *value, size_t index, int64_t expected,
                               int64_t desired, int64_t *actual) {
  return compare_exchange(actual, value, index, expected, desired, "mp_value_cas_i64");
}

MP_EXTERN int mp_value_get_bytes(size_t *out_len, mp_value_t *value, void *buf, size_t cap) {
  const char *op = "mp_value_get_bytes";
  MP_CHECK_ARG(out_len, op, "out_len is NULL");
  *out_len = 0;
  MP_CHECK_ARG(buf || cap == 0, op, "buf is NULL");
  char *p;
  int r = element(&p, value, 0, op, {MP_TYPE_BYTES});
  if (r != MP_OK) return r;
  size_t len = size_t(value->shared->bytes_len.load());
  if (len > value->shared->count) len = size_t(value->shared->count);
  *out_len = len;
  if (len > cap) return fail(MP_ENOSPC, "%s: %zu bytes, the buffer has %zu", op, len, cap);
  if (len) memcpy(buf, p, len);
  return MP_OK;
}

MP_EXTERN int mp_value_set_bytes(mp_value_t *value, const void *buf, size_t len) {
  const char *op = "mp_value_set_bytes";
  MP_CHECK_ARG(buf || len == 0, op, "buf is NULL");
  char *p;
  int r = element(&p, value, 0, op, {MP_TYPE_BYTES});
  if (r != MP_OK) return r;
  if (len > value->shared->count)
    return fail(MP_ENOSPC, "%s: %zu bytes, the capacity is %llu", op, len,
                (unsigned long long)value->shared->count);
  if (len) memcpy(p, buf, len);
  value->shared->bytes_len.store(len);
  return MP_OK;
}

MP_EXTERN int mp_value_acquire(mp_value_t *value, int64_t timeout_ms) {
  const char *op = "mp_value_acquire";
  MP_CHECK_HANDLE(value, op);
  MP_CHECK_ARG(timeout_valid(timeout_ms), op, "timeout must be MP_FOREVER or >= 0");
  LockWord *lock;
  int r = value_lock(&lock, value, op);
  return r == MP_OK ? report_cancel(op, lock_acquire(*lock, Deadline(timeout_ms))) : r;
}

MP_EXTERN int mp_value_release(mp_value_t *value) {
  LockWord *lock;
  int r = value_lock(&lock, value, "mp_value_release");
  return r == MP_OK ? lock_release(*lock) : r;
}

}  // extern "C"

// ---- bool values (records: value_record_api.cpp) ---------------------------

extern "C" {

MP_EXTERN int mp_value_get_bool(int *out, mp_value_t *value, size_t index) {
  MP_CHECK_ARG(out, "mp_value_get_bool", "out is NULL");
  uint8_t *p;
  int r = element(&p, value, index, "mp_value_get_bool", {MP_TYPE_BOOL});
  if (r == MP_OK) *out = __atomic_load_n(p, __ATOMIC_SEQ_CST) != 0;
  return r;
}

MP_EXTERN int mp_value_set_bool(mp_value_t *value, size_t index, int v) {
  MP_CHECK_ARG(v == 0 || v == 1, "mp_value_set_bool", "v must be 0 or 1");
  uint8_t *p;
  int r = element(&p, value, index, "mp_value_set_bool", {MP_TYPE_BOOL});
  if (r == MP_OK) __atomic_store_n(p, uint8_t(v), __ATOMIC_SEQ_CST);
  return r;
}

}  // extern "C"
