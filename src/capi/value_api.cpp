// Public entry points: mp_shm_*, mp_value_*.
#include <cfloat>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "capi/object_api.hpp"

using namespace mp;

namespace {

constexpr size_t kMaxShared = size_t(1) << 40;

#define MP_CHECK_HANDLE(h, op) MP_CHECK_ARG(valid_handle(h), op, "NULL or not a live handle")

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
  *out = reinterpret_cast<T *>(v->extra()) + index;
  return MP_OK;
}

// The range of an integer type narrower than 64 bits; false for the
// other types.
bool narrow_range(uint32_t type, int64_t *lo, int64_t *hi) {
  switch (type) {
    case MP_TYPE_INT32: *lo = INT32_MIN, *hi = INT32_MAX; return true;
    case MP_TYPE_INT16: *lo = INT16_MIN, *hi = INT16_MAX; return true;
    case MP_TYPE_UINT16: *lo = 0, *hi = UINT16_MAX; return true;
    case MP_TYPE_INT8: *lo = INT8_MIN, *hi = INT8_MAX; return true;
    case MP_TYPE_UINT8:
    case MP_TYPE_CHAR: *lo = 0, *hi = UINT8_MAX; return true;
  }
  return false;
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

template <class P>
using element_t = std::remove_pointer_t<P>;

// A float element keeps its bits in a uint32_t (read and written whole).
float to_float(double v) {
  if (std::isfinite(v) && std::fabs(v) > FLT_MAX) return v > 0 ? HUGE_VALF : -HUGE_VALF;
  return float(v);  // in range (or inf, nan): defined
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
  int type = enum_value(type_arg);
  size_t elem = value_element_size(uint32_t(type));
  MP_CHECK_ARG(elem > 0, op, "unknown type");
  MP_CHECK_ARG(count > 0 && count <= kMaxShared / elem, op, "count must be > 0 and not huge");
  MP_CHECK_ARG(flags == 0 || flags == MP_VALUE_LOCK, op, "unknown flags");
  return guarded(op, [&] {
    return new_object(out, ObjectKind::kValue, count * elem, [&](mp_value &h) {
      h.shared->type = uint32_t(type);
      h.shared->flags = uint32_t(flags);
      h.shared->count = count;
      lock_init(h.shared->lock, false);
      return int(MP_OK);
    });
  });
}

MP_EXTERN int mp_value_from_fd(mp_value_t **out, int fd) {
  const char *op = "mp_value_from_fd";
  int r = object_from_fd(out, fd, ObjectKind::kValue, op);
  if (r != MP_OK) return r;
  const ValueShared &s = *(*out)->shared;
  size_t elem = value_element_size(s.type);
  if (!elem || s.count == 0 || s.count > (*out)->extra_size() / elem ||
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
  if (valid_handle(value) && value->shared->type == MP_TYPE_FLOAT) {
    uint32_t *p;
    int r = element(&p, value, index, "mp_value_get_f64", {MP_TYPE_FLOAT});
    if (r != MP_OK) return r;
    uint32_t bits = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    float f;
    memcpy(&f, &bits, sizeof f);
    *out = f;
    return MP_OK;
  }
  uint64_t *p;
  int r = element(&p, value, index, "mp_value_get_f64", {MP_TYPE_DOUBLE});
  if (r != MP_OK) return r;
  uint64_t bits = __atomic_load_n(p, __ATOMIC_SEQ_CST);
  memcpy(out, &bits, sizeof bits);
  return MP_OK;
}

MP_EXTERN int mp_value_set_f64(mp_value_t *value, size_t index, double v) {
  if (valid_handle(value) && value->shared->type == MP_TYPE_FLOAT) {
    uint32_t *p;
    int r = element(&p, value, index, "mp_value_set_f64", {MP_TYPE_FLOAT});
    if (r != MP_OK) return r;
    float f = to_float(v);
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    __atomic_store_n(p, bits, __ATOMIC_SEQ_CST);
    return MP_OK;
  }
  uint64_t *p;
  int r = element(&p, value, index, "mp_value_set_f64", {MP_TYPE_DOUBLE});
  if (r != MP_OK) return r;
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  __atomic_store_n(p, bits, __ATOMIC_SEQ_CST);
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
  if (!(value->shared->flags & MP_VALUE_LOCK))
    return fail(MP_ESTATE, "%s: the value was created without MP_VALUE_LOCK", op);
  return report_cancel(op, lock_acquire(value->shared->lock, Deadline(timeout_ms)));
}

MP_EXTERN int mp_value_release(mp_value_t *value) {
  const char *op = "mp_value_release";
  MP_CHECK_HANDLE(value, op);
  if (!(value->shared->flags & MP_VALUE_LOCK))
    return fail(MP_ESTATE, "%s: the value was created without MP_VALUE_LOCK", op);
  return lock_release(value->shared->lock);
}

}  // extern "C"
