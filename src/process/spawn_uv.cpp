// The portable backend's spawning (issue 18): commands and MP_START_SPAWN
// children through libuv's uv_spawn on the runtime loop, reaped by libuv's
// own SIGCHLD handling (it waits for each of its children by pid, never
// waitpid(-1)); MP_START_FORK children through fork(), watched by the
// SIGCHLD + waitpid(pid) watch of child.cpp. No pidfd, no clone, no
// PR_SET_PDEATHSIG: a daemon target watches a pipe from its parent
// (parent_watch.hpp). What uv_spawn cannot do is MP_ENOTSUP:
// - a new process group without a new session (libuv has no setpgid);
// - a daemon command (an exec'd program runs no watch of ours).
// libuv 1.44 forks, so a spawn costs what fork costs from this process
// (the Linux backend's clone does not grow with the parent's memory).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/runtime.hpp"
#include "process/child.hpp"
#include "process/parent_watch.hpp"
#include "process/spawn.hpp"

namespace mp {
namespace {

// A uv_spawn child: the handle and the Child its exit callback ends.
struct LoopChild {
  uv_process_t handle;
  std::shared_ptr<Child> child;
};

void free_loop_child(uv_handle_t *handle) { delete static_cast<LoopChild *>(handle->data); }

void on_loop_child_exit(uv_process_t *handle, int64_t exit_status, int term_signal) {
  auto *lc = static_cast<LoopChild *>(handle->data);
  if (lc->child) lc->child->loop_reaped(exit_status, term_signal);
  uv_close(reinterpret_cast<uv_handle_t *>(handle), free_loop_child);
}

// The child's descriptors as uv_spawn takes them: each one inherited from
// a parent descriptor (dup2 in the child), or ignored (a gap: closed, as
// the parent's descriptors are close-on-exec).
std::vector<uv_stdio_container_t> stdio_of(const ExecPlan &plan) {
  std::vector<uv_stdio_container_t> stdio(plan.fd_sources.size());
  for (size_t i = 0; i < stdio.size(); ++i) {
    int src = plan.fd_sources[i];
    if (src == kSourceChildStdout) src = plan.fd_sources[1] >= 0 ? plan.fd_sources[1] : 1;
    if (src == kSourceInherit) src = int(i);
    if (src == kSourceClosed) {
      stdio[i].flags = UV_IGNORE;
      continue;
    }
    stdio[i].flags = UV_INHERIT_FD;
    stdio[i].data.fd = src;
  }
  return stdio;
}

int check_supported(const ExecPlan &plan) {
  if (plan.new_group && !plan.new_session)
    return fail(MP_ENOTSUP,
                "spawn: a new process group without a new session needs the Linux backend "
                "(MULTIPROC_BACKEND=portable: libuv's uv_spawn has no setpgid; "
                "mp_cmd_set_new_session gives the child a group of its own too)");
  if (plan.die_with_parent && !plan.dies_by_itself)
    return fail(MP_ENOTSUP,
                "spawn: a daemon command needs the Linux backend (MULTIPROC_BACKEND=portable "
                "has no PR_SET_PDEATHSIG, and an exec'd program runs no watch of ours)");
  return MP_OK;
}

}  // namespace

int uv_launch_exec(std::shared_ptr<Child> *out, const ExecPlan &plan, bool group) {
  int r = check_supported(plan);
  if (r != MP_OK) return r;
  std::vector<char *> argv = c_string_array(plan.argv);
  std::vector<char *> envp = c_string_array(plan.envp);
  std::vector<uv_stdio_container_t> stdio = stdio_of(plan);
  uv_process_options_t opts = {};
  opts.exit_cb = on_loop_child_exit;
  opts.file = plan.path.c_str();
  opts.args = argv.data();
  opts.env = envp.data();
  opts.cwd = plan.cwd.empty() ? nullptr : plan.cwd.c_str();
  opts.flags = plan.new_session ? UV_PROCESS_DETACHED : 0;  // DETACHED is setsid()
  opts.stdio_count = int(stdio.size());
  opts.stdio = stdio.data();
  // On the loop: uv_spawn registers the handle there, and its exit
  // callback runs there. The exec error (or EOF once execve succeeded)
  // comes back before uv_spawn returns.
  return rt::call([&](uv_loop_t *loop) -> int {
    auto *lc = new LoopChild();
    lc->handle.data = lc;
    int rc = uv_spawn(loop, &lc->handle, &opts);
    lc->handle.data = lc;  // uv_spawn initialises the handle; keep ours
    if (rc != 0) {
      uv_close(reinterpret_cast<uv_handle_t *>(&lc->handle), free_loop_child);
      std::string what = "execve " + plan.path;
      return fail_errno("spawn: uv_spawn", what.c_str(), -rc);
    }
    lc->child = std::make_shared<Child>(Child::ReapedByLoop{}, lc->handle.pid, group,
                                        plan.die_with_parent);
    *out = lc->child;
    return MP_OK;
  });
}

int portable_fork_run(Spawned &out, bool die_with_parent,
                      const std::function<void(int parent_pid)> &body) {
  if (die_with_parent) {
    int r = parent_pipe_read_end();  // the child inherits it
    if (r < 0) return r;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return fail_errno("fork", "", errno);
  if (pid == 0) {  // the atfork handlers have reset the library's state
    int pipe_fd = take_inherited_parent_pipe();
    if (die_with_parent) {
      if (watch_parent_pipe(pipe_fd) != MP_OK) _exit(1);
    } else if (pipe_fd >= 0) {
      close(pipe_fd);
    }
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    body(int(parent));
    _exit(1);  // body must not return; never fall back into the runtime
  }
  out.pid = pid;  // no pidfd: launch_child watches it by SIGCHLD + waitpid(pid)
  return MP_OK;
}

}  // namespace mp
