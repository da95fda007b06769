// Public entry points of record values (Value/Array of a ctypes
// Structure): mp_value_field_*, mp_value_get/set_field_*,
// mp_value_get/set_record. Records are made by mp_value_new_record() in
// value_api.cpp.
#include "capi/object_api.hpp"
#include "capi/value_access.hpp"

using namespace mp;

namespace {

// Record index of a record value, checked.
int record_at(char **out, mp_value *v, size_t index, const char *op) {
  MP_CHECK_HANDLE(v, op);
  const ValueShared &s = *v->shared;
  if (s.type != MP_TYPE_RECORD) return fail(MP_EINVAL, "%s: the value is not a record", op);
  if (index >= s.count)
    return fail(MP_EINVAL, "%s: index %zu is out of range (count %llu)", op, index,
                (unsigned long long)s.count);
  *out = v->extra() + index * s.record_size;
  return MP_OK;
}

// Record index as a whole, for a copy of size bytes (the record's size).
int whole_record_at(char **out, mp_value *v, size_t index, size_t size, const char *op) {
  int r = record_at(out, v, index, op);
  if (r != MP_OK) return r;
  if (size != v->shared->record_size)
    return fail(MP_EINVAL, "%s: size %zu, the record has %u bytes", op, size,
                v->shared->record_size);
  return MP_OK;
}

// Field `field` of record index: its address and type.
int record_field(void **out, uint32_t *type, mp_value *v, size_t index, size_t field,
                 const char *op) {
  char *rec;
  int r = record_at(&rec, v, index, op);
  if (r != MP_OK) return r;
  const ValueShared &s = *v->shared;
  if (field >= s.nfields)
    return fail(MP_EINVAL, "%s: field %zu is out of range (%u fields)", op, field, s.nfields);
  *type = s.fields[field];
  *out = rec + record_field_offset(s.fields, field);
  return MP_OK;
}

bool is_float(uint32_t type) { return type == MP_TYPE_DOUBLE || type == MP_TYPE_FLOAT; }

}  // namespace

extern "C" {

MP_EXTERN int mp_value_field_count(mp_value_t *value) {
  MP_CHECK_HANDLE(value, "mp_value_field_count");
  return value->shared->type == MP_TYPE_RECORD ? int(value->shared->nfields) : 0;
}

MP_EXTERN int mp_value_field_type(mp_value_t *value, size_t field) {
  void *p;
  uint32_t type = 0;
  int r = record_field(&p, &type, value, 0, field, "mp_value_field_type");
  return r == MP_OK ? int(type) : r;
}

MP_EXTERN int mp_value_get_field_i64(int64_t *out, mp_value_t *value, size_t index,
                                     size_t field) {
  const char *op = "mp_value_get_field_i64";
  MP_CHECK_ARG(out, op, "out is NULL");
  void *p;
  uint32_t type;
  int64_t lo, hi;
  int r = record_field(&p, &type, value, index, field, op);
  if (r != MP_OK) return r;
  if (!int_range(type, &lo, &hi)) return fail(MP_EINVAL, "%s: a float field: use _f64", op);
  return with_int(type, p, [&](auto *q) {
    auto x = __atomic_load_n(q, __ATOMIC_SEQ_CST);
    if (type == MP_TYPE_UINT64 && uint64_t(x) > uint64_t(INT64_MAX))
      return fail(MP_EINVAL, "%s: the field does not fit in int64", op);
    *out = type == MP_TYPE_BOOL ? int64_t(x != 0) : int64_t(x);
    return int(MP_OK);
  });
}

MP_EXTERN int mp_value_set_field_i64(mp_value_t *value, size_t index, size_t field, int64_t v) {
  const char *op = "mp_value_set_field_i64";
  void *p;
  uint32_t type;
  int64_t lo, hi;
  int r = record_field(&p, &type, value, index, field, op);
  if (r != MP_OK) return r;
  if (!int_range(type, &lo, &hi)) return fail(MP_EINVAL, "%s: a float field: use _f64", op);
  MP_CHECK_ARG(v >= lo && v <= hi, op, "the value does not fit the field's type");
  return with_int(type, p, [&](auto *q) {
    __atomic_store_n(q, element_t<decltype(q)>(v), __ATOMIC_SEQ_CST);
    return int(MP_OK);
  });
}

MP_EXTERN int mp_value_get_field_f64(double *out, mp_value_t *value, size_t index,
                                     size_t field) {
  const char *op = "mp_value_get_field_f64";
  MP_CHECK_ARG(out, op, "out is NULL");
  void *p;
  uint32_t type;
  int r = record_field(&p, &type, value, index, field, op);
  if (r != MP_OK) return r;
  if (!is_float(type)) return fail(MP_EINVAL, "%s: an integer field: use _i64", op);
  *out = load_f64(type, p);
  return MP_OK;
}

MP_EXTERN int mp_value_set_field_f64(mp_value_t *value, size_t index, size_t field, double v) {
  const char *op = "mp_value_set_field_f64";
  void *p;
  uint32_t type;
  int r = record_field(&p, &type, value, index, field, op);
  if (r != MP_OK) return r;
  if (!is_float(type)) return fail(MP_EINVAL, "%s: an integer field: use _i64", op);
  store_f64(type, p, v);
  return MP_OK;
}

MP_EXTERN int mp_value_get_record(void *buf, size_t size, mp_value_t *value, size_t index) {
  const char *op = "mp_value_get_record";
  MP_CHECK_ARG(buf, op, "buf is NULL");
  char *rec;
  int r = whole_record_at(&rec, value, index, size, op);
  if (r != MP_OK) return r;
  memcpy(buf, rec, size);
  return MP_OK;
}

MP_EXTERN int mp_value_set_record(mp_value_t *value, size_t index, const void *buf, size_t size) {
  const char *op = "mp_value_set_record";
  MP_CHECK_ARG(buf, op, "buf is NULL");
  char *rec;
  int r = whole_record_at(&rec, value, index, size, op);
  if (r != MP_OK) return r;
  memcpy(rec, buf, size);
  return MP_OK;
}

}  // extern "C"
