// An opened pool's link to where its tasks run: the owner's broker
// connection (remote_pool.cpp) or a redis server (redis/pool_client.cpp,
// which uses sent, owner_workers and redis only).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "broker/protocol.hpp"
#include "core/fd.hpp"
#include "pool/pool.hpp"

namespace mp {

struct RedisPoolClient;

struct RemotePool {
  Fd sock;
  FrameReader reader{kMaxPoolFrame};
  std::string outbuf;  // task frames not yet written
  size_t out_pos = 0;
  size_t owner_workers = 1;
  std::map<uint64_t, ChunkPtr> sent;  // written, not answered (pool.mu)
  bool broken = false;                // the owner is gone (pool.mu)
  std::shared_ptr<RedisPoolClient> redis;  // set for a redis:// pool
  ~RemotePool();
};

}  // namespace mp
