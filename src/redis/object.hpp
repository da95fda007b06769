// What every remote object but the queue shares (the dict and the lock on
// a redis server; redis/queue.cpp keeps its own copies): the endpoint of an
// address, one script run (EVALSHA, redis/eval.hpp), the
// meaning of the error replies that say our keys hold garbage, a holder
// name unique across hosts, and the eviction warning at open.
#pragma once

#include <string>
#include <vector>

#include "core/address.hpp"
#include "core/deadline.hpp"
#include "redis/reply.hpp"
#include "redis/server.hpp"

namespace mp::redis {

// The object a call works on, for its messages: kind ("dict", "lock"),
// name, server, and the key prefix it owns.
struct Object {
  Endpoint ep;
  const char *kind = "";
  std::string name, prefix;
};

// ep, name and prefix ("mp:<kind>:{<name>}") of a redis:// address.
void init_object(Object &o, const Address &a, const char *kind);

// Send argv; an error reply becomes an MP_E* with a message naming o:
// WRONGTYPE and MPGARBAGE (a key under o's prefix holds what another
// client wrote) MP_EINVAL, OOM MP_ENOSPC, others MP_EINVAL. Else MP_OK with
// *out the reply, or the errors of redis::command().
int call(Value *out, const Object &o, const std::vector<std::string> &argv,
         const Deadline &deadline, const char *op);

// The MP_E* of an error reply e, as call() reports it.
int error_reply(const Object &o, const std::string &e, const char *op);

// Run script with keys and args (EVALSHA, redis/eval.hpp); eval_raw
// leaves an error reply in *out for the caller's own codes, eval turns it
// into the object's error as call() does.
int eval_raw(Value *out, const Object &o, const char *script, const std::vector<std::string> &keys,
             const std::vector<std::string> &args, const Deadline &deadline, const char *op);
int eval(Value *out, const Object &o, const char *script, const std::vector<std::string> &keys,
         const std::vector<std::string> &args, const Deadline &deadline, const char *op);

// MP_EINVAL: a reply of the wrong shape (what: what was expected).
int damaged(const Object &o, const char *what, const char *op);

// An integer reply, or a string of decimal digits.
bool as_int(const Value &v, long long *out);

// "host:pid:counter:random": unique per call, across hosts and restarts.
std::string unique_name();

// After a successful open: set mp_last_error() to a warning when the
// server at ep has a maxmemory-policy that can evict the keys of an
// object of this kind ("queue", "dict", ...), else to "".
void warn_if_evicts(const Endpoint &ep, const char *kind, const Deadline &deadline,
                    const char *op);

}  // namespace mp::redis
