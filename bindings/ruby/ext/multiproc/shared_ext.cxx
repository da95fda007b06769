/* Values and shared memory: their bytes copied in and out. */
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
