// The opening side of the broker: connect to the broker at a unix:
// address, send one request, read the reply (and the descriptor that comes
// with it over SCM_RIGHTS).
#pragma once

#include <string>

#include "broker/protocol.hpp"
#include "core/address.hpp"
#include "core/deadline.hpp"
#include "core/fd.hpp"

namespace mp {

// Ask the broker at a (a unix: address with a name) for a.name. On MP_OK,
// *sock is the connection (a pool channel continues on it; for a
// descriptor the caller may close it), *reply the broker's answer with
// status MP_OK, and *fd the descriptor that came with it (kOpenFd). Any
// refusal is returned as its code with the broker's message.
int broker_request(Fd *sock, Reply *reply, Fd *fd, const Address &a, FrameType type,
                   const Deadline &deadline, const char *op);

}  // namespace mp
