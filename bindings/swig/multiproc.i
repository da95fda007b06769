/* The one SWIG interface of multiproc, used by every language binding.
 *
 * It wraps the public C header as it is; the language files included below
 * hold the typemaps that turn the C conventions into each language's
 * (byte strings in and out, out-parameters first, negative error codes).
 * The generated code is a private layer: users see only the hand-written
 * idiomatic package over it (bindings/go, bindings/ruby).
 *
 * Rules for this file: only what both languages share. Language-specific
 * typemaps, renames and helpers go in go.i or ruby.i.
 */
#if defined(SWIGRUBY)
/* Ruby: the generated layer is the private module Multiproc::Native,
 * loaded by `require "multiproc/native"` (Init_native). */
%module "multiproc::native"
#else
%module multiproc
#endif

%{
#include <multiproc.h>
%}

%include <stdint.i>

#if defined(SWIGGO)
%include "go.i"
#elif defined(SWIGRUBY)
%include "ruby.i"
#endif

/* The export macro means nothing to the wrapper. */
#define MP_EXTERN

%include "multiproc/core.h"
%include "multiproc/command.h"
%include "multiproc/process.h"
%include "multiproc/queue.h"
%include "multiproc/ipc.h"
%include "multiproc/sync.h"
%include "multiproc/shared.h"
%include "multiproc/dict.h"
%include "multiproc/pool.h"
%include "multiproc/broker.h"
%include "multiproc/listener.h"
