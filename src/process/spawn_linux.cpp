// Linux spawning: a vfork-style clone that shares memory with the runtime
// thread until execve (its cost does not grow with the parent's heap), with
// pidfds for exit watching where the kernel has them.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "core/error.hpp"
#include "core/runtime.hpp"
#include "process/spawn.hpp"

namespace mp {
namespace {

constexpr size_t kChildStackSize = 256 * 1024;

// The child shares the parent's memory until execve (vfork-style), so the
// cost does not grow with the parent's heap. ThreadSanitizer cannot follow
// a second thread of execution in the same memory (its interceptors would
// run in the child against the parent's state), so its builds copy memory.
// (clang 14 does not define __SANITIZE_THREAD__; it answers __has_feature.)
#if defined(__SANITIZE_THREAD__)
#define MP_TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MP_TSAN_BUILD 1
#endif
#endif
#ifdef MP_TSAN_BUILD
constexpr int kCloneSharing = 0;
#else
constexpr int kCloneSharing = CLONE_VM | CLONE_VFORK;
#endif

// Where the child failed, sent back over the error pipe.
enum Step : int { kStepSetpgid, kStepPdeathsig, kStepDup2, kStepChdir, kStepExecve, kStepSetsid };
const char *const kStepNames[] = {"setpgid", "prctl(PR_SET_PDEATHSIG)", "dup2",
                                  "chdir", "execve", "setsid"};

struct ChildReport {
  int step;
  int err;
};

// What the cloned child reads: pointers into the parent's memory, valid
// because the parent is suspended until execve or _exit.
struct CloneArgs {
  const char *path;
  char *const *argv;
  char *const *envp;
  const char *cwd;
  const int *fd_sources;
  int nfds;
  int error_fd;  // close-on-exec: EOF in the parent means execve succeeded
  bool new_group;
  bool new_session;
  bool die_with_parent;
  pid_t parent_pid;
};

// Runs in the child on a separate stack, possibly sharing the parent's
// memory: only async-signal-safe system calls, no allocation, no locks.
__attribute__((no_sanitize("address", "undefined", "thread"))) int exec_child(void *p) {
  auto *a = static_cast<CloneArgs *>(p);
  ChildReport report = {kStepExecve, 0};
  // A handler installed by the parent must not run here: reset every
  // caught signal (and SIGPIPE/SIGXFSZ, as Python does) to its default.
  // One call per signal sets the default and reads the old disposition;
  // the few ignored ones are put back: every signal is blocked here, so
  // one that comes meanwhile stays pending, and restoring SIG_IGN discards
  // it. (Reading first and then setting took two calls per caught signal:
  // 124 in a Go program, which catches nearly all of them, while the
  // parent waits for this child's exec.)
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction old;
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    if (sigaction(sig, &dfl, &old) != 0) continue;
    if (old.sa_handler == SIG_IGN && sig != SIGPIPE && sig != SIGXFSZ) sigaction(sig, &old, nullptr);
  }
  // A session leader leads its group too (and setpgid would fail on it).
  report.step = kStepSetsid;
  if (a->new_session && setsid() < 0) goto fail;
  report.step = kStepSetpgid;
  if (a->new_group && !a->new_session && setpgid(0, 0) != 0) goto fail;
  report.step = kStepPdeathsig;
  if (a->die_with_parent) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) goto fail;
    if (getppid() != a->parent_pid) _exit(127);  // the parent already died
  }
  report.step = kStepDup2;
  for (int i = 0; i < a->nfds; ++i) {
    int src = a->fd_sources[i];
    if (src == kSourceInherit) continue;
    if (src == kSourceClosed) {
      close(i);  // sources are above nfds: this closes no source
      continue;
    }
    if (src == kSourceChildStdout) src = 1;
    if (dup2(src, i) < 0) goto fail;
  }
  report.step = kStepChdir;
  if (a->cwd && chdir(a->cwd) != 0) goto fail;
  // Close everything above nfds but the error pipe (close-on-exec itself).
  // The pipe is the lowest free descriptor >= nfds, so every descriptor
  // below it is open and the loop does no wasted work.
  // One close_range call where the kernel has it (5.9), not one close each.
  if (a->error_fd > a->nfds && close_range(unsigned(a->nfds), unsigned(a->error_fd - 1), 0) != 0)
    for (int fd = a->nfds; fd < a->error_fd; ++fd) close(fd);
  closefrom(a->error_fd + 1);
  {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
  }
  report.step = kStepExecve;
  execve(a->path, a->argv, a->envp);
fail:
  report.err = errno;
  {
    ssize_t w;
    do {
      w = write(a->error_fd, &report, sizeof report);
    } while (w < 0 && errno == EINTR);
  }
  _exit(127);
}

// The cloned child's stack: one per thread (spawns may run on several
// threads at once), mapped on the thread's first spawn and unmapped when the
// thread ends. An mmap()ed region, not the heap: the child must not touch
// the allocator.
class ChildStack {
 public:
  ~ChildStack() {
    if (base_) munmap(base_, kChildStackSize);
  }
  char *top() {
    if (!base_) {
      void *p = mmap(nullptr, kChildStackSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
      if (p == MAP_FAILED) return nullptr;
      base_ = static_cast<char *>(p);
    }
    return base_ + kChildStackSize;
  }

 private:
  char *base_ = nullptr;
};

thread_local ChildStack t_child_stack;

// Blocks every signal in the calling thread for its lifetime: no handler of
// the parent may run in the child before the child has reset them.
class AllSignalsBlocked {
 public:
  AllSignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old_);
  }
  ~AllSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

// pidfds are optional: old kernels and valgrind lack them, and the exit
// watch then falls back to SIGCHLD + waitpid(pid).
// MULTIPROC_DISABLE_PIDFD=1 forces the fallback (to test it on new kernels).
std::atomic<bool> g_pidfd_works{getenv("MULTIPROC_DISABLE_PIDFD") == nullptr};

int clone_child(CloneArgs &a, char *stack, int *pidfd) {
  *pidfd = -1;
  int flags = kCloneSharing | SIGCHLD;
  if (g_pidfd_works) {
    int pid = clone(exec_child, stack, flags | CLONE_PIDFD, &a, pidfd);
    if (pid >= 0 || (errno != EINVAL && errno != ENOSYS)) return pid;
    g_pidfd_works = false;
    *pidfd = -1;
  }
  return clone(exec_child, stack, flags, &a);
}

void reap_blocking(int pid) {
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// Read the child's report: MP_OK on EOF (execve succeeded).
int read_report(int fd, const ExecPlan &plan) {
  ChildReport report;
  ssize_t n;
  do {
    n = read(fd, &report, sizeof report);
  } while (n < 0 && errno == EINTR);
  if (n != ssize_t(sizeof report)) return MP_OK;
  const char *step = kStepNames[report.step >= 0 && report.step <= kStepSetsid
                                    ? report.step
                                    : kStepExecve];
  char what[512];
  snprintf(what, sizeof what, "%s %s", step,
           report.step == kStepChdir ? plan.cwd.c_str() : plan.path.c_str());
  return fail_errno("spawn", what, report.err);
}

}  // namespace

int spawn_exec(Spawned &out, const ExecPlan &plan) {
  std::vector<char *> argv = c_string_array(plan.argv);
  std::vector<char *> envp = c_string_array(plan.envp);
  // The error pipe must not land below nfds, where the child's dup2 or
  // closefrom would take it: move it above.
  Fd err_r, err_w;
  int r = make_pipe(err_r, err_w);
  if (r == MP_OK && err_w.get() < int(plan.fd_sources.size())) {
    Fd low = std::move(err_w);
    r = dup_cloexec(err_w, low.get(), int(plan.fd_sources.size()), "spawn: pipe");
  }
  if (r != MP_OK) return r;
  CloneArgs a = {};
  a.path = plan.path.c_str();
  a.argv = argv.data();
  a.envp = envp.data();
  a.cwd = plan.cwd.empty() ? nullptr : plan.cwd.c_str();
  a.fd_sources = plan.fd_sources.data();
  a.nfds = int(plan.fd_sources.size());
  a.error_fd = err_w.get();
  a.new_group = plan.new_group;
  a.new_session = plan.new_session;
  a.die_with_parent = plan.die_with_parent;
  a.parent_pid = getpid();
  char *stack_top = t_child_stack.top();
  if (!stack_top) return fail_errno("spawn: mmap", "child stack", errno);
  int pidfd, pid;
  {
    AllSignalsBlocked blocked;
    pid = clone_child(a, stack_top, &pidfd);
  }
  if (pid < 0) return fail_errno("spawn: clone", plan.path.c_str(), errno);
  err_w.reset();
  r = read_report(err_r.get(), plan);
  if (r != MP_OK) {
    reap_blocking(pid);
    if (pidfd >= 0) close(pidfd);
    return r;
  }
  out.pid = pid;
  out.pidfd.reset(pidfd);
  return MP_OK;
}

int fork_run(Spawned &out, bool die_with_parent,
             const std::function<void(int parent_pid)> &body) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return fail_errno("fork", "", errno);
  if (pid == 0) {  // the atfork handlers have reset the library's state
    if (die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
    }
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    body(int(parent));
    _exit(1);  // body must not return; never fall back into the runtime
  }
  out.pid = pid;
  if (g_pidfd_works) {
    int fd = int(syscall(SYS_pidfd_open, pid, 0));
    if (fd >= 0) {
      out.pidfd.reset(fd);
    } else if (errno == ENOSYS) {
      g_pidfd_works = false;
    } else {
      int r = fail_errno("pidfd_open", "", errno);
      kill(pid, SIGKILL);  // unwatchable: do not leave a child nobody reaps
      reap_blocking(pid);
      return r;
    }
  }
  return MP_OK;
}

}  // namespace mp
