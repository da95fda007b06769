// MP_START_FORKSERVER, the parent's side: start the server on first use
// (this program re-executed, dying with us), ask it for each child, and
// hand the child's status socket to a relayed Child (child.hpp).
#include "process/forkserver.hpp"

#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <mutex>

#include "core/error.hpp"
#include "process/spawn.hpp"

namespace mp {
namespace {

struct Server {
  std::mutex mu;
  std::shared_ptr<Child> child;  // the server process (watched, reaped by the runtime)
  Fd ctl;                        // SOCK_SEQPACKET to the server
};

Server *g_server = new Server();  // used until exit

// A forked child must not use (nor keep alive) its parent's server.
void forget_server_after_fork() {
  static Server *volatile abandoned = nullptr;  // its mutex may be held
  abandoned = g_server;
  (void)abandoned;
  g_server = new Server();
  g_server->ctl.reset();
  int fd = abandoned->ctl.release();
  if (fd >= 0) close(fd);
}
const int g_server_atfork = pthread_atfork(nullptr, nullptr, forget_server_after_fork);

// Start the server (s.mu held): this program with the server's end at 3.
int start_server(Server &s) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
    return fail_errno("forkserver: socketpair", "", errno);
  Fd mine(pair[0]), theirs(pair[1]), source;
  int r = dup_cloexec(source, theirs.get(), 4, "forkserver: ctl");
  if (r != MP_OK) return r;
  ExecPlan plan = self_exec_plan(kForkserverEnv, true, {source.get()});
  plan.dies_by_itself = true;  // it ends when ctl hangs up (serve_request)
  std::shared_ptr<Child> child;
  r = launch_exec(&child, plan, false);
  if (r != MP_OK) return r;
  s.child = std::move(child);
  s.ctl = std::move(mine);
  return MP_OK;
}

// Send the request for one child, starting or restarting the server as
// needed: a server that died (SIGKILL, OOM) is replaced once.
int request_child(bool daemon, int status, const std::vector<int> &passed) {
  Server &s = *g_server;
  std::lock_guard<std::mutex> lock(s.mu);
  std::vector<int> fds{status};
  fds.insert(fds.end(), passed.begin(), passed.end());
  ForkRequest req = {kForkRequestMagic, daemon ? 1u : 0u};
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!s.ctl.valid() || !s.child || s.child->ended()) {
      s.ctl.reset();
      int r = start_server(s);
      if (r != MP_OK) return r;
    }
    int r = send_with_fds(s.ctl.get(), &req, sizeof req, fds);
    if (r != MP_ECLOSED) return r;
    s.ctl.reset();  // the server is gone: start another
  }
  return fail(MP_ESYS, "forkserver: the server ended at once after its start");
}

int send_bootstrap_to(int sock, const Bootstrap &b) {
  std::string wire = encode_bootstrap(b);
  uint32_t len = uint32_t(wire.size());
  wire.insert(0, reinterpret_cast<const char *>(&len), sizeof len);
  return send_bootstrap(sock, wire);  // EPIPE: the child died or was never forked: the reply says
}

// *dropped: the child's socket was reset with our bootstrap unread (see
// server_dropped_request).
int read_reply(ForkReply &reply, Fd &pidfd, int sock, bool *dropped) {
  std::vector<int> fds;
  long n = recv_with_fds(sock, &reply, sizeof reply, fds);
  *dropped = n < 0 && errno == ECONNRESET;
  if (fds.size() == 1) pidfd.reset(fds[0]);
  else
    for (int fd : fds) close(fd);
  if (n < 0) return int(n);
  if (size_t(n) != sizeof reply)
    return fail(MP_ESYS, "forkserver: the server ended before it started the child");
  if (reply.pid <= 0) return fail_errno("forkserver: fork", "", reply.err);
  return MP_OK;
}

// A server killed after our request reached its socket and before it read
// it: the request's socket was reset with the bootstrap unread, so no
// child can run it, and the start may be made again. Whether the server
// ended (the runtime reaps it: up to 2 s); if it did, the next request
// starts another. A live server that dropped a request is an error.
bool server_dropped_request() {
  std::shared_ptr<Child> server;
  {
    std::lock_guard<std::mutex> lock(g_server->mu);
    server = g_server->child;
  }
  return server && server->wait(Deadline::uncancelable(2000)) == MP_OK;
}

// One request: the child's socket pair, the request, the bootstrap, the
// reply.
int request_and_reply(ForkReply &reply, Fd &mine, Fd &pidfd, int *bootstrap_rc,
                      const Bootstrap &b, bool daemon, const std::vector<int> &fds,
                      bool *dropped) {
  *dropped = false;
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    return fail_errno("forkserver: socketpair", "", errno);
  mine.reset(pair[0]);
  Fd theirs(pair[1]);
  int r = request_child(daemon, theirs.get(), fds);
  if (r != MP_OK) return r;
  theirs.reset();
  *bootstrap_rc = send_bootstrap_to(mine.get(), b);
  return read_reply(reply, pidfd, mine.get(), dropped);
}

}  // namespace

int forkserver_start(std::shared_ptr<Child> *out, const Bootstrap &b, bool daemon,
                     const std::vector<int> &fds) {
  if (!spawn_image_known())
    return fail(MP_ESTATE, "start: MP_START_FORKSERVER needs mp_main() at the top of main()");
  ForkReply reply;
  Fd mine, pidfd;
  int r = MP_OK;
  for (int attempt = 0;; ++attempt) {
    bool dropped;
    int rr = request_and_reply(reply, mine, pidfd, &r, b, daemon, fds, &dropped);
    if (rr == MP_OK) break;
    if (!dropped || attempt == 1 || !server_dropped_request()) return rr;
  }
  auto child = std::make_shared<Child>(Child::Relayed{}, reply.pid, std::move(pidfd),
                                       std::move(mine), daemon);
  *out = child;
  if (r != MP_OK) {  // forked, but its bootstrap did not go out: it exits
    child->signal(SIGKILL, false);
  }
  int w = watch_later(child);  // as a forked child's: no wake of the runtime per start
  return r != MP_OK ? r : w;
}

}  // namespace mp
