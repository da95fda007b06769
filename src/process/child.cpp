#include "process/child.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "core/backend.hpp"
#include "core/error.hpp"
#include "core/runtime.hpp"
#include "process/spawn.hpp"

namespace mp {
namespace {

constexpr int64_t kDaemonGraceMs = 1000;

struct ExitTracking {
  std::mutex mu;
  std::vector<std::shared_ptr<Child>> children;
  bool join_at_exit = true;
};

ExitTracking *g_tracking = new ExitTracking();

// The runtime's exit handler joins or terminates target children first.
const bool g_exit_hook_set = (rt::set_exit_hook(finish_children), true);

// In any forked child (ours or the host's) the parent's children are not
// its own: it must neither wait for them nor signal them at exit.
const int g_children_atfork =
    pthread_atfork(nullptr, nullptr, forget_children_after_fork);

void on_watch_closed(uv_handle_t *handle) {
  delete static_cast<std::shared_ptr<Child> *>(handle->data);
  delete reinterpret_cast<uv_poll_t *>(handle);
}

void on_pidfd_readable(uv_poll_t *poll, int /*status*/, int /*events*/) {
  auto *child = static_cast<std::shared_ptr<Child> *>(poll->data);
  (*child)->reap();
  if ((*child)->ended()) {
    uv_poll_stop(poll);
    uv_close(reinterpret_cast<uv_handle_t *>(poll), on_watch_closed);
  }
}

}  // namespace

bool Child::ended() {
  std::lock_guard<std::mutex> lock(mu_);
  return ended_;
}

int Child::exitcode() {
  std::lock_guard<std::mutex> lock(mu_);
  if (WIFSIGNALED(wait_status_)) return -WTERMSIG(wait_status_);
  return WEXITSTATUS(wait_status_);
}

int Child::wait(const Deadline &deadline) {
  // With a pidfd the waiter polls it and reaps itself: one wake-up instead
  // of two (the runtime thread's, then ours). The runtime reaps too; the
  // mutex and ended_ make whoever comes first the only reaper.
  if (watch_fd() >= 0) {
    for (;;) {
      if (ended()) return MP_OK;
      pollfd p[2] = {{watch_fd(), POLLIN, 0}, {deadline.cancel_fd(), POLLIN, 0}};
      int r = poll(p, 2, deadline.poll_ms());
      if (r > 0 && p[0].revents) {
        reap();
        continue;
      }
      if (r > 0) return MP_ETIMEDOUT;  // canceled
      if (r == 0) return ended() ? MP_OK : MP_ETIMEDOUT;
      if (errno != EINTR) break;  // fall back to the runtime's notification
    }
  }
  std::unique_lock<std::mutex> lock(mu_);
  return wait_cv(cv_, lock, deadline, [&] { return ended_; }) ? MP_OK : MP_ETIMEDOUT;
}

int Child::sentinel() {
  if (watch_fd() >= 0) return watch_fd();
  std::lock_guard<std::mutex> lock(mu_);
  if (!ended_fd_.valid()) {
    int fd = eventfd(ended_ ? 1 : 0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) return fail_errno("sentinel", "eventfd", errno);
    ended_fd_.reset(fd);
  }
  return ended_fd_.get();
}

int Child::signal(int signum, bool group) {
  // libuv reaps a uv_spawn child without our mutex, so its signal is sent
  // on the loop thread, where libuv reaps and then at once calls the exit
  // callback: there the pid is not reaped (and recycled) before ended_ says
  // so. When the runtime is gone (the process is exiting) it goes directly.
  if (reaped_by_loop_ && !group) {
    int r = rt::call([&](uv_loop_t *) { return signal_now(signum, group); });
    if (r != MP_ESTATE) return r;
  }
  return signal_now(signum, group);
}

int Child::signal_now(int signum, bool group) {
  // Holding mu_ keeps the reaper out, so pid_ cannot be reaped and recycled
  // between the check and kill(): at worst it is a zombie.
  std::lock_guard<std::mutex> lock(mu_);
  if (group) {
    if (killpg(pid_, signum) == 0 || errno == ESRCH) return MP_OK;
    return fail_errno("killpg", "", errno);
  }
  if (ended_) return MP_OK;
  // A relayed child may be reaped by the server before we know it ended:
  // its pidfd, not its pid (which may be reused), is what we signal.
  if (relayed() && pidfd_.valid()) {
    if (syscall(SYS_pidfd_send_signal, pidfd_.get(), signum, nullptr, 0) == 0 || errno == ESRCH)
      return MP_OK;
    if (errno != ENOSYS) return fail_errno("pidfd_send_signal", "", errno);
  }
  if (kill(pid_, signum) == 0 || errno == ESRCH) return MP_OK;
  return fail_errno("kill", "", errno);
}

void Child::reap(bool block) {
  if (reaped_by_loop_) {  // libuv's exit callback ends it: only wait for that
    if (block) wait(Deadline::uncancelable(MP_FOREVER));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ended_) return;
    if (relayed()) {
      if (!read_relayed_status(block)) return;
    } else {
      int status;
      pid_t r;
      do {
        r = waitpid(pid_, &status, block ? 0 : WNOHANG);
      } while (r < 0 && errno == EINTR);
      if (r == 0) return;  // not yet (spurious wake-up)
      // r < 0 (ECHILD): somebody else reaped it; the status is lost.
      wait_status_ = r == pid_ ? status : 0;
    }
    mark_ended();
  }
  cv_.notify_all();
}

void Child::mark_ended() {
  ended_ = true;
  if (ended_fd_.valid()) {  // the sentinel without a pidfd
    uint64_t one = 1;
    ssize_t n = write(ended_fd_.get(), &one, sizeof one);
    (void)n;  // a full counter is readable already
  }
}

void Child::loop_reaped(int64_t exit_status, int term_signal) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // The wait status waitpid would have given, for exitcode().
    wait_status_ = term_signal ? (term_signal & 0x7f) : int((exit_status & 0xff) << 8);
    mark_ended();
  }
  cv_.notify_all();
}

bool Child::read_relayed_status(bool block) {
  int status = 0;
  size_t got = 0;
  while (got < sizeof status) {
    ssize_t n = recv(status_.get(), reinterpret_cast<char *>(&status) + got, sizeof status - got,
                     block ? 0 : MSG_DONTWAIT);
    if (n > 0) {
      got += size_t(n);
      block = true;  // the rest of a started int follows at once
    } else if (n == 0) {
      wait_status_ = 255 << 8;  // the server died: the status is lost
      return true;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return false;
    } else if (errno != EINTR) {
      wait_status_ = 255 << 8;
      return true;
    }
  }
  wait_status_ = status;
  return true;
}

namespace {

// Children without a pidfd (old kernels, valgrind) are reaped on SIGCHLD,
// each by its own pid: never waitpid(-1), which would steal the host's.
struct SigchldWatch {
  uv_signal_t signal;
  std::vector<std::shared_ptr<Child>> children;
};
SigchldWatch *g_sigchld = nullptr;  // runtime thread only

void reap_sigchld_children(uv_signal_t *, int) {
  auto &v = g_sigchld->children;
  std::vector<std::shared_ptr<Child>> live;
  for (auto &c : v) {
    c->reap();
    if (!c->ended()) live.push_back(std::move(c));
  }
  v.swap(live);
}

int watch_by_sigchld(uv_loop_t *loop, const std::shared_ptr<Child> &child) {
  if (!g_sigchld) {
    // Published before anything else: a fork from another thread meanwhile
    // copies a process in which the watch is still reachable (valgrind's
    // leak check in such a child would otherwise fail its exit code).
    g_sigchld = new SigchldWatch();
    g_sigchld->children.reserve(64);  // fewer reallocations in the same window
    int r = uv_signal_init(loop, &g_sigchld->signal);
    if (r == 0) r = uv_signal_start(&g_sigchld->signal, reap_sigchld_children, SIGCHLD);
    if (r != 0) {
      delete g_sigchld;  // uv_signal_init only fails before registering the handle
      g_sigchld = nullptr;
      return fail(MP_ESYS, "watch child: SIGCHLD handler: %s", uv_strerror(r));
    }
  }
  g_sigchld->children.push_back(child);
  child->reap();  // it may have exited before the handler was in place
  return MP_OK;
}

}  // namespace

int watch_child(uv_loop_t *loop, const std::shared_ptr<Child> &child) {
  if (child->watch_fd() < 0) return watch_by_sigchld(loop, child);
  auto *poll = new uv_poll_t;
  int r = uv_poll_init(loop, poll, child->watch_fd());
  if (r != 0) {
    delete poll;
    return fail(MP_ESYS, "watch child %d: uv_poll_init: %s", child->pid(),
                uv_strerror(r));
  }
  poll->data = new std::shared_ptr<Child>(child);
  uv_poll_start(poll, UV_READABLE, on_pidfd_readable);
  return MP_OK;
}

namespace {

// A child started on the caller's thread (or by the forkserver) is not
// watched at once: a watch per start woke the runtime thread each time
// (an async wake, the epoll and ioctl calls of uv_poll, a mutex contended
// with the joiner) for a child that a join usually reaps first (issue 19:
// 24.5 system calls per fork-start against raw fork+waitpid's 3). The
// children wait in this list instead; a timer on the runtime thread, armed
// by the first child and disarmed at a tick that finds the list empty,
// watches those still running every kSweepMs. So a child nobody joins is reaped within
// kSweepMs of its exit plus one tick, and a burst of starts costs one
// wake of the runtime thread per tick, not one per child.
constexpr uint64_t kSweepMs = 20;

struct PendingWatches {
  std::mutex mu;
  std::vector<std::shared_ptr<Child>> children;  // under mu
  bool armed = false;                             // under mu: the timer runs or is being started
  uv_timer_t *timer = nullptr;                    // runtime thread only
};
PendingWatches *g_pending = new PendingWatches();

void unwatchable(const std::shared_ptr<Child> &child) {
  child->signal(SIGKILL, false);  // never leave a child nobody reaps
  child->reap(true);
}

void sweep_pending(uv_timer_t *timer) {
  std::vector<std::shared_ptr<Child>> children;
  {
    std::lock_guard<std::mutex> lock(g_pending->mu);
    children.swap(g_pending->children);
    if (children.empty()) {
      g_pending->armed = false;
      uv_timer_stop(timer);
      return;
    }
  }
  for (auto &c : children)
    if (!c->ended() && watch_child(timer->loop, c) != MP_OK) unwatchable(c);
}

void arm_sweep(uv_loop_t *loop) {
  if (!g_pending->timer) {
    g_pending->timer = new uv_timer_t;  // lives as long as the runtime
    uv_timer_init(loop, g_pending->timer);
    uv_unref(reinterpret_cast<uv_handle_t *>(g_pending->timer));
  }
  uv_timer_start(g_pending->timer, sweep_pending, kSweepMs, kSweepMs);
}

}  // namespace

int watch_later(const std::shared_ptr<Child> &child) {
  bool arm;
  {
    std::lock_guard<std::mutex> lock(g_pending->mu);
    g_pending->children.push_back(child);
    arm = !g_pending->armed;
    g_pending->armed = true;
  }
  if (!arm) return MP_OK;
  int r = rt::post(arm_sweep);
  if (r == MP_OK) return MP_OK;
  std::vector<std::shared_ptr<Child>> children;
  {
    std::lock_guard<std::mutex> lock(g_pending->mu);
    children.swap(g_pending->children);
    g_pending->armed = false;
  }
  for (auto &c : children) unwatchable(c);
  return r;
}

int launch_child(std::shared_ptr<Child> *out, bool die_with_parent, bool group,
                 const std::function<int(Spawned &)> &create) {
  auto adopt = [&](Spawned &spawned) {
    *out = std::make_shared<Child>(spawned.pid, std::move(spawned.pidfd), group,
                                   die_with_parent);
  };
  // PR_SET_PDEATHSIG (the Linux backend) follows the creating thread; the
  // portable backend's pipe follows the process, so any thread will do.
  if (die_with_parent && !portable_backend()) {
    int r = rt::call([&](uv_loop_t *loop) {
      Spawned spawned;
      int rc = create(spawned);
      if (rc != MP_OK) return rc;
      adopt(spawned);
      return watch_child(loop, *out);
    });
    if (r != MP_OK && *out) {  // created but unwatchable: never leave it unreaped
      (*out)->signal(SIGKILL, false);
      (*out)->reap(true);
    }
    return r;
  }
  Spawned spawned;
  int r = create(spawned);
  if (r != MP_OK) return r;
  adopt(spawned);
  std::shared_ptr<Child> child = *out;
  // Without a pidfd a join waits for the runtime's SIGCHLD reaping: no delay.
  if (child->watch_fd() >= 0) return watch_later(child);
  r = rt::post([child](uv_loop_t *loop) {
    if (!child->ended() && watch_child(loop, child) != MP_OK) unwatchable(child);
  });
  if (r != MP_OK) unwatchable(child);
  return r;
}

namespace {

// Ended children need no join at exit; dropping them closes their pidfds.
void drop_ended(std::vector<std::shared_ptr<Child>> &children) {
  std::vector<std::shared_ptr<Child>> live;
  for (auto &c : children)
    if (!c->ended()) live.push_back(std::move(c));
  children.swap(live);
}

}  // namespace

void track_for_exit(const std::shared_ptr<Child> &child) {
  std::lock_guard<std::mutex> lock(g_tracking->mu);
  drop_ended(g_tracking->children);
  g_tracking->children.push_back(child);
}

void forget_ended_children() {
  std::lock_guard<std::mutex> lock(g_tracking->mu);
  drop_ended(g_tracking->children);
}

std::vector<int> live_children() {
  std::lock_guard<std::mutex> lock(g_tracking->mu);
  drop_ended(g_tracking->children);
  std::vector<int> pids;
  for (auto &c : g_tracking->children) pids.push_back(c->pid());
  return pids;
}

void set_exit_join(bool enabled) {
  std::lock_guard<std::mutex> lock(g_tracking->mu);
  g_tracking->join_at_exit = enabled;
}

void finish_children() {
  std::vector<std::shared_ptr<Child>> children;
  {
    std::lock_guard<std::mutex> lock(g_tracking->mu);
    if (!g_tracking->join_at_exit) return;
    children.swap(g_tracking->children);
  }
  for (auto &c : children)
    if (c->daemon()) c->signal(SIGTERM, false);
  for (auto &c : children) {
    if (!c->daemon()) continue;
    if (c->wait(Deadline::uncancelable(kDaemonGraceMs)) == MP_ETIMEDOUT) {
      c->signal(SIGKILL, false);
      c->wait(Deadline::uncancelable(MP_FOREVER));
    }
  }
  for (auto &c : children)
    if (!c->daemon()) c->wait(Deadline::uncancelable(MP_FOREVER));
}

void forget_children_after_fork() {
  // Abandon the parent's list: its mutex may be held by a thread that was
  // not copied. Kept reachable so leak checkers do not flag it.
  static ExitTracking *volatile abandoned = nullptr;
  abandoned = g_tracking;
  (void)abandoned;
  g_tracking = new ExitTracking();
  static PendingWatches *volatile abandoned_pending = nullptr;  // the parent's children
  abandoned_pending = g_pending;
  (void)abandoned_pending;
  g_pending = new PendingWatches();
  static SigchldWatch *volatile abandoned_watch = nullptr;  // belongs to the old loop
  abandoned_watch = g_sigchld;
  (void)abandoned_watch;
  g_sigchld = nullptr;
}

}  // namespace mp
