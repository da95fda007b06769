// Connections to redis servers, driven by the runtime's libuv loop
// (core/runtime.hpp) through hiredis's libuv adapter: one command
// connection and one subscriber connection per server (host, port, user,
// db) for the whole process, however many remote objects it has open, and
// no thread per blocked call. A caller thread posts its command to the
// loop and waits for the reply on a CondVar, so its timeout and its
// cancel token hold as for every other wait. (The remote queue's calls
// make their round trips on the caller's thread instead: direct.hpp.)
//
// The subscriber connection carries each object's wake-up channel: a
// waiting get or join sleeps until a message on its channel (or a poll
// slice) and then asks again. The loop also refreshes the heartbeat keys
// of this process's consumers (SET key PX lease) every lease/3.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/address.hpp"
#include "core/cond_var.hpp"
#include "core/deadline.hpp"
#include "redis/reply.hpp"

namespace mp::redis {

struct Endpoint {
  std::string host;
  int port = 6379;
  std::string user;
  int db = 0;
  std::string text;  // "redis://host:port/db", for messages
};

// The endpoint of a redis:// address (its host, port, user and db).
Endpoint endpoint_of(const Address &a);

// A round trip waits at most this long for its reply, also under a longer
// timeout or MP_FOREVER: a server that stopped answering is an error, not
// a hang.
constexpr int64_t kReplyCapMs = 30000;

// Send argv, wait for the reply within deadline (and kReplyCapMs). MP_OK
// with *out set (an error reply is a Value of kind kErr); or MP_ECONNREFUSED
// (cannot connect), MP_EPIPE (the connection was lost: the command's
// outcome is unknown), MP_ETIMEDOUT (no reply in time: the command may
// still run), MP_EACCES (authentication refused), MP_ESTATE (the process
// is exiting). Messages begin with op.
int command(Value *out, const Endpoint &ep, const std::vector<std::string> &argv,
            const Deadline &deadline, const char *op);

// How a round trip ended, reported as command() does: status MP_OK (then
// *out = reply), MP_ETIMEDOUT, MP_ECONNREFUSED or MP_EPIPE (why: the
// connection's reason), or another code with why. An error reply that
// refuses authentication (NOAUTH, WRONGPASS, NOPERM) is MP_EACCES.
int report_trip(Value *out, int status, const std::string &why, Value &&reply,
                const Endpoint &ep, const char *op);

// What a subscriber wakes: every message on the channel bumps seq.
struct Notifier {
  std::mutex mu;
  CondVar cv;
  uint32_t seq = 0;  // under mu
  int fd = -1;       // under mu: an eventfd also written on each message, or -1
};

// Sleep until n's seq differs from seen, the deadline, or its token.
void wait_notified(Notifier &n, uint32_t seen, const Deadline &deadline);
uint32_t notified_seq(Notifier &n);

// Subscribe n to channel on ep's subscriber connection (asynchronously;
// until it is in place, waits end by their poll slice). The registration
// ends with unwatch().
void watch(const Endpoint &ep, const std::string &channel, const std::shared_ptr<Notifier> &n);
void unwatch(const Endpoint &ep, const std::string &channel, const std::shared_ptr<Notifier> &n);

// Keep key alive (SET key 1 PX lease_ms every lease_ms / 3) until forget.
void keep_alive(const Endpoint &ep, const std::string &key, int64_t lease_ms);
void stop_keep_alive(const Endpoint &ep, const std::string &key);

}  // namespace mp::redis
