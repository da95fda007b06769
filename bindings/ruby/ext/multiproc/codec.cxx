/* Multiproc::Codec in C: the encoding of pool arguments and results
 * (also used by the pool tasks of targets.cxx and the results of
 * pool_ext.cxx). */
#include <ruby/encoding.h>

#include "ext.hpp"

/* Pool arguments and results (Multiproc::Codec): a String (not a
 * subclass) in UTF-8, ASCII-8BIT or US-ASCII travels as a tag byte and its
 * bytes; anything else as Marshal, whose output starts with "\x04", never
 * a tag. The tag of obj, or 0 when it goes through Marshal. */
char mp_rb_codec_tag(VALUE obj) {
  if (!RB_TYPE_P(obj, T_STRING) || rb_obj_class(obj) != rb_cString) return 0;
  int enc = ENCODING_GET(obj);
  if (enc == rb_utf8_encindex()) return 'u';
  if (enc == rb_ascii8bit_encindex()) return 'b';
  if (enc == rb_usascii_encindex()) return 'a';
  return 0;
}

/* Append obj's encoding to the String buf (may raise: Marshal). */
void mp_rb_codec_append(VALUE buf, VALUE obj) {
  char tag = mp_rb_codec_tag(obj);
  VALUE bytes = tag ? obj : rb_marshal_dump(obj, Qnil);
  if (tag) rb_str_buf_cat(buf, &tag, 1);
  rb_str_buf_cat(buf, RSTRING_PTR(bytes), RSTRING_LEN(bytes));
  RB_GC_GUARD(bytes);
}

/* The object encoded in bytes (may raise: Marshal). */
VALUE mp_rb_codec_load_bytes(const char *p, size_t len) {
  if (len > 0) {
    switch (p[0]) {
    case 'u': return rb_utf8_str_new(p + 1, (long)len - 1);
    case 'b': return rb_str_new(p + 1, (long)len - 1);
    case 'a': return rb_usascii_str_new(p + 1, (long)len - 1);
    }
  }
  /* Marshal reads the String as it goes and allocates: keep it alive. */
  VALUE src = rb_str_new(p, (long)len);
  VALUE value = rb_marshal_load(src);
  RB_GC_GUARD(src);
  return value;
}

/* Multiproc::Codec.dump / .load (see mp_rb_codec_tag). */
VALUE mp_rb_codec_dump(VALUE obj) {
  if (!mp_rb_codec_tag(obj)) return rb_marshal_dump(obj, Qnil);
  VALUE buf = rb_str_buf_new(RSTRING_LEN(obj) + 1);
  mp_rb_codec_append(buf, obj);
  return buf;
}

VALUE mp_rb_codec_load(VALUE bytes) {
  StringValue(bytes);
  VALUE v = mp_rb_codec_load_bytes(RSTRING_PTR(bytes), (size_t)RSTRING_LEN(bytes));
  RB_GC_GUARD(bytes);
  return v;
}
