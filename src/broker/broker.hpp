// mp_broker_t: a thread that serves a unix: socket and hands the objects
// published under names to the processes that connect (broker.cpp), and
// the owner's side of a published pool's channel (pool_channel.cpp).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/protocol.hpp"
#include "core/address.hpp"
#include "core/fd.hpp"
#include "multiproc.h"

struct mp_broker_opts {
  static constexpr uint32_t kMagic = 0x4d50424f;  // "MPBO"
  uint32_t magic = kMagic;
  std::vector<uint32_t> uids, gids;
  unsigned max_clients = 128;
  int64_t handshake_timeout_ms = 5000;
};

namespace mp {

struct PoolChannel;

// What a name holds: a descriptor (the broker's duplicate) or a pool.
struct Published {
  Fd fd;
  mp_pool *pool = nullptr;
  // The pool's open channels (broker.mu held to change it).
  std::vector<std::shared_ptr<PoolChannel>> channels;
};

// The owner's end of an opened pool: the client's chunks go into the
// pool; their outcomes come back through outbox, which the broker's
// thread writes when the socket takes it. Shared by the broker's thread
// and the pool's callbacks, which may run after the connection is gone.
struct PoolChannel {
  std::mutex mu;
  mp_pool *pool = nullptr;  // the broker's mu guards its use for submission
  std::string outbox;       // frames for the client
  size_t out_pos = 0;
  size_t unanswered = 0;    // chunks taken whose outcome is not in outbox yet
  std::vector<mp_result *> results;  // unanswered (each holds a reference)
  bool closed = false;      // the client is gone: outcomes are dropped
  int wake_fd = -1;         // the broker thread's eventfd (lives as long as it)
};

// Chunks in the owner's pool for one client at most; beyond, the broker
// stops reading that client until outcomes went out (back-pressure).
constexpr size_t kMaxChannelChunks = 256;
constexpr size_t kMaxChannelOutbox = size_t(64) << 20;

// Submit a client's chunk (decoded from a kTask frame) to the pool.
// MP_OK, or an error the caller turns into a failed outcome right away.
int channel_submit(const std::shared_ptr<PoolChannel> &ch, const ChunkMsg &chunk);
// An outcome the channel could not even submit (unknown task...).
void channel_answer_failed(PoolChannel &ch, const ChunkMsg &chunk, int status,
                           const std::string &why);
// The client is gone (withdrawn NULL): its chunks still queued in the pool
// are canceled, the outcomes of running ones dropped. Or the pool is
// withdrawn: the same, and the client is told why (a kGone frame) before
// the broker closes the connection. The broker's mu held: the pool is
// not used after the call.
void channel_close(PoolChannel &ch, const char *withdrawn);
// Whether the broker may read more chunks from this client.
bool channel_may_read(PoolChannel &ch);

}  // namespace mp

struct mp_broker {
  static constexpr uint32_t kMagic = 0x4d50424b;  // "MPBK"
  uint32_t magic = kMagic;
  std::mutex mu;  // published, and every use of a published pool
  std::map<std::string, mp::Published> published;
  mp_broker_opts opts;
  std::string path;       // the socket file ("" in the abstract namespace)
  std::string lock_path;  // path + ".lock"
  mp::Fd lock_fd;         // flock()ed for the broker's life
  mp::Fd listen_fd;
  mp::Fd wake_fd;         // eventfd: stop, or a channel has output
  std::atomic<bool> stopping{false};
  std::thread thread;
};

namespace mp {

// mp_pool_open's work (remote_pool.cpp).
int pool_open_remote(mp_pool **out, const Address &a, const Deadline &deadline, const char *op);

// Bind and start serving (broker.cpp).
int broker_start(mp_broker &b, const Address &a);
// Stop the thread, close every connection, remove the files.
void broker_stop(mp_broker &b);
void broker_wake(mp_broker &b);

}  // namespace mp
