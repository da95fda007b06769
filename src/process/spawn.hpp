// Creating child processes. launch_exec and launch_fork are what the
// process layer calls; they pick the backend (src/core/backend.hpp):
// - Linux: spawn_exec and fork_run (spawn_linux.cpp) create the child in
//   the calling thread; launch_child picks the thread: the caller's
//   (fastest), or for a child that must die with the parent the runtime
//   thread, because PR_SET_PDEATHSIG fires when the *thread* that created
//   the child exits.
// - portable: uv_spawn on the runtime loop, which reaps the child through
//   libuv's SIGCHLD handling, and fork() watched by SIGCHLD + waitpid(pid)
//   (spawn_uv.cpp); a daemon target watches a pipe from the parent
//   (parent_watch.hpp).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/fd.hpp"

namespace mp {

// Descriptor source meaning "the same as the child's descriptor 1".
constexpr int kSourceChildStdout = -2;
// Descriptor source meaning "leave the inherited descriptor alone".
constexpr int kSourceInherit = -1;
// Descriptor source meaning "close it in the child" (a gap below an
// mp_cmd_pass_fd_at() descriptor).
constexpr int kSourceClosed = -3;

// Everything the child does between clone and execve, prepared in the parent
// so that the child needs no allocation.
struct ExecPlan {
  std::string path;
  std::vector<std::string> argv;
  std::vector<std::string> envp;
  std::string cwd;  // empty: the parent's
  // fd_sources[i] becomes the child's descriptor i (or kSource* above).
  // Every other descriptor is closed in the child. Sources are parent
  // descriptors numbered >= fd_sources.size(), so no dup2 clobbers a source.
  std::vector<int> fd_sources;
  bool new_group = false;
  bool new_session = false;  // setsid(): also a new group
  bool die_with_parent = false;
  // The child ends by itself when we die (it watches a pipe from us, or the
  // forkserver its request socket): the portable backend, which has no
  // PR_SET_PDEATHSIG, starts a die_with_parent plan only then.
  bool dies_by_itself = false;
};

struct Spawned {
  int pid = -1;
  Fd pidfd;  // -1 where pidfds are unavailable
};

// clone(CLONE_VM|CLONE_VFORK) + execve: the cost does not grow with the
// parent's memory, and exec failures come back here synchronously.
int spawn_exec(Spawned &out, const ExecPlan &plan);

// fork() and run body in the child with the parent's pid (read once, in
// the parent: one getpid per start); body must not return (it ends the
// process). The child starts with an empty signal mask.
int fork_run(Spawned &out, bool die_with_parent,
             const std::function<void(int parent_pid)> &body);

class Child;

// v's strings as the null-terminated array execve and uv_spawn take
// (pointers into v, valid while v is unchanged).
std::vector<char *> c_string_array(const std::vector<std::string> &v);

// Start the child of plan with the backend's mechanism and watch its exit;
// *out is set once the child exists. group: signals may go to its group.
int launch_exec(std::shared_ptr<Child> *out, const ExecPlan &plan, bool group);

// Fork and run body in the child (as fork_run); watched like launch_exec.
int launch_fork(std::shared_ptr<Child> *out, bool die_with_parent,
                const std::function<void(int parent_pid)> &body);

// The portable backend's halves of the two (spawn_uv.cpp).
int uv_launch_exec(std::shared_ptr<Child> *out, const ExecPlan &plan, bool group);
int portable_fork_run(Spawned &out, bool die_with_parent,
                      const std::function<void(int parent_pid)> &body);

// The plan of re-executing this program (recorded by mp_main()) with
// env_var=3 and sources as its descriptors 3, 4, …: MP_START_SPAWN's child
// and the forkserver. Each source must be numbered above them all.
ExecPlan self_exec_plan(const char *env_var, bool die_with_parent,
                        const std::vector<int> &sources);

// Create a child with create() on the right thread (see above) and start
// the runtime's exit watch on it. *out is set once the child exists.
int launch_child(std::shared_ptr<Child> *out, bool die_with_parent, bool group,
                 const std::function<int(Spawned &)> &create);

}  // namespace mp
