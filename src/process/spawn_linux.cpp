// Linux spawning: a vfork-style clone that shares memory with the runtime
// thread until execve, with pidfds for exit watching.
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "core/error.hpp"
#include "core/runtime.hpp"
#include "process/spawn.hpp"

namespace mp {
namespace {

constexpr size_t kChildStackSize = 256 * 1024;

// What the cloned child reads (pointers into the parent's memory, valid
// because the parent is suspended until execve or _exit) and writes back.
struct CloneArgs {
  const char *path;
  char *const *argv;
  char *const *envp;
  const char *cwd;
  const int *fd_sources;
  int nfds;
  bool new_group;
  bool die_with_parent;
  pid_t parent_pid;
  // Written by the child on failure.
  volatile int err;
  const char *volatile failed_step;
};

// Runs in the child on a separate stack, sharing the parent's memory: only
// async-signal-safe system calls, no allocation, no locks.
__attribute__((no_sanitize("address", "undefined"))) int exec_child(void *p) {
  auto *a = static_cast<CloneArgs *>(p);
  // A handler installed by the parent must not run here: reset every
  // caught signal (and SIGPIPE/SIGXFSZ, as Python does) to its default.
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction old;
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    if (sigaction(sig, nullptr, &old) != 0) continue;
    if (old.sa_handler == SIG_IGN && sig != SIGPIPE && sig != SIGXFSZ) continue;
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, nullptr);
  }
  const char *step = "setpgid";
  if (a->new_group && setpgid(0, 0) != 0) goto fail;
  step = "prctl(PR_SET_PDEATHSIG)";
  if (a->die_with_parent) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) goto fail;
    if (getppid() != a->parent_pid) _exit(127);  // the parent already died
  }
  step = "dup2";
  for (int i = 0; i < a->nfds; ++i) {
    int src = a->fd_sources[i];
    if (src == kSourceInherit) continue;
    if (src == kSourceChildStdout) src = 1;
    if (dup2(src, i) < 0) goto fail;
  }
  step = "chdir";
  if (a->cwd && chdir(a->cwd) != 0) goto fail;
  closefrom(a->nfds);
  {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
  }
  step = "execve";
  execve(a->path, a->argv, a->envp);
fail:
  a->err = errno;
  a->failed_step = step;
  _exit(127);
}

char *child_stack_top() {
  // One stack, reused: spawns are serialised on the runtime thread.
  static char *stack = nullptr;
  if (!stack) {
    void *p = mmap(nullptr, kChildStackSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    stack = static_cast<char *>(p);
  }
  return stack + kChildStackSize;
}

std::vector<char *> c_strings(const std::vector<std::string> &v) {
  std::vector<char *> out;
  out.reserve(v.size() + 1);
  for (const auto &s : v) out.push_back(const_cast<char *>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

int open_pidfd(Spawned &out, int pid) {
  int fd = int(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return fail_errno("pidfd_open", "", errno);
  out.pidfd.reset(fd);
  return MP_OK;
}

}  // namespace

int spawn_exec(Spawned &out, const ExecPlan &plan) {
  std::vector<char *> argv = c_strings(plan.argv);
  std::vector<char *> envp = c_strings(plan.envp);
  CloneArgs a = {};
  a.path = plan.path.c_str();
  a.argv = argv.data();
  a.envp = envp.data();
  a.cwd = plan.cwd.empty() ? nullptr : plan.cwd.c_str();
  a.fd_sources = plan.fd_sources.data();
  a.nfds = int(plan.fd_sources.size());
  a.new_group = plan.new_group;
  a.die_with_parent = plan.die_with_parent;
  a.parent_pid = getpid();
  char *stack = child_stack_top();
  if (!stack) return fail_errno("spawn: mmap", "child stack", errno);
  int pidfd = -1;
  int pid = clone(exec_child, stack, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD,
                  &a, &pidfd);
  if (pid < 0) return fail_errno("spawn: clone", plan.path.c_str(), errno);
  if (a.failed_step) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (pidfd >= 0) close(pidfd);
    char what[512];
    snprintf(what, sizeof what, "%s %s", a.failed_step,
             a.cwd && a.failed_step[0] == 'c' ? a.cwd : plan.path.c_str());
    return fail_errno("spawn", what, a.err);
  }
  out.pid = pid;
  out.pidfd.reset(pidfd);
  return MP_OK;
}

int fork_run(Spawned &out, bool die_with_parent,
             const std::function<void()> &body) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return fail_errno("fork", "", errno);
  if (pid == 0) {
    rt::forget_after_fork();
    if (die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
    }
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    body();
    _exit(1);  // body must not return; never fall back into the runtime
  }
  int r = open_pidfd(out, pid);
  if (r != MP_OK) {  // unwatchable: do not leave a child nobody reaps
    kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return r;
  }
  out.pid = pid;
  return MP_OK;
}

}  // namespace mp
