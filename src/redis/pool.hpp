// A pool across hosts on a redis server. A host serves a local pool
// (mp_pool_serve: pool_serve.cpp): it takes chunks from the pool's stream
// as its workers have room, runs them on the local pool by task name, and
// publishes each outcome with a fenced script. A client's handle
// (mp_pool_open("redis://...#name"): pool_client.cpp) is an mp_pool whose
// dispatcher thread sends its chunks to the stream and reads its outcomes
// back; everything else is the pool's own machinery, as for a pool opened
// through a broker (broker/remote_pool.cpp). Keys and scripts:
// pool_scripts.hpp. Hosts whose heartbeat expired are reclaimed by any
// host or client that waits (every tenth of the lease).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/address.hpp"
#include "core/deadline.hpp"
#include "redis/server.hpp"

struct mp_pool;

namespace mp {

// The keys of the pool named name.
struct RedisPoolKeys {
  explicit RedisPoolKeys(const std::string &name);
  std::string prefix, stream, hosts, ids, notify;
  std::string alive(const std::string &host) const { return prefix + ":alive:" + host; }
  std::string results(const std::string &client) const { return prefix + ":res:" + client; }
  std::string done(const std::string &client) const { return prefix + ":done:" + client; }
};

// How long an undelivered outcome list lives after its last push (a
// client that vanished leaves nothing behind for longer).
constexpr int64_t kResultTtlMs = 3600 * 1000;

// How often a waiting client or an idle host looks for vanished hosts, and
// the lifetime of a host's heartbeat key: together at most the lease.
inline int64_t reclaim_every_ms(int64_t lease_ms) { return lease_ms / 10 < 20 ? 20 : lease_ms / 10; }
inline int64_t host_key_ms(int64_t lease_ms) { return lease_ms - reclaim_every_ms(lease_ms); }

// An error reply of a pool script: what it means for the caller.
int pool_script_error(const redis::Endpoint &ep, const std::string &name, const std::string &e,
                      const char *op);

// Run a pool script (one round trip) on the pool named name; an error
// reply becomes pool_script_error's code.
int pool_eval(redis::Value *out, const redis::Endpoint &ep, const std::string &name,
              const char *script, std::vector<std::string> keys,
              const std::vector<std::string> &args, const Deadline &deadline, const char *op);

// mp_pool_serve's work: start serving pool at a (scheme redis, with name).
int redis_pool_serve(mp_pool &pool, const Address &a, const Deadline &deadline, const char *op);
// mp_pool_open's work for a redis:// address.
int redis_pool_open(mp_pool **out, const Address &a, const Deadline &deadline, const char *op);

}  // namespace mp
