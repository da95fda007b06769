// A lock on a redis server (mp_lock_open("redis://...#name")): a lease with
// a fencing token, not Redlock (one server decides). An ordinary mp_lock_t
// whose calls come here instead of to the shared mutex
// (capi/sync_api.cpp dispatches on mp_lock::remote). Keys and scripts:
// object_scripts.hpp.
//
// The holder is a thread of a process (as for a local lock): while it
// holds, its process's runtime loop refreshes its lease key
// (redis::keep_alive, every lease/3). A holder that dies, or whose lease
// expires (process stopped, cut off from the server), is taken over by
// the next acquirer, who gets MP_EOWNERDEAD as from a local robust lock,
// and a fence greater than every earlier one: a resource that remembers
// the highest fence it saw refuses a late write of the old holder.
// Waiting acquirers sleep until the lock's channel says "released" or
// the holder's lease runs out (at most a poll slice), then ask again.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "core/address.hpp"
#include "core/deadline.hpp"
#include "redis/object.hpp"

struct mp_lock;

namespace mp {

struct RemoteLock {
  redis::Object o;
  std::string state, channel;
  int64_t lease_ms = 0;
  std::shared_ptr<redis::Notifier> notifier = std::make_shared<redis::Notifier>();
  std::mutex mu;      // guards the three below
  pid_t tid = 0;      // the thread of this handle that holds the lock, 0 if none
  std::string holder; // its holder name
  uint64_t fence = 0; // the fence of its hold
};

int remote_lock_open(mp_lock **out, const Address &a, const Deadline &deadline, const char *op);
// Ends the handle; a hold it still has is not released: its lease is no
// longer refreshed, so the next acquirer gets MP_EOWNERDEAD once it expires.
void remote_lock_free(RemoteLock *l);

// As lock_acquire (sync/lock.hpp): MP_OK, MP_EOWNERDEAD (held, the
// previous holder died or lost its lease), MP_ETIMEDOUT, MP_ESTATE; and
// the errors of a round trip.
int remote_lock_acquire(RemoteLock &l, const Deadline &deadline, const char *op);
// MP_OK, or MP_ESTATE (this thread does not hold it, or its lease expired
// and another holder took it over).
int remote_lock_release(RemoteLock &l, const char *op);
// 1, 0, or an error.
int remote_lock_locked(RemoteLock &l, const char *op);
// The fence of this thread's hold; MP_ESTATE when it holds none.
int remote_lock_fence(RemoteLock &l, uint64_t *out, const char *op);

}  // namespace mp
