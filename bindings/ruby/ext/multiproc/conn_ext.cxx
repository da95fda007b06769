/* Connection#recv_bytes_into: a message received into the caller's
 * String, without the GVL while it waits. */
#include <string.h>

#include "ext.hpp"

/* mp_conn_recv_into() into the String buf from offset on (the room is
 * buf's bytesize - offset): [rc, len]. On MP_OK the message is the len
 * bytes at offset; on MP_ENOSPC len is the size needed and the message
 * stays for the next receive. As mp_rb_queue_get_into, the library writes
 * into a buffer of ours (freed by the GC also when a Ruby interrupt raises
 * out of the wait), so the String is touched only with the GVL held. */
VALUE mp_rb_conn_recv_into(mp_conn_t *conn, VALUE buf, size_t offset, int64_t timeout_ms) {
  Check_Type(buf, T_STRING);
  rb_str_modify(buf); /* FrozenError before anything is received */
  size_t size = (size_t)RSTRING_LEN(buf);
  if (offset > size) rb_raise(rb_eArgError, "offset %zu is past the buffer's %zu bytes", offset, size);
  size_t cap = size - offset, len = 0;
  VALUE tmp_v;
  char *tmp = ALLOCV_N(char, tmp_v, cap ? cap : 1);
  int rc;
  mp_rb_blocking(rc, &timeout_ms, MP_RB_RETRY, [&]() {
    rc = mp_conn_recv_into(&len, conn, tmp, cap, timeout_ms);
  });
  if (rc == MP_OK) {
    rb_str_modify(buf);
    if ((size_t)RSTRING_LEN(buf) < offset + len) rb_str_resize(buf, (long)(offset + len)); /* shrunk meanwhile */
    memcpy(RSTRING_PTR(buf) + offset, tmp, len);
  }
  ALLOCV_END(tmp_v);
  return rb_ary_new_from_args(2, INT2FIX(rc), SIZET2NUM(len));
}
