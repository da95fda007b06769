// Errors inside the library: set this thread's detailed message and return
// the MP_E* code in one step, so every failure path reads `return fail(...)`.
#pragma once

#include "multiproc.h"

namespace mp {

// Record a formatted message for mp_last_error() and return code.
int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Record "op: what: strerror(err) (errno N)" and return the code that best
// matches err (ENOENT -> MP_ENOENT, EACCES -> MP_EACCES, ... else MP_ESYS).
int fail_errno(const char *op, const char *what, int err);

// The MP_E* code for an errno value.
int code_from_errno(int err);

// This thread's message buffer ("" when empty).
const char *last_error_message();

}  // namespace mp
