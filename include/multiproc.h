/**
 * @file
 * multiproc — Python's multiprocessing/subprocess model for C, Go and Ruby.
 *
 * This header (with the parts in multiproc/ it includes) is the whole public
 * C ABI. Anything not declared here is not published API. Every function is documented where it is declared, in one
 * fixed order: what it does, parameters, returns, errors, ownership,
 * blocking, since.
 *
 * Conventions (see docs/guide.md):
 *  - Functions that can fail return int: MP_OK (0) or a negative MP_E* code.
 *    A function may instead return a non-negative count or value; that is
 *    said in its documentation.
 *  - Results come back through out-parameters that come first. After a
 *    failure every out-parameter that carries an object is set to NULL.
 *  - mp_last_error() gives this thread's last detailed message.
 *  - Timeouts are int64_t milliseconds: MP_FOREVER (-1) blocks, 0 never
 *    blocks. Any other negative timeout is MP_EINVAL. EINTR is retried
 *    inside the library and never returned.
 *  - Buffers the library allocates for the caller are released with
 *    mp_free().
 *  - No C++ exception, abort() or assert crosses this ABI.
 *  - Every object may be used from several threads at once unless its
 *    documentation says otherwise.
 */
#ifndef MULTIPROC_H
#define MULTIPROC_H

/* The API is split by concern into these parts; they are installed with
 * this header and are not meant to be included on their own. */
#include "multiproc/core.h"
#include "multiproc/process.h"
#include "multiproc/ipc.h"
#include "multiproc/sync.h"
#include "multiproc/dict.h"
#include "multiproc/pool.h"
#include "multiproc/broker.h"
#include "multiproc/listener.h"

#endif /* MULTIPROC_H */
