// A queue on a redis server (mp_queue_open("redis://...#name")): an
// ordinary mp_queue_t whose calls come here instead of to the shared ring
// (capi/queue_api.cpp dispatches on mp_queue::remote). Semantics, keys and
// scripts: scripts.hpp; connections: server.hpp.
//
// Delivery is at least once. A get takes a message into this consumer's
// pending list (XREADGROUP); it is acknowledged (and trimmed) when the
// consumer is done with it: for a plain queue at its next get or at free,
// for a joinable one at task_done. A consumer that dies holding messages
// stops refreshing its heartbeat key; once the key expires, a live
// consumer's get claims them (delivery count + 1): the next one that finds
// no new message, else the first one at least lease/10 after its last look
// (kGet's "s": looking on every get would cost a busy consumer a scan per
// message), so a dead consumer's messages wait at most lease + lease/10. A get whose reply
// was lost (timed out, connection lost: it may have run and taken
// messages) makes the next get of the handle take those back first.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "core/address.hpp"
#include "core/deadline.hpp"
#include "ipc/queue.hpp"
#include "redis/direct.hpp"
#include "redis/reply.hpp"
#include "redis/server.hpp"

namespace mp {

struct RemoteQueue {
  redis::Endpoint ep;
  std::string name, prefix, meta, stream, alive, channel, consumer;
  bool joinable = false;
  uint64_t maxsize = 0;
  int64_t lease_ms = 0;
  std::shared_ptr<redis::Notifier> notifier = std::make_shared<redis::Notifier>();
  redis::Lane lane;                    // its round trips' order (direct.hpp)
  std::mutex mu;                       // guards the six below
  std::deque<redis::Delivery> ready;   // taken from the server, not handed out yet
  std::deque<std::string> held;        // handed out, not acknowledged yet, as the
                                       // ack scripts take them (ack_form())
  redis::Delivery last;                // the last message handed out (body unused)
  bool unsure = false;                 // a get's reply was lost: it may have taken messages
  bool counted = false;                // its last get run counted it in P:waiting
  int64_t next_scan_ms = 0;            // a get from then on looks for dead consumers first
};

// The heartbeat lease (MULTIPROC_REDIS_LEASE_MS, 100 to 600000; default
// 10000): a consumer silent for this long is dead.
int64_t redis_lease_ms();

// Open (mode_new false: create a plain unbounded queue when none exists)
// or create-or-open with exactly these settings (mode_new true: MP_EEXIST
// when it exists with others).
int remote_queue_open(mp_queue_t **out, const Address &a, bool mode_new, uint64_t maxsize,
                      bool joinable, const Deadline &deadline, const char *op);
void remote_queue_free(RemoteQueue *q);

int remote_put_many(RemoteQueue &q, const void *const *bufs, const size_t *lens, size_t n,
                    size_t *done, const Deadline &deadline, const char *op);
int remote_get(RemoteQueue &q, Sink &sink, const Deadline &deadline, const char *op);
int remote_get_many(RemoteQueue &q, void *buf, size_t cap, size_t *lens, size_t max,
                    size_t *count, const Deadline &deadline, const char *op);
// qsize: messages put and not yet delivered; *closed, *full as the calls.
int remote_state(RemoteQueue &q, size_t *qsize, bool *closed, bool *full, const char *op);
int remote_close(RemoteQueue &q, const char *op);
int remote_task_done(RemoteQueue &q, const char *op);
int remote_join(RemoteQueue &q, const Deadline &deadline, const char *op);

}  // namespace mp
