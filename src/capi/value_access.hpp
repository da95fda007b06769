// Reading and writing one element or record field of a shared value by its
// type code: what capi/value_api.cpp (values, arrays) and
// capi/value_record_api.cpp (record fields) both do.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "capi/object_api.hpp"

// The argument check of every value call (object_api.hpp: valid_handle).
#define MP_CHECK_HANDLE(h, op) MP_CHECK_ARG(valid_handle(h), op, "NULL or not a live handle")

namespace mp {

// The type a pointer to an element points to.
template <class P>
using element_t = std::remove_pointer_t<P>;

// The range of an integer type narrower than 64 bits; false for the
// other types.
inline bool narrow_range(uint32_t type, int64_t *lo, int64_t *hi) {
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

// A float element keeps its bits in a uint32_t (read and written whole).
inline float to_float(double v) {
  if (std::isfinite(v) && std::fabs(v) > FLT_MAX) return v > 0 ? HUGE_VALF : -HUGE_VALF;
  return float(v);  // in range (or inf, nan): defined
}

// A 'd' or 'f' element or field at p, read or written whole through its
// bits (a float's in a uint32_t).
inline double load_f64(uint32_t type, const void *p) {
  if (type == MP_TYPE_FLOAT) {
    uint32_t bits = __atomic_load_n(static_cast<const uint32_t *>(p), __ATOMIC_SEQ_CST);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
  }
  uint64_t bits = __atomic_load_n(static_cast<const uint64_t *>(p), __ATOMIC_SEQ_CST);
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

inline void store_f64(uint32_t type, void *p, double v) {
  if (type == MP_TYPE_FLOAT) {
    float f = to_float(v);
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    __atomic_store_n(static_cast<uint32_t *>(p), bits, __ATOMIC_SEQ_CST);
    return;
  }
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  __atomic_store_n(static_cast<uint64_t *>(p), bits, __ATOMIC_SEQ_CST);
}

// The range an integer element or field of type takes (bool: 0 or 1;
// uint64 through int64_t: up to INT64_MAX); false for the float types.
inline bool int_range(uint32_t type, int64_t *lo, int64_t *hi) {
  if (narrow_range(type, lo, hi)) return true;
  switch (type) {
    case MP_TYPE_BOOL: *lo = 0, *hi = 1; return true;
    case MP_TYPE_INT64: *lo = INT64_MIN, *hi = INT64_MAX; return true;
    case MP_TYPE_UINT64: *lo = 0, *hi = INT64_MAX; return true;
  }
  return false;
}

// Run f on an integer at p through a pointer of its type's own width.
template <class F>
int with_int(uint32_t type, void *p, F f) {
  switch (type) {
    case MP_TYPE_INT32: return f(static_cast<int32_t *>(p));
    case MP_TYPE_INT16: return f(static_cast<int16_t *>(p));
    case MP_TYPE_UINT16: return f(static_cast<uint16_t *>(p));
    case MP_TYPE_INT8: return f(static_cast<int8_t *>(p));
    case MP_TYPE_INT64: return f(static_cast<int64_t *>(p));
    case MP_TYPE_UINT64: return f(static_cast<uint64_t *>(p));
    default: return f(static_cast<uint8_t *>(p));  // UINT8, CHAR, BOOL
  }
}

}  // namespace mp
