/**
 * @file
 * multiproc: shared state (shared_memory.SharedMemory, Value, Array), split from
 * multiproc/sync.h, which includes it. Part of <multiproc.h>; include that.
 */
#ifndef MULTIPROC_SHARED_H
#define MULTIPROC_SHARED_H

#include "multiproc/sync.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Shared memory (shared_memory.SharedMemory, Value, Array)
 * ---------------------------------------------------------------------- */

/** A block of bytes shared between the processes it is passed to. */
typedef struct mp_shm mp_shm_t;

/**
 * Create a zero-filled block of size bytes (> 0). The memory is allocated
 * at once, so a full /dev/shm is MP_ENOSPC here, not a SIGBUS later.
 * Errors: MP_EINVAL, MP_ENOSPC, MP_ENOMEM, MP_ESYS. Since 0.1.
 */
MP_EXTERN int mp_shm_new(mp_shm_t **out, size_t size);

/** Open a block from a received descriptor (takes ownership); errors as
 * mp_lock_from_fd(). Since 0.1. */
MP_EXTERN int mp_shm_from_fd(mp_shm_t **out, int fd);

/**
 * Open the shared memory block published under the address's name by a broker
 * (mp_broker_publish()): mp_fd_open() then mp_shm_from_fd(). The shared memory block is
 * the real shared object, used with no broker in the data path; it stays
 * usable when the broker ends.
 *
 * @param[out] out   the shared memory block; free it as one made here.
 * @param address    "unix:/path\#name" or "unix:\@name\#name" (broker.h).
 * @param timeout_ms for connecting and the reply; MP_FOREVER waits.
 * Errors: those of mp_fd_open(), plus those of mp_shm_from_fd(): MP_EINVAL
 * when the name holds another kind of object. Blocks up to timeout_ms.
 * Since 0.4.
 */
MP_EXTERN int mp_shm_open(mp_shm_t **out, const char *address, int64_t timeout_ms);

/** The block's descriptor, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_shm_fileno(mp_shm_t *shm);

/** The block's address in this process, valid until mp_shm_free(); NULL
 * for a bad handle. Since 0.1. */
MP_EXTERN void *mp_shm_data(mp_shm_t *shm);

/**
 * The block's size in bytes.
 * @param[out] out  the size; 0 on an error.
 * Errors: MP_EINVAL (NULL out, NULL or not a live handle). Never blocks.
 * Since 0.3.
 */
MP_EXTERN int mp_shm_size2(size_t *out, mp_shm_t *shm);

/** Deprecated since 0.3: use mp_shm_size2(), which reports a bad handle as
 * MP_EINVAL (the getter rule of docs/style.md). The block's size in bytes
 * (0 for a bad handle). Since 0.1. */
MP_EXTERN size_t mp_shm_size(mp_shm_t *shm);

/** Unmap the block in this process; other processes keep it; NULL does
 * nothing. Since 0.1. */
MP_EXTERN void mp_shm_free(mp_shm_t *shm);

/** A typed value or array in shared memory (Value, Array). */
typedef struct mp_value mp_value_t;

/**
 * Element types of mp_value_new(). The integer types are read and written
 * with the _i64 accessors (mp_value_add_i64() wraps around within the
 * type, as ctypes does), MP_TYPE_FLOAT with the _f64 ones (a double is
 * rounded to float on the way in).
 */
typedef enum mp_type {
  MP_TYPE_INT32 = 1,  /**< int32_t, Python's 'i' */
  MP_TYPE_INT64 = 2,  /**< int64_t, Python's 'q' */
  MP_TYPE_UINT64 = 3, /**< uint64_t, Python's 'Q' */
  MP_TYPE_DOUBLE = 4, /**< double, Python's 'd' */
  MP_TYPE_BYTES = 5,  /**< bytes, Python's 'c' array: a byte string */
  MP_TYPE_INT16 = 6,  /**< int16_t, Python's 'h'. Since 0.2. */
  MP_TYPE_UINT16 = 7, /**< uint16_t, Python's 'H'. Since 0.2. */
  MP_TYPE_INT8 = 8,   /**< int8_t, Python's 'b'. Since 0.2. */
  MP_TYPE_UINT8 = 9,  /**< uint8_t, Python's 'B'. Since 0.2. */
  /** one byte per element, Python's 'c' Value (a single char; an element
   * reads as 0-255). For a byte string use MP_TYPE_BYTES. Since 0.2. */
  MP_TYPE_CHAR = 10,
  MP_TYPE_FLOAT = 11, /**< float, Python's 'f'. Since 0.2. */
  /** bool, Python's '?' (ctypes' c_bool): one byte, 0 or 1, read and
   * written with mp_value_get_bool()/mp_value_set_bool(). Since 0.4. */
  MP_TYPE_BOOL = 12,
  /** The type mp_value_type() reports for records (mp_value_new_record());
   * not an argument of mp_value_new(). Since 0.4. */
  MP_TYPE_RECORD = 13
} mp_type_t;

/** Flag of mp_value_new(): with a lock (lock=True), for compound updates
 * with mp_value_acquire()/mp_value_release(). */
#define MP_VALUE_LOCK 1

/**
 * Create `count` zero-initialised elements of `type` (count 1: a Value;
 * more: an Array; for MP_TYPE_BYTES, count is the byte capacity).
 * Errors: MP_EINVAL (unknown type or flags, count 0 or too large),
 * MP_ENOSPC, MP_ENOMEM, MP_ESYS. Since 0.1.
 */
MP_EXTERN int mp_value_new(mp_value_t **out, mp_type_t type, size_t count, int flags);

/**
 * Create `count` zero-initialised records of numbers: Python's
 * Array(Point, n) with Point a ctypes Structure (count 1: Value(Point)).
 *
 * A record's fields are `fields`, one Python typecode per field in order:
 * 'b' int8, 'B' uint8, 'h' int16, 'H' uint16, 'i' int32, 'q' int64,
 * 'Q' uint64, 'f' float, 'd' double, 'c' char, '?' bool; 1 to 32 fields.
 * They lie as a C compiler and ctypes lay out the struct of these members
 * (natural alignment): each field at the next offset that is a multiple of
 * its size, the record padded to a multiple of its largest field. So
 * `struct point { double x, y; }` is the record "dd", and
 * mp_value_get_record() copies a record into such a struct. Fields are
 * read and written with mp_value_get_field_i64()/_f64() and their setters,
 * each field atomically; a whole record under the value's lock.
 *
 * @param[out] out  the records; free with mp_value_free().
 * @param fields    the typecodes, e.g. "dd" for Point(x, y).
 * @param count     the number of records (> 0).
 * @param flags     0 or MP_VALUE_LOCK (lock=True).
 * Errors: MP_EINVAL (NULL out or fields, an unknown typecode, no field or
 * more than 32, count 0 or too large, unknown flags), MP_ENOSPC, MP_ENOMEM,
 * MP_ESYS. Never blocks. Since 0.4.
 */
MP_EXTERN int mp_value_new_record(mp_value_t **out, const char *fields, size_t count, int flags);

/**
 * Create a value or array guarded by an existing lock (Python's
 * Value('i', 0, lock=lock)): the values and arrays made with one lock are
 * updated together under it. mp_value_acquire() and mp_value_release()
 * take and release that lock, the same as mp_lock_acquire() on it.
 *
 * The value records which lock it is (its memory object). A process that
 * opens the value (mp_value_from_fd(), mp_value_open()) also opens the
 * lock, passed to it alongside the value, and binds its handle on it with
 * mp_value_bind_lock() before mp_value_acquire(), as mp_cond_from_fd()
 * takes a condition's lock. Elements are read and written without the
 * lock as in any value.
 *
 * @param[out] out  the value; free with mp_value_free().
 * @param type      as mp_value_new().
 * @param count     as mp_value_new().
 * @param lock      borrowed: it must outlive the value's handle. A
 *                  recursive lock (MP_LOCK_RECURSIVE) may be held already
 *                  when mp_value_acquire() takes it again.
 * Errors: those of mp_value_new(); MP_EINVAL for a NULL or dead lock.
 * Never blocks. Since 0.4.
 */
MP_EXTERN int mp_value_new_with_lock(mp_value_t **out, mp_type_t type, size_t count,
                                     mp_lock_t *lock);

/**
 * Create records (mp_value_new_record()) guarded by an existing lock, as
 * mp_value_new_with_lock(): Python's Array(Point, n, lock=lock).
 * @param[out] out  the records; free with mp_value_free().
 * @param fields    the typecodes, as mp_value_new_record().
 * @param count     the number of records (> 0).
 * @param lock      borrowed: it must outlive the value's handle.
 * Errors: those of mp_value_new_record(); MP_EINVAL for a NULL or dead
 * lock. Never blocks. Since 0.4.
 */
MP_EXTERN int mp_value_new_record_with_lock(mp_value_t **out, const char *fields, size_t count,
                                            mp_lock_t *lock);

/**
 * Bind this process's handle on a value made with a shared lock
 * (mp_value_new_with_lock(), mp_value_new_record_with_lock()) to this
 * process's handle on that lock, so that mp_value_acquire() can take it.
 * Needed in a process that opened the value; binding again replaces the
 * handle.
 * @param value  the value.
 * @param lock   borrowed: this process's handle on the same lock (checked:
 *               another lock is MP_EINVAL); it must outlive the value's
 *               handle.
 * Errors: MP_EINVAL (NULL or dead handles, not the value's lock), MP_ESTATE
 * (the value has no shared lock). Never blocks. Since 0.4.
 */
MP_EXTERN int mp_value_bind_lock(mp_value_t *value, mp_lock_t *lock);

/** Open a value from a received descriptor (takes ownership); errors as
 * mp_lock_from_fd(). Since 0.1. */
MP_EXTERN int mp_value_from_fd(mp_value_t **out, int fd);

/**
 * Open the value or array published under the address's name by a broker
 * (mp_broker_publish()): mp_fd_open() then mp_value_from_fd(). The value or array is
 * the real shared object, used with no broker in the data path; it stays
 * usable when the broker ends.
 *
 * @param[out] out   the value or array; free it as one made here.
 * @param address    "unix:/path\#name" or "unix:\@name\#name" (broker.h).
 * @param timeout_ms for connecting and the reply; MP_FOREVER waits.
 * Errors: those of mp_fd_open(), plus those of mp_value_from_fd(): MP_EINVAL
 * when the name holds another kind of object. Blocks up to timeout_ms.
 * Since 0.4.
 */
MP_EXTERN int mp_value_open(mp_value_t **out, const char *address, int64_t timeout_ms);

/** The value's descriptor, or MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_value_fileno(mp_value_t *value);

/** The element type, or MP_EINVAL. Since 0.4 it may also be MP_TYPE_BOOL
 * or MP_TYPE_RECORD: a caller handles types it does not know. Since 0.1. */
MP_EXTERN int mp_value_type(mp_value_t *value);

/**
 * The number of elements (bytes for MP_TYPE_BYTES).
 * @param[out] out  the count; 0 on an error.
 * Errors: MP_EINVAL (NULL out, NULL or not a live handle). Never blocks.
 * Since 0.3.
 */
MP_EXTERN int mp_value_count2(size_t *out, mp_value_t *value);

/** Deprecated since 0.3: use mp_value_count2(), which reports a bad handle
 * as MP_EINVAL (the getter rule of docs/style.md). The number of elements;
 * 0 for a bad handle. Since 0.1. */
MP_EXTERN size_t mp_value_count(mp_value_t *value);

/**
 * Read element index as a signed integer (any integer type: MP_TYPE_INT32,
 * _INT64, _INT16, _UINT16, _INT8, _UINT8, _CHAR; MP_TYPE_UINT64 if it
 * fits). Each element is read atomically.
 * Errors: MP_EINVAL (NULL, index out of range, a type that does not fit).
 * Since 0.1.
 */
MP_EXTERN int mp_value_get_i64(int64_t *out, mp_value_t *value, size_t index);

/** Write element index from a signed integer (which must fit the type).
 * Errors: MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_value_set_i64(mp_value_t *value, size_t index, int64_t v);

/** Read element index of an MP_TYPE_UINT64 value. Errors: MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_value_get_u64(uint64_t *out, mp_value_t *value, size_t index);

/** Write element index of an MP_TYPE_UINT64 value. Errors: MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_value_set_u64(mp_value_t *value, size_t index, uint64_t v);

/** Read element index of an MP_TYPE_DOUBLE or MP_TYPE_FLOAT value. Errors:
 * MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_value_get_f64(double *out, mp_value_t *value, size_t index);

/** Write element index of an MP_TYPE_DOUBLE or MP_TYPE_FLOAT value (rounded
 * to float, out of range giving infinity, as ctypes' c_float). Errors:
 * MP_EINVAL. Since 0.1. */
MP_EXTERN int mp_value_set_f64(mp_value_t *value, size_t index, double v);

/**
 * Atomically add delta to an integer element and report the new value
 * (no lock needed). The types narrower than 64 bits wrap around as ctypes
 * does; delta must fit the type (for an unsigned one, its negation may).
 * Errors: MP_EINVAL (not an integer type, index, delta). Since 0.1.
 */
MP_EXTERN int mp_value_add_i64(int64_t *out, mp_value_t *value, size_t index,
                               int64_t delta);

/**
 * Atomically replace an integer element that equals expected by desired
 * (C11's atomic_compare_exchange_strong). No lock needed.
 * @param[out] actual  the element's value before the call (expected when
 *                     it was replaced); may be NULL.
 * Returns: 1 if replaced, 0 if the element differed. Errors: MP_EINVAL (NULL
 * or not a live handle, not an integer type, index, expected or desired not
 * fitting the type). Never blocks. Since 0.3.
 */
MP_EXTERN int mp_value_compare_exchange_i64(int64_t *actual, mp_value_t *value, size_t index,
                                            int64_t expected, int64_t desired);

/**
 * Deprecated since 0.3: use mp_value_compare_exchange_i64(), the same call
 * with the out-parameter first (docs/style.md).
 * Atomically replace an integer element that equals expected by desired.
 * Returns: 1 if replaced, 0 if the element differed (then *actual, if not
 * NULL, holds its value), or MP_EINVAL. Since 0.1.
 */
MP_EXTERN int mp_value_cas_i64(mp_value_t *value, size_t index, int64_t expected,
                               int64_t desired, int64_t *actual);

/**
 * Copy the bytes of an MP_TYPE_BYTES value (up to its length, the last
 * set_bytes) into buf.
 * @param[out] out_len  the length; on MP_ENOSPC the size needed.
 * Errors: MP_EINVAL, MP_ENOSPC. Since 0.1.
 */
MP_EXTERN int mp_value_get_bytes(size_t *out_len, mp_value_t *value, void *buf, size_t cap);

/** Replace the bytes of an MP_TYPE_BYTES value. Errors: MP_EINVAL,
 * MP_ENOSPC (len above the capacity). Since 0.1. */
MP_EXTERN int mp_value_set_bytes(mp_value_t *value, const void *buf, size_t len);

/**
 * Read element index of an MP_TYPE_BOOL value, atomically.
 * @param[out] out  0 or 1.
 * Errors: MP_EINVAL (NULL out, NULL or dead handle, another type, index out
 * of range). Never blocks. Since 0.4.
 */
MP_EXTERN int mp_value_get_bool(int *out, mp_value_t *value, size_t index);

/**
 * Write element index of an MP_TYPE_BOOL value, atomically.
 * @param v  0 or 1; anything else is MP_EINVAL.
 * Errors: MP_EINVAL (NULL or dead handle, another type, index, v). Never
 * blocks. Since 0.4.
 */
MP_EXTERN int mp_value_set_bool(mp_value_t *value, size_t index, int v);

/** The number of fields of a record (mp_value_new_record()); 0 for any
 * other value; MP_EINVAL for a NULL or dead handle. Never blocks.
 * Since 0.4. */
MP_EXTERN int mp_value_field_count(mp_value_t *value);

/** The type (mp_type_t) of field `field` of a record, or MP_EINVAL (NULL
 * or dead handle, not a record, field out of range). Never blocks.
 * Since 0.4. */
MP_EXTERN int mp_value_field_type(mp_value_t *value, size_t field);

/**
 * Read field `field` of record index as a signed integer, atomically: an
 * integer field as mp_value_get_i64() reads an element ('Q' if it fits),
 * a '?' field as 0 or 1.
 * @param[out] out  the field's value.
 * Errors: MP_EINVAL (NULL out, NULL or dead handle, not a record, index or
 * field out of range, a float field, a 'Q' field above INT64_MAX). Never
 * blocks. Since 0.4.
 */
MP_EXTERN int mp_value_get_field_i64(int64_t *out, mp_value_t *value, size_t index,
                                     size_t field);

/** Write field `field` of record index from a signed integer that fits
 * the field's type ('?': 0 or 1), atomically. Errors: MP_EINVAL (as
 * mp_value_get_field_i64(), v not fitting). Never blocks. Since 0.4. */
MP_EXTERN int mp_value_set_field_i64(mp_value_t *value, size_t index, size_t field, int64_t v);

/**
 * Read a 'd' or 'f' field of record index, atomically.
 * @param[out] out  the field's value.
 * Errors: MP_EINVAL (NULL out, NULL or dead handle, not a record, index or
 * field out of range, an integer field). Never blocks. Since 0.4.
 */
MP_EXTERN int mp_value_get_field_f64(double *out, mp_value_t *value, size_t index,
                                     size_t field);

/** Write a 'd' or 'f' field of record index ('f' rounded as
 * mp_value_set_f64() does), atomically. Errors: as
 * mp_value_get_field_f64(). Never blocks. Since 0.4. */
MP_EXTERN int mp_value_set_field_f64(mp_value_t *value, size_t index, size_t field, double v);

/**
 * Copy record index into buf, laid out as the C struct of its fields
 * (mp_value_new_record()). Not atomic as a whole: hold the value's lock
 * where another process may write the record meanwhile.
 * @param[out] buf  receives the record.
 * @param size      buf's size: exactly the record's size (sizeof the
 *                  struct), anything else is MP_EINVAL naming the size.
 * Errors: MP_EINVAL (NULL buf, NULL or dead handle, not a record, index,
 * size). Never blocks. Since 0.4.
 */
MP_EXTERN int mp_value_get_record(void *buf, size_t size, mp_value_t *value, size_t index);

/** Replace record index by the struct in buf (size: exactly the record's
 * size); not atomic as a whole, as mp_value_get_record(). Errors: as
 * mp_value_get_record(). Never blocks. Since 0.4. */
MP_EXTERN int mp_value_set_record(mp_value_t *value, size_t index, const void *buf, size_t size);

/**
 * Take the value's lock (value.get_lock().acquire()) for a compound update
 * such as read-modify-write of a double. Returns and errors as
 * mp_lock_acquire(), and MP_ESTATE for a value created without
 * MP_VALUE_LOCK or a shared lock. Since 0.4, for a value made with a
 * shared lock (mp_value_new_with_lock()), that lock; MP_ESTATE if this
 * process's handle was not bound to it (mp_value_bind_lock()). Since 0.1.
 */
MP_EXTERN int mp_value_acquire(mp_value_t *value, int64_t timeout_ms);

/** Release the value's lock (its own or, since 0.4, the shared one);
 * errors as mp_lock_release() and mp_value_acquire(). Since 0.1. */
MP_EXTERN int mp_value_release(mp_value_t *value);

/** Unmap the value in this process; NULL does nothing. Since 0.1. */
MP_EXTERN void mp_value_free(mp_value_t *value);

#ifdef __cplusplus
}
#endif

#endif /* MULTIPROC_SHARED_H */
