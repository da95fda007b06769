// A child process as the library tracks it: pid, pidfd, exit status. Shared
// between the user's mp_process_t and the runtime's exit watch, so a child
// is reaped even after its handle was freed.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <uv.h>

#include "core/cond_var.hpp"
#include "core/deadline.hpp"
#include "core/fd.hpp"

namespace mp {

class Child {
 public:
  Child(int pid, Fd pidfd, bool group, bool daemon)
      : pid_(pid), pidfd_(std::move(pidfd)), group_(group), daemon_(daemon) {}
  // A child of the forkserver (not ours: waitpid cannot reap it): its
  // status arrives over status, where the server writes the wait status
  // (an int) once it reaped the child; EOF without it (the server died)
  // ends it with exit code 255, as Python reports it. pidfd (may be -1)
  // only aims the signals.
  struct Relayed {};
  Child(Relayed, int pid, Fd pidfd, Fd status, bool daemon)
      : pid_(pid), pidfd_(std::move(pidfd)), status_(std::move(status)), group_(false),
        daemon_(daemon) {}

  // A child of uv_spawn (the portable backend): libuv reaps it, and its
  // exit callback hands the status over (loop_reaped); reap() never calls
  // waitpid for it, which would take the status from libuv.
  struct ReapedByLoop {};
  Child(ReapedByLoop, int pid, bool group, bool daemon)
      : pid_(pid), group_(group), daemon_(daemon), reaped_by_loop_(true) {}

  int pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  // What turns readable when the child ended: the status socket of a
  // relayed child, else the pidfd (-1: none, watch by SIGCHLD).
  int watch_fd() const { return relayed() ? status_.get() : pidfd_.get(); }
  bool has_group() const { return group_; }
  bool daemon() const { return daemon_; }

  // A descriptor that turns readable once the child has ended (Python's
  // sentinel): the pidfd, or without one an eventfd that reap() signals,
  // made on first use. Owned by this Child. Returns the fd or an error.
  int sentinel();

  bool ended();
  // Python's exitcode: status if exited, -N if killed by signal N.
  // Only meaningful once ended() is true.
  int exitcode();

  // MP_OK once ended, MP_ETIMEDOUT.
  int wait(const Deadline &deadline);
  // Signal the child (no-op once reaped) or its group.
  int signal(int signum, bool group);

  // Collect the exit status if the child has ended (block: wait for it).
  // Called by the runtime when the pidfd turns readable.
  void reap(bool block = false);
  // The exit of a ReapedByLoop child, from libuv's exit callback.
  void loop_reaped(int64_t exit_status, int term_signal);

 private:
  bool relayed() const { return status_.valid(); }
  // reap() of a relayed child: read the status the server sent (mu_ held).
  bool read_relayed_status(bool block);
  // signal() on the calling thread.
  int signal_now(int signum, bool group);
  // ended_ and the sentinel (mu_ held).
  void mark_ended();
  std::mutex mu_;
  CondVar cv_;
  const int pid_;
  Fd pidfd_;
  const Fd status_;  // relayed children only
  Fd ended_fd_;  // the sentinel without a pidfd (guarded by mu_)
  const bool group_;
  const bool daemon_;
  const bool reaped_by_loop_ = false;
  bool ended_ = false;
  int wait_status_ = 0;
};

// Start watching a child on the runtime thread (call from within rt::call):
// the runtime reaps it as soon as it exits.
int watch_child(uv_loop_t *loop, const std::shared_ptr<Child> &child);

// Watch a child that has a watch_fd() (a pidfd or a relayed child's status
// socket) from the runtime's next sweep, within 20 ms, instead of waking
// the runtime thread now: a join polls that descriptor itself, and usually
// reaps the child first. MP_OK, or the runtime's error (then the child is
// killed and reaped).
int watch_later(const std::shared_ptr<Child> &child);

// Remember a target child for the exit policy (join / terminate at exit).
void track_for_exit(const std::shared_ptr<Child> &child);

// Stop tracking the children that have ended (mp_process_free), so the
// descriptors they hold close now rather than at the next start.
void forget_ended_children();

// The pids of the tracked children that still run (active_children); the
// ended ones are dropped on the way.
std::vector<int> live_children();

// The exit policy switch (mp_set_exit_join).
void set_exit_join(bool enabled);

// Join or terminate tracked children as the exit policy says. Used at
// normal exit of a parent and at the end of a target child.
void finish_children();

// In a forked child: the parent's children are not ours.
void forget_children_after_fork();

}  // namespace mp
