/* What the .cxx files of the Ruby extension share: the GVL helpers, the
 * functions SWIG wraps (native_api.h), and the helpers below, which are
 * not methods of Multiproc::Native. */
#ifndef MULTIPROC_RUBY_EXT_HPP
#define MULTIPROC_RUBY_EXT_HPP

#include <stddef.h>
#include <stdint.h>

#include <ruby.h>

#include <multiproc.h>

#include "gvl.hpp"
#include "native_api.h"

/* The kinds of SWIG handle objects the fast paths take (mp_rb_unwrap). */
enum mp_rb_kind { MP_RB_KIND_QUEUE, MP_RB_KIND_CONN, MP_RB_KIND_PROCESS, MP_RB_KIND_EVENT };

/* The C pointer inside obj, a SWIG handle object of kind; raises
 * TypeError when SWIG did not make obj as one. Defined in ruby.i: only the
 * SWIG wrapper sees SWIG's type table. */
void *mp_rb_swig_ptr(VALUE obj, mp_rb_kind kind);

/* mp_rb_swig_ptr with the class of the first accepted object remembered
 * in *klass, so that the next objects need only a compare (common.cxx). */
void *mp_rb_unwrap(VALUE obj, mp_rb_kind kind, VALUE *klass);

/* A timeout argument of the fast paths: Integer milliseconds, nil = forever. */
int64_t mp_rb_timeout(VALUE ms);

/* The module Multiproc (pinned once found). */
VALUE mp_rb_module(void);

/* Raise Multiproc.error_for(code, op). */
void mp_rb_raise_code(int code, const char *op);

/* Multiproc::Codec (codec.cxx): obj's tag byte (0: Marshal), obj appended
 * to the String buf, the object encoded in bytes. */
char mp_rb_codec_tag(VALUE obj);
void mp_rb_codec_append(VALUE buf, VALUE obj);
VALUE mp_rb_codec_load_bytes(const char *p, size_t len);

#endif
