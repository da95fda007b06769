// Host name lookup bounded by the caller's deadline. getaddrinfo() takes
// no timeout: with a DNS server that does not answer it blocks for the
// resolver's own retries (resolv.conf: 5 s x 2 attempts x each server, and
// more), whatever timeout the caller of mp_client_new or mp_listener_new
// gave. Here a name that is not numeric is looked up on libuv's thread
// pool (uv_getaddrinfo, started from the runtime loop) while the caller
// waits on its deadline and cancel token; a lookup it gave up on finishes
// in the background and frees what it found.
#pragma once

#include <netdb.h>

#include <string>

#include "core/deadline.hpp"

namespace mp {

// Resolve host and port for a stream socket (passive: for bind). MP_OK with
// *out owned by the caller (freeaddrinfo); MP_ENOENT (no such host),
// MP_ETIMEDOUT (the lookup did not end before the deadline, or its token
// fired), MP_ENOMEM, MP_ESTATE (the process is exiting), MP_ESYS. Messages
// begin with op.
int resolve_host(addrinfo **out, const std::string &host, int port, bool passive,
                 const Deadline &deadline, const char *op);

}  // namespace mp
