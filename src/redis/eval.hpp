// Running the Lua scripts of the remote objects (scripts.hpp and those of
// other objects): EVALSHA, so a script's text crosses the wire once per
// server, not on every call; EVAL when the server does not have it.
#pragma once

#include <string>
#include <vector>

#include "core/deadline.hpp"
#include "redis/direct.hpp"
#include "redis/reply.hpp"
#include "redis/server.hpp"

namespace mp::redis {

// Run script (a string that lives as long as the process: its address
// keys the cache of SHA1s) on ep with keys and args: EVALSHA with its
// SHA1; on NOSCRIPT (the server restarted, SCRIPT FLUSH, a failover to a
// replica without it) EVAL, which also loads it for the next calls. A
// server still loading its data after a restart (LOADING) is asked again
// every 50 ms until the deadline, then MP_ETIMEDOUT. *out and the other
// errors as command(): a script's error reply is MP_OK with out->kind ==
// Value::kErr, for the caller to interpret. direct: run on the calling
// thread in that lane's order (direct_command(), direct.hpp); nullptr: on
// the runtime loop's connection (command()).
int eval_script(Value *out, const Endpoint &ep, const char *script,
                const std::vector<std::string> &keys, const std::vector<std::string> &args,
                const Deadline &deadline, const char *op, Lane *direct = nullptr);

// The script's SHA1 in hex, as SCRIPT LOAD would answer (cached).
const std::string &script_sha(const char *script);

}  // namespace mp::redis
