// Round trips made on the caller's own thread, for the remote queue's
// calls that run once per message. command() (server.hpp) posts to the
// runtime loop and waits for its reply there: two thread wake-ups more
// per call, on a loaded host as costly as the round trip itself. Here
// the caller takes an idle connection of the endpoint's pool (or opens
// one), writes the command and polls the socket together with its cancel
// token's eventfd until the reply is in, its deadline passes or the token
// fires. No thread is added and none waits for another.
//
// A connection is held for one round trip only, never while a call waits
// for a wake-up (those still come from the loop's subscriber connection),
// so a process holds at most as many as it has threads in a round trip at
// once, plus at most kDirectIdleMax idle ones per endpoint. An idle one
// that became readable (the server closed it, or restarted) is closed
// before use, so a restart costs no call.
//
// Order: one loop connection ran a process's commands in the order they
// were made, also those whose reply came too late. Here a round trip that
// timed out or was canceled after its command was sent leaves that
// connection to the caller's Lane (one per handle), and the handle's next
// round trip runs on it, after the late replies: the server still runs
// a handle's commands in order (a lost get is recovered by the next one,
// queue.hpp). A connection that failed otherwise is closed: what it sent
// either ran or never will.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/deadline.hpp"
#include "redis/reply.hpp"
#include "redis/server.hpp"

namespace mp::redis {

constexpr size_t kDirectIdleMax = 4;

struct DirectConn;

// A handle's connection that still owes replies (see Order above).
class Lane {
 public:
  Lane();
  ~Lane();
  Lane(const Lane &) = delete;
  Lane &operator=(const Lane &) = delete;
  std::unique_ptr<DirectConn> take();
  void keep(std::unique_ptr<DirectConn> c);  // closes c when one is kept already

 private:
  std::mutex mu_;
  std::unique_ptr<DirectConn> conn_;
};

// As command() (the same errors and messages, the same kReplyCapMs
// bound), on the calling thread, in lane's order (nullptr: none kept).
int direct_command(Value *out, const Endpoint &ep, const std::vector<std::string> &argv,
                   const Deadline &deadline, const char *op, Lane *lane);

}  // namespace mp::redis
