/* Values and shared memory: their bytes copied in and out, and the
 * zero-copy IO::Buffer view of a shared-memory block. */
#include <stdlib.h>
#include <string.h>

#include "ext.hpp"

/* The bytes of an MP_TYPE_BYTES value. */
int mp_rb_value_get_bytes(void **out, size_t *out_len, mp_value_t *value) {
  size_t cap = 0; /* stays 0 for a bad handle: mp_value_get_bytes reports it */
  (void)mp_value_count2(&cap, value);
  *out = malloc(cap ? cap : 1);
  if (!*out) return MP_ENOMEM;
  int rc = mp_value_get_bytes(out_len, value, *out, cap);
  if (rc < 0) {
    free(*out);
    *out = NULL;
    *out_len = 0;
  }
  return rc;
}

/* Copy len bytes at offset out of a shared-memory block. */
int mp_rb_shm_read(void **out, size_t *out_len, mp_shm_t *shm, size_t offset, size_t len) {
  size_t size = 0; /* stays 0 for a bad handle: the NULL base is refused */
  (void)mp_shm_size2(&size, shm);
  char *base = (char *)mp_shm_data(shm);
  if (!base || offset > size || len > size - offset) return MP_EINVAL;
  *out = malloc(len ? len : 1);
  if (!*out) return MP_ENOMEM;
  memcpy(*out, base + offset, len);
  *out_len = len;
  return MP_OK;
}

/* Copy the bytes of buf into a shared-memory block at offset. */
int mp_rb_shm_write(mp_shm_t *shm, size_t offset, const void *buf, size_t len) {
  size_t size = 0; /* stays 0 for a bad handle: the NULL base is refused */
  (void)mp_shm_size2(&size, shm);
  char *base = (char *)mp_shm_data(shm);
  if (!base || offset > size || len > size - offset) return MP_EINVAL;
  if (len) memcpy(base + offset, buf, len);
  return MP_OK;
}

#if __has_include(<ruby/io/buffer.h>)
#include <ruby/io/buffer.h>

/* SharedMemory#buffer's root: an IO::Buffer over the block's mapping in
 * this process (external memory: IO::Buffer never frees or resizes it).
 * owner (the SharedMemory) is kept alive by the buffer through a hidden
 * instance variable, so the mapping outlives every reachable buffer
 * unless the owner's release_handle frees this root first, which
 * invalidates the slices handed out (IO::Buffer checks a slice's source
 * on each access). */
VALUE mp_rb_shm_buffer(mp_shm_t *shm, VALUE owner) {
  size_t size = 0;
  void *base = mp_shm_data(shm);
  if (!base || mp_shm_size2(&size, shm) != MP_OK) mp_rb_raise_code(MP_EINVAL, "SharedMemory#buffer");
  VALUE buffer = rb_io_buffer_new(base, size, RB_IO_BUFFER_EXTERNAL);
  rb_ivar_set(buffer, rb_intern("multiproc_owner"), owner);
  return buffer;
}
#else
VALUE mp_rb_shm_buffer(mp_shm_t *, VALUE) {
  rb_raise(rb_eNotImpError, "SharedMemory#buffer needs IO::Buffer (Ruby >= 3.1)");
  return Qnil;
}
#endif
