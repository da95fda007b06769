// MP_START_FORKSERVER: a small server process, this program re-executed
// with kForkserverEnv set, that forks the children on request before the
// program's main() ever ran in it (no caller threads, no Go runtime, a
// small heap). A forked child leaves the library's constructor, runs the
// program's start-up, and mp_main() runs its target (forkserver_job()).
//
// Protocol. ctl (SOCK_SEQPACKET, parent <-> server): one message per
// child, a Request with the descriptors [status, passed...] attached.
// status (SOCK_STREAM, one per child): the parent writes the bootstrap
// (u32 length + the MPB3 message of target.hpp), which the child reads;
// the server writes a Reply (the pid, its pidfd attached), then the wait
// status (int) once it reaped the child, and closes its end.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "process/child.hpp"
#include "process/target.hpp"

namespace mp {

// The environment variable naming the server's ctl descriptor.
constexpr const char *kForkserverEnv = "MULTIPROC_FORKSERVER_FD";

struct ForkRequest {
  uint32_t magic;  // kForkRequestMagic
  uint32_t daemon;
};
constexpr uint32_t kForkRequestMagic = 0x3146504d;  // "MPF1"

struct ForkReply {
  int32_t pid;  // > 0, or 0 when fork failed with err
  int32_t err;
};

// Start a child on the forkserver (started on first use, restarted once if
// it died): *out is set once it runs. fds: passed by index, then by name,
// as b lists them.
int forkserver_start(std::shared_ptr<Child> *out, const Bootstrap &b, bool daemon,
                     const std::vector<int> &fds);

// In a child forked by our forkserver, the job its parent sent: mp_main()
// runs it. Null elsewhere.
const Bootstrap *forkserver_job();

// Send data with descriptors attached; MP_OK or an error (EPIPE as
// MP_ECLOSED, without a message for the caller to replace).
int send_with_fds(int sock, const void *data, size_t len, const std::vector<int> &fds);
// Receive one message of at most len bytes and its descriptors
// (close-on-exec). Returns the bytes read (0 at EOF) or an error.
long recv_with_fds(int sock, void *data, size_t len, std::vector<int> &fds);

}  // namespace mp
